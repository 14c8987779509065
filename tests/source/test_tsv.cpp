// TSV files with base64 image columns: detection, locators, item_bytes decoding, bad lines, and
// read_item. Also the base64 decoder's edge cases through item_bytes.
#include <doctest/doctest.h>

#include <filesystem>

#include "residue/source.hpp"
#include "source_helpers.hpp"
#include "support/fixtures.hpp"

using namespace residue;
using namespace residue::test;
namespace fs = std::filesystem;

namespace {

/// MS-Celeb-style line: MID, rank, URL, face id, rectangle, base64 image.
std::string celeb_line(int i, const Bytes& image) {
  return "m.0" + std::to_string(i) + "\t" + std::to_string(i) + "\thttp://example.com/" +
         std::to_string(i) + ".jpg\tface" + std::to_string(i) + "\tAAAA\t" + base64(image);
}

Outcome<std::vector<std::uint8_t>> decode(const std::string& text) {
  SourceItem item;
  item.container_kind = ContainerKind::tsv;
  item.text = text;
  return item_bytes(item, 1 << 20);
}

}  // namespace

TEST_CASE("a TSV of base64 images yields one item per line, decoded by item_bytes") {
  TempDir t;
  std::vector<Bytes> images;
  std::string text;
  for (int i = 0; i < 5; ++i) {
    images.push_back(fake_jpeg(2000 + static_cast<std::size_t>(i), static_cast<std::uint32_t>(i)));
    text += celeb_line(i, images.back()) + "\n";
  }
  const auto path = (t / "FaceImageCroppedWithOffset.tsv").string();
  write_text(path, text);
  const auto c = collect({path});
  const auto good = c.good();
  REQUIRE(good.size() == 5);
  CHECK(c.summary().front() == "begin " + path);
  CHECK(c.summary().back() == "end " + path);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(good[i]->locator == path + "!/line/" + std::to_string(i + 1));
    CHECK(good[i]->container_kind == ContainerKind::tsv);
    CHECK(good[i]->bytes.empty());
    SourceItem copy = *good[i];
    auto bytes = item_bytes(copy, 1 << 20);
    REQUIRE(bytes.has_value());
    CHECK(bytes.value() == images[i]);
    auto again = read_item(good[i]->locator);
    REQUIRE(again.has_value());
    CHECK(again.value() == images[i]);
  }
  CHECK(c.counts.containers == 1);

  SUBCASE("tsv_column overrides detection") {
    const auto wrong = collect({path}, SourceOptions{.tsv_column = 0});
    SourceItem first = *wrong.good()[0];
    CHECK(first.text == "m.00");
    auto r = read_item(path + "!/line/2", SourceOptions{.tsv_column = 4});
    REQUIRE(r.has_value());  // column 4 holds "AAAA": three zero bytes
    CHECK(r.value() == Bytes{0, 0, 0});
  }
}

TEST_CASE("TSV detection: image column 0, a header row, CRLF, PNG; text without images is plain") {
  TempDir t;
  const Bytes png = [] {
    Bytes b = fake_jpeg(400, 5);
    const std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::copy(sig, sig + 8, b.begin());
    return b;
  }();
  SUBCASE("image first, lines end in CRLF") {
    write_text(t / "a.tsv", base64(png) + "\tid1\r\n" + base64(png) + "\tid2\r\n");
    const auto c = collect({(t / "a.tsv").string()});
    REQUIRE(c.good().size() == 2);
    SourceItem it = *c.good()[1];
    CHECK(it.text == base64(png));
  }
  SUBCASE("a header row is skipped, not an item") {
    write_text(t / "h.tsv", "id\tname\timage\n1\tx\t" + base64(png) + "\n");
    const auto c = collect({(t / "h.tsv").string()});
    REQUIRE(c.good().size() == 1);
    CHECK(c.good()[0]->locator == (t / "h.tsv").string() + "!/line/2");
    CHECK(c.counts.skipped_not_items == 1);
  }
  SUBCASE("a first field longer than the detection window") {
    const Bytes big = fake_jpeg(200000, 6);
    write_text(t / "big.tsv", base64(big) + "\tx\n");
    const auto c = collect({(t / "big.tsv").string()});
    REQUIRE(c.good().size() == 1);
    SourceItem it = *c.good()[0];
    CHECK(item_bytes(it, 1 << 20).value() == big);
  }
  SUBCASE("plain TSV metadata and base64 of non-images are plain files") {
    write_text(t / "meta.tsv", "id\tcaption\n1\ta cat\n");
    write_text(t / "b64.tsv", "1\t" + base64(Bytes(300, 7)) + "\n");
    const auto c = collect({t.path().string()});
    CHECK(c.items.size() == 2);
    for (const auto& it : c.items) CHECK(it.needs_read);
  }
}

TEST_CASE("bad TSV lines are error items and the following lines are still processed") {
  TempDir t;
  const Bytes img = fake_jpeg(500, 1);
  const std::string good = celeb_line(1, img);
  std::string bad_b64 = good;
  bad_b64[bad_b64.size() - 100] = '*';
  const std::string text = good + "\n" +          // line 1
                           "only\ttwo\n" +        // line 2: too few columns
                           bad_b64 + "\n" +       // line 3: bad base64
                           "\n" +                 // line 4: blank
                           "a\tb\tc\td\te\t\n" +  // line 5: empty image field
                           good;                  // line 6: no final newline
  const auto path = (t / "mixed.tsv").string();
  write_text(path, text);
  const auto c = collect({path});
  const auto s = c.summary();
  REQUIRE(s.size() == 7);
  CHECK(s[1] == "item " + path + "!/line/1");
  CHECK(s[2] == "error " + path +
                    "!/line/2 corrupt: line has 2 tab-separated fields; the image is in column 5 "
                    "(0-based)");
  CHECK(s[3] == "item " + path + "!/line/3");
  CHECK(s[4] == "item " + path + "!/line/5");
  CHECK(s[5] == "item " + path + "!/line/6");
  CHECK(c.counts.skipped_not_items == 1);  // the blank line

  SourceItem line3 = c.items[3];
  auto r3 = item_bytes(line3, 1 << 20);
  REQUIRE_FALSE(r3.has_value());
  CHECK(r3.error().code == ErrorCode::corrupt);
  CHECK(r3.error().message ==
        "invalid base64 at offset " + std::to_string(base64(img).size() - 100));
  SourceItem line5 = c.items[4];
  CHECK(item_bytes(line5, 1 << 20).error().code == ErrorCode::empty);
  SourceItem line6 = c.items[5];
  CHECK(item_bytes(line6, 1 << 20).value() == img);

  auto read3 = read_item(path + "!/line/3");
  REQUIRE_FALSE(read3.has_value());
  CHECK(read3.error().code == ErrorCode::corrupt);
  auto read2 = read_item(path + "!/line/2");
  REQUIRE_FALSE(read2.has_value());
  CHECK(read2.error().code == ErrorCode::corrupt);
}

TEST_CASE("a TSV line longer than the limit is a too_large item, skipped without being held") {
  TempDir t;
  const Bytes small = fake_jpeg(300, 1);
  const Bytes huge = fake_jpeg(3 << 20, 2);  // 4 MiB of base64 > 1 MiB * 4/3 + 1 MiB
  const auto path = (t / "long.tsv").string();
  write_text(
      path, celeb_line(1, small) + "\n" + celeb_line(2, huge) + "\n" + celeb_line(3, small) + "\n");
  const auto c = collect({path}, SourceOptions{.max_item_bytes = 1 << 20});
  const auto s = c.summary();
  REQUIRE(s.size() == 5);
  CHECK(s[2].starts_with("error " + path + "!/line/2 too_large: line is longer than "));
  CHECK(c.items[2].text.empty());
  CHECK(s[3] == "item " + path + "!/line/3");
}

TEST_CASE("member_done skips TSV lines; read_item checks its line number") {
  TempDir t;
  const Bytes img = fake_jpeg(300, 1);
  const auto path = (t / "a.tsv").string();
  write_text(path, celeb_line(1, img) + "\n" + celeb_line(2, img) + "\n");
  SourceOptions o;
  o.member_done = [&](std::string_view loc) { return loc == path + "!/line/1"; };
  const auto c = collect({path}, o);
  REQUIRE(c.good().size() == 1);
  CHECK(c.good()[0]->locator == path + "!/line/2");
  CHECK(c.counts.skipped_done == 1);

  for (const std::string bad : {"line/0", "line/", "line/x", "line/01", "lines/1", "record/1"}) {
    CAPTURE(bad);
    auto r = read_item(path + "!/" + bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::unsupported);
  }
  auto past = read_item(path + "!/line/3");
  REQUIRE_FALSE(past.has_value());
  CHECK(past.error().code == ErrorCode::io_error);
  CHECK(past.error().message == "no line 3 (the file has 2 lines)");
}

TEST_CASE("base64 decoding: padding optional, whitespace and stray characters refused") {
  CHECK(decode("TWFu").value() == bytes_of("Man"));
  CHECK(decode("TWE=").value() == bytes_of("Ma"));
  CHECK(decode("TWE").value() == bytes_of("Ma"));
  CHECK(decode("TQ==").value() == bytes_of("M"));
  CHECK(decode("TQ").value() == bytes_of("M"));
  CHECK(decode("+/+/").value() == Bytes{0xfb, 0xff, 0xbf});
  CHECK(decode("TWFu TWFu").error().message == "invalid base64 at offset 4");
  CHECK(decode("TWFu\n").error().message == "invalid base64 at offset 4");
  CHECK(decode("TW=u").error().message == "invalid base64 at offset 2");
  CHECK(decode("TWFuT").error().message == "invalid base64 at offset 5");
  CHECK(decode("TWE==").error().code == ErrorCode::corrupt);
  CHECK(decode("T===").error().code == ErrorCode::corrupt);
  CHECK(decode("-_-_").error().message == "invalid base64 at offset 0");
  CHECK(decode("").error().code == ErrorCode::empty);
  SourceItem big;
  big.container_kind = ContainerKind::tsv;
  big.text = "TWFuTWFu";
  CHECK(item_bytes(big, 5).error().code == ErrorCode::too_large);
}
