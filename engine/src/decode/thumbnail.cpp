// make_thumbnail: the small colour JPEG the HTML reports show beside each match. It decodes through
// the same stages as decode_luma (codec.hpp: header probe, pixel cap, completeness check, size
// check, exception firewall), in colour instead of luma, and shrinks before it orients: the
// orientation is then a flip or rotation of the small raster only.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "codec.hpp"

namespace residue {
namespace {

using detail::ByteSpan;
using detail::Probe;
using Jpeg = std::vector<std::uint8_t>;

constexpr int kJpegQuality = 80;

/// The largest JPEG DCT scale (8, 4, 2) whose reduced raster still has a longest side of at least
/// max_side, so the thumbnail is only ever shrunk, never enlarged, after the reduced decode.
int thumbnail_scale(const ImageInfo& info, int max_side) {
  const int longest = std::max(info.stored_width, info.stored_height);
  for (int s : {8, 4, 2})
    if (longest / s >= max_side) return s;
  return 1;
}

/// The EXIF orientation o (1..8) applied to a raster, as OpenCV operations.
cv::Mat oriented(const cv::Mat& m, int o) {
  cv::Mat out;
  switch (o) {
    case 2:
      cv::flip(m, out, 1);
      return out;
    case 3:
      cv::flip(m, out, -1);
      return out;
    case 4:
      cv::flip(m, out, 0);
      return out;
    case 5:
      cv::transpose(m, out);
      return out;
    case 6:
      cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE);
      return out;
    case 7:
      cv::transpose(m, out);
      cv::flip(out, out, -1);
      return out;
    case 8:
      cv::rotate(m, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      return out;
    default:
      return m;
  }
}

Outcome<Jpeg> thumbnail_impl(ByteSpan bytes, int max_side, const DecodeOptions& options) {
  auto probed = detail::probe_for_decode(bytes, options);
  if (!probed) return probed.error();
  const Probe& p = probed.value();
  int scale = 1;
  int flags = p.grey ? cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH
                     : cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH;
  if (p.info.format == ImageFormat::jpeg && !options.exact) {
    scale = thumbnail_scale(p.info, max_side);
    if (scale > 1) {
      const bool g = p.grey;
      flags = scale == 8   ? (g ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_REDUCED_COLOR_8)
              : scale == 4 ? (g ? cv::IMREAD_REDUCED_GRAYSCALE_4 : cv::IMREAD_REDUCED_COLOR_4)
                           : (g ? cv::IMREAD_REDUCED_GRAYSCALE_2 : cv::IMREAD_REDUCED_COLOR_2);
    }
  }
  auto decoded = detail::decode_stored(bytes, p, options, flags, scale);
  if (!decoded) return decoded.error();
  cv::Mat img = std::move(decoded).value();
  if (img.channels() == 4) cv::cvtColor(img, img, cv::COLOR_BGRA2BGR);
  if (img.channels() != 1 && img.channels() != 3)
    return ItemError{ErrorCode::unsupported, std::to_string(img.channels()) +
                                                 "-channel pixels cannot be written as a JPEG"};

  const int longest = std::max(img.cols, img.rows);
  if (longest > max_side) {
    const double f = double(max_side) / double(longest);
    const auto side = [&](int n) {
      return std::clamp(static_cast<int>(std::lround(n * f)), 1, max_side);
    };
    cv::Mat small;
    cv::resize(img, small, cv::Size(side(img.cols), side(img.rows)), 0, 0, cv::INTER_AREA);
    img = small;
  }
  if (!detail::codec_orients(p.info.format)) img = oriented(img, p.info.orientation);

  Jpeg out;
  if (!cv::imencode(".jpg", img, out, {cv::IMWRITE_JPEG_QUALITY, kJpegQuality}))
    return ItemError{ErrorCode::internal, "the JPEG encoder failed on the thumbnail"};
  return out;
}

}  // namespace

Outcome<std::vector<std::uint8_t>> make_thumbnail(std::span<const std::uint8_t> bytes, int max_side,
                                                  const DecodeOptions& options) noexcept {
  RESIDUE_ASSERT(max_side >= 1);
  return detail::firewall<Jpeg>([&] { return thumbnail_impl(bytes, max_side, options); });
}

}  // namespace residue
