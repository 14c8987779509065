#include <algorithm>
#include <array>
#include <cctype>
#include <exception>

#include "record.hpp"
#include "residue/hash.hpp"
#include "residue/scan.hpp"

namespace residue {

ItemRecord hash_bytes(std::string locator, std::span<const std::uint8_t> bytes,
                      const DecodeOptions& decode, bool dihedral, bool strips) noexcept {
  ItemRecord r;
  detail::guarded(r, [&] {
    const auto decoded = detail::decode_into(r, std::move(locator), bytes, decode);
    if (!decoded) return;
    const DecodedImage& img = *decoded;
    // A reduced decode: PDQ applies the full-resolution filter folded onto the codec's blocks.
    const PdqSource source{.width = r.width, .height = r.height, .scale = img.scale_denom};
    const ImageHashes h =
        hash_image(img.luma.view(),
                   HashOptions{.dihedral = dihedral, .exact = decode.exact, .source = source});
    r.pdq = h.pdq.hash;
    r.quality = h.pdq.quality;
    r.phash = h.phash;
    r.has_dihedral = h.has_dihedral;
    r.pdq_dihedral = h.pdq_dihedral;
    r.phash_dihedral = h.phash_dihedral;
    if (strips) {
      const StripHashes s = strip_hashes(img.luma.view());
      r.has_strips = s.valid;
      r.strip_pdq = s.pdq;
      r.strip_quality = s.quality;
      r.strip_phash = s.phash;
    }
    if (const auto content = find_border_content(img.luma.view())) {
      // The picture inside the border is a block-aligned part of the same reduced decode.
      const PdqSource inner{.width = content->width * img.scale_denom,
                            .height = content->height * img.scale_denom,
                            .scale = img.scale_denom};
      const ImageHashes t =
          hash_image(sub_view(img.luma.view(), *content),
                     HashOptions{.dihedral = false, .exact = decode.exact, .source = inner});
      r.has_trim = true;
      r.pdq_trim = t.pdq.hash;
      r.quality_trim = t.pdq.quality;
      r.phash_trim = t.phash;
    }
  });
  return r;
}

bool looks_like_image(std::string_view name, std::span<const std::uint8_t> head) noexcept {
  if (sniff_format(head) != ImageFormat::unknown) return true;
  static constexpr std::array<std::string_view, 12> kExtensions{".jpg",  ".jpeg", ".jpe", ".png",
                                                                ".webp", ".bmp",  ".tif", ".tiff",
                                                                ".gif",  ".ppm",  ".pgm", ".pnm"};
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || name.size() - dot > 5) return false;
  std::string ext(name.substr(dot));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

}  // namespace residue
