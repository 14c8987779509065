// TIFF structure reader shared by the TIFF probe and the EXIF blocks of JPEG, PNG and WebP.
// Both byte orders; every offset comes from the file, so every read is checked with fits().
#include <cstring>

#include "detail.hpp"

namespace residue::detail {
namespace {

constexpr std::uint16_t kTagOrientation = 0x0112;
constexpr std::uint64_t kEntrySize = 12;

// Size in bytes of one value of a TIFF field type (0: unknown type).
std::uint64_t type_size(std::uint16_t type) noexcept {
  switch (type) {
    case 1:
    case 2:
    case 6:
    case 7:
      return 1;  // BYTE ASCII SBYTE UNDEFINED
    case 3:
    case 8:
      return 2;  // SHORT SSHORT
    case 4:
    case 9:
    case 11:
    case 13:
      return 4;  // LONG SLONG FLOAT IFD
    case 5:
    case 10:
    case 12:
      return 8;  // RATIONAL SRATIONAL DOUBLE
    default:
      return 0;
  }
}

}  // namespace

TiffView::Status TiffView::open(ByteSpan tiff) noexcept {
  data_ = tiff;
  if (!fits(tiff, 0, 8)) return Status::truncated;
  if (tiff[0] == 'I' && tiff[1] == 'I') {
    little_endian_ = true;
  } else if (tiff[0] == 'M' && tiff[1] == 'M') {
    little_endian_ = false;
  } else {
    return Status::corrupt;
  }
  const std::uint32_t magic = little_endian_ ? le16(tiff, 2) : be16(tiff, 2);
  if (magic != 42) return Status::corrupt;
  ifd_pos_ = little_endian_ ? le32(tiff, 4) : be32(tiff, 4);
  if (ifd_pos_ < 8) return Status::corrupt;  // IFD0 is required and cannot overlap the header
  if (!fits(tiff, ifd_pos_, 2)) return Status::truncated;
  const auto pos = static_cast<std::size_t>(ifd_pos_);
  entry_count_ = little_endian_ ? le16(tiff, pos) : be16(tiff, pos);
  // Entries that run past the end are a truncation: find() only looks at complete ones.
  if (!fits(tiff, ifd_pos_ + 2, kEntrySize * entry_count_)) return Status::truncated;
  return Status::ok;
}

std::optional<TiffView::Entry> TiffView::find(std::uint16_t tag) const noexcept {
  for (std::uint32_t i = 0; i < entry_count_; ++i) {
    const std::uint64_t at = ifd_pos_ + 2 + kEntrySize * i;
    if (!fits(data_, at, kEntrySize)) return std::nullopt;
    const auto p = static_cast<std::size_t>(at);
    const auto u16 = [&](std::size_t o) {
      return little_endian_ ? le16(data_, o) : be16(data_, o);
    };
    const auto u32 = [&](std::size_t o) {
      return little_endian_ ? le32(data_, o) : be32(data_, o);
    };
    if (u16(p) != tag) continue;
    Entry e;
    e.type = static_cast<std::uint16_t>(u16(p + 2));
    e.count = u32(p + 4);
    const std::uint64_t bytes = type_size(e.type) * e.count;  // < 2^36: no overflow
    e.value_pos = bytes <= 4 ? at + 8 : u32(p + 8);
    return e;
  }
  return std::nullopt;
}

std::optional<std::uint32_t> TiffView::value(const Entry& e, std::uint32_t index) const noexcept {
  if (index >= e.count) return std::nullopt;
  const std::uint64_t size = type_size(e.type);
  if (e.type != 1 && e.type != 3 && e.type != 4) return std::nullopt;
  const std::uint64_t at = e.value_pos + size * index;
  if (!fits(data_, at, size)) return std::nullopt;
  const auto p = static_cast<std::size_t>(at);
  if (size == 1) return data_[p];
  if (size == 2) return little_endian_ ? le16(data_, p) : be16(data_, p);
  return little_endian_ ? le32(data_, p) : be32(data_, p);
}

int exif_orientation(ByteSpan block) noexcept {
  // JPEG APP1 and most WebP EXIF chunks start with "Exif\0\0"; PNG eXIf chunks should not, but
  // some writers copy the JPEG payload verbatim.
  if (block.size() >= 6 && std::memcmp(block.data(), "Exif\0\0", 6) == 0) block = block.subspan(6);
  TiffView tiff;
  if (tiff.open(block) != TiffView::Status::ok) return 1;
  const auto entry = tiff.find(kTagOrientation);
  if (!entry || entry->type != 3) return 1;  // the EXIF spec makes Orientation a SHORT
  const auto v = tiff.value(*entry, 0);
  return v && *v >= 1 && *v <= 8 ? static_cast<int>(*v) : 1;
}

}  // namespace residue::detail
