// tests/support/fixtures.hpp: where test data lives and small helpers shared by the test
// executables. Fixture files under tests/data/ and why each exists:
//   data/pdq/        subset of ../shared/pdq-vectors (every synthetic vector, 30+ lossless,
//                    10+ JPEG) with its expected.csv rows: PDQ conformance (tests/hash).
//   data/samples/    a few corpus photographs (see data/ATTRIBUTION.md): decode tests, CLI
//                    transcripts and the demo.
//   data/decode/cmyk_32x24.jpg  a 643-byte CMYK JPEG made by data/decode/make_cmyk_jpeg.c with
//                    libjpeg (OpenCV cannot write CMYK): the CMYK decode path.
// Corruptions (truncated, flipped bytes, zero length, wrong extension) are generated at test time
// from those good files, never committed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace residue::test {

/// tests/data (from $RESIDUE_TEST_DATA, set by CTest; falls back to the source path).
std::filesystem::path data_dir();
/// ../shared when it exists (from $RESIDUE_SHARED), else nullopt: tests that need it print that
/// they ran on the bundled subset only.
std::optional<std::filesystem::path> shared_dir();

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p);
void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes);

/// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

/// Minimal RFC 4180 CSV reader (quoted fields, commas and doubled quotes inside quotes).
/// Returns rows of fields; the first row is the header.
std::vector<std::vector<std::string>> read_csv(const std::filesystem::path& p);

}  // namespace residue::test
