// pHash: a 64-bit DCT hash. The luma is area-averaged to 32x32 (each output pixel is the mean of
// the input area it covers, fractional pixels weighted by coverage, so any input size works and
// the result is symmetric under flips), a 2-D orthonormal DCT-II gives the 8x8 lowest frequencies
// (DC included), and bit u*8+v says whether coefficient (u, v) is above their lower median.
// Computed in double: there is no reference to match bit for bit, only determinism.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

#include "dct_dihedral.hpp"
#include "residue/hash.hpp"

namespace residue {
namespace {

constexpr int kSmall = 32;
constexpr int kLow = 8;

// Coverage weights of input samples [0, n) for each of kSmall output cells.
struct AreaWeights {
  std::vector<int> first;         // first input index per output cell
  std::vector<std::vector<double>> weights;  // weights per output cell, divided by the cell size
};

AreaWeights area_weights(int n) {
  AreaWeights w;
  w.first.resize(kSmall);
  w.weights.resize(kSmall);
  const double cell = static_cast<double>(n) / kSmall;
  for (int o = 0; o < kSmall; ++o) {
    const double lo = o * cell;
    const double hi = (o + 1) * cell;
    const int first = static_cast<int>(std::floor(lo));
    const int last = std::min(n - 1, static_cast<int>(std::ceil(hi)) - 1);
    w.first[static_cast<std::size_t>(o)] = first;
    auto& ws = w.weights[static_cast<std::size_t>(o)];
    for (int i = first; i <= last; ++i) {
      const double overlap = std::min(hi, i + 1.0) - std::max(lo, static_cast<double>(i));
      ws.push_back(std::max(0.0, overlap) / cell);
    }
  }
  return w;
}

using Small = double[kSmall][kSmall];
using Low = float[kLow][kLow];

void area_resize(LumaView luma, Small& out) {
  const AreaWeights wx = area_weights(luma.width);
  const AreaWeights wy = area_weights(luma.height);
  std::vector<double> rows(static_cast<std::size_t>(luma.height) * kSmall);
  for (int y = 0; y < luma.height; ++y) {
    const float* src = luma.row(y);
    for (int o = 0; o < kSmall; ++o) {
      const auto& ws = wx.weights[static_cast<std::size_t>(o)];
      const int first = wx.first[static_cast<std::size_t>(o)];
      double acc = 0.0;
      for (std::size_t i = 0; i < ws.size(); ++i) acc += ws[i] * src[first + static_cast<int>(i)];
      rows[static_cast<std::size_t>(y) * kSmall + static_cast<std::size_t>(o)] = acc;
    }
  }
  for (int o = 0; o < kSmall; ++o) {
    const auto& ws = wy.weights[static_cast<std::size_t>(o)];
    const int first = wy.first[static_cast<std::size_t>(o)];
    for (int x = 0; x < kSmall; ++x) {
      double acc = 0.0;
      for (std::size_t i = 0; i < ws.size(); ++i)
        acc += ws[i] * rows[static_cast<std::size_t>(first + static_cast<int>(i)) * kSmall + static_cast<std::size_t>(x)];
      out[o][x] = acc;
    }
  }
}

struct Basis {
  double c[kLow][kSmall];  // orthonormal DCT-II basis, frequencies 0..7 over 32 samples
  Basis() {
    for (int u = 0; u < kLow; ++u) {
      const double scale = u == 0 ? std::sqrt(1.0 / kSmall) : std::sqrt(2.0 / kSmall);
      for (int n = 0; n < kSmall; ++n)
        c[u][n] = scale * std::cos(std::numbers::pi / kSmall * (n + 0.5) * u);
    }
  }
};

const Basis& basis() {
  static const Basis b;  // immutable after thread-safe initialisation
  return b;
}

void low_dct(LumaView luma, Low& out) {
  Small s;
  area_resize(luma, s);
  const Basis& b = basis();
  double t[kLow][kSmall];  // t = C * s
  for (int u = 0; u < kLow; ++u) {
    for (int x = 0; x < kSmall; ++x) {
      double acc = 0.0;
      for (int y = 0; y < kSmall; ++y) acc += b.c[u][y] * s[y][x];
      t[u][x] = acc;
    }
  }
  for (int u = 0; u < kLow; ++u) {
    for (int v = 0; v < kLow; ++v) {
      double acc = 0.0;
      for (int x = 0; x < kSmall; ++x) acc += t[u][x] * b.c[v][x];
      out[u][v] = static_cast<float>(acc);
    }
  }
}

Hash64 bits_from_low(const Low& c) {
  float sorted[kLow * kLow];
  std::copy(&c[0][0], &c[0][0] + kLow * kLow, sorted);
  constexpr int kMedianIndex = (kLow * kLow + 1) / 2 - 1;
  std::nth_element(sorted, sorted + kMedianIndex, sorted + kLow * kLow);
  const float median = sorted[kMedianIndex];
  Hash64 h;
  for (int u = 0; u < kLow; ++u)
    for (int v = 0; v < kLow; ++v)
      if (c[u][v] > median) h.bits |= std::uint64_t{1} << (u * kLow + v);
  return h;
}

bool empty(LumaView luma) { return luma.width <= 0 || luma.height <= 0 || luma.data == nullptr; }

}  // namespace

Hash64 phash(LumaView luma) {
  if (empty(luma)) return {};
  Low c;
  low_dct(luma, c);
  return bits_from_low(c);
}

std::array<Hash64, kDihedralCount> phash_dihedral(LumaView luma) {
  std::array<Hash64, kDihedralCount> out{};
  if (empty(luma)) return out;
  Low c;
  Low t;
  low_dct(luma, c);
  for (int d = 0; d < kDihedralCount; ++d) {
    detail::dihedral_dct(c, t, static_cast<Dihedral>(d), /*first_frequency=*/0);
    out[static_cast<std::size_t>(d)] = bits_from_low(t);
  }
  return out;
}

}  // namespace residue
