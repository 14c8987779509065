// make_thumbnail: size limits, colours, EXIF orientation, and the same error channel as
// decode_luma. Every thumbnail is read back with OpenCV's own decoder and compared with a
// reference built independently here (full decode, cv::resize with INTER_AREA, orientation as
// OpenCV operations from decode_test_util.hpp).
#include <doctest/doctest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

// GCC 12 reports false -Warray-bounds / -Wstringop-overread inside builders.hpp's
// jpeg_with_orientation when it is inlined here (vector::insert after a 2-byte range constructor).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#pragma GCC diagnostic ignored "-Wstringop-overread"
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#include "decode_test_util.hpp"
#pragma GCC diagnostic pop
#include "support/fixtures.hpp"

namespace {

using namespace residue;
using namespace residue::test;

std::vector<std::filesystem::path> sample_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(data_dir() / "samples"))
    files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

/// The thumbnail, decoded back by OpenCV as it is stored (1 or 3 channels).
cv::Mat thumbnail_ok(const Bytes& b, int max_side = 160, const DecodeOptions& o = {}) {
  auto r = make_thumbnail(b, max_side, o);
  REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().message));
  REQUIRE(sniff_format(r.value()) == ImageFormat::jpeg);
  const cv::Mat m = cv::imdecode(r.value(), cv::IMREAD_UNCHANGED);
  REQUIRE_FALSE(m.empty());
  return m;
}

ErrorCode thumbnail_code(const Bytes& b, const DecodeOptions& o = {}) {
  auto r = make_thumbnail(b, 160, o);
  return r.has_value() ? ErrorCode::ok : r.error().code;
}

/// What a thumbnail of `full` (an oriented BGR or grey raster) should look like at `size`.
cv::Mat reference(const cv::Mat& full, cv::Size size) {
  cv::Mat out;
  cv::resize(full, out, size, 0, 0, cv::INTER_AREA);
  return out;
}

/// Mean absolute difference per sample, over all channels.
double mean_diff(const cv::Mat& a, const cv::Mat& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.type() == b.type());
  return cv::norm(a, b, cv::NORM_L1) / double(a.total() * std::size_t(a.channels()));
}

}  // namespace

TEST_CASE("thumbnails of the bundled samples fit in 160 pixels and look like the image") {
  for (const auto& file : sample_files()) {
    CAPTURE(file.filename().string());
    const Bytes bytes = read_bytes(file);
    const cv::Mat full = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    REQUIRE_FALSE(full.empty());
    const cv::Mat t = thumbnail_ok(bytes);
    CHECK(std::max(t.cols, t.rows) == 160);  // every sample is larger than 160
    // Aspect ratio kept to the pixel.
    const double want_short =
        160.0 * std::min(full.cols, full.rows) / std::max(full.cols, full.rows);
    CHECK(std::abs(std::min(t.cols, t.rows) - want_short) <= 1.0);
    CHECK(t.channels() == full.channels());  // grey stays grey, colour stays colour (BGR)
    // Close to an INTER_AREA shrink of the full decode. Measured on these samples with PIL
    // (independent of OpenCV): quality-80 JPEG noise alone is 1.9-4.0, swapped red and blue
    // 26-50, a mirrored picture 12-78.
    CHECK(mean_diff(t, reference(full, t.size())) < 7.0);
  }
}

TEST_CASE("colour thumbnails keep the channel order (a red image stays red)") {
  cv::Mat red(300, 200, CV_8UC3, cv::Scalar(20, 30, 220));  // BGR
  for (const std::string ext : {".jpg", ".png", ".bmp", ".webp"}) {
    CAPTURE(ext);
    const cv::Mat t = thumbnail_ok(encode(ext, red));
    REQUIRE(t.channels() == 3);
    const cv::Scalar mean = cv::mean(t);
    CHECK(mean[2] > 190);
    CHECK(mean[0] < 50);
  }
}

TEST_CASE("all 8 EXIF orientations are applied to the thumbnail") {
  const Bytes rocket = read_bytes(data_dir() / "samples" / "python3-skimage__rocket.jpg");
  const cv::Mat plain = thumbnail_ok(rocket);  // 160x107
  REQUIRE(plain.cols == 160);
  REQUIRE(plain.rows == 107);
  for (int o = 1; o <= 8; ++o) {
    CAPTURE(o);
    const cv::Mat t = thumbnail_ok(jpeg_with_orientation(rocket, o));
    const cv::Mat want = apply_orientation(plain, o);
    REQUIRE(t.size() == want.size());
    CHECK(t.cols == (o >= 5 ? 107 : 160));
    CHECK(mean_diff(t, want) < 3.0);
    // The comparison can tell orientations apart: the unoriented picture is far off.
    if (o != 1 && t.size() == plain.size()) CHECK(mean_diff(t, plain) > 10.0);
  }
}

TEST_CASE("a large JPEG goes through the reduced decode and still matches the full decode") {
  const cv::Mat big = smooth_bgr(2400, 1600);
  const Bytes jpeg = encode(".jpg", big, {cv::IMWRITE_JPEG_QUALITY, 95});
  const cv::Mat fast = thumbnail_ok(jpeg);
  const cv::Mat exact = thumbnail_ok(jpeg, 160, {.exact = true});
  CHECK(fast.size() == cv::Size(160, 107));
  CHECK(exact.size() == fast.size());
  CHECK(mean_diff(fast, reference(big, fast.size())) < 3.0);
  CHECK(mean_diff(exact, reference(big, exact.size())) < 3.0);
}

TEST_CASE("small images are never enlarged, and max_side is honoured") {
  const cv::Mat img = gradient_bgr(40, 30);
  CHECK(thumbnail_ok(encode(".png", img)).size() == cv::Size(40, 30));
  CHECK(thumbnail_ok(encode(".png", img), 40).size() == cv::Size(40, 30));
  CHECK(thumbnail_ok(encode(".png", img), 20).size() == cv::Size(20, 15));
  CHECK(thumbnail_ok(encode(".png", gradient_bgr(1, 500)), 160).size() == cv::Size(1, 160));
  CHECK(thumbnail_ok(encode(".jpg", smooth_bgr(1000, 700)), 64).size() == cv::Size(64, 45));
}

TEST_CASE("GIF, 16-bit PNG and PNG with alpha make colour thumbnails") {
  SUBCASE("GIF first frame, with its palette colours") {
    const Bytes palette = {255, 0, 0, 0, 0, 255};  // RGB: red, blue
    Bytes indices(64 * 48);
    for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = (i % 64) < 32 ? 0 : 1;
    const cv::Mat t = thumbnail_ok(make_gif(64, 48, palette, {{0, 0, 64, 48, indices}}));
    REQUIRE(t.channels() == 3);
    const cv::Vec3b left = t.at<cv::Vec3b>(24, 4), right = t.at<cv::Vec3b>(24, 60);
    CHECK(left[2] > 200);  // red
    CHECK(left[0] < 60);
    CHECK(right[0] > 200);  // blue
    CHECK(right[2] < 60);
  }
  SUBCASE("16-bit PNG") {
    cv::Mat m16;
    smooth_bgr(200, 100).convertTo(m16, CV_16UC3, 257.0);
    const cv::Mat t = thumbnail_ok(encode(".png", m16));
    CHECK(t.size() == cv::Size(160, 80));
    CHECK(mean_diff(t, reference(smooth_bgr(200, 100), t.size())) < 4.0);
  }
  SUBCASE("BGRA PNG: alpha dropped") {
    cv::Mat bgra;
    cv::cvtColor(smooth_bgr(200, 100), bgra, cv::COLOR_BGR2BGRA);
    CHECK(thumbnail_ok(encode(".png", bgra)).channels() == 3);
  }
}

TEST_CASE("bad input gives the decode error codes, never an exception") {
  const Bytes good = read_bytes(data_dir() / "samples" / "gnome-control-center-data__cat.jpg");
  const Bytes png = read_bytes(data_dir() / "samples" / "python3-skimage__coins.png");
  CHECK(thumbnail_code({}) == ErrorCode::empty);
  CHECK(thumbnail_code(Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!'}) ==
        ErrorCode::unsupported);
  CHECK(thumbnail_code(Bytes(good.begin(), good.begin() + 20)) == ErrorCode::truncated);
  CHECK(thumbnail_code(Bytes(good.begin(), good.end() - 100)) == ErrorCode::truncated);
  CHECK(thumbnail_code(Bytes(png.begin(), png.begin() + png.size() / 2)) == ErrorCode::truncated);
  // The pixel cap is checked from the header, before any pixel is decoded.
  CHECK(thumbnail_code(good, {.max_pixels = 512 * 512 - 1}) == ErrorCode::too_large);
  CHECK(thumbnail_code(good, {.max_pixels = 512 * 512}) == ErrorCode::ok);
  // Damaged bytes anywhere: an error or a valid thumbnail, and no exception escapes.
  for (std::size_t pos = 0; pos < good.size(); pos += 97) {
    Bytes bad = good;
    bad[pos] ^= 0x5A;
    CAPTURE(pos);
    Outcome<std::vector<std::uint8_t>> r = ItemError{};
    CHECK_NOTHROW(r = make_thumbnail(bad));
    if (r.has_value())
      CHECK_FALSE(cv::imdecode(r.value(), cv::IMREAD_UNCHANGED).empty());
    else
      CHECK(r.error().code != ErrorCode::internal);
  }
}
