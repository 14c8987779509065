// Distributed scans' view of the source layer: list_files, detect_kind, count_slice_items and
// ItemStream over explicit slices. The central property: cutting a TSV or RecordIO file into
// byte ranges anywhere, with items_before from count_slice_items, yields exactly the whole-file
// stream's items (locators, text/bytes, errors). Expected counts come from the generators'
// own line and record offsets, never from the code under test.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "residue/source.hpp"
#include "source_helpers.hpp"
#include "support/fixtures.hpp"

using namespace residue;
using namespace residue::test;
namespace fs = std::filesystem;

namespace {

constexpr std::uint8_t kMagicBytes[4] = {0x0a, 0x23, 0xd7, 0xce};

Collected collect_slices(std::vector<FileSlice> slices, SourceOptions options = {}) {
  ItemStream stream(std::move(slices), std::move(options));
  Collected c;
  while (auto it = stream.next()) c.items.push_back(std::move(*it));
  c.counts = stream.counts();
  return c;
}

/// Everything an item carries, as one comparable string.
std::string describe(const SourceItem& it) {
  std::string s = std::to_string(static_cast<int>(it.event)) + "|" + it.locator + "|" +
                  it.container + "|" + std::string(to_string(it.container_kind)) + "|" +
                  it.file.path + "|" + std::to_string(it.file.size) + "|" + it.text + "|" +
                  std::string(it.bytes.begin(), it.bytes.end()) + "|" +
                  (it.needs_read ? "read" : "");
  if (it.error) s += "|" + std::string(to_string(it.error->code)) + ": " + it.error->message;
  return s;
}

/// The non-marker items of a stream, described.
std::vector<std::string> items_of(const Collected& c) {
  std::vector<std::string> out;
  for (const auto& it : c.items) {
    if (it.event == SourceEvent::item) out.push_back(describe(it));
  }
  return out;
}

FileInfo info_of(const std::string& path) {
  const std::vector<std::string> roots = {path};
  const auto files = list_files(roots, {});
  REQUIRE(files.size() == 1);
  REQUIRE_FALSE(files[0].error.has_value());
  return files[0].file;
}

FileSlice range(const FileInfo& f, std::uint64_t begin, std::uint64_t end,
                std::uint64_t items_before) {
  return FileSlice{
      .file = f, .whole = false, .begin = begin, .end = end, .items_before = items_before};
}

/// A file cut at `cuts` (sorted offsets inside [0, size]) into consecutive range slices, each
/// numbered by count_slice_items over everything before it.
std::vector<FileSlice> cut(const FileInfo& f, ContainerKind kind,
                           const std::vector<std::uint64_t>& cuts) {
  REQUIRE(std::is_sorted(cuts.begin(), cuts.end()));
  std::vector<FileSlice> slices;
  std::uint64_t begin = 0;
  std::vector<std::uint64_t> ends = cuts;
  ends.push_back(f.size);
  for (const std::uint64_t end : ends) {
    auto before = count_slice_items(f, kind, 0, begin);
    REQUIRE(before.has_value());
    slices.push_back(range(f, begin, end, before.value()));
    begin = end;
  }
  return slices;
}

/// One partition of `f` at `cuts`: the slices' items equal `whole`, each slice is bracketed by
/// its own markers, progress adds up to the file size, and every slice's count is
/// expected_before(end) - expected_before(begin). Returns false on a mismatch.
template <typename ExpectedBefore>
bool check_cut(const FileInfo& f, ContainerKind kind, const std::vector<std::string>& whole,
               const std::vector<std::uint64_t>& cuts, ExpectedBefore expected_before) {
  const auto slices = cut(f, kind, cuts);
  bool ok = true;
  for (const auto& sl : slices) {
    CAPTURE(sl.begin);
    CAPTURE(sl.end);
    const auto n = count_slice_items(f, kind, sl.begin, sl.end);
    REQUIRE(n.has_value());
    const bool counted = sl.items_before == expected_before(sl.begin) &&
                         n.value() == expected_before(sl.end) - expected_before(sl.begin);
    CHECK(counted);
    ok = ok && counted;
  }
  const auto got = collect_slices(slices);
  const bool same = items_of(got) == whole;
  CHECK(same);
  const auto s = got.summary();
  const auto begins = static_cast<std::size_t>(std::count(s.begin(), s.end(), "begin " + f.path));
  const auto ends = static_cast<std::size_t>(std::count(s.begin(), s.end(), "end " + f.path));
  CHECK((begins == slices.size() && ends == slices.size()));
  CHECK((!s.empty() && s.front() == "begin " + f.path && s.back() == "end " + f.path));
  CHECK(got.counts.containers == slices.size());
  CHECK(got.counts.bytes_consumed == f.size);
  return ok && same;
}

/// The partition property for every single cut c in [0, size] and a sample of double cuts;
/// counts over [0, size] come to `total`.
template <typename ExpectedBefore>
void check_partitions(const FileInfo& f, ContainerKind kind, std::uint64_t total,
                      ExpectedBefore expected_before) {
  const auto whole = items_of(collect({f.path}));
  int failures = 0;
  for (std::uint64_t c = 0; c <= f.size && failures < 3; ++c) {
    CAPTURE(c);
    if (!check_cut(f, kind, whole, {c}, expected_before)) ++failures;
  }
  const std::uint64_t step = std::max<std::uint64_t>(1, f.size / 23);
  for (std::uint64_t c1 = 0; c1 <= f.size && failures < 3; c1 += step) {
    for (std::uint64_t c2 = c1; c2 <= f.size && failures < 3; c2 += step + 3) {
      CAPTURE(c1);
      CAPTURE(c2);
      if (!check_cut(f, kind, whole, {c1, c2}, expected_before)) ++failures;
    }
  }
  const auto all = count_slice_items(f, kind, 0, f.size);
  REQUIRE(all.has_value());
  CHECK(all.value() == total);
  CHECK(expected_before(f.size) == total);
}

/// Cut offsets that stress the readers' 64 KiB blocks around each start: the start itself and
/// its neighbours, and begins that put the start at the first or last 4-byte word of a block.
std::vector<std::uint64_t> cuts_around(const std::vector<std::uint64_t>& starts,
                                       std::uint64_t size) {
  constexpr std::uint64_t kBlock = std::uint64_t{1} << 16;
  std::vector<std::uint64_t> out;
  for (const std::uint64_t st : starts) {
    for (const std::uint64_t d : {0, 1, 3, 4, 5, 8}) {
      out.push_back(st + d);
      if (st >= d) out.push_back(st - d);
    }
    for (const std::uint64_t d : {kBlock - 4, kBlock - 3, kBlock, kBlock + 1, kBlock + 4}) {
      if (st >= d) out.push_back(st - d);
    }
  }
  std::erase_if(out, [&](std::uint64_t c) { return c > size; });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// The line or record start offsets below c.
std::uint64_t starts_below(const std::vector<std::uint64_t>& starts, std::uint64_t c) {
  return static_cast<std::uint64_t>(
      std::count_if(starts.begin(), starts.end(), [&](std::uint64_t s) { return s < c; }));
}

/// A TSV with a header row, CRLF and LF endings, a blank line and a CR-only blank line, a line
/// with too few columns, an empty image field and a final line without '\n'.
struct TsvFile {
  std::string path;
  std::vector<std::uint64_t> line_starts;  // offset of each line (line n at index n - 1)
  std::vector<Bytes> images;               // lines 2, 4, 8
};

TsvFile write_tsv(const fs::path& dir) {
  TsvFile f;
  f.path = (dir / "faces.tsv").string();
  for (std::uint32_t i = 0; i < 3; ++i) f.images.push_back(fake_jpeg(120 + 7 * i, 10 + i));
  const std::vector<std::string> lines = {
      "mid\trank\timage\r\n",                      // 1 header
      "m.01\t1\t" + base64(f.images[0]) + "\r\n",  // 2 item
      "\r\n",                                      // 3 blank
      "m.02\t2\t" + base64(f.images[1]) + "\n",    // 4 item
      "\n",                                        // 5 blank
      "m.04\t4\r\n",                               // 6 too few columns
      "m.05\t5\t\r\n",                             // 7 empty image field
      "m.03\t3\t" + base64(f.images[2]),           // 8 item, no final newline
  };
  std::string text;
  for (const auto& l : lines) {
    f.line_starts.push_back(text.size());
    text += l;
  }
  write_text(f.path, text);
  return f;
}

/// An InsightFace-style .rec: record 0 a header without image, 1 plain, 2 split in three parts
/// (aligned magic twice in its data), 3 with three extra labels and split once, 4 shorter than
/// its IRHeader (a corrupt item), 5 of odd length (padded).
struct RecFile {
  std::string path;
  Bytes raw;
  std::vector<std::uint64_t> starts;
  std::vector<Bytes> images;  // by record number; empty for 0 and 4
};

RecFile build_rec(const fs::path& dir) {
  RecFile f;
  f.path = (dir / "train.rec").string();
  f.starts.push_back(append_record(f.raw, recordio_data(0, 0, {2.0f, 6.0f}, {})));
  f.images.emplace_back();
  Bytes img1 = fake_jpeg(150, 1);
  Bytes img2 = fake_jpeg(160, 2);
  std::copy(kMagicBytes, kMagicBytes + 4, img2.begin() + 8);   // data offset 32
  std::copy(kMagicBytes, kMagicBytes + 4, img2.begin() + 40);  // data offset 64
  Bytes img3 = fake_jpeg(170, 3);
  std::copy(kMagicBytes, kMagicBytes + 4, img3.begin() + 4);  // data offset 24 + 12 + 4 = 40
  f.starts.push_back(append_record(f.raw, recordio_data(1, 1, {}, img1)));
  f.starts.push_back(append_record(f.raw, recordio_data(2, 2, {}, img2)));
  f.starts.push_back(append_record(f.raw, recordio_data(3, 3, {1.5f, 2.5f, 3.5f}, img3)));
  f.starts.push_back(append_record(f.raw, Bytes(10, 1)));
  Bytes img5 = fake_jpeg(131, 5);
  f.starts.push_back(append_record(f.raw, recordio_data(5, 5, {}, img5)));
  f.images.push_back(img1);
  f.images.push_back(img2);
  f.images.push_back(img3);
  f.images.emplace_back();
  f.images.push_back(img5);
  return f;
}

}  // namespace

TEST_CASE("list_files is the walk ItemStream visits, with errors in place") {
  TempDir t;
  write_text(t / "b.jpg", "x");
  write_text(t / "a/z.png", "xy");
  write_text(t / "a/c.gif", "x");
  write_text(t / "A.bmp", "x");
  write_text(t / "a-b.jpg", "x");
  write_text(t / "skip.json", "{}");
  write_archive(t / "a/t.tar", {{"m.jpg", fake_jpeg(64, 1)}});
  fs::create_directory_symlink(t / "a", t / "a/loop");
  const auto root = t.path().string();
  const auto missing = (t / "missing").string();
  const std::vector<std::string> roots = {missing, root};
  const SourceOptions options{.walk = {.follow_symlinks = true, .excludes = {"*.json"}}};

  const auto files = list_files(roots, options.walk);
  std::vector<std::string> listed;
  for (const auto& f : files) {
    listed.push_back((f.error ? "error " : "file ") + f.file.path);
  }
  const std::vector<std::string> expected = {
      "error " + missing,          "file " + root + "/A.bmp",   "file " + root + "/a/c.gif",
      "error " + root + "/a/loop", "file " + root + "/a/t.tar", "file " + root + "/a/z.png",
      "file " + root + "/a-b.jpg", "file " + root + "/b.jpg"};
  CHECK(listed == expected);
  REQUIRE(files.size() == expected.size());
  CHECK(files[0].error->code == ErrorCode::io_error);
  CHECK(files[0].error->message == "cannot access: No such file or directory");
  CHECK(files[5].file.size == 2);
  CHECK(files[5].file.mtime_ns > 0);

  // What the walking stream visits: plain items, container begin markers and walk errors.
  const auto walked = collect(roots, options);
  std::vector<std::string> visited;
  for (const auto& it : walked.items) {
    if (it.event == SourceEvent::container_begin) visited.push_back("file " + it.file.path);
    if (it.event == SourceEvent::item && it.container.empty()) {
      visited.push_back((it.error ? "error " : "file ") + it.file.path);
    }
  }
  CHECK(visited == expected);

  SUBCASE("whole slices of list_files stream exactly what the walk streams") {
    std::vector<FileSlice> slices;
    for (const auto& f : files) slices.push_back(FileSlice{.file = f.file, .error = f.error});
    const auto sliced = collect_slices(std::move(slices), options);
    CHECK(sliced.summary() == walked.summary());
    CHECK(items_of(sliced) == items_of(walked));
    CHECK(sliced.counts.files == walked.counts.files);
    CHECK(sliced.counts.containers == walked.counts.containers);
    CHECK(sliced.counts.bytes_consumed == walked.counts.bytes_consumed);
  }
}

TEST_CASE("detect_kind tells containers from plain files by content; errors for the unreadable") {
  TempDir t;
  const auto tsv = write_tsv(t.path());
  const auto rec = build_rec(t.path());
  write_bytes(rec.path, rec.raw);
  write_archive(t / "shard.tar", {{"a.jpg", fake_jpeg(64, 1)}});
  write_archive(t / "shard.zip", {{"a.jpg", fake_jpeg(64, 1)}}, "zip");
  write_bytes(t / "cat.jpg", fake_jpeg(64, 1));
  const auto kind = [&](const fs::path& p) {
    auto k = detect_kind(p.string());
    REQUIRE(k.has_value());
    return k.value();
  };
  CHECK(kind(tsv.path) == ContainerKind::tsv);
  CHECK(kind(rec.path) == ContainerKind::recordio);
  CHECK(kind(t / "shard.tar") == ContainerKind::tar);
  CHECK(kind(t / "shard.zip") == ContainerKind::zip);
  CHECK(kind(t / "cat.jpg") == ContainerKind::none);
  auto missing = detect_kind((t / "nope").string());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::io_error);
  auto dir = detect_kind(t.path().string());
  REQUIRE_FALSE(dir.has_value());
  CHECK(dir.error().code == ErrorCode::unsupported);
}

TEST_CASE("TSV cut at every offset: slices yield the whole file's lines, counts sum to 8") {
  TempDir t;
  const auto tsv = write_tsv(t.path());
  const auto f = info_of(tsv.path);

  // The whole-file stream itself, against the generator.
  const auto whole = collect({f.path});
  const auto loc = [&](int n) { return f.path + "!/line/" + std::to_string(n); };
  CHECK(whole.summary() ==
        std::vector<std::string>{
            "begin " + f.path, "item " + loc(2), "item " + loc(4),
            "error " + loc(6) +
                " corrupt: line has 2 tab-separated fields; the image is in column 2 (0-based)",
            "item " + loc(7), "item " + loc(8), "end " + f.path});
  const auto good = whole.good();
  REQUIRE(good.size() == 4);
  CHECK(good[0]->text == base64(tsv.images[0]));
  CHECK(good[1]->text == base64(tsv.images[1]));
  CHECK(good[2]->text.empty());  // line 7: item_bytes will call it empty
  CHECK(good[3]->text == base64(tsv.images[2]));

  REQUIRE(tsv.line_starts.size() == 8);
  check_partitions(f, ContainerKind::tsv, 8,
                   [&](std::uint64_t c) { return starts_below(tsv.line_starts, c); });

  SUBCASE("a slice takes the layout from the file head; tsv_column overrides it") {
    const auto line4 = tsv.line_starts[3];
    const auto c = collect_slices({range(f, line4, line4 + 1, 3)}, SourceOptions{.tsv_column = 0});
    REQUIRE(c.good().size() == 1);
    CHECK(c.good()[0]->locator == loc(4));
    CHECK(c.good()[0]->text == "m.02");
    const auto header = collect_slices({range(f, 0, 1, 0)});
    CHECK(header.good().empty());
    CHECK(header.counts.skipped_not_items == 1);  // line 1 is still the header row
  }
}

TEST_CASE("RecordIO cut at every offset: slices yield the whole file's records") {
  TempDir t;
  auto rec = build_rec(t.path());
  // Truncations keep the records before them; `owners` says which offset a record's ownership
  // follows (a tail too short for a header belongs to the range that read the record before).
  std::vector<std::uint64_t> owners = rec.starts;
  std::uint64_t total = 6;
  std::string last_error;  // the whole stream's error at the end, if any
  SUBCASE("complete") {}
  SUBCASE("the last record's padding is missing") {
    REQUIRE(rec.raw.size() % 4 == 0);
    rec.raw.resize(rec.starts[5] + 8 + 24 + 131);
  }
  SUBCASE("cut inside the last record") {
    rec.raw.resize(rec.starts[5] + 60);
    last_error = "record/5 truncated: record length 155 at offset " +
                 std::to_string(rec.starts[5]) + " runs past the end of the file (" +
                 std::to_string(rec.starts[5] + 60) + " bytes)";
  }
  SUBCASE("a 2-byte tail after the last record") {
    rec.raw.insert(rec.raw.end(), kMagicBytes, kMagicBytes + 2);
    owners.push_back(rec.starts[5]);
    total = 7;
    last_error = "record/6 truncated: file ends inside the record header at offset " +
                 std::to_string(rec.raw.size() - 2);
  }
  SUBCASE("a 6-byte tail (magic and half a length) after the last record") {
    rec.raw.insert(rec.raw.end(), kMagicBytes, kMagicBytes + 4);
    rec.raw.push_back(100);
    rec.raw.push_back(0);
    owners.push_back(rec.starts[5]);
    total = 7;
    last_error = "record/6 truncated: file ends inside the record header at offset " +
                 std::to_string(rec.raw.size() - 6);
  }
  SUBCASE("a whole header after the last record, its data missing") {
    const auto at = rec.raw.size();
    rec.raw.insert(rec.raw.end(), kMagicBytes, kMagicBytes + 4);
    const std::uint8_t length[4] = {100, 0, 0, 0};
    rec.raw.insert(rec.raw.end(), length, length + 4);
    owners.push_back(at);
    total = 7;
    last_error = "record/6 truncated: record length 100 at offset " + std::to_string(at) +
                 " runs past the end of the file (" + std::to_string(at + 8) + " bytes)";
  }
  write_bytes(rec.path, rec.raw);
  const auto f = info_of(rec.path);

  const auto whole = collect({f.path});
  const auto good = whole.good();
  const auto loc = [&](int n) { return f.path + "!/record/" + std::to_string(n); };
  const std::size_t n_good = last_error.starts_with("record/5") ? 3 : 4;
  REQUIRE(good.size() == n_good);
  for (std::size_t i = 0; i < n_good; ++i) {
    const int r = i < 3 ? static_cast<int>(i) + 1 : 5;
    CHECK(good[i]->locator == loc(r));
    CHECK(good[i]->bytes == rec.images[static_cast<std::size_t>(r)]);
  }
  const auto errors = whole.errors();
  REQUIRE(errors.size() == (last_error.empty() ? 1 : 2));
  CHECK(errors[0]->locator == loc(4));
  if (!last_error.empty()) {
    CHECK(f.path + "!/" + last_error == errors[1]->locator + " " +
                                            std::string(to_string(errors[1]->error->code)) + ": " +
                                            errors[1]->error->message);
  }
  CHECK(whole.counts.skipped_not_items == 1);

  check_partitions(f, ContainerKind::recordio, total,
                   [&](std::uint64_t c) { return starts_below(owners, c); });
}

TEST_CASE("range slices: empty and out-of-file ranges, clamped progress, per-slice callbacks") {
  TempDir t;
  const auto tsv = write_tsv(t.path());
  const auto f = info_of(tsv.path);
  SUBCASE("an empty range and a range past the end hold no items but are bracketed") {
    const auto c = collect_slices({range(f, 5, 5, 1), range(f, f.size + 10, f.size + 20, 8)});
    CHECK(c.summary() == std::vector<std::string>{"begin " + f.path, "end " + f.path,
                                                  "begin " + f.path, "end " + f.path});
    CHECK(c.counts.bytes_consumed == 0);
    CHECK(c.counts.containers == 2);
    CHECK(count_slice_items(f, ContainerKind::tsv, 5, 5).value() == 0);
    CHECK(count_slice_items(f, ContainerKind::tsv, f.size, f.size + 100).value() == 0);
    CHECK(count_slice_items(f, ContainerKind::tsv, 9, 3).value() == 0);
  }
  SUBCASE("bytes_consumed counts the range, clamped to the file size") {
    const auto c = collect_slices({range(f, 10, f.size + 1000, 1)});
    CHECK(c.counts.bytes_consumed == f.size - 10);
    CHECK(c.counts.files == 1);
  }
  SUBCASE("unchanged is asked once per slice and skips it") {
    std::vector<std::pair<std::string, ContainerKind>> asked;
    SourceOptions o;
    o.unchanged = [&](const FileInfo& file, ContainerKind k) {
      asked.emplace_back(file.path, k);
      return asked.size() == 1;
    };
    const auto c = collect_slices(cut(f, ContainerKind::tsv, {tsv.line_starts[4]}), o);
    REQUIRE(asked.size() == 2);
    CHECK(asked[0].second == ContainerKind::tsv);
    CHECK(c.counts.skipped_unchanged == 1);
    const auto s = c.summary();
    REQUIRE(s.size() == 5);  // lines 5..8 only: blank, error, item 7, item 8
    CHECK(s[0] == "begin " + f.path);
    CHECK(s[1].starts_with("error " + f.path + "!/line/6 corrupt"));
    CHECK(s[3] == "item " + f.path + "!/line/8");
  }
  SUBCASE("member_done sees the whole-file locators") {
    SourceOptions o;
    o.member_done = [&](std::string_view l) { return l == f.path + "!/line/4"; };
    const auto c = collect_slices(cut(f, ContainerKind::tsv, {tsv.line_starts[3] + 1}), o);
    CHECK(c.counts.skipped_done == 1);
    CHECK(c.good().size() == 3);  // lines 2, 7, 8
  }
  SUBCASE("a file changed since it was listed is reported at the end of its slice") {
    auto grown = read_bytes(tsv.path);
    grown.push_back('\n');
    write_bytes(tsv.path, grown);
    const auto c = collect_slices({range(f, 0, 1, 0)});
    const auto s = c.summary();
    REQUIRE(s.size() >= 2);
    CHECK(s[s.size() - 2] == "error " + f.path + " io_error: changed during scan");
  }
}

TEST_CASE("slices of other kinds: error slices, whole and ranged tar, plain files") {
  TempDir t;
  write_archive(
      t / "shard.tar",
      {{"a.jpg", fake_jpeg(64, 1)}, {"b.json", bytes_of("{}")}, {"c.jpg", fake_jpeg(80, 2)}});
  write_bytes(t / "cat.jpg", fake_jpeg(64, 3));
  const auto tar = info_of((t / "shard.tar").string());
  const auto cat = info_of((t / "cat.jpg").string());

  SUBCASE("an error slice is one error item at its path, and the stream goes on") {
    const auto c =
        collect_slices({FileSlice{.file = FileInfo{.path = "/gone/x"},
                                  .error = ItemError{ErrorCode::io_error, "cannot access: gone"}},
                        FileSlice{.file = cat}});
    CHECK(c.summary() == std::vector<std::string>{"error /gone/x io_error: cannot access: gone",
                                                  "item " + cat.path});
    CHECK(c.counts.files == 1);
  }
  SUBCASE("a whole tar slice streams as the walk does, is_item and all") {
    SourceOptions o;
    o.is_item = sniff_image;
    const auto walked = collect({tar.path}, o);
    const auto sliced = collect_slices({FileSlice{.file = tar}}, o);
    CHECK(sliced.summary() == walked.summary());
    CHECK(items_of(sliced) == items_of(walked));
    CHECK(sliced.counts.skipped_not_items == 1);
    CHECK(sliced.counts.bytes_consumed == tar.size);
  }
  SUBCASE("a byte range of a tar or a plain file is one unsupported error item") {
    int asked = 0;
    SourceOptions o;
    o.unchanged = [&](const FileInfo&, ContainerKind) {
      ++asked;
      return false;
    };
    const auto c = collect_slices({range(tar, 0, 100, 0), range(cat, 0, 10, 0)}, o);
    CHECK(c.summary() ==
          std::vector<std::string>{
              "error " + tar.path +
                  " unsupported: a byte range of a tar file: only TSV and RecordIO files are "
                  "read in ranges",
              "error " + cat.path +
                  " unsupported: a byte range of a plain file: only TSV and RecordIO files are "
                  "read in ranges"});
    CHECK(asked == 0);
    CHECK(c.counts.containers == 0);
  }
  SUBCASE("count_slice_items refuses other kinds and reports unreadable files") {
    auto r = count_slice_items(tar, ContainerKind::tar, 0, 100);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::unsupported);
    auto gone =
        count_slice_items(FileInfo{.path = (t / "nope").string()}, ContainerKind::tsv, 0, 10);
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().code == ErrorCode::io_error);
  }
}

TEST_CASE("count_slice_items on RecordIO with broken framing is corrupt") {
  TempDir t;
  auto rec = build_rec(t.path());
  rec.raw[rec.starts[3]] ^= 0xff;  // record 3's magic
  write_bytes(rec.path, rec.raw);
  const auto f = info_of(rec.path);
  auto r = count_slice_items(f, ContainerKind::recordio, 0, f.size);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::corrupt);
  CHECK(r.error().message == "bad magic 0xced723f5 at offset " + std::to_string(rec.starts[3]));
  // Before the damage the count is fine.
  auto ok = count_slice_items(f, ContainerKind::recordio, 0, rec.starts[2] + 1);
  REQUIRE(ok.has_value());
  CHECK(ok.value() == 3);
}

TEST_CASE("long lines and records: cuts around starts and the readers' 64 KiB blocks") {
  TempDir t;
  SUBCASE("TSV lines of 60-140 KiB") {
    std::string text = "id\timage\n";
    std::vector<std::uint64_t> starts = {0};
    for (std::uint32_t i = 0; i < 5; ++i) {
      starts.push_back(text.size());
      text += "id" + std::to_string(i) + "\t" + base64(fake_jpeg(45000 + 15000 * i, 40 + i)) + "\n";
    }
    const auto path = (t / "big.tsv").string();
    write_text(path, text);
    const auto f = info_of(path);
    const auto whole = items_of(collect({path}));
    REQUIRE(whole.size() == 5);
    const auto before = [&](std::uint64_t c) { return starts_below(starts, c); };
    for (const auto c : cuts_around(starts, f.size)) {
      CAPTURE(c);
      check_cut(f, ContainerKind::tsv, whole, {c}, before);
    }
    CHECK(check_cut(f, ContainerKind::tsv, whole, {starts[3] - 70000, starts[3] + 1}, before));
  }
  SUBCASE("RecordIO records of 60-140 KiB, one split in parts") {
    Bytes raw;
    std::vector<std::uint64_t> starts;
    starts.push_back(append_record(raw, recordio_data(0, 0, {1.0f, 6.0f}, {})));
    for (std::uint32_t i = 0; i < 5; ++i) {
      Bytes img = fake_jpeg(60000 + 20000 * i, 50 + i);
      if (i == 2) std::copy(kMagicBytes, kMagicBytes + 4, img.begin() + 70000);  // data 70024
      starts.push_back(append_record(raw, recordio_data(float(i), i, {}, img)));
    }
    const auto path = (t / "big.rec").string();
    write_bytes(path, raw);
    const auto f = info_of(path);
    const auto whole = items_of(collect({path}));
    REQUIRE(whole.size() == 5);
    const auto before = [&](std::uint64_t c) { return starts_below(starts, c); };
    for (const auto c : cuts_around(starts, f.size)) {
      CAPTURE(c);
      check_cut(f, ContainerKind::recordio, whole, {c}, before);
    }
    // A begin inside record 3's second part, and one 64 KiB before record 5.
    CHECK(check_cut(f, ContainerKind::recordio, whole,
                    {starts[3] + 70100, starts[4] + 4, starts[5] - 65532}, before));
  }
}
