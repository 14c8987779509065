#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "residue/source.hpp"
#include "support/fixtures.hpp"

using namespace residue;
namespace fs = std::filesystem;
using residue::test::TempDir;

namespace {
std::vector<WalkEntry> walk(const std::vector<std::string>& roots, WalkOptions o = {}) {
  std::vector<WalkEntry> out;
  walk_roots(roots, o, [&](WalkEntry e) { out.push_back(std::move(e)); });
  return out;
}
void touch(const fs::path& p, const std::string& text = "x") {
  fs::create_directories(p.parent_path());
  residue::test::write_bytes(p, std::vector<std::uint8_t>(text.begin(), text.end()));
}
}  // namespace

TEST_CASE("walk lists files recursively in name order with paths built from the root as given") {
  TempDir t;
  touch(t / "b.jpg");
  touch(t / "a/z.png");
  touch(t / "a/c.gif");
  touch(t / "A.bmp");
  const auto root = t.path().string();
  const auto entries = walk({root});
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].path == root + "/A.bmp");
  CHECK(entries[1].path == root + "/a/c.gif");
  CHECK(entries[2].path == root + "/a/z.png");
  CHECK(entries[3].path == root + "/b.jpg");
  for (const auto& e : entries) CHECK_FALSE(e.error.has_value());
  // A trailing slash is not doubled.
  CHECK(walk({root + "/"})[0].path == root + "/A.bmp");
}

TEST_CASE("a missing root becomes an error entry and the walk goes on") {
  TempDir t;
  touch(t / "ok.jpg");
  const auto entries = walk({(t / "missing").string(), (t / "ok.jpg").string()});
  REQUIRE(entries.size() == 2);
  REQUIRE(entries[0].error.has_value());
  CHECK(entries[0].error->code == ErrorCode::io_error);
  CHECK(entries[0].error->message.find("No such file") != std::string::npos);
  CHECK_FALSE(entries[1].error.has_value());
}

TEST_CASE("symlinks are skipped by default; followed on request with loops reported, not entered") {
  TempDir t;
  touch(t / "d/real.jpg");
  fs::create_directory_symlink(t / "d", t / "d/loop");
  fs::create_symlink(t / "d/real.jpg", t / "d/link.jpg");
  fs::create_symlink(t / "nowhere", t / "d/dangling.jpg");
  const auto plain = walk({(t / "d").string()});
  REQUIRE(plain.size() == 1);
  CHECK(plain[0].path.ends_with("real.jpg"));

  const auto followed = walk({(t / "d").string()}, WalkOptions{.follow_symlinks = true});
  int loops = 0, files = 0, broken = 0;
  for (const auto& e : followed) {
    if (!e.error) ++files;
    else if (e.error->message.find("loop") != std::string::npos) ++loops;
    else if (e.error->message.find("broken") != std::string::npos) ++broken;
  }
  CHECK(files == 2);  // real.jpg and link.jpg
  CHECK(loops == 1);
  CHECK(broken == 1);
}

TEST_CASE("read_file_bytes reports empty files, missing files and non-regular files") {
  TempDir t;
  touch(t / "empty.jpg", "");
  touch(t / "data.bin", "abc");
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
  CHECK(ok.value().size() == 3);
}

TEST_CASE("an unreadable file is an io_error naming the reason (skipped when running as root)") {
  if (::geteuid() == 0) {
    MESSAGE("running as root: permission bits do not deny reads; checked by the non-root path only");
    return;
  }
  TempDir t;
  touch(t / "secret.jpg");
  fs::permissions(t / "secret.jpg", fs::perms::none);
  auto r = read_file_bytes((t / "secret.jpg").string());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().message.find("Permission denied") != std::string::npos);
}
