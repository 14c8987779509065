// Private to hash/: separable linear resampling with banded weights, out = Wy * A * Wx^T.
//
// Both hashes reduce a large raster to a small one with a linear, separable filter: pHash by area
// averaging to 32x32, fast-mode PDQ by the reference's blur-then-sample (whose two box passes per
// axis compose into one banded weight matrix per axis). Computing only the output samples, each
// as a weighted sum of the input rows and columns it depends on, costs about one multiply-add per
// input pixel, instead of the four full-image passes of running sums the reference makes.
#pragma once

#include <memory>
#include <vector>

#include "residue/core.hpp"

namespace residue::detail {

/// Weights of one axis: output o = sum over t of weights[offset[o] + t] * input[first[o] + t],
/// for t < count[o].
struct AxisWeights {
  int outputs = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int> offset;
  std::vector<float> weights;
};

/// Weights are computed once per size and thread and shared (a small per-thread cache).
using WeightsPtr = std::shared_ptr<const AxisWeights>;

/// Area averaging of n samples into `outputs` cells (fractional coverage at cell edges).
WeightsPtr area_weights(int n, int outputs);

/// The PDQ reference's downscale along one axis, as weights: two passes of its clipped box filter
/// of window (n + 127) / 128, then sampling at floor((i + 0.5) * n / 64). Computed in double.
WeightsPtr pdq_blur_sample_weights(int n, int outputs);

/// The same full-resolution weights for an image of n_full samples, folded onto a reduced raster of
/// n_reduced samples where sample k covers full samples [k*scale, (k+1)*scale): each
/// full-resolution tap adds its weight to the reduced sample that holds it.
WeightsPtr pdq_folded_weights(int n_full, int scale, int n_reduced, int outputs);

/// out (wy.outputs x wx.outputs, row-major) = Wy * luma * Wx^T, accumulated in float.
void resample(LumaView luma, const AxisWeights& wy, const AxisWeights& wx, float* out);

}  // namespace residue::detail
