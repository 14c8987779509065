// residue/hash.hpp: luminance raster -> perceptual hashes; bytes -> SHA-256.
//
// PDQ is computed exactly as the reference implementation (facebook/ThreatExchange pdq/cpp) does on
// the same float luma: two passes of Jarosz box filters, 64x64 decimation, 16x16 DCT, lower median,
// image-domain quality metric; the 8 dihedral hashes come from sign changes and transposition of
// the DCT. This code is compiled with -ffp-contract=off so it stays bit-exact (see tests/hash).
// Fast mode (PdqDownscale::separable) computes the same blur-and-sample as one banded weight
// matrix per axis, only at the 64x64 points PDQ keeps: the same linear map in exact arithmetic,
// about 10x cheaper, and within float rounding of the reference (bench/decode_fidelity measures
// the bits this moves).
// pHash is a 64-bit DCT hash of a 32x32 area-averaged luma image: the 8x8 lowest frequencies
// (DC included) against their lower median; its dihedral variants are derived the same way.
// Pure functions: no I/O, no threads, no globals. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "residue/core.hpp"

namespace residue {

/// Images with a side below this hash to all zeros with quality 0 (the reference's rule).
inline constexpr int kPdqMinDimension = 5;

struct PdqResult {
  Hash256 hash;
  int quality = 0;  // 0..100
};

struct PdqDihedralResult {
  std::array<Hash256, kDihedralCount> hashes;  // indexed by Dihedral
  int quality = 0;
};

/// How PDQ reduces the image to 64x64. `reference`: the reference's four full-image passes of
/// running-sum box filters, then sampling: bit-exact. `separable`: the same filter applied as
/// banded weights at the sampled points only (equal up to float rounding, much faster).
enum class PdqDownscale : std::uint8_t { reference, separable };

/// When the raster is a reduced decode (a JPEG decoded at 1/scale in the codec, each raster pixel
/// about the mean of a scale x scale block of the full image), the full image's size. The
/// separable downscale then applies PDQ's full-resolution blur and sampling, folded onto the
/// raster's blocks, instead of the filter PDQ would pick for the smaller raster: the hash stays
/// close to the full-resolution one (bench/decode_fidelity). Ignored by the reference downscale.
struct PdqSource {
  int width = 0;  // 0 = the raster is the full image
  int height = 0;
  int scale = 1;  // raster pixel (x, y) covers full pixels [x*scale, (x+1)*scale)
};

/// The reference's single-hash entry point (a 64x64 input skips blur and decimation).
[[nodiscard]] PdqResult pdq_hash(LumaView luma, PdqDownscale downscale = PdqDownscale::reference,
                                 PdqSource source = {});
/// The reference's dihedral entry point (always blurs). hashes[0] is the original.
[[nodiscard]] PdqDihedralResult pdq_hash_dihedral(LumaView luma,
                                                  PdqDownscale downscale = PdqDownscale::reference,
                                                  PdqSource source = {});

/// 64-bit pHash. Bit u*8+v is DCT coefficient (u vertical, v horizontal frequency) > median.
/// An empty raster hashes to 0.
[[nodiscard]] Hash64 phash(LumaView luma);
[[nodiscard]] std::array<Hash64, kDihedralCount> phash_dihedral(LumaView luma);

/// SHA-256 of the bytes (OpenSSL EVP).
[[nodiscard]] Sha256 sha256(std::span<const std::uint8_t> bytes);

/// A rectangle of a raster, in its pixels.
struct PixelRect {
  int x = 0, y = 0, width = 0, height = 0;
  friend bool operator==(const PixelRect&, const PixelRect&) = default;
};
[[nodiscard]] inline LumaView sub_view(LumaView v, PixelRect r) noexcept {
  return {v.row(r.y) + r.x, r.width, r.height, v.stride};
}

/// The picture inside a uniform border: rows and columns of one flat colour added around an image
/// (letterboxing, passe-partout). nullopt when no side has a border of at least 2% of the side
/// (and 2 px), or when what remains would be under a quarter of the image or under 16 px.
/// Only flat borders are trimmed: JPEG ringing next to the picture is tolerated, texture is not.
[[nodiscard]] std::optional<PixelRect> find_border_content(LumaView luma) noexcept;

/// The centred rectangle keeping `fraction` of each side (rounded, at least 1 px).
[[nodiscard]] PixelRect centre_crop(int width, int height, double fraction) noexcept;

/// The four half views strip hashes are made of: the top, bottom, left and right 55% of the image.
enum class Strip : std::uint8_t { top = 0, bottom = 1, left = 2, right = 3 };
inline constexpr int kStripCount = 4;
/// The rectangle of a strip in a width x height raster.
[[nodiscard]] constexpr PixelRect strip_rect(int width, int height, Strip s) noexcept {
  const int h = (height * 55 + 50) / 100, w = (width * 55 + 50) / 100;
  switch (s) {
    case Strip::top:
      return {0, 0, width, h};
    case Strip::bottom:
      return {0, height - h, width, h};
    case Strip::left:
      return {0, 0, w, height};
    case Strip::right:
      return {width - w, 0, w, height};
  }
  return {0, 0, width, height};
}

/// PDQ (with quality) and pHash of each strip, computed from a 64x64 area-averaged grid of the
/// image so that rasters of any resolution give close hashes (see strips.cpp). A copy with a
/// caption, watermark or logo in one edge band still matches through the strip that excludes it.
struct StripHashes {
  bool valid = false;  // false for images under kPdqMinDimension on a side
  std::array<Hash256, kStripCount> pdq{};
  std::array<int, kStripCount> quality{};
  std::array<Hash64, kStripCount> phash{};
};
[[nodiscard]] StripHashes strip_hashes(LumaView luma);

/// The raster rotated or flipped (rot90 is counter-clockwise, as in PDQ's names). PDQ's own
/// dihedral hashes are derived from one downsampled image and differ from the hashes of the
/// transformed pixels by up to ~30 bits on large textured photos (the downsampling is not
/// symmetric); banks hash the transformed pixels so rotated copies match closely.
[[nodiscard]] LumaImage transform_luma(LumaView luma, Dihedral d);

/// Everything residue records for one decoded image.
struct ImageHashes {
  PdqResult pdq;
  Hash64 phash;
  std::array<Hash256, kDihedralCount> pdq_dihedral{};   // filled when requested
  std::array<Hash64, kDihedralCount> phash_dihedral{};  // filled when requested
  bool has_dihedral = false;
};
struct HashOptions {
  bool dihedral = false;  // also the 8 dihedral variants of both hashes
  bool exact = false;     // PDQ with PdqDownscale::reference (else separable)
  PdqSource source{};     // set when the raster is a reduced decode
};
/// PDQ + pHash of one raster.
[[nodiscard]] ImageHashes hash_image(LumaView luma, const HashOptions& options = {});

}  // namespace residue
