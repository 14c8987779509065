// Physical dihedral transforms of a raster (rotations and flips of the pixels themselves).
#include "residue/hash.hpp"

namespace residue {

LumaImage transform_luma(LumaView in, Dihedral d) {
  const int w = in.width, h = in.height;
  const bool swaps = d == Dihedral::rot90 || d == Dihedral::rot270 || d == Dihedral::flip_plus1 ||
                     d == Dihedral::flip_minus1;
  LumaImage out(swaps ? h : w, swaps ? w : h);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sy = y, sx = x;  // source row and column
      switch (d) {
        case Dihedral::original:
          break;
        case Dihedral::rot90:  // counter-clockwise: the right column becomes the top row
          sy = x;
          sx = w - 1 - y;
          break;
        case Dihedral::rot180:
          sy = h - 1 - y;
          sx = w - 1 - x;
          break;
        case Dihedral::rot270:
          sy = h - 1 - x;
          sx = y;
          break;
        case Dihedral::flip_x:
          sy = h - 1 - y;
          break;
        case Dihedral::flip_y:
          sx = w - 1 - x;
          break;
        case Dihedral::flip_plus1:
          sy = x;
          sx = y;
          break;
        case Dihedral::flip_minus1:
          sy = h - 1 - x;
          sx = w - 1 - y;
          break;
      }
      out.at(x, y) = in.row(sy)[sx];
    }
  }
  return out;
}

}  // namespace residue
