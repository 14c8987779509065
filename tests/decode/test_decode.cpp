// decode_luma on good input: every format, exact luma values, orientation, fast vs exact JPEG.
// Bad input (truncations, damage, pixel bombs) is in test_bad_input.cpp.
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "decode_test_util.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace residue;
using namespace residue::test;

constexpr DecodeOptions kExact{.exact = true};

/// Both modes must give the same result for formats without a reduced decode.
void check_both_modes(const Bytes& b, const cv::Mat& expected, ImageFormat format) {
  for (const DecodeOptions& o : {DecodeOptions{}, kExact}) {
    const DecodedImage d = decode_ok(b, o);
    CHECK(d.info.format == format);
    CHECK(d.scale_denom == 1);
    CHECK(d.info.stored_width == expected.cols);
    CHECK(d.info.stored_height == expected.rows);
    CHECK(identical(to_mat(d.luma), expected));
  }
}

cv::Mat gradient16(int w, int h, int channels) {
  cv::Mat m(h, w, CV_16UC(channels));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c)
        m.ptr<std::uint16_t>(y)[x * channels + c] =
            static_cast<std::uint16_t>((x * 1013 + y * 777 + c * 20011) & 0xFFFF);
  return m;
}

}  // namespace

TEST_CASE("lossless colour formats decode to the PDQ reference luma of their pixels, bit for bit") {
  const cv::Mat img = gradient_bgr(37, 23);
  const cv::Mat expected = ref_luma_of(img);
  SUBCASE("PNG") {
    check_both_modes(encode(".png", img), expected, ImageFormat::png);
  }
  SUBCASE("BMP") {
    check_both_modes(encode(".bmp", img), expected, ImageFormat::bmp);
  }
  SUBCASE("TIFF") {
    check_both_modes(encode(".tiff", img), expected, ImageFormat::tiff);
  }
  SUBCASE("PPM") {
    check_both_modes(encode(".ppm", img), expected, ImageFormat::pnm);
  }
  SUBCASE("WebP lossless") {
    check_both_modes(encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 101}), expected,
                     ImageFormat::webp);
  }
  SUBCASE("hand-written uncompressed RGB TIFF, big-endian") {
    cv::Mat rgb;
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
    check_both_modes(make_tiff(37, 23, 3, Bytes(rgb.datastart, rgb.dataend), 0, true), expected,
                     ImageFormat::tiff);
  }
}

TEST_CASE("one-channel formats decode to the grey value itself") {
  const cv::Mat grey = gradient_grey(29, 17);
  const cv::Mat expected = grey_as_float(grey);
  SUBCASE("PNG") {
    check_both_modes(encode(".png", grey), expected, ImageFormat::png);
  }
  SUBCASE("PGM") {
    check_both_modes(encode(".pgm", grey), expected, ImageFormat::pnm);
  }
  SUBCASE("BMP (8-bit grey palette)") {
    check_both_modes(encode(".bmp", grey), expected, ImageFormat::bmp);
  }
  SUBCASE("TIFF") {
    check_both_modes(encode(".tiff", grey), expected, ImageFormat::tiff);
  }
  SUBCASE("grey+alpha PNG: the grey channel, alpha ignored") {
    Bytes rows;
    for (int i = 0; i < grey.rows * grey.cols; ++i) {
      rows.push_back(grey.data[i]);
      rows.push_back(static_cast<std::uint8_t>(i * 37));  // alpha
    }
    check_both_modes(make_png(29, 17, 8, 4, rows, 58), expected, ImageFormat::png);
  }
}

TEST_CASE("16-bit samples are scaled to 8 bits as value/257 rounded") {
  SUBCASE("grey PNG and PGM") {
    const cv::Mat g16 = gradient16(19, 7, 1);
    cv::Mat expected(g16.size(), CV_32F);
    for (int y = 0; y < g16.rows; ++y)
      for (int x = 0; x < g16.cols; ++x)
        expected.at<float>(y, x) = std::round(g16.at<std::uint16_t>(y, x) / 257.0f);
    check_both_modes(encode(".png", g16), expected, ImageFormat::png);
    check_both_modes(encode(".pgm", g16), expected, ImageFormat::pnm);
    check_both_modes(encode(".tiff", g16), expected, ImageFormat::tiff);
  }
  SUBCASE("RGB PNG") {
    const cv::Mat c16 = gradient16(19, 7, 3);
    cv::Mat c8(c16.size(), CV_8UC3);
    for (int i = 0; i < c16.rows * c16.cols * 3; ++i)
      c8.data[i] = static_cast<std::uint8_t>(
          std::lround(reinterpret_cast<const std::uint16_t*>(c16.data)[i] / 257.0));
    check_both_modes(encode(".png", c16), ref_luma_of(c8), ImageFormat::png);
  }
}

TEST_CASE("palette and RGBA PNGs give the luma of the colour, alpha ignored") {
  SUBCASE("palette with transparency") {
    const Bytes palette{200, 10, 20, 30, 220, 40, 5, 6, 250, 128, 128, 128};
    const Bytes indices{0, 1, 2, 3, 3, 2, 1, 0};
    cv::Mat bgr(2, 4, CV_8UC3);
    for (int i = 0; i < 8; ++i) {
      const auto* c = &palette[indices[static_cast<std::size_t>(i)] * 3U];
      bgr.at<cv::Vec3b>(i / 4, i % 4) = cv::Vec3b(c[2], c[1], c[0]);
    }
    check_both_modes(make_png(4, 2, 8, 3, indices, 4, {.plte = palette, .trns = {0, 128, 255}}),
                     ref_luma_of(bgr), ImageFormat::png);
  }
  SUBCASE("RGBA with varying alpha") {
    const cv::Mat bgr = gradient_bgr(13, 11);
    cv::Mat bgra;
    cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
    for (int y = 0; y < bgra.rows; ++y)
      for (int x = 0; x < bgra.cols; ++x)
        bgra.at<cv::Vec4b>(y, x)[3] = static_cast<std::uint8_t>(x * 20 + 1);
    check_both_modes(encode(".png", bgra), ref_luma_of(bgr), ImageFormat::png);
  }
}

TEST_CASE("GIF decodes its first frame through our own LZW decoder") {
  SUBCASE("a hand-written GIF87a") {
    // 2x2, 4 colours, LZW codes: clear 0 1 2 (3 bits) then 3 eoi (4 bits: the table reached 8).
    const Bytes gif{'G', 'I', 'F', '8', '7', 'a', 2, 0,   2,   0,    0x81, 0,    0, 255,
                    0,   0,   0,   255, 0,   0,   0, 255, 255, 255,  255,  0x2C, 0, 0,
                    0,   0,   2,   0,   2,   0,   0, 2,   3,   0x44, 0x34, 0x05, 0, 0x3B};
    cv::Mat bgr(2, 2, CV_8UC3);
    bgr.at<cv::Vec3b>(0, 0) = {0, 0, 255};
    bgr.at<cv::Vec3b>(0, 1) = {0, 255, 0};
    bgr.at<cv::Vec3b>(1, 0) = {255, 0, 0};
    bgr.at<cv::Vec3b>(1, 1) = {255, 255, 255};
    check_both_modes(gif, ref_luma_of(bgr), ImageFormat::gif);
  }
  SUBCASE("256 colours of noise: 12-bit codes and table resets") {
    Bytes palette, indices;
    for (int i = 0; i < 256; ++i)
      append(palette, {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(255 - i),
                       static_cast<std::uint8_t>(i * 7)});
    const int w = 160, h = 120;
    std::uint32_t state = 12345;
    cv::Mat bgr(h, w, CV_8UC3);
    for (int i = 0; i < w * h; ++i) {
      state = state * 1103515245U + 12345U;
      const auto v = static_cast<std::uint8_t>(i % 3 == 0 ? (state >> 16) & 255 : (i / 7) & 255);
      indices.push_back(v);
      bgr.at<cv::Vec3b>(i / w, i % w) =
          cv::Vec3b(palette[v * 3U + 2], palette[v * 3U + 1], palette[v * 3U]);
    }
    check_both_modes(make_gif(w, h, palette, {{0, 0, w, h, indices}}), ref_luma_of(bgr),
                     ImageFormat::gif);
  }
  SUBCASE("an interlaced frame inside a larger screen: the rest is the background colour") {
    const Bytes palette{10, 20, 30, 200, 100, 50, 0, 0, 0, 255, 255, 255};
    Bytes indices;
    for (int i = 0; i < 5 * 11; ++i) indices.push_back(static_cast<std::uint8_t>((i * 7 / 3) % 4));
    cv::Mat bgr(14, 9, CV_8UC3, cv::Scalar(30, 20, 10));  // background index 0
    for (int i = 0; i < 5 * 11; ++i) {
      const auto* c = &palette[indices[static_cast<std::size_t>(i)] * 3U];
      bgr.at<cv::Vec3b>(2 + i / 5, 3 + i % 5) = cv::Vec3b(c[2], c[1], c[0]);
    }
    GifFrame frame{3, 2, 5, 11, indices, true};
    check_both_modes(make_gif(9, 14, palette, {frame}, 0, true), ref_luma_of(bgr),
                     ImageFormat::gif);
  }
  SUBCASE("only the first frame counts, and a frame is clipped to the screen") {
    const Bytes palette{0, 0, 0, 255, 255, 255};
    GifFrame first{2, 0, 4, 3, Bytes(12, 1)};  // 2 columns fall outside the 4x3 screen
    GifFrame second{0, 0, 4, 3, Bytes(12, 0)};
    cv::Mat expected(3, 4, CV_32F, cv::Scalar(0));
    expected(cv::Rect(2, 0, 2, 3)) = ref_luma({255, 255, 255});
    check_both_modes(make_gif(4, 3, palette, {first, second}), expected, ImageFormat::gif);
  }
}

TEST_CASE(
    "JPEG in exact mode decodes at full size to the reference luma of libjpeg's colour output") {
  const cv::Mat img = smooth_bgr(120, 90);
  for (const Bytes& jpeg :
       {encode(".jpg", img), encode(".jpg", img, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})}) {
    const DecodedImage d = decode_ok(jpeg, kExact);
    CHECK(d.scale_denom == 1);
    CHECK(d.luma.width == 120);
    CHECK(d.luma.height == 90);
    const cv::Mat colour = cv::imdecode(jpeg, cv::IMREAD_COLOR);
    CHECK(identical(to_mat(d.luma), ref_luma_of(colour)));
  }
  cv::Mat grey;
  cv::cvtColor(img, grey, cv::COLOR_BGR2GRAY);
  const Bytes grey_jpeg = encode(".jpg", grey);
  CHECK(identical(to_mat(decode_ok(grey_jpeg, kExact).luma),
                  grey_as_float(cv::imdecode(grey_jpeg, cv::IMREAD_GRAYSCALE))));
}

TEST_CASE("JPEG fast mode picks the smallest DCT scale that keeps min_reduced_side") {
  const cv::Mat img = smooth_bgr(1024, 768);
  const Bytes jpeg = encode(".jpg", img);
  SUBCASE("1024x768 at min_reduced_side 128 decodes at 1/4 (768/8 = 96 < 128)") {
    const DecodedImage fast = decode_ok(jpeg);
    CHECK(fast.scale_denom == 4);
    CHECK(fast.luma.width == 256);
    CHECK(fast.luma.height == 192);
    CHECK(fast.info.stored_width == 1024);
    // Plausible: close to the exact luma averaged down to the same size.
    const DecodedImage exact = decode_ok(jpeg, kExact);
    CHECK(exact.scale_denom == 1);
    CHECK(exact.luma.width == 1024);
    cv::Mat small;
    cv::resize(to_mat(exact.luma), small, cv::Size(256, 192), 0, 0, cv::INTER_AREA);
    CHECK(cv::norm(small, to_mat(fast.luma), cv::NORM_L1) / (256.0 * 192.0) < 2.0);
  }
  SUBCASE("other thresholds") {
    CHECK(decode_ok(jpeg, {.min_reduced_side = 96}).scale_denom == 8);
    CHECK(decode_ok(jpeg, {.min_reduced_side = 0}).scale_denom == 8);
    CHECK(decode_ok(jpeg, {.min_reduced_side = 384}).scale_denom == 2);
    CHECK(decode_ok(jpeg, {.min_reduced_side = 385}).scale_denom == 1);
    CHECK(decode_ok(jpeg, {.min_reduced_side = 5000}).luma.width == 1024);
  }
  SUBCASE("sizes that do not divide round up, as libjpeg does") {
    const DecodedImage d =
        decode_ok(encode(".jpg", smooth_bgr(1001, 803)), {.min_reduced_side = 100});
    CHECK(d.scale_denom == 8);
    CHECK(d.luma.width == 126);
    CHECK(d.luma.height == 101);
  }
  SUBCASE("progressive JPEGs decode reduced too") {
    const DecodedImage d = decode_ok(encode(".jpg", img, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    CHECK(d.info.progressive);
    CHECK(d.scale_denom == 4);
  }
  SUBCASE("the fast path gives libjpeg's own grey output") {
    CHECK(identical(to_mat(decode_ok(jpeg, {.min_reduced_side = 200}).luma),
                    grey_as_float(cv::imdecode(jpeg, cv::IMREAD_REDUCED_GRAYSCALE_2))));
  }
}

TEST_CASE("a CMYK JPEG decodes in both modes (OpenCV converts CMYK to BGR itself)") {
  const Bytes cmyk = read_bytes(data_dir() / "decode" / "cmyk_32x24.jpg");
  const DecodedImage exact = decode_ok(cmyk, kExact);
  CHECK(exact.luma.width == 32);
  CHECK(exact.luma.height == 24);
  CHECK(identical(to_mat(exact.luma), ref_luma_of(cv::imdecode(cmyk, cv::IMREAD_COLOR))));
  const DecodedImage fast = decode_ok(cmyk, {.min_reduced_side = 1});
  CHECK(fast.scale_denom == 8);
  CHECK(fast.luma.width == 4);
  const DecodedImage full_grey = decode_ok(cmyk, {.min_reduced_side = 1000});
  CHECK(cv::norm(to_mat(full_grey.luma), to_mat(exact.luma), cv::NORM_INF) < 3.0);
}

TEST_CASE("a JPEG with EXIF orientation 6 decodes to the rotated pixels") {
  const Bytes plain = encode(".jpg", smooth_bgr(96, 64));
  const Bytes rotated = jpeg_with_orientation(plain, 6);
  for (const DecodeOptions& o : {kExact, DecodeOptions{.min_reduced_side = 16}}) {
    const DecodedImage p = decode_ok(plain, o);
    const DecodedImage r = decode_ok(rotated, o);
    CHECK(r.info.orientation == 6);
    CHECK(r.info.width() == 64);
    CHECK(r.luma.width == p.luma.height);
    CHECK(r.luma.height == p.luma.width);
    cv::Mat expected;
    cv::rotate(to_mat(p.luma), expected, cv::ROTATE_90_CLOCKWISE);
    CHECK(identical(to_mat(r.luma), expected));
  }
}

TEST_CASE("all 8 EXIF orientations give the picture a viewer shows") {
  const cv::Mat img = gradient_bgr(7, 5);
  const cv::Mat plain_luma = ref_luma_of(img);
  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  const Bytes rows(rgb.datastart, rgb.dataend);
  const Bytes jpeg = encode(".jpg", smooth_bgr(40, 24));
  const cv::Mat jpeg_luma = to_mat(decode_ok(jpeg, kExact).luma);
  for (int o = 1; o <= 8; ++o) {
    CAPTURE(o);
    const cv::Mat expected = apply_orientation(plain_luma, o);
    // PNG eXIf chunk: we apply it.
    const Bytes png =
        make_png(7, 5, 8, 2, rows, 21, {.before_idat = {png_chunk("eXIf", exif_tiff(o))}});
    CHECK(identical(to_mat(decode_ok(png).luma), expected));
    // TIFF Orientation tag: OpenCV applies it itself; it must not be applied twice.
    CHECK(identical(to_mat(decode_ok(make_tiff(7, 5, 3, rows, o)).luma), expected));
    // JPEG APP1.
    CHECK(identical(to_mat(decode_ok(jpeg_with_orientation(jpeg, o), kExact).luma),
                    apply_orientation(jpeg_luma, o)));
  }
}

TEST_CASE("decoding reports the header facts in info") {
  const Bytes jpeg = jpeg_with_orientation(
      encode(".jpg", smooth_bgr(50, 30), {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), 8);
  const DecodedImage d = decode_ok(jpeg, kExact);
  CHECK(d.info.format == ImageFormat::jpeg);
  CHECK(d.info.stored_width == 50);
  CHECK(d.info.stored_height == 30);
  CHECK(d.info.orientation == 8);
  CHECK(d.info.progressive);
  CHECK(d.luma.width == 30);
  CHECK(d.luma.height == 50);
  CHECK(d.luma.pixels.size() == 1500);
}

TEST_CASE(
    "a reduced decode never reverses a partial block: orientations that flip an axis "
    "use only scales dividing both sides") {
  // 1001 x 803: no scale divides the sides, so oriented copies decode at full resolution; a
  // 1000 x 800 image keeps the 1/8 decode under every orientation.
  const Bytes odd = encode(".jpg", smooth_bgr(1001, 803));
  const Bytes even = encode(".jpg", smooth_bgr(1000, 800));
  for (int o = 1; o <= 8; ++o) {
    CAPTURE(o);
    const DecodeOptions fast{.min_reduced_side = 64};
    const int want_odd = (o == 1 || o == 5) ? 8 : 1;
    CHECK(decode_ok(jpeg_with_orientation(odd, o), fast).scale_denom == want_odd);
    CHECK(decode_ok(jpeg_with_orientation(even, o), fast).scale_denom == 8);
  }
}
