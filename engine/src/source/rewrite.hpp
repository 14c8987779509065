// Private to source/: the per-kind halves of rewrite_container (rewrite.cpp holds the shared
// frame: output files, cleanup, the check with the scanner's own readers). Each kind has a
// writer that copies the kept items' raw bytes and a raw verifier that re-parses the output and
// compares it, unit by unit, with the original's kept units.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "residue/source.hpp"
#include "rewrite_io.hpp"
#include "tsv.hpp"

namespace residue::detail {

/// One rewrite: the original (read-only), what to remove, and what was found.
struct RewriteJob {
  std::string path;  // the original, as the caller spelled it (locators start with it)
  int in_fd = -1;
  const std::unordered_set<std::string>* remove = nullptr;
  RewriteReport report;
  std::set<std::string> found;                   // distinct locators removed
  std::vector<std::uint64_t> removed_positions;  // TSV lines / records removed, rising
  TsvLayout tsv{};                               // TSV: the original's layout
  FilterCode filter = 0;                         // tar: the original's compression

  [[nodiscard]] std::string locator(std::string_view member) const;
  /// Whether the item at `locator` is to be removed (records it as found when it is).
  bool take(const std::string& locator);
  /// Whether `locator` was found and removed (verification side: no side effect).
  [[nodiscard]] bool removed(const std::string& locator) const { return found.count(locator) != 0; }
};

/// Writes the rewritten container (everything but the removed items) to `out`, filling
/// job.report's counts. Errors: corrupt/truncated input, unsupported, io_error.
[[nodiscard]] std::optional<ItemError> write_tar(RewriteJob& job, OutputFile& out);
[[nodiscard]] std::optional<ItemError> write_zip(RewriteJob& job, OutputFile& out);
[[nodiscard]] std::optional<ItemError> write_tsv(RewriteJob& job, OutputFile& out);
/// `idx_in` is the original's .idx when it exists (-1 otherwise); `idx_out` receives the new one.
[[nodiscard]] std::optional<ItemError> write_recordio(RewriteJob& job, OutputFile& out, int idx_in,
                                                      OutputFile* idx_out);

/// Re-parses the written container `out_fd` and compares it with the original's kept units,
/// byte for byte. Errors: internal "verification failed: ..." naming the unit, io_error.
[[nodiscard]] std::optional<ItemError> verify_tar(const RewriteJob& job, int out_fd);
[[nodiscard]] std::optional<ItemError> verify_zip(const RewriteJob& job, int out_fd);
[[nodiscard]] std::optional<ItemError> verify_tsv(const RewriteJob& job, int out_fd);
[[nodiscard]] std::optional<ItemError> verify_recordio(const RewriteJob& job, int out_fd,
                                                       int idx_in, int idx_out);

/// internal "verification failed: <what>".
[[nodiscard]] ItemError mismatch(const std::string& what);

/// A sink that writes nothing: it checks that what would be written is exactly what `out` (the
/// written container, read from its start) holds next. Used to replay a rewrite against its
/// output. Errors: internal "verification failed: output differs ... at offset N", io_error.
class CompareSink final : public ByteSink {
 public:
  explicit CompareSink(int out_fd) : reader_(out_fd) {}
  [[nodiscard]] std::optional<ItemError> write(std::span<const std::uint8_t> bytes) override;
  [[nodiscard]] std::optional<ItemError> close() override { return std::nullopt; }
  /// True when the whole output has been compared.
  [[nodiscard]] Outcome<bool> at_end() { return reader_.at_end(); }

 private:
  FdReader reader_;
  std::vector<std::uint8_t> buf_;
};

}  // namespace residue::detail
