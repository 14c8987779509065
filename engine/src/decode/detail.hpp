// decode/detail.hpp: internals shared by the decode layer's translation units.
//
// Everything here reads untrusted bytes. The rule is the same throughout: every read goes through
// a bounds check (`fits`), sizes are computed in 64 bits before they are compared with the data
// size, and every loop advances through the data, so its trip count is bounded by the input size.
// Nothing here allocates in proportion to what a header claims.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "residue/decode.hpp"

namespace residue::detail {

using ByteSpan = std::span<const std::uint8_t>;

/// True when [offset, offset + n) lies inside `b` (no overflow for any offset and n).
[[nodiscard]] inline bool fits(ByteSpan b, std::uint64_t offset, std::uint64_t n) noexcept {
  return offset <= b.size() && n <= b.size() - offset;
}
// Unchecked readers: callers check `fits` first.
[[nodiscard]] inline std::uint32_t be16(ByteSpan b, std::size_t o) noexcept {
  return (std::uint32_t{b[o]} << 8) | b[o + 1];
}
[[nodiscard]] inline std::uint32_t le16(ByteSpan b, std::size_t o) noexcept {
  return std::uint32_t{b[o]} | (std::uint32_t{b[o + 1]} << 8);
}
[[nodiscard]] inline std::uint32_t be32(ByteSpan b, std::size_t o) noexcept {
  return (be16(b, o) << 16) | be16(b, o + 2);
}
[[nodiscard]] inline std::uint32_t le32(ByteSpan b, std::size_t o) noexcept {
  return le16(b, o) | (le16(b, o + 2) << 16);
}
[[nodiscard]] inline std::uint32_t le24(ByteSpan b, std::size_t o) noexcept {
  return le16(b, o) | (std::uint32_t{b[o + 2]} << 16);
}

// ---------------------------------------------------------------------------------------------
// exif.cpp: TIFF structures (TIFF files, and the EXIF blocks of JPEG, PNG and WebP)

/// A TIFF structure read in place. Only IFD0 is looked at (no IFD chains, so no cycles).
class TiffView {
 public:
  enum class Status { ok, truncated, corrupt };
  struct Entry {
    std::uint16_t type = 0;
    std::uint32_t count = 0;
    std::uint64_t value_pos = 0;  // where the values start (inline in the entry, or its offset)
  };

  /// Reads the 8-byte header ("II*\0" or "MM\0*") and the entry count of IFD0. truncated when
  /// the header or IFD0 lies past the end of the data, corrupt for a bad byte-order mark.
  [[nodiscard]] Status open(ByteSpan tiff) noexcept;
  /// The IFD0 entry with this tag, if present (first match).
  [[nodiscard]] std::optional<Entry> find(std::uint16_t tag) const noexcept;
  /// Value `index` of a BYTE, SHORT or LONG entry; nullopt for other types or when the value
  /// lies outside the data.
  [[nodiscard]] std::optional<std::uint32_t> value(const Entry& e,
                                                   std::uint32_t index) const noexcept;

 private:
  ByteSpan data_;
  bool little_endian_ = true;
  std::uint64_t ifd_pos_ = 0;
  std::uint32_t entry_count_ = 0;
};

/// EXIF orientation (1..8) from a TIFF structure, optionally preceded by "Exif\0\0". Returns 1
/// when the block is absent, damaged, or holds a value outside 1..8: a broken EXIF block must
/// not make the picture undecodable (viewers ignore it too).
[[nodiscard]] int exif_orientation(ByteSpan block) noexcept;

// ---------------------------------------------------------------------------------------------
// probe.cpp: header parsers and container walks

/// What the header parsers learn, beyond the public ImageInfo.
struct Probe {
  ImageInfo info;
  bool grey = false;  // one colour channel: grey PNG (with or without alpha), grey JPEG, PGM, PBM
  std::uint64_t min_size = 0;         // bytes the header says the file needs (0: cannot tell)
  std::size_t jpeg_scan = 0;          // JPEG: offset just past the first SOS segment (0: none)
  bool jpeg_eoi_before_scan = false;  // JPEG: an EOI came before any scan
};

/// The public probe plus the extra facts. Errors as probe_image.
[[nodiscard]] Outcome<Probe> probe(ByteSpan bytes);

/// Whether the container ends the way a complete file does, checked before decoding because
/// libjpeg only warns about missing data and returns a grey-filled image. JPEG: an EOI marker
/// follows the first scan (entropy-coded data cannot contain FF D9; the segments between scans are
/// skipped by their length), and at most kMaxJpegScans scans (libjpeg would spend unbounded time on
/// more). PNG: the chunk list reaches a complete IEND chunk. BMP, TIFF, WebP, PNM: the data is at
/// least min_size bytes. GIF is checked by its decoder. Returns truncated or corrupt, or nothing.
inline constexpr int kMaxJpegScans = 500;
[[nodiscard]] std::optional<ItemError> check_complete(ByteSpan bytes, const Probe& p);

/// "JPEG", "PNG", ... for messages.
[[nodiscard]] const char* format_name(ImageFormat f) noexcept;

}  // namespace residue::detail
