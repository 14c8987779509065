#include "residue/hash.hpp"

namespace residue {

ImageHashes hash_image(LumaView luma, const HashOptions& options) {
  ImageHashes h;
  const PdqDownscale downscale = options.exact ? PdqDownscale::reference : PdqDownscale::separable;
  if (options.dihedral) {
    const PdqDihedralResult pdq = pdq_hash_dihedral(luma, downscale, options.source);
    h.pdq = {pdq.hashes[0], pdq.quality};
    h.pdq_dihedral = pdq.hashes;
    h.phash_dihedral = phash_dihedral(luma);
    h.phash = h.phash_dihedral[0];
    h.has_dihedral = true;
  } else {
    h.pdq = pdq_hash(luma, downscale, options.source);
    h.phash = phash(luma);
  }
  return h;
}

}  // namespace residue
