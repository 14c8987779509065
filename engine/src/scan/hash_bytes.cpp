#include <algorithm>
#include <array>
#include <cctype>
#include <exception>

#include "residue/hash.hpp"
#include "residue/scan.hpp"

namespace residue {

ItemRecord hash_bytes(std::string locator, std::span<const std::uint8_t> bytes,
                      const DecodeOptions& decode, bool dihedral, bool strips) noexcept {
  ItemRecord r;
  try {
    r.locator = std::move(locator);
    r.size = bytes.size();
    if (bytes.empty()) {
      r.error = ItemError{ErrorCode::empty, "file is empty (0 bytes)"};
      return r;
    }
    r.sha256 = sha256(bytes);
    r.has_sha256 = true;
    r.format = sniff_format(bytes);
    auto decoded = decode_luma(bytes, decode);
    if (!decoded) {
      r.error = decoded.error();
      return r;
    }
    const DecodedImage& img = decoded.value();
    r.format = img.info.format;
    r.width = img.info.width();
    r.height = img.info.height();
    r.scale_denom = img.scale_denom;
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
  } catch (const std::bad_alloc&) {
    r.error = ItemError{ErrorCode::out_of_memory, "out of memory while hashing"};
  } catch (const std::exception& e) {
    r.error =
        ItemError{ErrorCode::internal, std::string("unexpected error while hashing: ") + e.what()};
  } catch (...) {
    r.error = ItemError{ErrorCode::internal, "unexpected error while hashing"};
  }
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
