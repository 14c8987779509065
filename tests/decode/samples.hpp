// tests/decode/samples.hpp: synthetic pictures and OpenCV encoding helpers for the decode tests.
#pragma once

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "builders.hpp"

namespace residue::test {

/// cv::imencode into a byte vector; throws when OpenCV cannot write the format.
inline Bytes encode(const std::string& ext, const cv::Mat& img,
                    const std::vector<int>& params = {}) {
  std::vector<std::uint8_t> buf;
  if (!cv::imencode(ext, img, buf, params)) throw std::runtime_error("imencode failed for " + ext);
  return buf;
}

/// BGR picture where every pixel differs from its neighbours: x, y and (x * y) ramps.
inline cv::Mat gradient_bgr(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<std::uint8_t>((x * 7 + y) & 255),
                                        static_cast<std::uint8_t>((y * 5 + 3 * x) & 255),
                                        static_cast<std::uint8_t>((x * y + 11) & 255));
  return m;
}

inline cv::Mat gradient_grey(int w, int h) {
  cv::Mat m(h, w, CV_8UC1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<std::uint8_t>(y, x) = static_cast<std::uint8_t>((x * 3 + y * 5) & 255);
  return m;
}

/// Smooth, photo-like content (JPEG-friendly) with a clear asymmetry, so any flip or rotation
/// changes it.
inline cv::Mat smooth_bgr(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double fx = double(x) / w, fy = double(y) / h;
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(cv::saturate_cast<std::uint8_t>(40 + 180 * fx * fy),
                                        cv::saturate_cast<std::uint8_t>(30 + 200 * fx),
                                        cv::saturate_cast<std::uint8_t>(220 - 150 * fy));
    }
  cv::rectangle(m, cv::Rect(w / 8, h / 8, w / 4, h / 5), cv::Scalar(250, 250, 250), cv::FILLED);
  return m;
}

/// The PDQ reference's luma of one BGR pixel, written out independently of the library.
inline float ref_luma(const cv::Vec3b& bgr) {
  const float r = bgr[2], g = bgr[1], b = bgr[0];
  return 0.299f * r + 0.587f * g + 0.114f * b;
}

}  // namespace residue::test
