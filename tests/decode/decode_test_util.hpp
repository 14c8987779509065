// tests/decode/decode_test_util.hpp: assertions shared by the decode test files.
#pragma once

#include <doctest/doctest.h>

#include <opencv2/core.hpp>

#include <cstring>
#include <string>

#include "residue/decode.hpp"
#include "samples.hpp"

namespace residue::test {

inline DecodedImage decode_ok(const Bytes& b, const DecodeOptions& options = {}) {
  auto r = decode_luma(b, options);
  REQUIRE_MESSAGE(r.has_value(), (r.has_value() ? std::string() : r.error().message));
  return std::move(r).value();
}

inline ErrorCode decode_code(const Bytes& b, const DecodeOptions& options = {}) {
  auto r = decode_luma(b, options);
  return r.has_value() ? ErrorCode::ok : r.error().code;
}

inline std::string decode_message(const Bytes& b, const DecodeOptions& options = {}) {
  auto r = decode_luma(b, options);
  return r.has_value() ? std::string("ok") : r.error().message;
}

/// A copy of the raster as a CV_32F matrix.
inline cv::Mat to_mat(const LumaImage& l) {
  return cv::Mat(l.height, l.width, CV_32F, const_cast<float*>(l.pixels.data())).clone();
}

/// Exact luma a BGR picture must decode to.
inline cv::Mat ref_luma_of(const cv::Mat& bgr) {
  cv::Mat out(bgr.rows, bgr.cols, CV_32F);
  for (int y = 0; y < bgr.rows; ++y)
    for (int x = 0; x < bgr.cols; ++x) out.at<float>(y, x) = ref_luma(bgr.at<cv::Vec3b>(y, x));
  return out;
}

inline cv::Mat grey_as_float(const cv::Mat& grey) {
  cv::Mat out;
  grey.convertTo(out, CV_32F);
  return out;
}

/// True when both matrices have the same size and every value is bit-identical.
inline bool identical(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) return false;
  for (int y = 0; y < a.rows; ++y)
    if (std::memcmp(a.ptr(y), b.ptr(y), a.cols * a.elemSize()) != 0) return false;
  return true;
}

/// The EXIF orientations written as OpenCV operations (independent of the library's index walk).
inline cv::Mat apply_orientation(const cv::Mat& m, int o) {
  cv::Mat t, out;
  switch (o) {
    case 2:
      cv::flip(m, out, 1);
      break;
    case 3:
      cv::rotate(m, out, cv::ROTATE_180);
      break;
    case 4:
      cv::flip(m, out, 0);
      break;
    case 5:
      cv::transpose(m, out);
      break;
    case 6:
      cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7:
      cv::transpose(m, t);
      cv::rotate(t, out, cv::ROTATE_180);
      break;
    case 8:
      cv::rotate(m, out, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      out = m.clone();
      break;
  }
  return out;
}

}  // namespace residue::test
