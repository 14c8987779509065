// Format detection from magic bytes. File names are never consulted: mirrors rename files, and a
// ".jpg" that holds a PNG must decode as the PNG it is.
#include <cstring>

#include "detail.hpp"

namespace residue {
namespace {

bool starts_with(std::span<const std::uint8_t> b, const char* magic, std::size_t n) noexcept {
  return b.size() >= n && std::memcmp(b.data(), magic, n) == 0;
}

bool is_pnm_space(std::uint8_t c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

}  // namespace

ImageFormat sniff_format(std::span<const std::uint8_t> b) noexcept {
  if (starts_with(b, "\xFF\xD8\xFF", 3)) return ImageFormat::jpeg;
  if (starts_with(b, "\x89PNG\r\n\x1A\n", 8)) return ImageFormat::png;
  if (starts_with(b, "GIF87a", 6) || starts_with(b, "GIF89a", 6)) return ImageFormat::gif;
  if (starts_with(b, "BM", 2)) return ImageFormat::bmp;
  if (starts_with(b, "II*\0", 4) || starts_with(b, "MM\0*", 4)) return ImageFormat::tiff;
  if (starts_with(b, "RIFF", 4) && b.size() >= 12 && std::memcmp(b.data() + 8, "WEBP", 4) == 0)
    return ImageFormat::webp;
  if (b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && is_pnm_space(b[2]))
    return ImageFormat::pnm;
  return ImageFormat::unknown;
}

}  // namespace residue
