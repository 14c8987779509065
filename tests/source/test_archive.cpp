// tar (plain and compressed) and zip containers: locators, order, bytes, markers, callbacks,
// damage, limits, raw member names, and read_item.
#include <archive.h>
#include <doctest/doctest.h>

#include <filesystem>

#include "residue/source.hpp"
#include "source_helpers.hpp"
#include "support/fixtures.hpp"

using namespace residue;
using namespace residue::test;
namespace fs = std::filesystem;

namespace {

std::vector<Member> shard(int n, std::size_t size = 3000) {
  std::vector<Member> m;
  for (int i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%06d.jpg", i);
    m.push_back(
        {name, fake_jpeg(size + static_cast<std::size_t>(i), static_cast<std::uint32_t>(i))});
  }
  return m;
}

void check_members(const Collected& c, const std::string& container, const std::vector<Member>& m,
                   ContainerKind kind) {
  const auto good = c.good();
  REQUIRE(good.size() == m.size());
  for (std::size_t i = 0; i < m.size(); ++i) {
    CHECK(good[i]->locator == container + "!/" + m[i].name);
    CHECK(good[i]->container == container);
    CHECK(good[i]->container_kind == kind);
    CHECK_FALSE(good[i]->needs_read);
    SourceItem copy = *good[i];
    auto bytes = item_bytes(copy, 1 << 30);
    REQUIRE(bytes.has_value());
    CHECK(bytes.value() == m[i].bytes);
    auto again = read_item(good[i]->locator);
    REQUIRE(again.has_value());
    CHECK(again.value() == m[i].bytes);
  }
}

bool zstd_available() {
  return archive_libzstd_version() != nullptr;
}

}  // namespace

TEST_CASE("a tar shard yields its members in order, bracketed by container markers") {
  TempDir t;
  const auto m = shard(5);
  const auto path = (t / "shard-0001.tar").string();
  write_archive(path, m);
  const auto c = collect({t.path().string()});
  const auto s = c.summary();
  REQUIRE(s.size() == 7);
  CHECK(s.front() == "begin " + path);
  CHECK(s[1] == "item " + path + "!/000000.jpg");
  CHECK(s.back() == "end " + path);
  CHECK(c.items.front().container_kind == ContainerKind::tar);
  CHECK(c.items.front().file.size == fs::file_size(path));
  check_members(c, path, m, ContainerKind::tar);
  CHECK(c.counts.containers == 1);
  CHECK(c.counts.files == 1);
  CHECK(c.counts.bytes_consumed == fs::file_size(path));
}

TEST_CASE("compressed tar streams are detected by content, not by name") {
  TempDir t;
  const auto m = shard(3);
  std::vector<std::string> filters = {"gzip", "bzip2", "xz"};
  if (zstd_available()) {
    filters.emplace_back("zstd");
  } else {
    MESSAGE("libarchive built without zstd: tar.zst not tested");
  }
  for (const auto& f : filters) {
    CAPTURE(f);
    const auto path = (t / ("shard." + f + ".bin")).string();  // no .tar in the name
    write_archive(path, m, "pax", f);
    const auto c = collect({path});
    CHECK(c.summary().size() == 5);
    check_members(c, path, m, ContainerKind::tar);
  }
  SUBCASE("a gzip file that is not a tar is a plain file") {
    const auto gz = (t / "photo.jpg.gz").string();
    write_archive(gz, {m[0]}, "raw", "gzip");
    const auto c = collect({gz});
    REQUIRE(c.items.size() == 1);
    CHECK(c.items[0].needs_read);
  }
  SUBCASE("a .tar name on a JPEG does not make it a container") {
    write_bytes(t / "fake.tar", fake_jpeg(1000, 9));
    const auto c = collect({(t / "fake.tar").string()});
    REQUIRE(c.items.size() == 1);
    CHECK(c.items[0].container_kind == ContainerKind::none);
  }
}

TEST_CASE("a WebDataset shard: only image members are items when is_item sniffs") {
  TempDir t;
  std::vector<Member> m;
  for (int i = 0; i < 3; ++i) {
    const std::string key = "00012" + std::to_string(i);
    m.push_back({key + ".jpg", fake_jpeg(500, static_cast<std::uint32_t>(i))});
    m.push_back({key + ".json", bytes_of("{\"caption\": \"x\"}")});
    m.push_back({key + ".txt", bytes_of("a caption")});
  }
  m.push_back({"subdir/", {}});
  m.push_back({"subdir/000200.jpg", fake_jpeg(700, 7)});
  const auto path = (t / "wds.tar").string();
  write_archive(path, m);
  SourceOptions o;
  o.is_item = sniff_image;
  const auto c = collect({path}, o);
  std::vector<std::string> expected = {"begin " + path};
  for (int i = 0; i < 3; ++i)
    expected.push_back("item " + path + "!/00012" + std::to_string(i) + ".jpg");
  expected.push_back("item " + path + "!/subdir/000200.jpg");
  expected.push_back("end " + path);
  CHECK(c.summary() == expected);
  CHECK(c.counts.skipped_not_items == 6);
  CHECK(c.good()[3]->bytes == fake_jpeg(700, 7));
}

TEST_CASE("zip archives: deflated, stored, and empty") {
  TempDir t;
  const auto m = shard(4);
  const auto path = (t / "images.zip").string();
  write_archive(path, m, "zip");
  check_members(collect({path}), path, m, ContainerKind::zip);

  SUBCASE("an empty zip (PK\\5\\6) is a container with no items") {
    const auto empty = (t / "empty.zip").string();
    write_archive(empty, {}, "zip");
    CHECK(read_bytes(empty)[3] == 6);
    const auto c = collect({empty});
    CHECK(c.summary() == std::vector<std::string>{"begin " + empty, "end " + empty});
  }
}

TEST_CASE("a truncated tar: the cut member is an error item, then the container ends") {
  TempDir t;
  const auto m = shard(20, 5000);
  const auto path = (t / "cut.tar").string();
  write_archive(path, m);
  auto bytes = read_bytes(path);
  SUBCASE("cut inside member 000012.jpg's data") {
    // gnutar: 512-byte header + data padded to 512; member i starts at sum of earlier blocks.
    std::size_t offset = 0;
    for (int i = 0; i < 12; ++i) offset += 512 + (m[i].bytes.size() + 511) / 512 * 512;
    bytes.resize(offset + 512 + 1000);
    write_bytes(path, bytes);
    const auto c = collect({path});
    const auto s = c.summary();
    REQUIRE(s.size() == 15);
    CHECK(c.good().size() == 12);
    CHECK(s[13].starts_with("error " + path + "!/000012.jpg truncated: "));
    CHECK(s[14] == "end " + path);
  }
  SUBCASE("cut between members") {
    std::size_t offset = 0;
    for (int i = 0; i < 13; ++i) offset += 512 + (m[i].bytes.size() + 511) / 512 * 512;
    bytes.resize(offset + 100);  // part of member 13's header
    write_bytes(path, bytes);
    const auto c = collect({path, (t / "after.jpg").string()});
    const auto s = c.summary();
    REQUIRE(s.size() >= 16);
    CHECK(c.good().size() == 13);
    CHECK(s[14].starts_with("error " + path +
                            " truncated: truncated tar archive after member 000012.jpg"));
    CHECK(s[15] == "end " + path);
  }
}

TEST_CASE("a damaged tar header is an error item and the stream goes on") {
  TempDir t;
  const auto m = shard(4, 1000);
  const auto path = (t / "bad.tar").string();
  write_archive(path, m);
  auto bytes = read_bytes(path);
  const std::size_t second = 512 + 1024;  // member 1's header
  bytes[second + 148] ^= 0x55;            // its checksum field
  write_bytes(path, bytes);
  write_bytes(t / "z.jpg", fake_jpeg(10, 1));
  const auto c = collect({t.path().string()});
  const auto errors = c.errors();
  REQUIRE(errors.size() == 1);  // one error for the damaged stretch, however many blocks it spans
  CHECK(errors[0]->locator == path);
  CHECK(errors[0]->error->code == ErrorCode::corrupt);
  CHECK(errors[0]->error->message.starts_with("damaged tar archive after member 000000.jpg"));
  CHECK(c.summary().back() == "item " + (t / "z.jpg").string());
  // libarchive resynchronises on the next valid header: members 2 and 3 are still items.
  std::vector<std::string> good;
  for (const auto* it : c.good()) good.push_back(it->locator);
  CHECK(good == std::vector<std::string>{path + "!/000000.jpg", path + "!/000002.jpg",
                                         path + "!/000003.jpg", (t / "z.jpg").string()});
  auto again = read_item(path + "!/000003.jpg");
  REQUIRE(again.has_value());
  CHECK(again.value() == m[3].bytes);
}

TEST_CASE("a truncated or damaged zip gives error items, not a stopped stream") {
  TempDir t;
  const auto m = shard(4, 4000);
  const auto path = (t / "cut.zip").string();
  SUBCASE("the end (central directory and part of the last member) cut off") {
    write_archive(path, m, "zip");
    auto bytes = read_bytes(path);
    bytes.resize(bytes.size() * 3 / 4);
    write_bytes(path, bytes);
    const auto c = collect({path});
    CHECK(c.good().size() >= 2);
    REQUIRE(c.errors().size() == 1);
    CHECK(c.summary().back() == "end " + path);
  }
  SUBCASE("flipped bytes inside a deflated member") {
    write_archive(path, m, "zip");
    auto bytes = read_bytes(path);
    for (std::size_t i = 200; i < 260; ++i) bytes[i] ^= 0xA5;  // member 0's data
    write_bytes(path, bytes);
    const auto c = collect({path});
    REQUIRE_FALSE(c.errors().empty());
    CHECK(c.errors()[0]->locator == path + "!/000000.jpg");
    CHECK(c.summary().back() == "end " + path);
  }
}

TEST_CASE("a member above max_item_bytes is a too_large item and is never read into memory") {
  TempDir t;
  auto m = shard(3, 1000);
  m[1].bytes = fake_jpeg(100000, 1);
  const auto path = (t / "big.tar").string();
  write_archive(path, m);
  SUBCASE("tar (size known from the header)") {}
  SUBCASE("gzip tar") {
    write_archive(path, m, "gnutar", "gzip");
  }
  SUBCASE("zip") {
    write_archive(path, m, "zip");
  }
  const auto c = collect({path}, SourceOptions{.max_item_bytes = 50000});
  const auto s = c.summary();
  REQUIRE(s.size() == 5);
  CHECK(s[2].starts_with("error " + path + "!/000001.jpg too_large: member is 100000 bytes"));
  CHECK(c.items[2].bytes.empty());
  CHECK(c.good().size() == 2);
  auto r = read_item(path + "!/000001.jpg", SourceOptions{.max_item_bytes = 50000});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::too_large);
}

TEST_CASE("member_done skips committed members; unchanged skips the whole container") {
  TempDir t;
  const auto m = shard(4);
  const auto path = (t / "s.tar").string();
  write_archive(path, m);
  SourceOptions o;
  o.member_done = [&](std::string_view loc) {
    return loc == path + "!/000000.jpg" || loc == path + "!/000002.jpg";
  };
  const auto c = collect({path}, o);
  CHECK(c.summary() == std::vector<std::string>{"begin " + path, "item " + path + "!/000001.jpg",
                                                "item " + path + "!/000003.jpg", "end " + path});
  CHECK(c.counts.skipped_done == 2);

  SourceOptions u;
  ContainerKind seen = ContainerKind::none;
  u.unchanged = [&](const FileInfo& f, ContainerKind k) {
    seen = k;
    return f.path == path;
  };
  const auto skipped = collect({path}, u);
  CHECK(skipped.items.empty());  // no markers either: the container was never opened
  CHECK(seen == ContainerKind::tar);
  CHECK(skipped.counts.skipped_unchanged == 1);
  CHECK(skipped.counts.containers == 0);
}

TEST_CASE("member names keep their raw bytes: non-UTF-8 tar names, UTF-8-flagged zip names") {
  TempDir t;
  const std::vector<Member> m = {{"caf\xc3\xa9.jpg", fake_jpeg(300, 1)},
                                 {"raw-\xff\xfe.jpg", fake_jpeg(300, 2)},
                                 {"a/b/c.jpg", fake_jpeg(300, 3)},
                                 {std::string(150, 'x') + ".jpg", fake_jpeg(300, 4)}};
  const auto tar = (t / "names.tar").string();
  write_archive(tar, m);
  check_members(collect({tar}), tar, m, ContainerKind::tar);

  const auto zip = (t / "names.zip").string();
  const std::vector<Member> utf8 = {m[0], m[2]};
  write_archive(zip, utf8, "zip", "", /*utf8_locale=*/true);
  const auto raw = read_bytes(zip);
  REQUIRE(raw.size() > 8);
  CHECK((raw[7] & 0x08) != 0);  // general-purpose flag bit 11: the name is UTF-8
  check_members(collect({zip}), zip, utf8, ContainerKind::zip);
}

TEST_CASE("a container rewritten during the scan ends with a \"changed during scan\" error") {
  TempDir t;
  const auto path = (t / "s.tar").string();
  write_archive(path, shard(3));
  ItemStream stream({path}, {});
  auto begin = stream.next();
  REQUIRE(begin.has_value());
  CHECK(begin->event == SourceEvent::container_begin);
  auto bytes = read_bytes(path);
  bytes.resize(bytes.size() + 512);
  write_bytes(path, bytes);  // same inode, new size
  std::vector<std::string> tail;
  while (auto it = stream.next()) {
    if (it->error) tail.push_back(it->locator + " " + it->error->message);
    if (it->event == SourceEvent::container_end) tail.emplace_back("end");
  }
  CHECK(tail == std::vector<std::string>{path + " changed during scan", "end"});
}

TEST_CASE("read_item on archives: errors for missing members and broken archives") {
  TempDir t;
  const auto path = (t / "s.tar").string();
  write_archive(path, shard(2));
  auto missing = read_item(path + "!/nope.jpg");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::io_error);
  CHECK(missing.error().message == "no member named nope.jpg in " + path);
  auto empty_name = read_item(path + "!/");
  REQUIRE_FALSE(empty_name.has_value());
  CHECK(empty_name.error().code == ErrorCode::io_error);

  auto bytes = read_bytes(path);
  bytes.resize(700);
  write_bytes(path, bytes);
  auto cut = read_item(path + "!/000001.jpg");
  REQUIRE_FALSE(cut.has_value());
  CHECK(cut.error().code == ErrorCode::truncated);
}

TEST_CASE("container magic followed by garbage is one error item for the container") {
  TempDir t;
  const Bytes junk = fake_jpeg(3000, 5);
  Bytes zip(4 + junk.size());
  std::copy_n("PK\x03\x04", 4, zip.begin());
  std::copy(junk.begin(), junk.end(), zip.begin() + 4);
  write_bytes(t / "a.bin", zip);
  Bytes tar(512 + junk.size(), 0);
  std::copy_n("ustar", 5, tar.begin() + 257);
  std::copy(junk.begin(), junk.end(), tar.begin() + 512);
  write_bytes(t / "b.bin", tar);
  const auto c = collect({t.path().string()});
  const auto s = c.summary();
  REQUIRE(s.size() == 6);
  const auto a = (t / "a.bin").string();
  const auto b = (t / "b.bin").string();
  CHECK(s[0] == "begin " + a);
  CHECK(s[1].starts_with("error " + a + " "));
  CHECK(s[2] == "end " + a);
  CHECK(s[3] == "begin " + b);
  CHECK(s[4] == "error " + b + " corrupt: not a readable tar archive: Unrecognized archive format");
  CHECK(s[5] == "end " + b);
}
