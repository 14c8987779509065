// Golden tier (b): PDQ conformance against reference outputs (tests/data/pdq, a subset of
// ../shared/pdq-vectors; the whole set too when ../shared exists).
//
// Two paths are checked. (1) The hashing core alone: pixels decoded by OpenCV in this test, luma
// computed here with the reference's formula, hashed with residue::pdq_hash / pdq_hash_dihedral.
// (2) The product path: residue::decode_luma in exact mode, then the same hashing.
// Tolerances are the vectors' README's: lossless and synthetic sets bit-exact (all 8 dihedral
// hashes and quality); JPEG and threatexchange sets bit-exact where OpenCV gives the hashed pixels
// (opencv_identical = yes), else within 10 bits when quality >= 80.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "residue/decode.hpp"
#include "residue/hash.hpp"
#include "support/fixtures.hpp"

using namespace residue;
namespace fs = std::filesystem;

namespace {

const char* const kDihedralColumns[] = {"pdq_hex",       "rot90_hex",     "rot180_hex",
                                        "rot270_hex",    "flipx_hex",     "flipy_hex",
                                        "flipplus1_hex", "flipminus1_hex"};

struct Vector {
  std::map<std::string, std::string> f;
  const std::string& operator[](const std::string& k) const { return f.at(k); }
};

std::vector<Vector> load(const fs::path& csv) {
  const auto rows = residue::test::read_csv(csv);
  std::vector<Vector> out;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    Vector v;
    for (std::size_t c = 0; c < rows[0].size() && c < rows[i].size(); ++c)
      v.f[rows[0][c]] = rows[i][c];
    out.push_back(std::move(v));
  }
  return out;
}

// Luma as the reference fills it: float32, left to right, from 8-bit R, G, B (or the grey value).
LumaImage luma_from_mat(const cv::Mat& m) {
  LumaImage img(m.cols, m.rows);
  const float kR = 0.299f, kG = 0.587f, kB = 0.114f;
  for (int y = 0; y < m.rows; ++y) {
    const std::uint8_t* p = m.ptr<std::uint8_t>(y);
    for (int x = 0; x < m.cols; ++x) {
      if (m.channels() == 1) {
        img.at(x, y) = static_cast<float>(p[x]);
      } else {
        const int c = m.channels();
        const std::uint8_t b = p[x * c], g = p[x * c + 1], r = p[x * c + 2];
        img.at(x, y) = kR * r + kG * g + kB * b;
      }
    }
  }
  return img;
}

// The expected original hash for the luma path we use (grey files hashed as grey).
std::string expected_original(const Vector& v, bool grey) {
  if (grey && v["luma_path"] != "grey" && v["alt_luma_path"] == "grey") return v["alt_pdq_hex"];
  return v["pdq_hex"];
}

struct Tally {
  int files = 0, exact = 0, within = 0, failed = 0;
};

// Returns whether the file meets its tolerance; counts exact matches.
bool check_vector(const fs::path& root, const Vector& v, bool product_path, Tally& t) {
  const fs::path file = root / v["file"];
  const auto bytes = residue::test::read_bytes(file);
  LumaImage luma;
  bool grey = false;
  if (product_path) {
    auto decoded = decode_luma(bytes, DecodeOptions{.exact = true});
    REQUIRE_MESSAGE(decoded.has_value(), file.string(), ": ", decoded.error().message);
    luma = std::move(decoded.value().luma);
    cv::Mat probe = cv::imdecode(
        cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data())),
        cv::IMREAD_UNCHANGED);
    grey = probe.channels() == 1;
  } else {
    cv::Mat m = cv::imdecode(
        cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data())),
        cv::IMREAD_UNCHANGED);
    REQUIRE_MESSAGE(!m.empty(), file.string());
    if (m.depth() != CV_8U) m.convertTo(m, CV_8U, 1.0 / 257.0);
    grey = m.channels() == 1;
    luma = luma_from_mat(m);
  }
  REQUIRE(luma.width == std::stoi(v["width"]));
  REQUIRE(luma.height == std::stoi(v["height"]));

  const PdqResult single = pdq_hash(luma.view());
  const PdqDihedralResult dih = pdq_hash_dihedral(luma.view());
  const std::string want = expected_original(v, grey);
  const int quality =
      std::stoi(grey && v["luma_path"] != "grey" && !v["alt_quality"].empty() ? v["alt_quality"]
                                                                              : v["quality"]);
  const bool strict =
      v["set"] == "lossless" || v["set"] == "synthetic" || v["opencv_identical"] == "yes";

  ++t.files;
  bool exact = to_hex(single.hash) == want && single.quality == quality &&
               dih.quality == std::stoi(v["dih_quality"]);
  // The alt (grey/RGB) path only publishes the original hash; dihedral columns are for luma_path.
  const bool dihedral_comparable =
      !(grey && v["luma_path"] != "grey" && v["alt_luma_path"] == "grey");
  if (dihedral_comparable) {
    for (int d = 0; d < kDihedralCount; ++d)
      exact = exact && to_hex(dih.hashes[static_cast<std::size_t>(d)]) == v[kDihedralColumns[d]];
  }
  if (exact) {
    ++t.exact;
    return true;
  }
  if (strict) {
    ++t.failed;
    MESSAGE(file.string(), ": got ", to_hex(single.hash), " q", single.quality, ", want ", want,
            " q", quality);
    return false;
  }
  const int distance = hamming(single.hash, *parse_hash256(want));
  const bool ok = quality < 80 || distance <= 10;
  if (ok)
    ++t.within;
  else
    ++t.failed;
  return ok;
}

void run_set(const fs::path& root, bool product_path, const char* label) {
  Tally t;
  for (const auto& v : load(root / "expected.csv")) {
    CAPTURE(v["file"]);
    CHECK(check_vector(root, v, product_path, t));
  }
  std::printf("pdq conformance (%s, %s): %d files, %d bit-exact, %d within tolerance, %d failed\n",
              label, product_path ? "decode_luma exact" : "hashing core", t.files, t.exact,
              t.within, t.failed);
  CHECK(t.files > 0);
}

}  // namespace

TEST_CASE("pdq hashing core reproduces the reference on the bundled vectors") {
  run_set(residue::test::data_dir() / "pdq", false, "bundled subset");
}

TEST_CASE("decode_luma in exact mode + pdq reproduces the reference on the bundled vectors") {
  run_set(residue::test::data_dir() / "pdq", true, "bundled subset");
}

TEST_CASE("pdq conformance on the whole ../shared/pdq-vectors set, when present") {
  const auto shared = residue::test::shared_dir();
  if (!shared || !fs::exists(*shared / "pdq-vectors" / "expected.csv")) {
    std::printf(
        "pdq conformance: ../shared/pdq-vectors not present, ran the bundled subset only\n");
    return;
  }
  run_set(*shared / "pdq-vectors", false, "full set");
  run_set(*shared / "pdq-vectors", true, "full set");
}

TEST_CASE("reference hex strings round-trip through parse and print") {
  for (const auto& v : load(residue::test::data_dir() / "pdq" / "expected.csv")) {
    for (const char* col : kDihedralColumns) {
      const auto parsed = parse_hash256(v[col]);
      REQUIRE(parsed.has_value());
      CHECK(to_hex(*parsed) == v[col]);
    }
  }
}

TEST_CASE("separable (fast) PDQ downscale stays within the fidelity budget of the reference") {
  // Same linear map as the reference blur in exact arithmetic; only float rounding differs, which
  // can flip coefficients that sit at the median. Budget (issue 2): median 0-2 bits, and here, on
  // photographs with quality >= 80, every file within 10 bits.
  std::vector<int> distances;
  int worst = 0;
  for (const auto& v : load(residue::test::data_dir() / "pdq" / "expected.csv")) {
    if (v["set"] == "synthetic") continue;  // flat and 1-D images get their bits from rounding
    cv::Mat m =
        cv::imread((residue::test::data_dir() / "pdq" / v["file"]).string(), cv::IMREAD_UNCHANGED);
    REQUIRE(!m.empty());
    const LumaImage luma = luma_from_mat(m);
    const PdqResult ref = pdq_hash(luma.view(), PdqDownscale::reference);
    const PdqResult fast = pdq_hash(luma.view(), PdqDownscale::separable);
    if (ref.quality < 80) continue;
    const int d = hamming(ref.hash, fast.hash);
    distances.push_back(d);
    worst = std::max(worst, d);
    CHECK(std::abs(ref.quality - fast.quality) <= 2);
  }
  REQUIRE(distances.size() >= 20);
  std::sort(distances.begin(), distances.end());
  const int median = distances[distances.size() / 2];
  std::printf("separable vs reference PDQ on %zu bundled photos: median %d bits, max %d bits\n",
              distances.size(), median, worst);
  CHECK(median <= 2);
  CHECK(worst <= 10);
}
