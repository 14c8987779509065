// rewrite_container: every kind, removing none, one, several, all but one and all items. The
// expected output is derived independently of the rewrite's parsers: tar archives are built as
// concatenations of single-entry segments written by libarchive, so the expected rewrite is the
// concatenation of the kept segments plus the trailer; TSV and RecordIO files are built from
// their lines and records. The output is also read back with ItemStream and read_item.
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <set>

#include "residue/source.hpp"
#include "source_helpers.hpp"
#include "support/fixtures.hpp"

using namespace residue;
using namespace residue::test;
namespace fs = std::filesystem;

namespace {

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// One libarchive entry's raw blocks: a one-member unblocked archive minus its two zero blocks.
Bytes tar_segment(const Member& m, const std::string& format) {
  struct archive* a = archive_write_new();
  REQUIRE(archive_write_set_format_by_name(a, format.c_str()) == ARCHIVE_OK);
  REQUIRE(archive_write_set_bytes_per_block(a, 0) == ARCHIVE_OK);
  Bytes buf(m.bytes.size() + (1 << 16));
  std::size_t used = 0;
  REQUIRE(archive_write_open_memory(a, buf.data(), buf.size(), &used) == ARCHIVE_OK);
  struct archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, m.name.c_str());
  archive_entry_set_size(e, static_cast<la_int64_t>(m.bytes.size()));
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_mtime(e, 1700000000, 0);
  REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
  if (!m.bytes.empty()) archive_write_data(a, m.bytes.data(), m.bytes.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  REQUIRE(used >= 1536);
  REQUIRE(std::all_of(buf.begin() + static_cast<std::ptrdiff_t>(used - 1024),
                      buf.begin() + static_cast<std::ptrdiff_t>(used), [](auto v) { return !v; }));
  buf.resize(used - 1024);
  REQUIRE(buf.size() % 512 == 0);
  return buf;
}

/// A tar built from segments, ended like GNU tar: two zero blocks, then padding to 10240.
struct TarFixture {
  std::string path;
  std::vector<Member> members;
  std::vector<Bytes> segments;
  Bytes trailer;
  /// The expected rewrite: kept segments + the same trailer.
  [[nodiscard]] Bytes expected(const std::set<std::size_t>& removed) const {
    Bytes out;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (removed.count(i) == 0) out.insert(out.end(), segments[i].begin(), segments[i].end());
    }
    out.insert(out.end(), trailer.begin(), trailer.end());
    return out;
  }
  [[nodiscard]] std::string locator(std::size_t i) const { return path + "!/" + members[i].name; }
};

TarFixture make_tar(const fs::path& p, std::vector<Member> members,
                    const std::string& format = "gnutar") {
  TarFixture f;
  f.path = p.string();
  f.members = std::move(members);
  for (const auto& m : f.members) f.segments.push_back(tar_segment(m, format));
  Bytes all = concat(f.segments);
  f.trailer.assign(1024 + (10240 - (all.size() + 1024) % 10240) % 10240, 0);
  all.insert(all.end(), f.trailer.begin(), f.trailer.end());
  write_bytes(p, all);
  return f;
}

std::vector<Member> images(int n, std::size_t size = 2000) {
  std::vector<Member> m;
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d.jpg", i);
    m.push_back({name, fake_jpeg(size + static_cast<std::size_t>(i) * 37,
                                 static_cast<std::uint32_t>(100 + i))});
  }
  return m;
}

/// The subsets every kind is tested with, over n items (indices into the item list).
std::vector<std::pair<std::string, std::set<std::size_t>>> removal_cases(std::size_t n) {
  std::set<std::size_t> all, all_but_one;
  for (std::size_t i = 0; i < n; ++i) all.insert(i);
  all_but_one = all;
  all_but_one.erase(n / 2);
  return {{"none", {}},
          {"first", {0}},
          {"last", {n - 1}},
          {"several", {1, 3, n - 2}},
          {"all but one", all_but_one},
          {"all", all}};
}

/// (name, bytes) of the good items ItemStream reads from a file.
std::vector<std::pair<std::string, Bytes>> scanned(const std::string& path) {
  std::vector<std::pair<std::string, Bytes>> out;
  const auto c = collect({path});
  for (const auto* it : c.good()) {
    SourceItem copy = *it;
    auto bytes = item_bytes(copy, 1 << 30);
    REQUIRE(bytes.has_value());
    out.emplace_back(it->locator.substr(path.size() + 2), std::move(bytes.value()));
  }
  CHECK(c.errors().empty());
  return out;
}

/// Sets a tar header block's checksum after an edit.
void fix_checksum(std::uint8_t* h) {
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; ++i) sum += h[i];
  std::snprintf(reinterpret_cast<char*>(h + 148), 8, "%06o", sum);
  h[154] = 0;
  h[155] = ' ';
}

std::unordered_set<std::string> locators(const TarFixture& f, const std::set<std::size_t>& idx) {
  std::unordered_set<std::string> out;
  for (auto i : idx) out.insert(f.locator(i));
  return out;
}

}  // namespace

TEST_CASE("tar rewrite keeps exactly the other entries' raw blocks, in order, plus the trailer") {
  for (const std::string format : {"gnutar", "pax", "ustar"}) {
    CAPTURE(format);
    TempDir t;
    const auto f = make_tar(t / "shard.tar", images(7), format);
    const Bytes original = read_bytes(f.path);
    for (const auto& [label, removed] : removal_cases(f.members.size())) {
      CAPTURE(label);
      const auto out = (t / ("out-" + label + ".tar")).string();
      auto r = rewrite_container(f.path, ContainerKind::tar, locators(f, removed), out);
      REQUIRE_MESSAGE(r.has_value(), r.error().message);
      CHECK(read_bytes(out) == f.expected(removed));
      CHECK(read_bytes(f.path) == original);
      CHECK(r->members_before == 7);
      CHECK(r->removed == removed.size());
      CHECK(r->kept == 7 - removed.size());
      CHECK(r->removed_locators.size() == removed.size());
      CHECK(r->missing_locators.empty());
      CHECK(r->bytes_before == original.size());
      CHECK(r->bytes_after == fs::file_size(out));
      if (removed.size() == f.members.size()) continue;  // only zero blocks: not a tar any more
      std::vector<std::pair<std::string, Bytes>> want;
      for (std::size_t i = 0; i < f.members.size(); ++i) {
        if (removed.count(i) == 0) want.emplace_back(f.members[i].name, f.members[i].bytes);
      }
      CHECK(scanned(out) == want);
    }
  }
}

TEST_CASE("tar rewrite: pax long names, GNU long names and ustar prefixes go with their entry") {
  const std::string long_component(150, 'p');
  const std::string prefixed = std::string(60, 'd') + "/" + std::string(70, 'n') + ".jpg";
  struct Case {
    std::string format, name;
    char ext_type;  // typeflag of the segment's first block
  };
  for (const auto& c :
       {Case{"pax", long_component + ".jpg", 'x'},
        Case{"gnutar", "dir/" + long_component + ".jpg", 'L'}, Case{"ustar", prefixed, '0'}}) {
    CAPTURE(c.format);
    TempDir t;
    auto m = images(4);
    m[1].name = c.name;
    m[2].name = c.name + ".json";
    m[2].bytes = bytes_of("{\"caption\": \"a long-named neighbour\"}");
    const auto f = make_tar(t / "long.tar", m, c.format);
    REQUIRE(f.segments[1][156] == c.ext_type);
    if (c.format == "ustar") REQUIRE(f.segments[1][345] == 'd');  // the name is split
    for (const std::set<std::size_t>& removed :
         {std::set<std::size_t>{1}, std::set<std::size_t>{2}, std::set<std::size_t>{0, 1, 3}}) {
      const auto out =
          (t / ("out" + std::to_string(*removed.begin()) + std::to_string(removed.size()) + ".tar"))
              .string();
      auto r = rewrite_container(f.path, ContainerKind::tar, locators(f, removed), out);
      REQUIRE_MESSAGE(r.has_value(), r.error().message);
      CHECK(read_bytes(out) == f.expected(removed));
      CHECK(r->removed == removed.size());
      for (auto i : removed) CHECK_FALSE(read_item(out + "!/" + m[i].name).has_value());
      for (std::size_t i = 0; i < m.size(); ++i) {
        if (removed.count(i) != 0) continue;
        auto back = read_item(out + "!/" + m[i].name);
        REQUIRE(back.has_value());
        CHECK(back.value() == m[i].bytes);
      }
    }
  }
}

TEST_CASE("WebDataset tar: a json beside a removed jpg stays unless it is asked for too") {
  TempDir t;
  std::vector<Member> m;
  for (int i = 0; i < 4; ++i) {
    char stem[16];
    std::snprintf(stem, sizeof stem, "%06d", i);
    m.push_back({std::string(stem) + ".jpg", fake_jpeg(1500, static_cast<std::uint32_t>(i))});
    m.push_back(
        {std::string(stem) + ".json", bytes_of("{\"key\": \"" + std::string(stem) + "\"}")});
  }
  const auto f = make_tar(t / "wds.tar", m);
  SUBCASE("jpg only") {
    const auto out = (t / "a.tar").string();
    auto r = rewrite_container(f.path, ContainerKind::tar, locators(f, {2}), out);
    REQUIRE(r.has_value());
    CHECK(read_bytes(out) == f.expected({2}));
    CHECK(read_item(out + "!/000001.json").has_value());
    CHECK_FALSE(read_item(out + "!/000001.jpg").has_value());
  }
  SUBCASE("the whole sample") {
    const auto out = (t / "b.tar").string();
    auto r = rewrite_container(f.path, ContainerKind::tar, locators(f, {2, 3}), out);
    REQUIRE(r.has_value());
    CHECK(read_bytes(out) == f.expected({2, 3}));
    CHECK(r->members_before == 8);  // json members are members too
    CHECK(r->kept == 6);
  }
}

TEST_CASE("tar rewrite reports missing locators and removes every member with a removed name") {
  TempDir t;
  auto m = images(4);
  m[3].name = m[1].name;  // a repeated name: the locator names both
  const auto f = make_tar(t / "dup.tar", m);
  const auto out = (t / "out.tar").string();
  const std::string gone = f.path + "!/nope.jpg";
  const std::string other = "elsewhere.tar!/000000.jpg";
  auto r = rewrite_container(f.path, ContainerKind::tar, {f.locator(1), gone, other}, out);
  REQUIRE(r.has_value());
  CHECK(read_bytes(out) == f.expected({1, 3}));
  CHECK(r->removed == 2);
  CHECK(r->removed_locators == std::vector<std::string>{f.locator(1)});
  CHECK(r->missing_locators == std::vector<std::string>{gone, other});  // sorted
}

TEST_CASE("compressed tar round trip: same compressor, same inner blocks") {
  std::vector<std::string> filters = {"gzip", "bzip2", "xz"};
  if (archive_libzstd_version() != nullptr) filters.push_back("zstd");
  for (const auto& filter : filters) {
    CAPTURE(filter);
    TempDir t;
    const auto plain = make_tar(t / "plain.tar", images(5));
    const auto packed = (t / ("shard.tar." + filter)).string();
    {  // compress the fixture's exact bytes with libarchive's raw writer
      struct archive* a = archive_write_new();
      REQUIRE(archive_write_add_filter_by_name(a, filter.c_str()) == ARCHIVE_OK);
      archive_write_set_format_raw(a);
      REQUIRE(archive_write_open_filename(a, packed.c_str()) == ARCHIVE_OK);
      struct archive_entry* e = archive_entry_new();
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_copy_pathname(e, "data");
      REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
      const Bytes raw = read_bytes(plain.path);
      archive_write_data(a, raw.data(), raw.size());
      archive_entry_free(e);
      archive_write_close(a);
      archive_write_free(a);
    }
    const Bytes head_in = read_bytes(packed);
    for (const auto& [label, removed] : removal_cases(5)) {
      CAPTURE(label);
      const auto out = (t / ("out-" + label)).string();
      std::unordered_set<std::string> rm;
      for (auto i : removed) rm.insert(packed + "!/" + plain.members[i].name);
      auto r = rewrite_container(packed, ContainerKind::tar, rm, out);
      REQUIRE_MESSAGE(r.has_value(), r.error().message);
      CHECK(r->removed == removed.size());
      const Bytes packed_out = read_bytes(out);
      CHECK(std::equal(head_in.begin(), head_in.begin() + 3, packed_out.begin()));  // magic
      // Decompress independently (libarchive raw reader) and compare with the expected blocks.
      struct archive* a = archive_read_new();
      archive_read_support_filter_all(a);
      archive_read_support_format_raw(a);
      REQUIRE(archive_read_open_memory(a, packed_out.data(), packed_out.size()) == ARCHIVE_OK);
      struct archive_entry* e = nullptr;
      REQUIRE(archive_read_next_header(a, &e) == ARCHIVE_OK);
      CHECK(archive_filter_name(a, 0) == filter);
      Bytes inner, chunk(1 << 16);
      for (la_ssize_t n; (n = archive_read_data(a, chunk.data(), chunk.size())) > 0;) {
        inner.insert(inner.end(), chunk.begin(), chunk.begin() + n);
      }
      archive_read_free(a);
      CHECK(inner == plain.expected(removed));
    }
  }
}

TEST_CASE("tar input the rewrite cannot copy exactly is refused, and no output is left") {
  TempDir t;
  const auto f = make_tar(t / "in.tar", images(4));
  const Bytes good = read_bytes(f.path);
  const std::size_t second = f.segments[0].size();  // offset of the second header
  const auto out = (t / "out.tar").string();
  const auto attempt = [&](const Bytes& input, ErrorCode want, std::string_view words) {
    const auto in = (t / "bad.tar").string();
    write_bytes(in, input);
    auto r = rewrite_container(in, ContainerKind::tar, {in + "!/000002.jpg"}, out);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == want);
    CHECK_MESSAGE(r.error().message.find(words) != std::string::npos, r.error().message);
    CHECK_FALSE(fs::exists(out));
    CHECK(read_bytes(in) == input);
  };
  SUBCASE("bad checksum") {
    Bytes b = good;
    b[second + 3] ^= 0x20;
    attempt(b, ErrorCode::corrupt, "checksum");
  }
  SUBCASE("truncated inside member data") {
    Bytes b(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(second + 700));
    attempt(b, ErrorCode::truncated, "offset");
  }
  SUBCASE("sparse member") {
    Bytes b = good;
    b[second + 156] = 'S';
    fix_checksum(b.data() + second);
    attempt(b, ErrorCode::unsupported, "type 'S'");
  }
  SUBCASE("data after the end-of-archive marker") {
    Bytes b = good;
    b[b.size() - 10] = 'x';
    attempt(b, ErrorCode::unsupported, "after the end-of-archive");
  }
  SUBCASE("a kept hard link to a removed member") {
    auto m = images(4);
    m[3].name = "link.jpg";
    m[3].bytes = {};
    auto linked = make_tar(t / "l.tar", m);
    Bytes b = read_bytes(linked.path);
    const std::size_t at =
        f.segments[0].size() + linked.segments[1].size() + linked.segments[2].size();
    REQUIRE(b[at] == 'l');
    b[at + 156] = '1';
    std::memset(b.data() + at + 157, 0, 100);
    std::memcpy(b.data() + at + 157, "000002.jpg", 10);
    fix_checksum(b.data() + at);
    attempt(b, ErrorCode::unsupported, "hard link");
  }
  SUBCASE("not a tar at all") {
    const auto in = (t / "plain.jpg").string();
    write_bytes(in, fake_jpeg(3000, 1));
    auto r = rewrite_container(in, ContainerKind::tar, {}, out);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::unsupported);
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("an existing output is never overwritten") {
  TempDir t;
  const auto f = make_tar(t / "in.tar", images(3));
  const auto out = (t / "out.tar").string();
  write_text(out, "precious");
  auto r = rewrite_container(f.path, ContainerKind::tar, {f.locator(0)}, out);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::io_error);
  CHECK(r.error().message.find("File exists") != std::string::npos);
  CHECK(read_bytes(out) == bytes_of("precious"));
}

TEST_CASE("a full disk (RLIMIT_FSIZE) is an io_error with the OS reason and leaves no output") {
  TempDir t;
  const auto f = make_tar(t / "big.tar", images(40, 60000));  // about 2.4 MB
  std::vector<std::pair<std::string, ContainerKind>> inputs = {{f.path, ContainerKind::tar}};
  {  // a TSV of the same images
    std::string text;
    for (const auto& m : f.members) text += m.name + "\t" + base64(m.bytes) + "\n";
    write_text(t / "big.tsv", text);
    inputs.emplace_back((t / "big.tsv").string(), ContainerKind::tsv);
  }
  for (const auto& [in, kind] : inputs) {
    CAPTURE(in);
    const auto out = (t / "out").string();
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // the child: no doctest macros, the exit status says what happened
      ::signal(SIGXFSZ, SIG_IGN);
      const rlimit lim{256 * 1024, 256 * 1024};
      if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(10);
      const std::string first = kind == ContainerKind::tar ? in + "!/000000.jpg" : in + "!/line/1";
      auto r = rewrite_container(in, kind, {first}, out);
      if (r.has_value()) ::_exit(11);
      if (r.error().code != ErrorCode::io_error) ::_exit(12);
      if (r.error().message.find("File too large") == std::string::npos) ::_exit(13);
      ::_exit(fs::exists(out) ? 14 : 0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK_FALSE(fs::exists(out));
  }
}

// ---------------------------------------------------------------------------------------------
// TSV

TEST_CASE("TSV rewrite drops exactly the removed lines, keeping CRLF and a missing final newline") {
  struct Variant {
    std::string name, eol;
    bool header, final_newline;
  };
  for (const auto& v : {Variant{"lf", "\n", false, true}, Variant{"crlf", "\r\n", true, true},
                        Variant{"no final newline", "\n", true, false},
                        Variant{"crlf, no final newline", "\r\n", false, false}}) {
    CAPTURE(v.name);
    TempDir t;
    std::vector<std::string> lines;  // with their terminators
    if (v.header) lines.push_back("id\timage" + v.eol);
    const std::size_t first_item = lines.size();
    for (int i = 0; i < 6; ++i) {
      lines.push_back("m.0" + std::to_string(i) + "\t" +
                      base64(fake_jpeg(300 + static_cast<std::size_t>(i), 7 + i)) + v.eol);
    }
    if (!v.final_newline) lines.back().resize(lines.back().size() - v.eol.size());
    const auto path = (t / "faces.tsv").string();
    write_text(path, std::accumulate(lines.begin(), lines.end(), std::string()));
    for (const auto& [label, removed_items] : removal_cases(6)) {
      CAPTURE(label);
      std::set<std::size_t> removed;  // 0-based indices into `lines`
      std::unordered_set<std::string> rm;
      for (auto i : removed_items) {
        removed.insert(first_item + i);
        rm.insert(path + "!/line/" + std::to_string(first_item + i + 1));
      }
      const auto out = (t / ("out-" + label + ".tsv")).string();
      auto r = rewrite_container(path, ContainerKind::tsv, rm, out);
      REQUIRE_MESSAGE(r.has_value(), r.error().message);
      std::string want;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (removed.count(i) == 0) want += lines[i];
      }
      const Bytes got = read_bytes(out);
      CHECK(std::string(got.begin(), got.end()) == want);
      CHECK(r->members_before == lines.size());
      CHECK(r->removed == removed.size());
      CHECK(r->kept == lines.size() - removed.size());
    }
  }
}

TEST_CASE("TSV rewrite: kept lines are renumbered items; the header row cannot be removed") {
  TempDir t;
  const auto path = (t / "faces.tsv").string();
  std::string text = "id\timage\n";
  std::vector<Bytes> imgs;
  for (int i = 0; i < 4; ++i) {
    imgs.push_back(fake_jpeg(400, 50 + i));
    text += "m" + std::to_string(i) + "\t" + base64(imgs.back()) + "\n";
  }
  write_text(path, text);
  const auto out = (t / "out.tsv").string();
  auto r = rewrite_container(path, ContainerKind::tsv, {path + "!/line/3", path + "!/line/9"}, out);
  REQUIRE(r.has_value());
  CHECK(r->missing_locators == std::vector<std::string>{path + "!/line/9"});
  const auto items = scanned(out);
  REQUIRE(items.size() == 3);
  CHECK(items[0] == std::pair<std::string, Bytes>{"line/2", imgs[0]});
  CHECK(items[1] == std::pair<std::string, Bytes>{"line/3", imgs[2]});
  CHECK(items[2] == std::pair<std::string, Bytes>{"line/4", imgs[3]});
  auto header = rewrite_container(path, ContainerKind::tsv, {path + "!/line/1"}, out + "2");
  REQUIRE_FALSE(header.has_value());
  CHECK(header.error().code == ErrorCode::unsupported);
  CHECK_FALSE(fs::exists(out + "2"));
}

// ---------------------------------------------------------------------------------------------
// RecordIO

namespace {

struct RecFixture {
  std::string path;
  std::vector<Bytes> records;  // each record's raw framing (all parts, padding)
  std::vector<Bytes> images;   // images[i] is record i + 1's image
};

/// InsightFace layout: header record 0 without image, then n faces; face 2 holds the magic
/// twice (a three-part record). With keys "0", "1"... unless `keys` gives others.
RecFixture make_rec(const fs::path& dir, int n, bool idx,
                    const std::function<std::string(std::size_t)>& key = {}) {
  RecFixture f;
  f.path = (dir / "train.rec").string();
  Bytes rec;
  std::vector<std::uint64_t> starts;
  starts.push_back(append_record(rec, recordio_data(0, 0, {float(1 + n), float(1 + n)}, {})));
  for (int i = 1; i <= n; ++i) {
    Bytes img = fake_jpeg(900 + static_cast<std::size_t>(i) * 5, static_cast<std::uint32_t>(i));
    if (i == 2) {
      const std::uint8_t magic[4] = {0x0a, 0x23, 0xd7, 0xce};
      std::copy(magic, magic + 4, img.begin() + 8);
      std::copy(magic, magic + 4, img.begin() + 400);
    }
    starts.push_back(append_record(rec, recordio_data(float(i), std::uint64_t(i), {}, img)));
    f.images.push_back(std::move(img));
  }
  starts.push_back(rec.size());
  for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
    f.records.emplace_back(rec.begin() + static_cast<std::ptrdiff_t>(starts[i]),
                           rec.begin() + static_cast<std::ptrdiff_t>(starts[i + 1]));
  }
  write_bytes(f.path, rec);
  if (idx) {
    std::string text;
    for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
      text += (key ? key(i) : std::to_string(i)) + "\t" + std::to_string(starts[i]) + "\n";
    }
    write_text(dir / "train.idx", text);
  }
  return f;
}

}  // namespace

TEST_CASE("RecordIO rewrite drops whole records (multi-part too) and regenerates the .idx") {
  for (const bool with_idx : {false, true}) {
    CAPTURE(with_idx);
    TempDir t;
    const auto key = [](std::size_t i) { return "k" + std::to_string(i * 10); };
    const auto f = make_rec(t.path(), 6, with_idx, key);
    REQUIRE(f.records[2].size() > f.images[1].size() + 40);  // three parts, framed
    const Bytes original = read_bytes(f.path);
    for (const auto& [label, removed_faces] : removal_cases(6)) {
      CAPTURE(label);
      std::set<std::size_t> removed;  // record numbers
      std::unordered_set<std::string> rm;
      for (auto i : removed_faces) {
        removed.insert(i + 1);
        rm.insert(f.path + "!/record/" + std::to_string(i + 1));
      }
      const auto dir = t / label;
      fs::create_directories(dir);
      const auto out = (dir / "new.rec").string();
      auto r = rewrite_container(f.path, ContainerKind::recordio, rm, out);
      REQUIRE_MESSAGE(r.has_value(), r.error().message);
      Bytes want;
      std::string want_idx;
      for (std::size_t i = 0; i < f.records.size(); ++i) {
        if (removed.count(i) != 0) continue;
        want_idx += key(i) + "\t" + std::to_string(want.size()) + "\n";
        want.insert(want.end(), f.records[i].begin(), f.records[i].end());
      }
      CHECK(read_bytes(out) == want);
      CHECK(read_bytes(f.path) == original);
      CHECK(r->members_before == 7);
      CHECK(r->removed == removed.size());
      CHECK(r->kept == 7 - removed.size());
      CHECK(fs::exists(dir / "new.idx") == with_idx);
      if (with_idx) {
        const Bytes idx = read_bytes(dir / "new.idx");
        CHECK(std::string(idx.begin(), idx.end()) == want_idx);
      }
      // The kept faces, renumbered, through the scanner and through read_item (via the .idx).
      std::vector<Bytes> kept;
      for (std::size_t i = 0; i < f.images.size(); ++i) {
        if (removed.count(i + 1) == 0) kept.push_back(f.images[i]);
      }
      const auto items = scanned(out);
      REQUIRE(items.size() == kept.size());
      for (std::size_t i = 0; i < kept.size(); ++i) {
        CHECK(items[i].first == "record/" + std::to_string(i + 1));
        CHECK(items[i].second == kept[i]);
        auto back = read_item(out + "!/record/" + std::to_string(i + 1));
        REQUIRE(back.has_value());
        CHECK(back.value() == kept[i]);
      }
    }
  }
}

TEST_CASE("RecordIO rewrite refuses the header record, a stale .idx and a damaged file") {
  TempDir t;
  const auto f = make_rec(t.path(), 4, true);
  const auto out = (t / "out.rec").string();
  const auto refused = [&](const std::unordered_set<std::string>& rm, ErrorCode code,
                           std::string_view words) {
    auto r = rewrite_container(f.path, ContainerKind::recordio, rm, out);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == code);
    CHECK_MESSAGE(r.error().message.find(words) != std::string::npos, r.error().message);
    CHECK_FALSE(fs::exists(out));
    CHECK_FALSE(fs::exists(t / "out.idx"));
  };
  SUBCASE("header record") {
    refused({f.path + "!/record/0"}, ErrorCode::unsupported, "header");
  }
  SUBCASE("stale idx") {
    write_text(t / "train.idx", "0\t0\n1\t999\n");
    refused({f.path + "!/record/1"}, ErrorCode::unsupported, ".idx");
  }
  SUBCASE("truncated") {
    Bytes b = read_bytes(f.path);
    b.resize(b.size() - 100);
    write_bytes(f.path, b);
    refused({f.path + "!/record/1"}, ErrorCode::truncated, "offset");
  }
  SUBCASE("an explicit out_idx_path and a missing record") {
    const auto idx_out = (t / "elsewhere.idx").string();
    auto r = rewrite_container(f.path, ContainerKind::recordio,
                               {f.path + "!/record/2", f.path + "!/record/99"}, out, idx_out);
    REQUIRE(r.has_value());
    CHECK(fs::exists(idx_out));
    CHECK_FALSE(fs::exists(t / "out.idx"));
    CHECK(r->missing_locators == std::vector<std::string>{f.path + "!/record/99"});
  }
}

// ---------------------------------------------------------------------------------------------
// zip

namespace {

std::uint32_t crc32(const Bytes& b) {
  std::uint32_t c = 0xffffffff;
  for (auto v : b) {
    c ^= v;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320 & (0u - (c & 1)));
  }
  return ~c;
}

void le(Bytes& b, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

struct ZipOptions {
  bool descriptor = false;  // flag bit 3, zero sizes in the local header, a signed descriptor
  bool zip64 = false;       // offsets in zip64 extras, zip64 end records
  std::string comment;
};

/// A zip built by hand: even members are stored, odd ones "deflated" as one stored deflate
/// block (valid method-8 data). Deterministic, so the expected rewrite is the same builder
/// applied to the kept members.
Bytes build_zip(const std::vector<Member>& members, const ZipOptions& o) {
  Bytes out, cd;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    const bool deflated = i % 2 == 1;
    Bytes data = m.bytes;
    if (deflated) {
      data = {0x01};
      le(data, m.bytes.size(), 2);
      le(data, ~m.bytes.size() & 0xffff, 2);
      data.insert(data.end(), m.bytes.begin(), m.bytes.end());
    }
    const std::uint32_t crc = crc32(m.bytes);
    const std::uint64_t offset = out.size();
    const std::uint16_t flags = o.descriptor ? 0x08 : 0;
    le(out, 0x04034b50, 4);
    le(out, 20, 2);
    le(out, flags, 2);
    le(out, deflated ? 8 : 0, 2);
    le(out, 0x6000, 2);
    le(out, 0x5821, 2);
    le(out, o.descriptor ? 0 : crc, 4);
    le(out, o.descriptor ? 0 : data.size(), 4);
    le(out, o.descriptor ? 0 : m.bytes.size(), 4);
    le(out, m.name.size(), 2);
    le(out, 0, 2);
    out.insert(out.end(), m.name.begin(), m.name.end());
    out.insert(out.end(), data.begin(), data.end());
    if (o.descriptor) {
      le(out, 0x08074b50, 4);
      le(out, crc, 4);
      le(out, data.size(), 4);
      le(out, m.bytes.size(), 4);
    }
    le(cd, 0x02014b50, 4);
    le(cd, 0x031e, 2);  // made by unix
    le(cd, 20, 2);
    le(cd, flags, 2);
    le(cd, deflated ? 8 : 0, 2);
    le(cd, 0x6000, 2);
    le(cd, 0x5821, 2);
    le(cd, crc, 4);
    le(cd, data.size(), 4);
    le(cd, m.bytes.size(), 4);
    le(cd, m.name.size(), 2);
    le(cd, o.zip64 ? 12 : 0, 2);
    le(cd, 0, 2);
    le(cd, 0, 2);
    le(cd, 0, 2);
    le(cd, std::uint64_t{0100644} << 16, 4);
    le(cd, o.zip64 ? 0xffffffff : offset, 4);
    cd.insert(cd.end(), m.name.begin(), m.name.end());
    if (o.zip64) {
      le(cd, 1, 2);
      le(cd, 8, 2);
      le(cd, offset, 8);
    }
  }
  const std::uint64_t cd_offset = out.size();
  out.insert(out.end(), cd.begin(), cd.end());
  if (o.zip64) {
    const std::uint64_t at = out.size();
    le(out, 0x06064b50, 4);
    le(out, 44, 8);
    le(out, 45, 2);
    le(out, 45, 2);
    le(out, 0, 4);
    le(out, 0, 4);
    le(out, members.size(), 8);
    le(out, members.size(), 8);
    le(out, cd.size(), 8);
    le(out, cd_offset, 8);
    le(out, 0x07064b50, 4);
    le(out, 0, 4);
    le(out, at, 8);
    le(out, 1, 4);
  }
  le(out, 0x06054b50, 4);
  le(out, 0, 4);
  le(out, o.zip64 ? 0xffff : members.size(), 2);
  le(out, o.zip64 ? 0xffff : members.size(), 2);
  le(out, o.zip64 ? 0xffffffff : cd.size(), 4);
  le(out, o.zip64 ? 0xffffffff : cd_offset, 4);
  le(out, o.comment.size(), 2);
  out.insert(out.end(), o.comment.begin(), o.comment.end());
  return out;
}

}  // namespace

TEST_CASE("zip rewrite copies kept entries verbatim and rebuilds the central directory") {
  struct Variant {
    std::string name;
    ZipOptions options;
  };
  for (const auto& v :
       {Variant{"plain", {}},
        Variant{"data descriptors", {.descriptor = true, .zip64 = false, .comment = {}}},
        Variant{"zip64 records", {.descriptor = false, .zip64 = true, .comment = {}}},
        Variant{"comment, descriptors, zip64", {true, true, "an archive comment"}}}) {
    CAPTURE(v.name);
    TempDir t;
    auto m = images(6);
    m[4].name = "imgs/sub/" + m[4].name;
    const auto path = (t / "part.zip").string();
    write_bytes(path, build_zip(m, v.options));
    for (const auto& [label, removed] : removal_cases(m.size())) {
      CAPTURE(label);
      std::unordered_set<std::string> rm;
      std::vector<Member> kept;
      for (std::size_t i = 0; i < m.size(); ++i) {
        if (removed.count(i) != 0) {
          rm.insert(path + "!/" + m[i].name);
        } else {
          kept.push_back(m[i]);
        }
      }
      const auto out = (t / ("out-" + label + ".zip")).string();
      auto r = rewrite_container(path, ContainerKind::zip, rm, out);
      REQUIRE_MESSAGE(r.has_value(), r.error().message);
      // Expected: the original's local segments of the kept members, its central records with
      // the new offsets, and new end records (sizes derived from the builder's layout).
      Bytes want;
      {
        Bytes full = build_zip(m, v.options);
        // Local segments of the original, in order.
        std::vector<Bytes> segs;
        std::size_t at = 0;
        for (std::size_t i = 0; i < m.size(); ++i) {
          const std::size_t data = i % 2 == 1 ? m[i].bytes.size() + 5 : m[i].bytes.size();
          const std::size_t len = 30 + m[i].name.size() + data + (v.options.descriptor ? 16 : 0);
          segs.emplace_back(full.begin() + static_cast<std::ptrdiff_t>(at),
                            full.begin() + static_cast<std::ptrdiff_t>(at + len));
          at += len;
        }
        // Central records: those of the original with the offset replaced.
        std::size_t cd = at;
        Bytes new_cd;
        for (std::size_t i = 0; i < m.size(); ++i) {
          const std::size_t len = 46 + m[i].name.size() + (v.options.zip64 ? 12 : 0);
          Bytes rec(full.begin() + static_cast<std::ptrdiff_t>(cd),
                    full.begin() + static_cast<std::ptrdiff_t>(cd + len));
          cd += len;
          if (removed.count(i) != 0) continue;
          Bytes off;
          le(off, want.size(), v.options.zip64 ? 8 : 4);
          std::copy(off.begin(), off.end(),
                    rec.begin() + static_cast<std::ptrdiff_t>(
                                      v.options.zip64 ? 46 + m[i].name.size() + 4 : 42));
          new_cd.insert(new_cd.end(), rec.begin(), rec.end());
          want.insert(want.end(), segs[i].begin(), segs[i].end());
        }
        const std::uint64_t cd_offset = want.size();
        want.insert(want.end(), new_cd.begin(), new_cd.end());
        if (v.options.zip64) {
          const std::uint64_t z = want.size();
          le(want, 0x06064b50, 4);
          le(want, 44, 8);
          le(want, 45, 2);
          le(want, 45, 2);
          le(want, 0, 8);
          le(want, kept.size(), 8);
          le(want, kept.size(), 8);
          le(want, new_cd.size(), 8);
          le(want, cd_offset, 8);
          le(want, 0x07064b50, 4);
          le(want, 0, 4);
          le(want, z, 8);
          le(want, 1, 4);
        }
        le(want, 0x06054b50, 4);
        le(want, 0, 4);
        le(want, v.options.zip64 ? 0xffff : kept.size(), 2);
        le(want, v.options.zip64 ? 0xffff : kept.size(), 2);
        le(want, v.options.zip64 ? 0xffffffff : new_cd.size(), 4);
        le(want, v.options.zip64 ? 0xffffffff : cd_offset, 4);
        le(want, v.options.comment.size(), 2);
        want.insert(want.end(), v.options.comment.begin(), v.options.comment.end());
      }
      CHECK(read_bytes(out) == want);
      CHECK(r->members_before == 6);
      CHECK(r->removed == removed.size());
      CHECK(r->kept == kept.size());
      std::vector<std::pair<std::string, Bytes>> expect_items;
      for (const auto& k : kept) expect_items.emplace_back(k.name, k.bytes);
      // An empty zip64 archive starts with its zip64 end record: not detected as a zip.
      if (!kept.empty() || !v.options.zip64) CHECK(scanned(out) == expect_items);
    }
  }
}

TEST_CASE("zip written by libarchive (deflate): rewrite and read back; bad zips are refused") {
  TempDir t;
  auto m = images(5);
  m.insert(m.begin() + 2, Member{"dir/", {}});
  const auto path = (t / "lib.zip").string();
  write_archive(path, m, "zip");
  const auto out = (t / "out.zip").string();
  auto r = rewrite_container(path, ContainerKind::zip, {path + "!/" + m[3].name}, out);
  REQUIRE_MESSAGE(r.has_value(), r.error().message);
  CHECK(r->members_before == 5);  // the directory is kept but is not an item
  CHECK(r->kept == 4);
  std::vector<std::pair<std::string, Bytes>> want;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (i != 2 && i != 3) want.emplace_back(m[i].name, m[i].bytes);
  }
  CHECK(scanned(out) == want);

  const auto refuse = [&](Bytes b, ErrorCode code, std::string_view words) {
    const auto in = (t / "bad.zip").string();
    write_bytes(in, b);
    const auto o = (t / "bad-out.zip").string();
    auto rr = rewrite_container(in, ContainerKind::zip, {in + "!/000000.jpg"}, o);
    REQUIRE_FALSE(rr.has_value());
    CHECK(rr.error().code == code);
    CHECK_MESSAGE(rr.error().message.find(words) != std::string::npos, rr.error().message);
    CHECK_FALSE(fs::exists(o));
  };
  const Bytes good = build_zip(images(3), {});
  SUBCASE("encrypted") {
    Bytes b = good;
    const std::size_t cd = b.size() - 22 - 3 * (46 + 10);
    b[cd + 8] |= 1;
    refuse(b, ErrorCode::unsupported, "encrypted");
  }
  SUBCASE("no end record") {
    Bytes b(good.begin(), good.end() - 10);
    refuse(b, ErrorCode::corrupt, "end of central directory");
  }
  SUBCASE("bytes before the first entry") {
    Bytes b = good;
    const std::size_t cd = b.size() - 22 - 3 * (46 + 10);
    b[cd + 42] = 4;  // the first entry claims to start at offset 4
    refuse(b, ErrorCode::unsupported, "bytes before");
  }
}
