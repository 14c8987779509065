// Private to source/: standard-alphabet base64 (RFC 4648 section 4) for TSV image fields.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "residue/core.hpp"

namespace residue::detail {

/// True for A-Z a-z 0-9 + / (not '=', not whitespace).
[[nodiscard]] bool is_base64_char(char c) noexcept;

/// Decodes standard base64. Padding is optional; when present it must complete the last group of
/// four. Whitespace and every other byte are refused. Errors: corrupt "invalid base64 at offset N"
/// (N is the 0-based offset in `text` of the first bad character, or its length when the input
/// ends mid-group), too_large when the decoded size would exceed max_bytes.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> base64_decode(std::string_view text,
                                                               std::uint64_t max_bytes);

/// Decodes a prefix of whole groups (text.size() a multiple of 4, no padding) into out, for
/// sniffing. Returns false on any non-alphabet character.
[[nodiscard]] bool base64_decode_prefix(std::string_view text,
                                        std::span<std::uint8_t> out) noexcept;

}  // namespace residue::detail
