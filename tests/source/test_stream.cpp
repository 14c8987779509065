// ItemStream over plain files: item_bytes, callbacks, counts, size changes, and read_item on
// plain paths (including ones that contain "!/").
#include <doctest/doctest.h>

#include <filesystem>

#include "residue/source.hpp"
#include "source_helpers.hpp"
#include "support/fixtures.hpp"

using namespace residue;
using namespace residue::test;
namespace fs = std::filesystem;

TEST_CASE("to_string names every container kind") {
  CHECK(to_string(ContainerKind::none) == "file");
  CHECK(to_string(ContainerKind::tar) == "tar");
  CHECK(to_string(ContainerKind::zip) == "zip");
  CHECK(to_string(ContainerKind::tsv) == "tsv");
  CHECK(to_string(ContainerKind::recordio) == "recordio");
}

TEST_CASE("plain files are read by item_bytes, byte for byte") {
  TempDir t;
  const auto sample = data_dir() / "samples" / "gnome-control-center-data__cat.jpg";
  fs::copy_file(sample, t / "cat.jpg");
  write_text(t / "empty.jpg", "");
  const auto c = collect({t.path().string()});
  REQUIRE(c.items.size() == 2);
  auto cat = c.items[0];
  CHECK(cat.needs_read);
  CHECK(cat.bytes.empty());
  auto bytes = item_bytes(cat, 1 << 30);
  REQUIRE(bytes.has_value());
  CHECK(bytes.value() == read_bytes(sample));

  SUBCASE("a zero-byte file is an item whose bytes are `empty`") {
    auto empty = c.items[1];
    CHECK_FALSE(empty.error.has_value());
    auto r = item_bytes(empty, 1 << 30);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::empty);
  }
  SUBCASE("max_bytes below the size is too_large") {
    auto again = c.items[0];
    auto r = item_bytes(again, 100);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::too_large);
  }
}

TEST_CASE("a file that changes size or vanishes between the walk and the read is io_error") {
  TempDir t;
  write_bytes(t / "a.jpg", fake_jpeg(100, 1));
  write_bytes(t / "b.jpg", fake_jpeg(100, 2));
  auto c = collect({t.path().string()});
  REQUIRE(c.items.size() == 2);
  write_bytes(t / "a.jpg", fake_jpeg(150, 1));
  fs::remove(t / "b.jpg");
  auto grown = item_bytes(c.items[0], 1 << 20);
  REQUIRE_FALSE(grown.has_value());
  CHECK(grown.error().code == ErrorCode::io_error);
  CHECK(grown.error().message == "changed during scan (size was 100 bytes, now 150)");
  auto gone = item_bytes(c.items[1], 1 << 20);
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error().message == "cannot open: No such file or directory");
}

TEST_CASE("is_item filters plain files by name and head; non-items are counted") {
  TempDir t;
  write_bytes(t / "a.jpg", fake_jpeg(64, 1));
  write_text(t / "a.json", "{\"caption\": \"a cat\"}");
  write_text(t / "notes.txt", "hello");
  std::vector<std::string> names;
  std::vector<std::size_t> head_sizes;
  SourceOptions o;
  o.is_item = [&](std::string_view name, std::span<const std::uint8_t> head) {
    names.emplace_back(name);
    head_sizes.push_back(head.size());
    return sniff_image(name, head);
  };
  const auto c = collect({t.path().string()}, o);
  REQUIRE(c.good().size() == 1);
  CHECK(c.good()[0]->locator == (t / "a.jpg").string());
  CHECK(c.counts.skipped_not_items == 2);
  CHECK(c.counts.files == 3);
  CHECK(names.size() == 3);
  CHECK(head_sizes == std::vector<std::size_t>{16, 16, 5});
}

TEST_CASE("unchanged skips plain files before any item, with their kind, and counts them") {
  TempDir t;
  write_bytes(t / "a.jpg", fake_jpeg(64, 1));
  write_bytes(t / "b.jpg", fake_jpeg(64, 2));
  std::vector<std::pair<std::string, ContainerKind>> asked;
  SourceOptions o;
  o.unchanged = [&](const FileInfo& f, ContainerKind k) {
    asked.emplace_back(f.path, k);
    CHECK(f.size == 64);
    return f.path.ends_with("a.jpg");
  };
  const auto c = collect({t.path().string()}, o);
  REQUIRE(c.items.size() == 1);
  CHECK(c.items[0].locator == (t / "b.jpg").string());
  CHECK(c.counts.skipped_unchanged == 1);
  CHECK(c.counts.bytes_consumed == 64);
  REQUIRE(asked.size() == 2);
  CHECK(asked[0].second == ContainerKind::none);
}

TEST_CASE("read_item reads plain files, also when their path contains \"!/\"") {
  TempDir t;
  fs::create_directories(t / "odd!");
  write_bytes(t / "odd!/a.jpg", fake_jpeg(64, 3));
  write_bytes(t / "plain.jpg", fake_jpeg(64, 4));
  auto odd = read_item((t / "odd!/a.jpg").string());
  REQUIRE(odd.has_value());
  CHECK(odd.value() == fake_jpeg(64, 3));
  SUBCASE("a regular file that is not a container cannot have members") {
    auto r = read_item((t / "plain.jpg").string() + "!/x.jpg");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::io_error);
    CHECK(r.error().message ==
          (t / "plain.jpg").string() + " is not a container (tar, zip, tsv or recordio)");
  }
  SUBCASE("a missing file is io_error") {
    auto r = read_item((t / "nope.jpg").string());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::io_error);
  }
}

TEST_CASE("ItemStream refuses options it cannot honour when it is built") {
  CHECK_THROWS_AS(ItemStream({"."}, SourceOptions{.max_item_bytes = 0}), residue::Error);
  CHECK_THROWS_AS(ItemStream({"."}, SourceOptions{.tsv_column = -1}), residue::Error);
}

TEST_CASE("an exception inside next() becomes an error item and the stream goes on") {
  TempDir t;
  write_bytes(t / "a.jpg", fake_jpeg(64, 1));
  write_bytes(t / "b.jpg", fake_jpeg(64, 2));
  write_archive(t / "c.tar", {{"x.jpg", fake_jpeg(64, 3)}, {"y.jpg", fake_jpeg(64, 4)}});
  write_bytes(t / "d.jpg", fake_jpeg(64, 5));
  SourceOptions o;
  o.is_item = [](std::string_view name, std::span<const std::uint8_t>) {
    if (name.ends_with("a.jpg") || name == "x.jpg") throw std::runtime_error("callback failed");
    return true;
  };
  const auto c = collect({t.path().string()}, o);
  const auto root = t.path().string();
  CHECK(c.summary() == std::vector<std::string>{
                           "error " + root + "/a.jpg internal: callback failed",
                           "item " + root + "/b.jpg",
                           "begin " + root + "/c.tar",
                           "error " + root + "/c.tar internal: callback failed",
                           "end " + root + "/c.tar",
                           "item " + root + "/d.jpg",
                       });
}
