// decode_luma on bad input: every failure is an ItemError with the right code, never a crash.
// Corruptions are generated here from small good files (truncation at every length, flipped
// bytes, random data) and pixel bombs are hand-made headers with no pixel data behind them.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <cerrno>
#include <random>
#include <string>

#include "decode_test_util.hpp"

// imdecode creates a temporary file only on its way to GDAL, its last-resort decoder (see
// decode.cpp). This definition, which the dynamic linker prefers to libc's, counts and refuses such
// attempts so that the tests below can prove that untrusted data never takes that path.
std::atomic<int> g_mkstemp_calls{0};
extern "C" int mkstemp(char* /*name_template*/) {
  ++g_mkstemp_calls;
  errno = EACCES;
  return -1;
}

namespace {

using namespace residue;
using namespace residue::test;

constexpr DecodeOptions kExact{.exact = true};

Bytes cut(const Bytes& b, std::size_t n) {
  return {b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n)};
}

/// Offset just past the first SOS segment of an OpenCV-written JPEG.
std::size_t jpeg_scan_start(const Bytes& b) {
  std::size_t pos = 2;
  while (pos + 4 <= b.size()) {
    const std::size_t len = (std::size_t{b[pos + 2]} << 8) | b[pos + 3];
    if (b[pos + 1] == 0xDA) return pos + 2 + len;
    pos += 2 + len;
  }
  return b.size();
}

/// A result that is either an error or a well-formed raster.
void check_sane(const Bytes& b, const DecodeOptions& o) {
  auto r = decode_luma(b, o);
  if (!r) {
    CHECK(r.error().code != ErrorCode::ok);
    CHECK(r.error().code != ErrorCode::internal);
    CHECK_FALSE(r.error().message.empty());
    return;
  }
  const LumaImage& l = r.value().luma;
  CHECK(l.width > 0);
  CHECK(l.height > 0);
  CHECK(l.pixels.size() == std::size_t(l.width) * std::size_t(l.height));
}

Bytes png_header_only(std::uint32_t w, std::uint32_t h) {
  Bytes b{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  append(b, png_ihdr(w, h, 8, 2));
  append(b, png_chunk("IEND", {}));
  return b;
}

Bytes jpeg_header_only(unsigned w, unsigned h) {
  Bytes b{0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8};
  put_be16(b, h);
  put_be16(b, w);
  append(b, {3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9});
  return b;
}

Bytes gif_header_only(unsigned w, unsigned h) {
  Bytes b{'G', 'I', 'F', '8', '9', 'a'};
  put_le16(b, w);
  put_le16(b, h);
  append(b, {0, 0, 0, 0x3B});
  return b;
}

Bytes bmp_header_only(std::int32_t w, std::int32_t h) {
  Bytes b{'B', 'M'};
  put_le32(b, 54);
  put_le32(b, 0);
  put_le32(b, 54);
  put_le32(b, 40);
  put_le32(b, static_cast<std::uint32_t>(w));
  put_le32(b, static_cast<std::uint32_t>(h));
  put_le16(b, 1);
  put_le16(b, 24);
  for (int i = 0; i < 6; ++i) put_le32(b, 0);
  return b;
}

Bytes riff(std::string_view fourcc, const Bytes& payload) {
  Bytes b{'R', 'I', 'F', 'F'};
  put_le32(b, static_cast<std::uint32_t>(payload.size() + 12));
  put_str(b, "WEBP");
  put_str(b, fourcc);
  put_le32(b, static_cast<std::uint32_t>(payload.size()));
  append(b, payload);
  return b;
}

Bytes webp_vp8x_header_only(std::uint32_t w, std::uint32_t h) {
  Bytes p{0, 0, 0, 0};
  for (std::uint32_t v : {w - 1, h - 1})
    append(p, {std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16)});
  return riff("VP8X", p);
}

Bytes webp_vp8l_header_only(std::uint32_t w, std::uint32_t h) {
  Bytes p{0x2F};
  put_le32(p, (w - 1) | ((h - 1) << 14));
  return riff("VP8L", p);
}

Bytes webp_vp8_header_only(unsigned w, unsigned h) {
  Bytes p{0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A};  // key frame, shown, 16-byte partition; start code
  put_le16(p, w);
  put_le16(p, h);
  p.resize(p.size() + 32, 0);  // libwebp wants the first partition inside the chunk
  return riff("VP8 ", p);
}

}  // namespace

TEST_CASE("empty data, text and unknown bytes give empty and unsupported") {
  CHECK(decode_code({}) == ErrorCode::empty);
  const std::string hello = "hello";
  CHECK(decode_code(Bytes(hello.begin(), hello.end())) == ErrorCode::unsupported);
  CHECK(decode_message(Bytes(hello.begin(), hello.end())).find("unknown magic") !=
        std::string::npos);
  CHECK(decode_code(Bytes{0xFF, 0xD8, 0xFF}) == ErrorCode::truncated);
  CHECK(decode_code(Bytes{0xFF, 0xD8, 0xFF, 'h', 'e', 'l', 'l', 'o'}) == ErrorCode::truncated);
}

TEST_CASE(
    "every truncation of a small file of each format is an error, and truncated past the magic") {
  const cv::Mat img = smooth_bgr(40, 24);
  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  const std::vector<std::pair<std::string, Bytes>> files = {
      {"jpeg", encode(".jpg", img)},
      {"progressive jpeg", encode(".jpg", img, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
      {"png", encode(".png", img)},
      {"gif", make_gif(9, 7, {0, 0, 0, 90, 90, 90, 200, 10, 10, 255, 255, 255},
                       {{0, 0, 9, 7, Bytes(63, 2)}})},
      {"bmp", encode(".bmp", img)},
      {"tiff", make_tiff(40, 24, 3, Bytes(rgb.datastart, rgb.dataend))},
      {"webp lossy", encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 75})},
      {"webp lossless", encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 101})},
      {"ppm", encode(".ppm", img)},
  };
  for (const auto& [name, good] : files) {
    CAPTURE(name);
    for (const DecodeOptions& o : {DecodeOptions{}, kExact})
      REQUIRE(decode_code(good, o) == ErrorCode::ok);
    const std::size_t magic = name == "gif"              ? 6
                              : name.starts_with("webp") ? 12
                              : name == "tiff"           ? 4
                              : name == "png"            ? 8
                              : name == "bmp"            ? 2
                                                         : 3;
    for (std::size_t n = 1; n < good.size(); ++n) {
      CAPTURE(n);
      const ErrorCode fast = decode_code(cut(good, n)), exact = decode_code(cut(good, n), kExact);
      CHECK(fast == exact);
      CHECK(fast == (n < magic ? ErrorCode::unsupported : ErrorCode::truncated));
    }
  }
}

TEST_CASE("cuts inside JPEG entropy-coded data are reported as truncated, not as grey images") {
  const Bytes jpeg = encode(".jpg", smooth_bgr(64, 48));
  const std::size_t scan = jpeg_scan_start(jpeg);
  REQUIRE(scan + 100 < jpeg.size());
  for (std::size_t n = scan; n + 1 < jpeg.size(); n += 7) {
    CHECK(decode_code(cut(jpeg, n)) == ErrorCode::truncated);
    CHECK(decode_message(cut(jpeg, n), kExact).find("no EOI") != std::string::npos);
  }
}

TEST_CASE("flipped bytes and random data never crash") {
  const cv::Mat img = smooth_bgr(24, 16);
  const std::vector<Bytes> files = {
      encode(".jpg", img),
      encode(".jpg", img, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
      encode(".png", img),
      make_gif(6, 5, {0, 0, 0, 255, 255, 255, 1, 2, 3}, {{0, 0, 6, 5, Bytes(30, 1), true}}),
      encode(".bmp", img),
      encode(".tiff", img),
      encode(".webp", img),
      encode(".pgm", gradient_grey(8, 8))};
  for (const Bytes& good : files) {
    for (std::size_t i = 0; i < std::min<std::size_t>(good.size(), 400); ++i) {
      Bytes bad = good;
      bad[i] ^= 0xFF;
      check_sane(bad, {});
      check_sane(bad, kExact);
    }
  }
  std::mt19937 rng(42);
  const std::vector<Bytes> magics = {{0xFF, 0xD8, 0xFF},
                                     {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A},
                                     {'G', 'I', 'F', '8', '9', 'a'},
                                     {'B', 'M'},
                                     {'I', 'I', 42, 0},
                                     {'P', '6', '\n'},
                                     {}};
  for (int round = 0; round < 700; ++round) {
    Bytes b = magics[static_cast<std::size_t>(round) % magics.size()];
    const std::size_t n = rng() % 300;
    for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(rng()));
    check_sane(b, {.max_pixels = 4'000'000});
  }
  CHECK(g_mkstemp_calls == 0);
}

TEST_CASE(
    "fuzz finding: a WebP header libwebp rejects, with DTED at offset 140, never reaches GDAL") {
  // Found by tests/fuzz/decode_fuzzer: the VP8X chunk claims 0xA3 bytes (libwebp wants 10), so
  // OpenCV's WebP decoder did not claim the data and imdecode handed it to GDAL through a
  // temporary file.
  const Bytes finding{0x52, 0x49, 0x46, 0x46, 0x9E, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56,
                      0x50, 0x38, 0x58, 0xA3, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x07, 0x00,
                      0x00, 0x05, 0x00, 0x00, 0x56, 0x50, 0x38, 0x4C, 0x5E, 0x00, 0x00, 0x00, 0x2F,
                      0x07, 0x40, 0x01, 0x00, 0x99, 0x32, 0x44, 0xF4, 0x3F, 0x36, 0xE5, 0x27, 0x90,
                      0xB4, 0xC5, 0xDB, 0xFE, 0xE8, 0x7F, 0x1C, 0x8A, 0x1A, 0x49, 0x8A, 0xCA, 0xC6,
                      0x5E, 0x38, 0x41, 0x10, 0x2F, 0x0C, 0xA3, 0x07, 0x0D, 0x8A, 0xDA, 0x36, 0x92,
                      0x8C, 0x64, 0xF8, 0x83, 0x3A, 0x2F, 0x2F, 0x5B, 0x1A, 0x0C, 0xDB, 0xB6, 0x8D,
                      0x54, 0x40, 0xEC, 0xB3, 0x4E, 0x17, 0x6E, 0x28, 0xFF, 0x5B, 0x2A, 0x62, 0xF5,
                      0x7D, 0xF5, 0x33, 0xEE, 0x7C, 0x41, 0x10, 0x04, 0x62, 0xCF, 0x0B, 0xE7, 0xD4,
                      0x03, 0x08, 0x02, 0x04, 0x00, 0x24, 0x08, 0x4C, 0x22, 0x26, 0x04, 0x40, 0x00,
                      0x7D, 0x00, 0x45, 0x58, 0x49, 0x46, 0x1A, 0x00, 0x00, 0x00, 0x44, 0x54, 0x45,
                      0x44, 0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x01,
                      0xFF, 0xFF, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
  const int before = g_mkstemp_calls;
  CHECK(decode_code(finding) == ErrorCode::corrupt);
  CHECK(decode_code(finding, kExact) == ErrorCode::corrupt);
  // The backstop: even a WebP header libwebp accepts is refused when DTED sits at offset 140.
  Bytes dted = encode(".webp", smooth_bgr(64, 48), {cv::IMWRITE_WEBP_QUALITY, 101});
  REQUIRE(dted.size() > 144);
  std::copy_n("DTED", 4, dted.begin() + 140);
  CHECK(decode_message(dted).find("DTED") != std::string::npos);
  CHECK(g_mkstemp_calls == before);
}

TEST_CASE("GIF structure errors: undefined LZW codes are corrupt, a missing trailer is truncated") {
  Bytes gif{'G', 'I', 'F', '8', '7', 'a', 2, 0,   2,   0,    0x81, 0,    0, 255,
            0,   0,   0,   255, 0,   0,   0, 255, 255, 255,  255,  0x2C, 0, 0,
            0,   0,   2,   0,   2,   0,   0, 2,   3,   0x44, 0x34, 0x05, 0, 0x3B};
  REQUIRE(decode_code(gif) == ErrorCode::ok);
  Bytes bad_code = gif;
  bad_code[37] = 0x7C;  // the first code after clear becomes 7: not yet defined
  CHECK(decode_code(bad_code) == ErrorCode::corrupt);
  Bytes short_data(gif.begin(), gif.begin() + 36);  // LZW: clear, 0, eoi: 1 of 4 pixels
  append(short_data, {2, 0x44, 0x01, 0, 0x3B});
  CHECK(decode_code(short_data) == ErrorCode::corrupt);
  CHECK(decode_message(short_data).find("1 of 4 pixels") != std::string::npos);
  CHECK(decode_code(cut(gif, gif.size() - 1)) == ErrorCode::truncated);
  Bytes bad_min_code = gif;
  bad_min_code[35] = 12;
  CHECK(decode_code(bad_min_code) == ErrorCode::corrupt);
  Bytes no_image{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, 0x3B};
  CHECK(decode_code(no_image) == ErrorCode::corrupt);
}

TEST_CASE("pixel bombs are refused as too_large from the header alone, before any codec runs") {
  // None of these files holds pixel data: a codec would fail with truncated or corrupt.
  const std::vector<std::pair<std::string, Bytes>> bombs = {
      {"png", png_header_only(100000, 100000)},
      {"jpeg", jpeg_header_only(65535, 65535)},  // JPEG and GIF sizes are 16-bit
      {"gif", gif_header_only(65535, 65535)},
      {"bmp", bmp_header_only(100000, 100000)},
      {"bmp top-down", bmp_header_only(100000, -100000)},
      {"webp vp8x", webp_vp8x_header_only(60000, 60000)},  // libwebp refuses 2^32 pixels
      {"webp vp8l", webp_vp8l_header_only(16384, 16384)},  // 14-bit sizes: 268 megapixels
      {"webp vp8", webp_vp8_header_only(16383, 16383)},
      {"tiff", make_tiff(100000, 100000, 1, {})},
      {"pnm", Bytes{'P', '5', ' ', '1', '0', '0', '0', '0', '0', ' ', '1',
                    '0', '0', '0', '0', '0', ' ', '2', '5', '5', '\n'}},
  };
  for (const auto& [name, bomb] : bombs) {
    CAPTURE(name);
    for (const DecodeOptions& o : {DecodeOptions{}, kExact, DecodeOptions{.max_pixels = 1000}})
      CHECK(decode_code(bomb, o) == ErrorCode::too_large);
    CHECK(probe_image(bomb).has_value());
  }
  CHECK(decode_message(png_header_only(30000, 30000)) ==
        "image is 30000x30000 (900.0 megapixels), above the 250-megapixel cap");
  CHECK(decode_message(png_header_only(100, 50), {.max_pixels = 4'000'000}) != "ok");  // no IDAT
  CHECK(decode_message(png_header_only(3000, 2000), {.max_pixels = 4'000'000}) ==
        "image is 3000x2000 (6.0 megapixels), above the 4-megapixel cap");
}

TEST_CASE("the pixel cap applies to the stored width*height, inclusive") {
  const Bytes small = encode(".png", gradient_bgr(40, 25));
  CHECK(decode_code(small, {.max_pixels = 999}) == ErrorCode::too_large);
  CHECK(decode_code(small, {.max_pixels = 1000}) == ErrorCode::ok);
  // Orientation does not change the count, and the JPEG fast path checks the full stored size.
  const Bytes rotated = jpeg_with_orientation(encode(".jpg", smooth_bgr(20, 10)), 6);
  CHECK(decode_code(rotated, {.max_pixels = 199}) == ErrorCode::too_large);
  CHECK(decode_code(rotated, {.max_pixels = 200, .min_reduced_side = 1}) == ErrorCode::ok);
  // A GIF frame larger than its logical screen is checked too.
  const Bytes big_frame =
      make_gif(4, 4, {0, 0, 0, 255, 255, 255}, {{0, 0, 2000, 1000, Bytes(1, 0)}});
  CHECK(decode_message(big_frame, {.max_pixels = 1'000'000}) ==
        "GIF first frame is 2000x1000 (2.0 megapixels), above the 1-megapixel cap");
}

TEST_CASE("images above OpenCV's own limits are too_large, not codec errors") {
  // 2,000,000 x 1 is under our cap but wider than OPENCV_IO_MAX_IMAGE_WIDTH (2^20 by default).
  const std::string msg = decode_message(png_header_only(2'000'000, 1));
  CHECK(decode_code(png_header_only(2'000'000, 1)) == ErrorCode::too_large);
  CHECK(msg.find("OpenCV") != std::string::npos);
  // Above 2^30 pixels only matters when the caller raises our cap.
  CHECK(decode_code(png_header_only(40000, 40000), {.max_pixels = UINT64_MAX}) ==
        ErrorCode::too_large);
}
