// probe_image: our header parsers, one format at a time, then the error cases.
#include <doctest/doctest.h>

#include <opencv2/imgcodecs.hpp>

#include <string>

#include "residue/decode.hpp"
#include "samples.hpp"

namespace {

using namespace residue;
using namespace residue::test;

ImageInfo probe_ok(const Bytes& b) {
  auto r = probe_image(b);
  REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? "" : r.error().message));
  return r.value();
}

ErrorCode probe_code(const Bytes& b) {
  auto r = probe_image(b);
  return r.has_value() ? ErrorCode::ok : r.error().code;
}

Bytes bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

/// SOI followed by the given segments (marker byte, payload).
Bytes jpeg_segments(const std::vector<std::pair<std::uint8_t, Bytes>>& segments) {
  Bytes b{0xFF, 0xD8};
  for (const auto& [marker, payload] : segments) {
    b.push_back(0xFF);
    b.push_back(marker);
    put_be16(b, static_cast<unsigned>(payload.size() + 2));
    append(b, payload);
  }
  return b;
}

Bytes sof_payload(unsigned w, unsigned h, unsigned components = 3) {
  Bytes p{8};
  put_be16(p, h);
  put_be16(p, w);
  put_u8(p, components);
  for (unsigned c = 0; c < components; ++c) append(p, {static_cast<std::uint8_t>(c + 1), 0x11, 0});
  return p;
}

Bytes bmp_header(std::int32_t w, std::int32_t h, bool core = false) {
  Bytes b{'B', 'M'};
  put_le32(b, 0);
  put_le32(b, 0);
  put_le32(b, core ? 26 : 54);
  if (core) {
    put_le32(b, 12);
    put_le16(b, static_cast<unsigned>(w));
    put_le16(b, static_cast<unsigned>(h));
    put_le16(b, 1);
    put_le16(b, 24);
  } else {
    put_le32(b, 40);
    put_le32(b, static_cast<std::uint32_t>(w));
    put_le32(b, static_cast<std::uint32_t>(h));
    put_le16(b, 1);
    put_le16(b, 24);
    for (int i = 0; i < 6; ++i) put_le32(b, 0);
  }
  return b;
}

Bytes webp_vp8x(std::uint32_t w, std::uint32_t h, const Bytes& exif = {}) {
  Bytes chunks;
  put_str(chunks, "VP8X");
  put_le32(chunks, 10);
  put_u8(chunks, exif.empty() ? 0 : 0x08);
  append(chunks, {0, 0, 0});
  for (std::uint32_t v : {w - 1, h - 1}) {
    put_u8(chunks, v);
    put_u8(chunks, v >> 8);
    put_u8(chunks, v >> 16);
  }
  if (!exif.empty()) {
    put_str(chunks, "EXIF");
    put_le32(chunks, static_cast<std::uint32_t>(exif.size()));
    append(chunks, exif);
    if (exif.size() % 2 != 0) put_u8(chunks, 0);
  }
  Bytes b{'R', 'I', 'F', 'F'};
  put_le32(b, static_cast<std::uint32_t>(chunks.size() + 4));
  put_str(b, "WEBP");
  append(b, chunks);
  return b;
}

}  // namespace

TEST_CASE("probe reads JPEG frame size, progressive flag and EXIF orientation") {
  const cv::Mat img = smooth_bgr(64, 48);
  SUBCASE("baseline") {
    const auto info = probe_ok(encode(".jpg", img));
    CHECK(info.format == ImageFormat::jpeg);
    CHECK(info.stored_width == 64);
    CHECK(info.stored_height == 48);
    CHECK_FALSE(info.progressive);
    CHECK(info.orientation == 1);
  }
  SUBCASE("progressive") {
    const auto info = probe_ok(encode(".jpg", img, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    CHECK(info.progressive);
    CHECK(info.stored_width == 64);
  }
  SUBCASE("orientation 6 in either byte order swaps the viewed size") {
    for (bool big_endian : {false, true}) {
      const auto info = probe_ok(jpeg_with_orientation(encode(".jpg", img), 6, big_endian));
      CHECK(info.orientation == 6);
      CHECK(info.width() == 48);
      CHECK(info.height() == 64);
      CHECK(info.stored_width == 64);
    }
  }
  SUBCASE("orientation values outside 1..8 read as 1") {
    for (int o : {0, 9, 255})
      CHECK(probe_ok(jpeg_with_orientation(encode(".jpg", img), o)).orientation == 1);
  }
  SUBCASE("a damaged EXIF block is ignored, not fatal") {
    Bytes exif = jpeg_with_orientation(encode(".jpg", img), 6);
    exif[18] = 0xF0;  // IFD0 offset (bytes 16..19, little-endian) now lies far past the end
    CHECK(probe_ok(exif).orientation == 1);
  }
}

TEST_CASE("probe walks JPEG markers and does not mistake DHT, JPG or DAC for a frame header") {
  for (int not_sof : {0xC4, 0xC8, 0xCC}) {
    const Bytes b = jpeg_segments(
        {{static_cast<std::uint8_t>(not_sof), sof_payload(999, 999)}, {0xC0, sof_payload(10, 20)}});
    const auto info = probe_ok(b);
    CHECK(info.stored_width == 10);
    CHECK(info.stored_height == 20);
  }
  const auto sof_only = [](int marker) {
    return jpeg_segments({{static_cast<std::uint8_t>(marker), sof_payload(5, 6)}});
  };
  for (int sof : {0xC2, 0xC6, 0xCA, 0xCE}) CHECK(probe_ok(sof_only(sof)).progressive);
  for (int sof : {0xC0, 0xC1, 0xC3, 0xC9, 0xCB, 0xCF})
    CHECK_FALSE(probe_ok(sof_only(sof)).progressive);
  // Fill bytes before a marker are allowed.
  Bytes fill{0xFF, 0xD8, 0xFF, 0xFF, 0xFF};
  fill.push_back(0xC0);
  put_be16(fill, 2 + 15);
  append(fill, sof_payload(7, 8));
  CHECK(probe_ok(fill).stored_width == 7);
}

TEST_CASE("probe reads PNG IHDR and an eXIf chunk only when it precedes IDAT") {
  const Bytes grey(6, 0);
  const auto plain = probe_ok(make_png(3, 2, 8, 0, grey, 3));
  CHECK(plain.format == ImageFormat::png);
  CHECK(plain.stored_width == 3);
  CHECK(plain.stored_height == 2);
  CHECK(plain.orientation == 1);
  const Bytes exif = png_chunk("eXIf", exif_tiff(8));
  CHECK(probe_ok(make_png(3, 2, 8, 0, grey, 3, {.before_idat = {exif}})).orientation == 8);
  Bytes after = make_png(3, 2, 8, 0, grey, 3);
  after.insert(after.end() - 12, exif.begin(), exif.end());  // between IDAT and IEND
  CHECK(probe_ok(after).orientation == 1);
}

TEST_CASE("probe reads GIF, BMP, TIFF, WebP and PNM sizes") {
  SUBCASE("GIF logical screen") {
    const auto info = probe_ok(make_gif(5, 3, {0, 0, 0, 255, 255, 255}, {{0, 0, 1, 1, {0}}}));
    CHECK(info.format == ImageFormat::gif);
    CHECK(info.stored_width == 5);
    CHECK(info.stored_height == 3);
  }
  SUBCASE("BMP info header, core header, and top-down rows") {
    CHECK(probe_ok(encode(".bmp", gradient_bgr(9, 4))).stored_width == 9);
    const auto core = probe_ok(bmp_header(300, 200, true));
    CHECK(core.stored_width == 300);
    CHECK(core.stored_height == 200);
    const auto top_down = probe_ok(bmp_header(30, -20));
    CHECK(top_down.stored_width == 30);
    CHECK(top_down.stored_height == 20);
  }
  SUBCASE("TIFF in both byte orders, LONG and SHORT sizes, orientation") {
    for (bool be : {false, true}) {
      const auto info = probe_ok(make_tiff(6, 4, 3, Bytes(72, 0), 5, be));
      CHECK(info.format == ImageFormat::tiff);
      CHECK(info.stored_width == 6);
      CHECK(info.stored_height == 4);
      CHECK(info.orientation == 5);
      CHECK(info.width() == 4);
    }
    Bytes t{'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0};
    for (unsigned tag : {256U, 257U}) {
      put_le16(t, tag);
      put_le16(t, 3);  // SHORT
      put_le32(t, 1);
      put_le16(t, tag == 256 ? 700 : 500);
      put_le16(t, 0);
    }
    put_le32(t, 0);
    const auto short_sizes = probe_ok(t);
    CHECK(short_sizes.stored_width == 700);
    CHECK(short_sizes.stored_height == 500);
  }
  SUBCASE("WebP lossy (VP8), lossless (VP8L) and extended (VP8X) with EXIF") {
    const cv::Mat img = gradient_bgr(21, 13);
    const auto lossy = probe_ok(encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 80}));
    CHECK(lossy.format == ImageFormat::webp);
    CHECK(lossy.stored_width == 21);
    CHECK(lossy.stored_height == 13);
    const auto lossless = probe_ok(encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 101}));
    CHECK(lossless.stored_width == 21);
    CHECK(lossless.stored_height == 13);
    const auto ext = probe_ok(webp_vp8x(1000, 2000, exif_tiff(3)));
    CHECK(ext.stored_width == 1000);
    CHECK(ext.stored_height == 2000);
    CHECK(ext.orientation == 3);
  }
  SUBCASE("PNM text header with comments") {
    auto info = probe_ok(bytes_of("P5\n# a comment 99 99\n 3 # more\n2\n255\n......"));
    CHECK(info.format == ImageFormat::pnm);
    CHECK(info.stored_width == 3);
    CHECK(info.stored_height == 2);
    info = probe_ok(bytes_of("P4 17 3\n......"));  // bitmaps have no maximum value
    CHECK(info.stored_width == 17);
    CHECK(info.stored_height == 3);
  }
}

TEST_CASE("probe errors: empty, unsupported, truncated header, impossible values") {
  using namespace std::string_view_literals;
  CHECK(probe_code({}) == ErrorCode::empty);
  CHECK(probe_code(bytes_of("hello")) == ErrorCode::unsupported);
  CHECK(probe_code(bytes_of("\xFF\xD8 not really")) == ErrorCode::unsupported);

  SUBCASE("truncated headers") {
    const Bytes jpeg = encode(".jpg", smooth_bgr(16, 16));
    CHECK(probe_code(Bytes(jpeg.begin(), jpeg.begin() + 3)) == ErrorCode::truncated);
    CHECK(probe_code(jpeg_segments({{0xE0, Bytes(14, 0)}})) == ErrorCode::truncated);
    const Bytes png = make_png(2, 2, 8, 0, Bytes(4, 0), 2);
    for (std::size_t n : {8, 20, 28})
      CHECK(probe_code(Bytes(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(n))) ==
            ErrorCode::truncated);
    CHECK(probe_code(bytes_of("GIF89a\x05\x00"sv)) == ErrorCode::truncated);
    CHECK(probe_code(bytes_of("BM")) == ErrorCode::truncated);
    const Bytes bmp = bmp_header(4, 4);
    CHECK(probe_code(Bytes(bmp.begin(), bmp.begin() + 20)) == ErrorCode::truncated);
    const Bytes tiff = make_tiff(2, 2, 1, Bytes(4, 0));
    CHECK(probe_code(Bytes(tiff.begin(), tiff.begin() + 8)) == ErrorCode::truncated);
    CHECK(probe_code(Bytes(tiff.begin(), tiff.begin() + 40)) == ErrorCode::truncated);
    const Bytes webp = webp_vp8x(4, 4);
    CHECK(probe_code(Bytes(webp.begin(), webp.begin() + 12)) == ErrorCode::truncated);
    CHECK(probe_code(Bytes(webp.begin(), webp.begin() + 25)) == ErrorCode::truncated);
    CHECK(probe_code(bytes_of("P6\n3 2")) == ErrorCode::truncated);
    CHECK(probe_code(bytes_of("P6\n# comment")) == ErrorCode::truncated);
  }
  SUBCASE("zero, negative and impossible sizes are corrupt") {
    CHECK(probe_code(jpeg_segments({{0xC0, sof_payload(0, 10)}})) == ErrorCode::corrupt);
    CHECK(probe_code(jpeg_segments({{0xC0, sof_payload(10, 0)}})) == ErrorCode::corrupt);
    CHECK(probe_code(jpeg_segments({{0xC0, sof_payload(10, 10, 0)}})) == ErrorCode::corrupt);
    CHECK(probe_code(jpeg_segments({{0xC0, Bytes{8, 0, 1}}})) == ErrorCode::corrupt);
    CHECK(probe_code(Bytes{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01}) == ErrorCode::corrupt);  // length 1
    CHECK(probe_code(Bytes{0xFF, 0xD8, 0xFF, 0xD9}) == ErrorCode::corrupt);  // EOI, no frame
    CHECK(probe_code(jpeg_segments({{0xDA, Bytes(10, 0)}})) == ErrorCode::corrupt);  // scan first
    CHECK(probe_code(make_png(0, 2, 8, 0, {}, 0)) == ErrorCode::corrupt);
    CHECK(probe_code(make_png(2, 2, 7, 0, Bytes(4, 0), 2)) == ErrorCode::corrupt);  // bit depth 7
    CHECK(probe_code(make_png(2, 2, 8, 5, Bytes(4, 0), 2)) == ErrorCode::corrupt);  // colour type 5
    Bytes png_big = make_png(2, 2, 8, 0, Bytes(4, 0), 2);
    png_big[16] = 0x80;  // width 2^31 + 2: beyond the PNG limit
    CHECK(probe_code(png_big) == ErrorCode::corrupt);
    Bytes not_ihdr = make_png(2, 2, 8, 0, Bytes(4, 0), 2);
    not_ihdr[12] = 'X';
    CHECK(probe_code(not_ihdr) == ErrorCode::corrupt);
    CHECK(probe_code(make_gif(0, 5, {0, 0, 0, 1, 1, 1}, {})) == ErrorCode::corrupt);
    CHECK(probe_code(bmp_header(0, 5)) == ErrorCode::corrupt);
    CHECK(probe_code(bmp_header(-5, 5)) == ErrorCode::corrupt);
    CHECK(probe_code(bmp_header(5, 0)) == ErrorCode::corrupt);
    CHECK(probe_code(bmp_header(5, INT32_MIN)) == ErrorCode::corrupt);
    Bytes odd_header = bmp_header(5, 5);
    odd_header[14] = 13;  // no BMP header has 13 bytes
    CHECK(probe_code(odd_header) == ErrorCode::corrupt);
    CHECK(probe_code(make_tiff(0, 4, 1, {})) == ErrorCode::corrupt);
    Bytes no_width{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0};
    CHECK(probe_code(no_width) == ErrorCode::corrupt);
    CHECK(probe_code(bytes_of("II*\0\x02\0\0\0"sv)) == ErrorCode::corrupt);  // IFD0 inside header
    CHECK(probe_code(bytes_of("RIFF\x20\0\0\0WEBPABCD\0\0\0\0\0\0\0\0\0\0\0\0"sv)) ==
          ErrorCode::corrupt);
    Bytes vp8 = encode(".webp", gradient_bgr(8, 8), {cv::IMWRITE_WEBP_QUALITY, 80});
    vp8[23] = 0;  // break the key frame start code
    CHECK(probe_code(vp8) == ErrorCode::corrupt);
    // WebP headers libwebp refuses are corrupt here too (OpenCV would not claim them).
    Bytes vp8x = webp_vp8x(8, 8);
    vp8x[16] = 11;  // VP8X chunk size must be 10
    CHECK(probe_code(vp8x) == ErrorCode::corrupt);
    CHECK(probe_code(webp_vp8x(70000, 70000)) == ErrorCode::corrupt);  // canvas >= 2^32 pixels
    Bytes tiny_riff = webp_vp8x(8, 8);
    tiny_riff[4] = 4;  // RIFF size below 12
    tiny_riff[5] = 0;
    CHECK(probe_code(tiny_riff) == ErrorCode::corrupt);
    for (std::size_t i : {20U, 16U}) {  // invisible first frame; chunk size beyond RIFF size
      Bytes bad = encode(".webp", gradient_bgr(8, 8), {cv::IMWRITE_WEBP_QUALITY, 80});
      bad[i] = i == 20 ? static_cast<std::uint8_t>(bad[20] & ~0x10U) : 0xFF;
      CHECK(probe_code(bad) == ErrorCode::corrupt);
    }
    Bytes vp8l = encode(".webp", gradient_bgr(8, 8), {cv::IMWRITE_WEBP_QUALITY, 101});
    vp8l[20] = 0;  // VP8L signature
    CHECK(probe_code(vp8l) == ErrorCode::corrupt);
    CHECK(probe_code(bytes_of("P5 0 3 255\n")) == ErrorCode::corrupt);
    CHECK(probe_code(bytes_of("P5 3 3 0\n")) == ErrorCode::corrupt);
    CHECK(probe_code(bytes_of("P5 3 3 65536\n")) == ErrorCode::corrupt);
    CHECK(probe_code(bytes_of("P5 3 x 255\n")) == ErrorCode::corrupt);
    CHECK(probe_code(bytes_of("P5 99999999999 3 255\n")) == ErrorCode::corrupt);
  }
}
