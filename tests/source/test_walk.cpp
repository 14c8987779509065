// The walk: order, locators built from the roots as given, symlinks, excludes, errors, laziness.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "residue/source.hpp"
#include "source_helpers.hpp"
#include "support/fixtures.hpp"

using namespace residue;
using namespace residue::test;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> locators(const Collected& c) {
  std::vector<std::string> out;
  for (const auto& it : c.items) out.push_back(it.locator);
  return out;
}
}  // namespace

TEST_CASE(
    "walk lists files recursively in byte order of names, paths built from the root as given") {
  TempDir t;
  write_text(t / "b.jpg", "x");
  write_text(t / "a/z.png", "x");
  write_text(t / "a/c.gif", "x");
  write_text(t / "A.bmp", "x");
  write_text(t / "a-b.jpg", "x");  // "a" < "a-b.jpg": a directory name is compared as a name
  const auto root = t.path().string();
  const std::vector<std::string> expected = {root + "/A.bmp", root + "/a/c.gif", root + "/a/z.png",
                                             root + "/a-b.jpg", root + "/b.jpg"};
  const auto c = collect({root});
  CHECK(locators(c) == expected);
  for (const auto& it : c.items) {
    CHECK(it.needs_read);
    CHECK(it.event == SourceEvent::item);
    CHECK(it.container.empty());
    CHECK(it.container_kind == ContainerKind::none);
    CHECK(it.file.size == 1);
    CHECK(it.file.mtime_ns > 0);
  }
  CHECK(c.counts.files == 5);
  CHECK(c.counts.bytes_consumed == 5);

  SUBCASE("a trailing slash is not doubled") {
    CHECK(collect({root + "/"}).items[0].locator == root + "/A.bmp");
  }
  SUBCASE("root \".\" gives ./a/b.jpg") {
    const auto cwd = fs::current_path();
    fs::current_path(t.path() / "a");
    const auto dot = collect({"."});
    fs::current_path(cwd);
    CHECK(locators(dot) == std::vector<std::string>{"./c.gif", "./z.png"});
  }
  SUBCASE("a file given as a root is its own locator") {
    CHECK(locators(collect({root + "/a/c.gif"})) == std::vector<std::string>{root + "/a/c.gif"});
  }
}

TEST_CASE("a missing root becomes an error item and the walk goes on") {
  TempDir t;
  write_text(t / "ok.jpg", "x");
  const auto c = collect({(t / "missing").string(), (t / "ok.jpg").string()});
  REQUIRE(c.items.size() == 2);
  REQUIRE(c.items[0].error.has_value());
  CHECK(c.items[0].locator == (t / "missing").string());
  CHECK(c.items[0].error->code == ErrorCode::io_error);
  CHECK(c.items[0].error->message.find("No such file") != std::string::npos);
  CHECK_FALSE(c.items[1].error.has_value());
}

TEST_CASE("symlinks are skipped by default and followed on request, loops reported once") {
  TempDir t;
  write_text(t / "d/real.jpg", "x");
  fs::create_directory_symlink(t / "d", t / "d/loop");
  fs::create_symlink(t / "d/real.jpg", t / "d/link.jpg");
  fs::create_symlink(t / "nowhere", t / "d/dangling.jpg");
  fs::create_directory_symlink(t / "d", t / "rootlink");
  const auto d = (t / "d").string();

  const auto plain = collect({d});
  CHECK(locators(plain) == std::vector<std::string>{d + "/real.jpg"});

  const auto followed = collect({d}, SourceOptions{.walk = {.follow_symlinks = true}});
  const std::vector<std::string> expected = {
      "error " + d + "/dangling.jpg io_error: broken symbolic link", "item " + d + "/link.jpg",
      "error " + d + "/loop io_error: symbolic link loop: leads back to a directory being walked",
      "item " + d + "/real.jpg"};
  CHECK(followed.summary() == expected);

  SUBCASE("a symlink given as a root is followed even without follow_symlinks") {
    const auto r = (t / "rootlink").string();
    CHECK(locators(collect({r})) == std::vector<std::string>{r + "/real.jpg"});
  }
  SUBCASE("a dangling symlink root is an error item") {
    const auto c = collect({d + "/dangling.jpg"});
    REQUIRE(c.items.size() == 1);
    CHECK(c.summary()[0] == "error " + d + "/dangling.jpg io_error: broken symbolic link");
  }
  SUBCASE("a symlink cycle between two links is an error item") {
    fs::create_symlink(t / "d/ping", t / "d/pong");
    fs::create_symlink(t / "d/pong", t / "d/ping");
    const auto c = collect({d}, SourceOptions{.walk = {.follow_symlinks = true}});
    int loops = 0;
    for (const auto& s : c.summary()) loops += s.find("symbolic link loop") != std::string::npos;
    CHECK(loops == 3);  // loop dir, ping, pong
  }
}

TEST_CASE(
    "excludes match the full path or the base name, and an excluded directory is not entered") {
  TempDir t;
  write_text(t / "keep/a.jpg", "x");
  write_text(t / "keep/a.json", "x");
  write_text(t / "cache/b.jpg", "x");
  write_text(t / "deep/cache/c.jpg", "x");
  const auto root = t.path().string();
  const auto c = collect({root}, SourceOptions{.walk = {.excludes = {"*.json", "cache"}}});
  CHECK(locators(c) == std::vector<std::string>{root + "/keep/a.jpg"});
  const auto by_path = collect({root}, SourceOptions{.walk = {.excludes = {"*/deep/*"}}});
  CHECK(locators(by_path) == std::vector<std::string>{root + "/cache/b.jpg", root + "/keep/a.jpg",
                                                      root + "/keep/a.json"});
}

TEST_CASE("non-UTF-8 file names keep their raw bytes in locators and read back") {
  TempDir t;
  const std::string name = "caf\xe9-\xff\xfe.jpg";  // Latin-1 and invalid bytes
  const auto root = t.path().string();
  const auto path = root + "/" + name;
  write_bytes(path, fake_jpeg(100, 1));
  const auto c = collect({root});
  REQUIRE(c.items.size() == 1);
  CHECK(c.items[0].locator == path);
  auto item = c.items[0];
  auto bytes = item_bytes(item, 1 << 20);
  REQUIRE(bytes.has_value());
  CHECK(bytes.value() == fake_jpeg(100, 1));
  auto again = read_item(path);
  REQUIRE(again.has_value());
  CHECK(again.value() == fake_jpeg(100, 1));
}

TEST_CASE("an unreadable directory is an error item and the walk goes on (skipped as root)") {
  if (::geteuid() == 0) {
    MESSAGE("running as root: permission bits do not deny reads; skipped");
    return;
  }
  TempDir t;
  write_text(t / "a/x.jpg", "x");
  write_text(t / "b/y.jpg", "x");
  fs::permissions(t / "a", fs::perms::none);
  const auto root = t.path().string();
  const auto c = collect({root});
  fs::permissions(t / "a", fs::perms::owner_all);
  REQUIRE(c.items.size() == 2);
  CHECK(c.summary()[0] ==
        "error " + root + "/a io_error: cannot open directory: Permission denied");
  CHECK(c.items[1].locator == root + "/b/y.jpg");
}

TEST_CASE("an unreadable file is an io_error item naming the reason (skipped as root)") {
  if (::geteuid() == 0) {
    MESSAGE("running as root: permission bits do not deny reads; skipped");
    return;
  }
  TempDir t;
  write_text(t / "secret.jpg", "x");
  write_text(t / "z.jpg", "x");
  fs::permissions(t / "secret.jpg", fs::perms::none);
  const auto c = collect({t.path().string()});
  REQUIRE(c.items.size() == 2);
  REQUIRE(c.items[0].error.has_value());
  CHECK(c.items[0].error->message == "cannot open: Permission denied");
  CHECK_FALSE(c.items[1].error.has_value());
  auto r = read_file_bytes((t / "secret.jpg").string());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("Permission denied") != std::string::npos);
}

TEST_CASE("the walk is lazy: directories are listed and entries stat'ed only when reached") {
  TempDir t;
  const auto root = t.path().string();
  fs::create_directories(t / "a");
  fs::create_directories(t / "b");
  for (int i = 0; i < 2000; ++i) {  // file creation dominates the test time
    char name[32];
    std::snprintf(name, sizeof name, "%05d.jpg", i);
    const int fd = ::open((t / "a" / name).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    REQUIRE(fd >= 0);
    ::close(fd);
  }
  ItemStream stream({root}, {});
  auto first = stream.next();
  REQUIRE(first.has_value());
  CHECK(first->locator == root + "/a/00000.jpg");
  CHECK(stream.counts().files == 1);
  // A file listed but not yet reached vanishes: it comes out as an error, not as a stale item.
  fs::remove(t / "a/00001.jpg");
  // A directory not yet entered gains a file: it is seen.
  write_text(t / "b/new.jpg", "x");
  auto second = stream.next();
  REQUIRE(second.has_value());
  CHECK(second->locator == root + "/a/00001.jpg");
  REQUIRE(second->error.has_value());
  CHECK(second->error->message == "cannot access: No such file or directory");
  std::string last;
  std::uint64_t n = 2;
  while (auto it = stream.next()) {
    last = it->locator;
    ++n;
  }
  CHECK(n == 2001);
  CHECK(last == root + "/b/new.jpg");
}

TEST_CASE("total_bytes sums regular file sizes under the roots with the walk's options") {
  TempDir t;
  write_bytes(t / "a.jpg", Bytes(10));
  fs::create_directories(t / "d");
  write_bytes(t / "d/b.jpg", Bytes(32));
  write_bytes(t / "d/skip.json", Bytes(1000));
  const std::vector<std::string> roots = {t.path().string(), (t / "missing").string()};
  CHECK(total_bytes(roots, {}) == 1042);
  CHECK(total_bytes(roots, WalkOptions{.excludes = {"*.json"}}) == 42);
}

TEST_CASE("read_file_bytes reports empty, missing, non-regular and too-large files") {
  TempDir t;
  write_text(t / "empty.jpg", "");
  write_text(t / "data.bin", "abc");
  auto empty = read_file_bytes((t / "empty.jpg").string());
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code == ErrorCode::empty);
  auto missing = read_file_bytes((t / "nope").string());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::io_error);
  auto dir = read_file_bytes(t.path().string());
  REQUIRE_FALSE(dir.has_value());
  CHECK(dir.error().code == ErrorCode::unsupported);
  auto big = read_file_bytes((t / "data.bin").string(), 2);
  REQUIRE_FALSE(big.has_value());
  CHECK(big.error().code == ErrorCode::too_large);
  auto ok = read_file_bytes((t / "data.bin").string());
  REQUIRE(ok.has_value());
  CHECK(ok.value() == bytes_of("abc"));
}
