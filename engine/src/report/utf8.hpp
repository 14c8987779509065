// report/utf8.hpp: UTF-8 validation for the renderers that must turn arbitrary bytes (file names
// are not necessarily UTF-8) into valid text: json_quote (lines.cpp) and the HTML escaper
// (html.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace residue::detail {

/// Length (1..4) of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid (overlongs,
/// surrogates, code points above U+10FFFF and sequences cut by the end of s are invalid).
/// Requires i < s.size().
[[nodiscard]] inline std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1Fu;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0Fu;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace residue::detail
