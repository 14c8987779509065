// pHash: a 64-bit DCT hash. The luma is area-averaged to 32x32 (each output pixel is the mean of
// the input area it covers, fractional pixels weighted by coverage, so any input size works and
// the result is symmetric under flips), a 2-D orthonormal DCT-II gives the 8x8 lowest frequencies
// (DC included), and bit u*8+v says whether coefficient (u, v) is above their lower median.
// The DCT is computed in double; there is no reference to match bit for bit, only determinism.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <vector>

#include "dct_dihedral.hpp"
#include "resample.hpp"
#include "residue/hash.hpp"

namespace residue {
namespace {

constexpr int kSmall = 32;
constexpr int kLow = 8;

using Small = float[kSmall][kSmall];
using Low = float[kLow][kLow];

void area_resize(LumaView luma, Small& out) {
  const auto wy = detail::area_weights(luma.height, kSmall);
  const auto wx = detail::area_weights(luma.width, kSmall);
  detail::resample(luma, *wy, *wx, &out[0][0]);
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

bool empty(LumaView luma) {
  return luma.width <= 0 || luma.height <= 0 || luma.data == nullptr;
}

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
