// Uniform-border detection: a copy padded with a flat border (letterboxing, a passe-partout)
// hashes far from the original, because PDQ and pHash see the whole frame. Scan hashes the
// picture inside such a border as well, so the copy still matches.
#include <algorithm>
#include <cmath>

#include "residue/hash.hpp"

namespace residue {
namespace {

// A line is part of the border when almost all of its pixels are within kTolerance of the
// border's colour and their mean deviation is small. JPEG ringing at the picture's edge stops
// the walk a line or two early, which leaves a sliver that costs the hashes nothing measurable.
constexpr float kTolerance = 20.0f;
constexpr float kMeanTolerance = 6.0f;
constexpr double kInlierFraction = 0.98;

struct Line {
  const float* p;
  int n;
  std::ptrdiff_t step;
};

float line_mean(Line l) noexcept {
  double sum = 0;
  for (int i = 0; i < l.n; ++i) sum += l.p[i * l.step];
  return static_cast<float>(sum / std::max(1, l.n));
}

bool uniform(Line l, float colour) noexcept {
  int inliers = 0;
  double dev = 0;
  for (int i = 0; i < l.n; ++i) {
    const float d = std::fabs(l.p[i * l.step] - colour);
    dev += d;
    inliers += d <= kTolerance ? 1 : 0;
  }
  return inliers >= kInlierFraction * l.n && dev <= double{kMeanTolerance} * l.n;
}

// How many lines from one side are border, at most `limit`. line(i) is the i-th line inward.
template <typename LineAt>
int border_depth(LineAt line, int limit) noexcept {
  const Line outer = line(0);
  const float colour = line_mean(outer);
  if (!uniform(outer, colour)) return 0;
  int depth = 1;
  while (depth < limit && uniform(line(depth), colour)) ++depth;
  return depth;
}

}  // namespace

std::optional<PixelRect> find_border_content(LumaView v) noexcept {
  if (v.data == nullptr || v.width < 16 || v.height < 16) return std::nullopt;
  const int max_rows = v.height * 45 / 100, max_cols = v.width * 45 / 100;
  const auto row = [&](int y) { return Line{v.row(y), v.width, 1}; };
  const int top = border_depth([&](int i) { return row(i); }, max_rows);
  const int bottom = border_depth([&](int i) { return row(v.height - 1 - i); }, max_rows);
  const auto col = [&](int x, int y0, int y1) { return Line{v.row(y0) + x, y1 - y0, v.stride}; };
  // Columns are judged between the row borders, so a corner is not counted twice.
  const int y0 = top, y1 = v.height - bottom;
  if (y1 - y0 < 16) return std::nullopt;
  const int left = border_depth([&](int i) { return col(i, y0, y1); }, max_cols);
  const int right = border_depth([&](int i) { return col(v.width - 1 - i, y0, y1); }, max_cols);

  const auto significant = [](int depth, int side) { return depth >= std::max(2, side / 50); };
  if (!significant(top, v.height) && !significant(bottom, v.height) &&
      !significant(left, v.width) && !significant(right, v.width))
    return std::nullopt;
  const PixelRect r{left, top, v.width - left - right, v.height - top - bottom};
  if (r.width < 16 || r.height < 16) return std::nullopt;
  if (static_cast<double>(r.width) * r.height < 0.25 * v.width * v.height) return std::nullopt;
  return r;
}

PixelRect centre_crop(int width, int height, double fraction) noexcept {
  const int w = std::max(1, static_cast<int>(std::lround(width * fraction)));
  const int h = std::max(1, static_cast<int>(std::lround(height * fraction)));
  return {(width - w) / 2, (height - h) / 2, std::min(w, width), std::min(h, height)};
}

}  // namespace residue
