// MXNet RecordIO containers: InsightFace layout (header record 0), multi-part records, label
// arrays, damage, limits, callbacks, and read_item with and without the .idx.
#include <doctest/doctest.h>

#include <filesystem>

#include "residue/source.hpp"
#include "source_helpers.hpp"
#include "support/fixtures.hpp"

using namespace residue;
using namespace residue::test;
namespace fs = std::filesystem;

namespace {

constexpr std::uint8_t kMagicBytes[4] = {0x0a, 0x23, 0xd7, 0xce};

/// An InsightFace-style train.rec: record 0 is the header (flag 2, labels = id range, no
/// image), records 1..n are faces. Image 2 holds the magic twice (a three-part record) and
/// image 3 carries an extra label array. Writes train.idx beside it when `idx`.
struct RecFile {
  std::string path;
  std::vector<Bytes> images;  // images[i] is record i + 1
  std::vector<std::uint64_t> offsets;
};

RecFile write_rec(const fs::path& dir, int n, bool idx) {
  RecFile f;
  f.path = (dir / "train.rec").string();
  Bytes rec;
  f.offsets.push_back(append_record(rec, recordio_data(0, 0, {float(1 + n), float(1 + n)}, {})));
  for (int i = 1; i <= n; ++i) {
    Bytes img = fake_jpeg(1000 + static_cast<std::size_t>(i), static_cast<std::uint32_t>(i));
    if (i == 2) {
      std::copy(kMagicBytes, kMagicBytes + 4, img.begin() + 8);    // data offset 32
      std::copy(kMagicBytes, kMagicBytes + 4, img.begin() + 400);  // data offset 424
    }
    const std::vector<float> labels =
        i == 3 ? std::vector<float>{1.5f, 2.5f, 3.5f} : std::vector<float>{};
    f.offsets.push_back(append_record(rec, recordio_data(float(i), std::uint64_t(i), labels, img)));
    f.images.push_back(std::move(img));
  }
  write_bytes(f.path, rec);
  if (idx) {
    std::string text;
    for (std::size_t i = 0; i < f.offsets.size(); ++i) {
      text += std::to_string(i) + "\t" + std::to_string(f.offsets[i]) + "\n";
    }
    write_text(dir / "train.idx", text);
  }
  return f;
}

}  // namespace

TEST_CASE("an InsightFace .rec yields records 1..n; header record 0 is not an item") {
  TempDir t;
  const auto f = write_rec(t.path(), 5, /*idx=*/true);
  const auto raw = read_bytes(f.path);
  CHECK(std::count(raw.begin(), raw.end(), 0xd7) >= 8);  // the split record really has parts
  const auto c = collect({f.path});
  const auto good = c.good();
  REQUIRE(good.size() == 5);
  CHECK(c.summary().front() == "begin " + f.path);
  CHECK(c.summary().back() == "end " + f.path);
  CHECK(c.items.front().container_kind == ContainerKind::recordio);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(good[i]->locator == f.path + "!/record/" + std::to_string(i + 1));
    CHECK(good[i]->bytes == f.images[i]);
    CHECK(good[i]->container_kind == ContainerKind::recordio);
  }
  CHECK(c.counts.skipped_not_items == 1);  // record 0
  CHECK(c.counts.bytes_consumed == raw.size());
  // The .idx is a plain file to the walk (the lead's is_item decides whether it is an item).
}

TEST_CASE("read_item on RecordIO: by .idx, without it, with a stale one; header record is empty") {
  TempDir t;
  const auto f = write_rec(t.path(), 6, /*idx=*/true);
  const auto check_all = [&] {
    for (std::size_t i = 0; i < f.images.size(); ++i) {
      auto r = read_item(f.path + "!/record/" + std::to_string(i + 1));
      REQUIRE(r.has_value());
      CHECK(r.value() == f.images[i]);
    }
  };
  SUBCASE("with the .idx") {
    check_all();
  }
  SUBCASE("without the .idx") {
    fs::remove(t / "train.idx");
    check_all();
  }
  SUBCASE("with a stale .idx (offsets into the middle of records)") {
    std::string text;
    for (std::size_t i = 0; i < f.offsets.size(); ++i) {
      text += std::to_string(i) + "\t" + std::to_string(f.offsets[i] + (i > 0 ? 12 : 0)) + "\n";
    }
    write_text(t / "train.idx", text);
    check_all();
  }
  auto header = read_item(f.path + "!/record/0");
  REQUIRE_FALSE(header.has_value());
  CHECK(header.error().code == ErrorCode::empty);
  auto past = read_item(f.path + "!/record/7");
  REQUIRE_FALSE(past.has_value());
  CHECK(past.error().code == ErrorCode::io_error);
  CHECK(past.error().message == "no record 7 (the file has 7 records)");
  for (const std::string bad : {"record/", "record/-1", "record/1x", "line/1", "7"}) {
    CAPTURE(bad);
    auto r = read_item(f.path + "!/" + bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::unsupported);
  }
}

TEST_CASE(
    "RecordIO damage: bad magic and a length past the end stop the container with one error") {
  TempDir t;
  const auto f = write_rec(t.path(), 4, /*idx=*/false);
  auto raw = read_bytes(f.path);
  write_bytes(t / "z.jpg", fake_jpeg(10, 1));
  SUBCASE("bad magic at record 3") {
    raw[f.offsets[3]] ^= 0xff;
    write_bytes(f.path, raw);
    const auto c = collect({t.path().string()});
    const auto s = c.summary();
    REQUIRE(s.size() == 6);
    CHECK(s[1] == "item " + f.path + "!/record/1");
    CHECK(s[2] == "item " + f.path + "!/record/2");
    CHECK(s[3] == "error " + f.path + "!/record/3 corrupt: bad magic 0xced723f5 at offset " +
                      std::to_string(f.offsets[3]));
    CHECK(s[4] == "end " + f.path);
    CHECK(s[5] == "item " + (t / "z.jpg").string());
  }
  SUBCASE("length past the end of the file (truncated file)") {
    raw.resize(f.offsets[4] + 100);
    write_bytes(f.path, raw);
    const auto c = collect({f.path});
    const auto s = c.summary();
    REQUIRE(s.size() == 6);
    CHECK(s[4].starts_with("error " + f.path + "!/record/4 truncated: record length "));
    CHECK(s[4].find("runs past the end of the file") != std::string::npos);
    auto r = read_item(f.path + "!/record/4");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::truncated);
  }
  SUBCASE("file ends inside a record header") {
    raw.resize(f.offsets[2] + 5);
    write_bytes(f.path, raw);
    const auto s = collect({f.path}).summary();
    REQUIRE(s.size() == 4);
    CHECK(s[2] == "error " + f.path +
                      "!/record/2 truncated: file ends inside the record header at offset " +
                      std::to_string(f.offsets[2]));
  }
  SUBCASE("a record shorter than its IRHeader is corrupt, and the next record is still read") {
    Bytes rec;
    append_record(rec, recordio_data(0, 0, {}, fake_jpeg(50, 1)));
    append_record(rec, Bytes(10, 1));
    append_record(rec, recordio_data(0, 0, {}, fake_jpeg(60, 2)));
    write_bytes(f.path, rec);
    const auto s = collect({f.path}).summary();
    REQUIRE(s.size() == 5);
    CHECK(s[2] == "error " + f.path +
                      "!/record/1 corrupt: record has 10 bytes, less than its 24-byte header");
    CHECK(s[3] == "item " + f.path + "!/record/2");
  }
}

TEST_CASE("RecordIO limits and callbacks: too_large records, member_done, unchanged") {
  TempDir t;
  const auto f = write_rec(t.path(), 3, /*idx=*/false);
  SUBCASE("an image above max_item_bytes is too_large") {
    const auto c = collect({f.path}, SourceOptions{.max_item_bytes = 1001});  // images 1001..1003
    const auto s = c.summary();
    REQUIRE(s.size() == 5);
    CHECK(s[1] == "item " + f.path + "!/record/1");
    CHECK(s[2] ==
          "error " + f.path +
              "!/record/2 too_large: record image is 1002 bytes, above the 1001-byte limit");
    CHECK(s[3].starts_with("error " + f.path + "!/record/3 too_large: "));
    auto r = read_item(f.path + "!/record/3", SourceOptions{.max_item_bytes = 1001});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::too_large);
  }
  SUBCASE("member_done skips records") {
    SourceOptions o;
    o.member_done = [&](std::string_view loc) { return loc == f.path + "!/record/2"; };
    const auto c = collect({f.path}, o);
    REQUIRE(c.good().size() == 2);
    CHECK(c.good()[1]->locator == f.path + "!/record/3");
    CHECK(c.counts.skipped_done == 1);
  }
  SUBCASE("unchanged skips the container with kind recordio") {
    SourceOptions o;
    o.unchanged = [&](const FileInfo&, ContainerKind k) { return k == ContainerKind::recordio; };
    const auto c = collect({f.path}, o);
    CHECK(c.items.empty());
    CHECK(c.counts.skipped_unchanged == 1);
  }
}
