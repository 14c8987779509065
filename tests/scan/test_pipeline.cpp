#include <doctest/doctest.h>

#include <filesystem>

#include "residue/hash.hpp"
#include "residue/scan.hpp"
#include "support/fixtures.hpp"

using namespace residue;
namespace fs = std::filesystem;
using residue::test::TempDir;

namespace {

// A small tree: the bundled samples, plus bad files made from them at test time.
void make_tree(const TempDir& t) {
  fs::create_directories(t / "good");
  for (const auto& e : fs::directory_iterator(residue::test::data_dir() / "samples"))
    fs::copy_file(e.path(), t / "good" / e.path().filename());
  auto jpeg = residue::test::read_bytes(residue::test::data_dir() / "samples" /
                                        "python3-skimage__rocket.jpg");
  fs::create_directories(t / "bad");
  residue::test::write_bytes(t / "bad" / "empty.jpg", {});
  residue::test::write_bytes(t / "bad" / "truncated.jpg",
                             std::vector<std::uint8_t>(jpeg.begin(), jpeg.begin() + 5000));
  const std::string text = "this is not an image";
  residue::test::write_bytes(t / "bad" / "text.png",
                             std::vector<std::uint8_t>(text.begin(), text.end()));
}

std::vector<ItemRecord> run(const TempDir& t, int threads, ScanStats* stats = nullptr) {
  std::vector<ItemRecord> out;
  const std::vector<std::string> roots{t.path().string()};
  auto s = scan_roots(roots, ScanOptions{.threads = threads}, [&](const ScanResult& r) {
    if (r.event == SourceEvent::item) out.push_back(r.record);
  });
  if (stats) *stats = s;
  return out;
}

}  // namespace

TEST_CASE("the pipeline gives identical records in walk order at 1, 2 and 4 threads") {
  TempDir t;
  make_tree(t);
  const auto one = run(t, 1);
  for (int threads : {2, 4}) {
    const auto many = run(t, threads);
    REQUIRE(many.size() == one.size());
    for (std::size_t i = 0; i < one.size(); ++i) {
      CHECK(many[i].locator == one[i].locator);
      CHECK(many[i].pdq == one[i].pdq);
      CHECK(many[i].phash == one[i].phash);
      CHECK(many[i].sha256 == one[i].sha256);
    }
  }
}

TEST_CASE("bad files become error records with codes and the run goes on") {
  TempDir t;
  make_tree(t);
  ScanStats stats;
  const auto records = run(t, 2, &stats);
  CHECK(stats.items == records.size());
  CHECK(stats.failed == 3);
  CHECK(stats.ok == records.size() - 3);
  CHECK(stats.errors_by_code[ErrorCode::empty] == 1);
  CHECK(stats.errors_by_code[ErrorCode::truncated] == 1);
  CHECK(stats.errors_by_code[ErrorCode::unsupported] == 1);
  for (const auto& r : records) {
    if (r.locator.find("/good/") != std::string::npos) {
      CHECK_MESSAGE(r.ok(), r.locator);
      CHECK(r.has_sha256);
      CHECK(r.width > 0);
    }
  }
}

TEST_CASE("hash_bytes records the sha256 of the bytes and the oriented size") {
  auto bytes = residue::test::read_bytes(residue::test::data_dir() / "samples" /
                                         "python3-skimage__rocket.jpg");
  const ItemRecord r = hash_bytes("rocket.jpg", bytes, DecodeOptions{}, true);
  REQUIRE(r.ok());
  CHECK(r.sha256 == sha256(bytes));
  CHECK(r.width == 640);
  CHECK(r.height == 427);
  CHECK(r.format == ImageFormat::jpeg);
  CHECK(r.has_dihedral);
  CHECK(r.pdq_dihedral[0] == r.pdq);
  CHECK(r.quality >= 50);
}

TEST_CASE("invalid options are run errors") {
  CHECK_THROWS_AS(scan_roots({}, ScanOptions{.threads = -1}, [](const ScanResult&) {}),
                  residue::Error);
  CHECK_THROWS_AS(scan_roots({}, ScanOptions{.tokens_per_thread = 0}, [](const ScanResult&) {}),
                  residue::Error);
}

TEST_CASE("only_images skips files that neither sniff nor are named like images") {
  TempDir t;
  make_tree(t);
  const std::string meta = "{\"label\": 3}";
  residue::test::write_bytes(t / "good" / "000001.json",
                             std::vector<std::uint8_t>(meta.begin(), meta.end()));
  ScanStats stats;
  const auto records = run(t, 2, &stats);
  for (const auto& r : records) CHECK(r.locator.find(".json") == std::string::npos);
  CHECK(stats.stream.skipped_not_items == 1);
  // text.png is not an image but is named like one: an item, with an error.
  CHECK(stats.errors_by_code[ErrorCode::unsupported] == 1);
}

TEST_CASE("a sink that throws stops the pipeline and the exception reaches the caller") {
  TempDir t;
  make_tree(t);
  const std::vector<std::string> roots{t.path().string()};
  int calls = 0;
  CHECK_THROWS_AS(scan_roots(roots, ScanOptions{.threads = 2},
                             [&](const ScanResult&) {
                               if (++calls == 3)
                                 throw residue::Error("disk full", __FILE__, __LINE__);
                             }),
                  residue::Error);
  CHECK(calls == 3);
}

TEST_CASE("fast mode (reduced JPEG decode, folded PDQ filter) stays within 10 bits of exact mode") {
  // The fidelity budget of issue 2, on the bundled photos that the fast path actually reduces.
  int reduced = 0;
  for (const auto& e : fs::directory_iterator(residue::test::data_dir() / "samples")) {
    const auto bytes = residue::test::read_bytes(e.path());
    const ItemRecord fast = hash_bytes("x", bytes, DecodeOptions{}, false);
    const ItemRecord exact = hash_bytes("x", bytes, DecodeOptions{.exact = true}, false);
    REQUIRE(fast.ok());
    REQUIRE(exact.ok());
    CAPTURE(e.path().filename().string());
    CHECK(exact.scale_denom == 1);
    if (fast.scale_denom > 1) ++reduced;
    if (exact.quality >= 80) CHECK(hamming(fast.pdq, exact.pdq) <= 10);
    CHECK(hamming(fast.phash, exact.phash) <= 6);
    CHECK(fast.width == exact.width);
  }
  CHECK(reduced >= 4);  // the 512x512 and 640x427 JPEGs decode at 1/4 and 1/2
}
