// Standard base64 decoding for TSV image fields. Strict on purpose: a field that is not clean
// base64 is a corrupt line, not something to guess at.
#include "base64.hpp"

#include <array>
#include <new>
#include <string>

namespace residue::detail {
namespace {

constexpr std::uint8_t kBad = 0xFF;

constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kBad;
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return t;
}
constexpr auto kTable = make_table();

std::uint8_t value_of(char c) noexcept {
  return kTable[static_cast<unsigned char>(c)];
}

ItemError bad_at(std::size_t offset) {
  return {ErrorCode::corrupt, "invalid base64 at offset " + std::to_string(offset)};
}

}  // namespace

bool is_base64_char(char c) noexcept {
  return value_of(c) != kBad;
}

bool base64_decode_prefix(std::string_view text, std::span<std::uint8_t> out) noexcept {
  std::size_t o = 0;
  for (std::size_t i = 0; i + 4 <= text.size() && o < out.size(); i += 4) {
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const std::uint8_t v = value_of(text[i + k]);
      if (v == kBad) return false;
      group = (group << 6) | v;
    }
    for (int shift = 16; shift >= 0 && o < out.size(); shift -= 8) {
      out[o++] = static_cast<std::uint8_t>(group >> shift);
    }
  }
  return true;
}

Outcome<std::vector<std::uint8_t>> base64_decode(std::string_view text, std::uint64_t max_bytes) {
  std::size_t body = text.size();
  while (body > 0 && text.size() - body < 2 && text[body - 1] == '=') --body;
  const std::size_t padding = text.size() - body;
  const std::size_t rem = body % 4;
  // Padding, when present, must complete the final group exactly ("xx==" or "xxx=").
  if (padding > 0 && (text.size() % 4 != 0 || rem + padding != 4)) return bad_at(body);
  const std::uint64_t size = std::uint64_t{body / 4} * 3 + (rem <= 1 ? 0 : rem - 1);
  if (size > max_bytes) {
    return ItemError{ErrorCode::too_large, "decoded field is " + std::to_string(size) +
                                               " bytes, above the " + std::to_string(max_bytes) +
                                               "-byte limit"};
  }
  std::vector<std::uint8_t> out;
  try {
    out.resize(static_cast<std::size_t>(size));
  } catch (const std::bad_alloc&) {
    return ItemError{ErrorCode::out_of_memory,
                     "cannot allocate " + std::to_string(size) + " bytes"};
  }
  std::size_t o = 0;
  std::size_t i = 0;
  for (; i + 4 <= body; i += 4) {
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const std::uint8_t v = value_of(text[i + k]);
      if (v == kBad) return bad_at(i + k);
      group = (group << 6) | v;
    }
    out[o++] = static_cast<std::uint8_t>(group >> 16);
    out[o++] = static_cast<std::uint8_t>(group >> 8);
    out[o++] = static_cast<std::uint8_t>(group);
  }
  if (rem == 1) {  // a lone character cannot carry a byte
    return bad_at(value_of(text[i]) == kBad ? i : text.size());
  }
  if (rem > 0) {
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < rem; ++k) {
      const std::uint8_t v = value_of(text[i + k]);
      if (v == kBad) return bad_at(i + k);
      group = (group << 6) | v;
    }
    group <<= 6 * (4 - rem);
    out[o++] = static_cast<std::uint8_t>(group >> 16);
    if (rem == 3) out[o++] = static_cast<std::uint8_t>(group >> 8);
  }
  return out;
}

}  // namespace residue::detail
