// Hashing a withdrawn image for a removal bank: the whole image under every dihedral transform,
// and centre crops, so that transformed and cropped copies still match (bench/accuracy).
#include <exception>

#include "record.hpp"
#include "residue/hash.hpp"
#include "residue/scan.hpp"

namespace residue {

BankImage hash_bank_image(std::string locator, std::span<const std::uint8_t> bytes,
                          DecodeOptions decode) noexcept {
  BankImage out;
  ItemRecord& r = out.record;
  decode.exact = true;
  detail::guarded(r, [&] {
    const auto decoded = detail::decode_into(r, std::move(locator), bytes, decode);
    if (!decoded) return;
    const DecodedImage& img = *decoded;
    const LumaView luma = img.luma.view();
    const ImageHashes full = hash_image(luma, HashOptions{.exact = true});
    r.pdq = full.pdq.hash;
    r.quality = full.pdq.quality;
    r.phash = full.phash;
    out.hashes.reserve(kDihedralCount + kBankViewCount - 1);
    // Each transform is hashed from the transformed pixels, not derived in the DCT domain: the
    // derivation is exact only at 64x64, and on large photos drifts by up to ~30 bits.
    for (int d = 0; d < kDihedralCount; ++d) {
      const auto t = static_cast<Dihedral>(d);
      const ImageHashes h = t == Dihedral::original ? full
                                                    : hash_image(transform_luma(luma, t).view(),
                                                                 HashOptions{.exact = true});
      r.pdq_dihedral[static_cast<std::size_t>(d)] = h.pdq.hash;
      r.phash_dihedral[static_cast<std::size_t>(d)] = h.phash;
      out.hashes.push_back(BankHash{.view = BankView::full,
                                    .dihedral = t,
                                    .has_pdq = true,
                                    .has_phash = true,
                                    .quality = static_cast<std::int16_t>(h.pdq.quality),
                                    .pdq = h.pdq.hash,
                                    .phash = h.phash});
    }
    r.has_dihedral = true;
    for (const BankView v : {BankView::crop95, BankView::crop90, BankView::crop85, BankView::crop80,
                             BankView::crop75, BankView::crop70}) {
      const PixelRect rect = centre_crop(luma.width, luma.height, crop_fraction(v));
      if (rect.width < kPdqMinDimension || rect.height < kPdqMinDimension) continue;
      const ImageHashes h = hash_image(sub_view(luma, rect), HashOptions{.exact = true});
      out.hashes.push_back(BankHash{.view = v,
                                    .dihedral = Dihedral::original,
                                    .has_pdq = true,
                                    .has_phash = true,
                                    .quality = static_cast<std::int16_t>(h.pdq.quality),
                                    .pdq = h.pdq.hash,
                                    .phash = h.phash});
    }
    // Strip views: matched with the same strip of a copy (overlays in one edge band).
    const StripHashes strips = strip_hashes(luma);
    for (int k = 0; strips.valid && k < kStripViewCount; ++k) {
      const auto i = static_cast<std::size_t>(k);
      out.hashes.push_back(
          BankHash{.view = static_cast<BankView>(static_cast<int>(BankView::strip_top) + k),
                   .dihedral = Dihedral::original,
                   .has_pdq = true,
                   .has_phash = true,
                   .quality = static_cast<std::int16_t>(strips.quality[i]),
                   .pdq = strips.pdq[i],
                   .phash = strips.phash[i]});
    }
  });
  if (!r.ok()) out.hashes.clear();
  return out;
}

}  // namespace residue
