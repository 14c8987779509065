// Private to hash/: the dihedral transforms of a square block of DCT coefficients.
//
// Flipping an image along one axis multiplies the DCT coefficient of frequency f along that axis
// by (-1)^f; transposing the image transposes the coefficients. So the 8 dihedral variants of a
// hash come from sign changes and transposition of one DCT, without re-hashing pixels. This is
// what the PDQ reference does (its 16x16 block holds frequencies 1..16, pHash's 8x8 holds 0..7:
// `first_frequency` carries that difference).
#pragma once

#include <array>
#include <cstddef>

#include "residue/core.hpp"

namespace residue::detail {

struct DihedralRule {
  bool transpose;
  bool negate_odd_row_freq;  // multiply by (-1)^f_row
  bool negate_odd_col_freq;  // multiply by (-1)^f_col
};

// Rules for the output coefficient (p, q), read from input (p, q) or, when transposed, (q, p).
// Derivation: rot90 (counter-clockwise) = vertical flip of the transpose, rot270 = mirror of the
// transpose, rot180 = both flips, flip_minus1 = rot180 of the transpose.
inline constexpr std::array<DihedralRule, kDihedralCount> kDihedralRules{{
    {false, false, false},  // original
    {true, true, false},    // rot90
    {false, true, true},    // rot180
    {true, false, true},    // rot270
    {false, true, false},   // flip_x
    {false, false, true},   // flip_y
    {true, false, false},   // flip_plus1
    {true, true, true},     // flip_minus1
}};

template <int N>
void dihedral_dct(const float (&in)[N][N], float (&out)[N][N], Dihedral d, int first_frequency) {
  const DihedralRule rule = kDihedralRules[static_cast<std::size_t>(d)];
  for (int p = 0; p < N; ++p) {
    for (int q = 0; q < N; ++q) {
      float v = rule.transpose ? in[q][p] : in[p][q];
      if (rule.negate_odd_row_freq && ((p + first_frequency) & 1)) v = -v;
      if (rule.negate_odd_col_freq && ((q + first_frequency) & 1)) v = -v;
      out[p][q] = v;
    }
  }
}

}  // namespace residue::detail
