// PDQ, computed as the reference implementation computes it (facebook/ThreatExchange pdq/cpp,
// hashing/pdqhashing.cpp and downscaling/downscaling.cpp), on the same float32 luma, so that the
// hash and quality are bit-identical. What must match, and why the code looks the way it does:
//  - Jarosz blur: per pass a box filter along rows then along columns, each a running float sum
//    (add the entering sample, subtract the leaving one, divide by the count). We keep exactly that
//    per-element sequence of float operations, but process several vectors at once (all columns
//    together for the column pass, blocks of rows for the row pass) so that independent running
//    sums overlap instead of waiting on each other. Reordering *across* vectors changes nothing.
//  - DCT: T = D A and B = T D^T, each element a sequential float sum over k = 0..63 starting at
//    0.0f. The loops are ordered so the inner loop runs over independent outputs (vectorisable)
//    while each output still sees its 64 products in order.
//  - No FMA contraction, no fast-math: set for this target in engine/CMakeLists.txt.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <numbers>
#include <vector>

#include "dct_dihedral.hpp"
#include "resample.hpp"
#include "residue/hash.hpp"

namespace residue {
namespace {

constexpr int kDown = 64;    // decimated size
constexpr int kCoeffs = 16;  // DCT frequencies 1..16 in each direction

using Buffer64 = float[kDown][kDown];
using Buffer16 = float[kCoeffs][kCoeffs];

// D[i][j] = float(sqrt(2/64)) * cos(pi/128 * (i+1) * (2j+1)), product in double, stored as float.
struct DctMatrix {
  float d[kCoeffs][kDown];
  float dt[kDown][kCoeffs];  // transpose, for the second product
  DctMatrix() {
    const float scale = static_cast<float>(std::sqrt(2.0 / kDown));
    for (int i = 0; i < kCoeffs; ++i) {
      for (int j = 0; j < kDown; ++j) {
        const double angle = (std::numbers::pi / 2.0 / kDown) * (i + 1) * (2 * j + 1);
        d[i][j] = static_cast<float>(scale * std::cos(angle));
        dt[j][i] = d[i][j];
      }
    }
  }
};

const DctMatrix& dct_matrix() {
  static const DctMatrix m;  // immutable after thread-safe initialisation
  return m;
}

int jarosz_window(int dimension) {
  return (dimension + 2 * kDown - 1) / (2 * kDown);
}

// The reference's 1-D box filter, run on `lanes` independent vectors at once. Element t of lane l
// is at offset t * step + l * lane_stride. `sums` has room for `lanes` floats.
template <bool kContiguousLanes>
void box_lanes(const float* __restrict in, float* __restrict out, int length, int lanes,
               std::ptrdiff_t step, std::ptrdiff_t lane_stride, int window,
               float* __restrict sums) {
  const int half = (window + 2) / 2;
  const int phase1 = half - 1;
  const int phase2 = window - half + 1;
  const int phase3 = length - window;
  const int phase4 = half - 1;
  const std::ptrdiff_t ls = kContiguousLanes ? 1 : lane_stride;
  std::fill(sums, sums + lanes, 0.0f);
  std::ptrdiff_t li = 0, ri = 0, oi = 0;
  int count = 0;
  for (int t = 0; t < phase1; ++t, ri += step) {
    for (int l = 0; l < lanes; ++l) sums[l] += in[ri + l * ls];
    ++count;
  }
  for (int t = 0; t < phase2; ++t, ri += step, oi += step) {
    ++count;
    const float n = static_cast<float>(count);
    for (int l = 0; l < lanes; ++l) {
      sums[l] += in[ri + l * ls];
      out[oi + l * ls] = sums[l] / n;
    }
  }
  {
    const float n = static_cast<float>(count);
    for (int t = 0; t < phase3; ++t, ri += step, li += step, oi += step) {
      for (int l = 0; l < lanes; ++l) {
        sums[l] += in[ri + l * ls];
        sums[l] -= in[li + l * ls];
        out[oi + l * ls] = sums[l] / n;
      }
    }
  }
  for (int t = 0; t < phase4; ++t, li += step, oi += step) {
    --count;
    const float n = static_cast<float>(count);
    for (int l = 0; l < lanes; ++l) {
      sums[l] -= in[li + l * ls];
      out[oi + l * ls] = sums[l] / n;
    }
  }
}

// The row pass filters blocks of kRowBlock rows: their running sums are independent, so the
// processor overlaps them instead of waiting on one sum's chain of additions.
void box_along_rows(const float* in, float* out, int rows, int cols, int window) {
  constexpr int kRowBlock = 8;
  float sums[kRowBlock];
  for (int r = 0; r < rows; r += kRowBlock) {
    const int lanes = std::min(kRowBlock, rows - r);
    const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(r) * cols;
    box_lanes<false>(in + base, out + base, cols, lanes, 1, cols, window, sums);
  }
}

void box_along_cols(const float* in, float* out, int rows, int cols, int window, float* sums) {
  box_lanes<true>(in, out, rows, cols, cols, 1, window, sums);
}

// Blur (2 passes of rows-then-columns) and decimate to 64x64 by sampling pixel centres.
void blur_and_decimate(LumaView luma, Buffer64& out) {
  const int rows = luma.height;
  const int cols = luma.width;
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  // Every element of these buffers is written before it is read: no zero-initialisation.
  auto a = std::make_unique_for_overwrite<float[]>(n);
  auto b = std::make_unique_for_overwrite<float[]>(n);
  auto sums = std::make_unique_for_overwrite<float[]>(static_cast<std::size_t>(cols));
  for (int y = 0; y < rows; ++y)
    std::copy_n(luma.row(y), cols, a.get() + static_cast<std::ptrdiff_t>(y) * cols);
  const int window_along_rows = jarosz_window(cols);
  const int window_along_cols = jarosz_window(rows);
  for (int pass = 0; pass < 2; ++pass) {
    box_along_rows(a.get(), b.get(), rows, cols, window_along_rows);
    box_along_cols(b.get(), a.get(), rows, cols, window_along_cols, sums.get());
  }
  for (int i = 0; i < kDown; ++i) {
    const int y = static_cast<int>(((i + 0.5) * rows) / kDown);
    for (int j = 0; j < kDown; ++j) {
      const int x = static_cast<int>(((j + 0.5) * cols) / kDown);
      out[i][j] = a[static_cast<std::size_t>(y) * static_cast<std::size_t>(cols) +
                    static_cast<std::size_t>(x)];
    }
  }
}

// Sum of quantised gradients over vertical and horizontal neighbour pairs, /90, capped at 100.
// Cloned for AVX2: the same per-element operations (so the reference's values), 8 at a time.
__attribute__((target_clones("avx2", "default"))) int quality_metric(const Buffer64& m) {
  int gradient_sum = 0;
  for (int i = 0; i < kDown - 1; ++i) {
    for (int j = 0; j < kDown; ++j) {
      const int d = static_cast<int>(((m[i][j] - m[i + 1][j]) * 100.0f) / 255.0f);
      gradient_sum += std::abs(d);
    }
  }
  for (int i = 0; i < kDown; ++i) {
    for (int j = 0; j < kDown - 1; ++j) {
      const int d = static_cast<int>(((m[i][j] - m[i][j + 1]) * 100.0f) / 255.0f);
      gradient_sum += std::abs(d);
    }
  }
  return std::min(gradient_sum / 90, 100);
}

// Cloned for AVX2 like resample(): each output keeps its sequential sum over k, so every clone
// gives the reference's bits.
__attribute__((target_clones("avx2", "default"))) void dct_64_to_16(const Buffer64& a,
                                                                    Buffer16& out) {
  const DctMatrix& m = dct_matrix();
  float t[kCoeffs][kDown];
  for (int i = 0; i < kCoeffs; ++i) {
    std::fill(std::begin(t[i]), std::end(t[i]), 0.0f);
    for (int k = 0; k < kDown; ++k) {
      const float dik = m.d[i][k];
      for (int j = 0; j < kDown; ++j) t[i][j] += dik * a[k][j];
    }
  }
  for (int i = 0; i < kCoeffs; ++i) {
    std::fill(std::begin(out[i]), std::end(out[i]), 0.0f);
    for (int k = 0; k < kDown; ++k) {
      const float tik = t[i][k];
      for (int j = 0; j < kCoeffs; ++j) out[i][j] += tik * m.dt[k][j];
    }
  }
}

// Bit i*16+j is set iff coefficient (i, j) is strictly above the lower median (the 128th
// smallest), which is the value Torben's selection returns in the reference.
Hash256 bits_from_dct(const Buffer16& c) {
  float sorted[kCoeffs * kCoeffs];
  std::copy(&c[0][0], &c[0][0] + kCoeffs * kCoeffs, sorted);
  constexpr int kMedianIndex = (kCoeffs * kCoeffs + 1) / 2 - 1;
  std::nth_element(sorted, sorted + kMedianIndex, sorted + kCoeffs * kCoeffs);
  const float median = sorted[kMedianIndex];
  Hash256 h;
  for (int i = 0; i < kCoeffs; ++i)
    for (int j = 0; j < kCoeffs; ++j)
      if (c[i][j] > median) h.set_bit(i * kCoeffs + j);
  return h;
}

bool hashable(LumaView luma) {
  return luma.width >= kPdqMinDimension && luma.height >= kPdqMinDimension;
}

// Shared core: 64x64 image (blurred and decimated unless `skip_64` and the input is 64x64),
// quality, and the 16x16 DCT.
int pdq_dct(LumaView luma, bool skip_64, PdqDownscale downscale, PdqSource source,
            Buffer16& coeffs) {
  Buffer64 small;
  if (skip_64 && luma.width == kDown && luma.height == kDown) {
    for (int y = 0; y < kDown; ++y) std::copy_n(luma.row(y), kDown, small[y]);
  } else if (downscale == PdqDownscale::separable) {
    const bool reduced =
        source.scale > 1 && source.width > luma.width && source.height > luma.height;
    const auto wy =
        reduced ? detail::pdq_folded_weights(source.height, source.scale, luma.height, kDown)
                : detail::pdq_blur_sample_weights(luma.height, kDown);
    const auto wx = reduced
                        ? detail::pdq_folded_weights(source.width, source.scale, luma.width, kDown)
                        : detail::pdq_blur_sample_weights(luma.width, kDown);
    detail::resample(luma, *wy, *wx, &small[0][0]);
  } else {
    blur_and_decimate(luma, small);
  }
  const int quality = quality_metric(small);
  dct_64_to_16(small, coeffs);
  return quality;
}

}  // namespace

PdqResult pdq_hash(LumaView luma, PdqDownscale downscale, PdqSource source) {
  if (!hashable(luma)) return {};
  Buffer16 coeffs;
  PdqResult r;
  r.quality = pdq_dct(luma, /*skip_64=*/true, downscale, source, coeffs);
  r.hash = bits_from_dct(coeffs);
  return r;
}

PdqDihedralResult pdq_hash_dihedral(LumaView luma, PdqDownscale downscale, PdqSource source) {
  PdqDihedralResult r;
  if (!hashable(luma)) return r;
  Buffer16 coeffs;
  Buffer16 transformed;
  r.quality = pdq_dct(luma, /*skip_64=*/false, downscale, source, coeffs);
  for (int d = 0; d < kDihedralCount; ++d) {
    detail::dihedral_dct(coeffs, transformed, static_cast<Dihedral>(d), /*first_frequency=*/1);
    r.hashes[static_cast<std::size_t>(d)] = bits_from_dct(transformed);
  }
  return r;
}

}  // namespace residue
