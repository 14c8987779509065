// residue/hash.hpp: luminance raster -> perceptual hashes; bytes -> SHA-256.
//
// PDQ is computed exactly as the reference implementation (facebook/ThreatExchange pdq/cpp) does on
// the same float luma: two passes of Jarosz box filters, 64x64 decimation, 16x16 DCT, lower median,
// image-domain quality metric; the 8 dihedral hashes come from sign changes and transposition of
// the DCT. This code is compiled with -ffp-contract=off so it stays bit-exact (see tests/hash).
// pHash is a 64-bit DCT hash of a 32x32 area-averaged luma image: the 8x8 lowest frequencies
// (DC included) against their lower median; its dihedral variants are derived the same way.
// Pure functions: no I/O, no threads, no globals. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
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

/// The reference's single-hash entry point (a 64x64 input skips blur and decimation).
[[nodiscard]] PdqResult pdq_hash(LumaView luma);
/// The reference's dihedral entry point (always blurs). hashes[0] is the original.
[[nodiscard]] PdqDihedralResult pdq_hash_dihedral(LumaView luma);

/// 64-bit pHash. Bit u*8+v is DCT coefficient (u vertical, v horizontal frequency) > median.
/// An empty raster hashes to 0.
[[nodiscard]] Hash64 phash(LumaView luma);
[[nodiscard]] std::array<Hash64, kDihedralCount> phash_dihedral(LumaView luma);

/// SHA-256 of the bytes (OpenSSL EVP).
[[nodiscard]] Sha256 sha256(std::span<const std::uint8_t> bytes);

/// Everything residue records for one decoded image.
struct ImageHashes {
  PdqResult pdq;
  Hash64 phash;
  std::array<Hash256, kDihedralCount> pdq_dihedral{};  // filled when requested
  std::array<Hash64, kDihedralCount> phash_dihedral{};  // filled when requested
  bool has_dihedral = false;
};
/// PDQ + pHash of one raster, sharing the work; with `dihedral`, all 8 variants of both.
[[nodiscard]] ImageHashes hash_image(LumaView luma, bool dihedral);

}  // namespace residue
