#include "resample.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <memory>
#include <tuple>

namespace residue::detail {
namespace {

void append(AxisWeights& w, int first, const std::vector<double>& taps) {
  // Trim zero taps at both ends so the band is as narrow as possible.
  std::size_t lo = 0, hi = taps.size();
  while (lo < hi && taps[lo] == 0.0) ++lo;
  while (hi > lo && taps[hi - 1] == 0.0) --hi;
  w.first.push_back(first + static_cast<int>(lo));
  w.count.push_back(static_cast<int>(hi - lo));
  w.offset.push_back(static_cast<int>(w.weights.size()));
  for (std::size_t i = lo; i < hi; ++i) w.weights.push_back(static_cast<float>(taps[i]));
}

AxisWeights compute_area_weights(int n, int outputs) {
  AxisWeights w;
  w.outputs = outputs;
  const double cell = static_cast<double>(n) / outputs;
  for (int o = 0; o < outputs; ++o) {
    const double lo = o * cell;
    const double hi = (o + 1) * cell;
    const int first = static_cast<int>(std::floor(lo));
    const int last = std::min(n - 1, static_cast<int>(std::ceil(hi)) - 1);
    std::vector<double> taps;
    for (int i = first; i <= last; ++i)
      taps.push_back(std::max(0.0, std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i))) /
                     cell);
    append(w, first, taps);
  }
  return w;
}

AxisWeights compute_pdq_blur_sample_weights(int n, int outputs) {
  const int window = (n + 2 * outputs - 1) / (2 * outputs);
  const int half = (window + 2) / 2;
  // One clipped box: output i averages inputs [i - (window - half), i + half - 1] inside [0, n).
  auto box_range = [&](int i) {
    return std::pair{std::max(0, i - (window - half)), std::min(n - 1, i + half - 1)};
  };
  AxisWeights w;
  w.outputs = outputs;
  for (int o = 0; o < outputs; ++o) {
    const int s = static_cast<int>(((o + 0.5) * n) / outputs);
    // Sample s of box(box(x)): sum over k in range(s) of 1/|range(s)| * (box row k).
    const auto [k0, k1] = box_range(s);
    const int first = std::max(0, k0 - (window - half));
    const int last = std::min(n - 1, k1 + half - 1);
    std::vector<double> taps(static_cast<std::size_t>(last - first + 1), 0.0);
    const double outer = 1.0 / (k1 - k0 + 1);
    for (int k = k0; k <= k1; ++k) {
      const auto [j0, j1] = box_range(k);
      const double inner = outer / (j1 - j0 + 1);
      for (int j = j0; j <= j1; ++j) taps[static_cast<std::size_t>(j - first)] += inner;
    }
    append(w, first, taps);
  }
  return w;
}

// Cloned for AVX2 (8-wide) with a run-time dispatch; every clone does the same float operations
// per element in the same order (no FMA: -ffp-contract=off), so results do not depend on the CPU.
__attribute__((target_clones("avx2", "default"))) AxisWeights compute_pdq_folded_weights(
    int n_full, int scale, int n_reduced, int outputs) {
  const AxisWeights full = compute_pdq_blur_sample_weights(n_full, outputs);
  AxisWeights w;
  w.outputs = outputs;
  for (int o = 0; o < outputs; ++o) {
    const auto oi = static_cast<std::size_t>(o);
    const int first_full = full.first[oi];
    const int last_full = first_full + full.count[oi] - 1;
    const int first = std::min(n_reduced - 1, first_full / scale);
    const int last = std::min(n_reduced - 1, last_full / scale);
    std::vector<double> taps(static_cast<std::size_t>(last - first + 1), 0.0);
    for (int t = 0; t < full.count[oi]; ++t) {
      const int k = std::min(n_reduced - 1, (first_full + t) / scale);
      taps[static_cast<std::size_t>(k - first)] +=
          full.weights[static_cast<std::size_t>(full.offset[oi] + t)];
    }
    append(w, first, taps);
  }
  return w;
}

// Weights depend only on the sizes, and a mirror holds many images of the same size (and every
// image asks for several axes): a small per-thread cache of recent results saves recomputing them
// in double for every image. Entries are shared, so eviction never invalidates one in use.
enum class WeightKind : int { area, blur_sample, folded };
using WeightKey = std::tuple<WeightKind, int, int, int, int>;

template <typename Compute>
WeightsPtr cached(const WeightKey& key, Compute&& compute) {
  constexpr std::size_t kSlots = 16;
  thread_local std::array<std::pair<WeightKey, WeightsPtr>, kSlots> slots{};
  thread_local std::size_t next = 0;
  for (const auto& [k, w] : slots)
    if (w && k == key) return w;
  auto w = std::make_shared<const AxisWeights>(compute());
  slots[next] = {key, w};
  next = (next + 1) % kSlots;
  return w;
}

}  // namespace

WeightsPtr area_weights(int n, int outputs) {
  return cached({WeightKind::area, n, outputs, 0, 0},
                [&] { return compute_area_weights(n, outputs); });
}

WeightsPtr pdq_blur_sample_weights(int n, int outputs) {
  return cached({WeightKind::blur_sample, n, outputs, 0, 0},
                [&] { return compute_pdq_blur_sample_weights(n, outputs); });
}

WeightsPtr pdq_folded_weights(int n_full, int scale, int n_reduced, int outputs) {
  return cached({WeightKind::folded, n_full, scale, n_reduced, outputs},
                [&] { return compute_pdq_folded_weights(n_full, scale, n_reduced, outputs); });
}

// Cloned for AVX2 like the weights above: the same float operations in the same order per
// element (no FMA), 8 columns at a time.
__attribute__((target_clones("avx2", "default"))) void resample(LumaView luma,
                                                                const AxisWeights& wy,
                                                                const AxisWeights& wx, float* out) {
  const int cols = luma.width;
  thread_local std::vector<float> tmp;  // reused: no allocation per image
  tmp.assign(static_cast<std::size_t>(wy.outputs) * static_cast<std::size_t>(cols), 0.0f);
  for (int o = 0; o < wy.outputs; ++o) {
    float* __restrict acc = tmp.data() + static_cast<std::ptrdiff_t>(o) * cols;
    const auto oi = static_cast<std::size_t>(o);
    const float* wts = wy.weights.data() + wy.offset[oi];
    for (int t = 0; t < wy.count[oi]; ++t) {
      const float* __restrict src = luma.row(wy.first[oi] + t);
      const float wt = wts[t];
      for (int x = 0; x < cols; ++x) acc[x] += wt * src[x];
    }
  }
  for (int o = 0; o < wy.outputs; ++o) {
    const float* row = tmp.data() + static_cast<std::ptrdiff_t>(o) * cols;
    for (int p = 0; p < wx.outputs; ++p) {
      const auto pi = static_cast<std::size_t>(p);
      const float* wts = wx.weights.data() + wx.offset[pi];
      const float* src = row + wx.first[pi];
      float sum = 0.0f;
      for (int t = 0; t < wx.count[pi]; ++t) sum += wts[t] * src[t];
      out[static_cast<std::ptrdiff_t>(o) * wx.outputs + p] = sum;
    }
  }
}

}  // namespace residue::detail
