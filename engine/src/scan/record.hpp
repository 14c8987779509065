// Private to scan/: the steps every hashing entry point shares (hash_bytes, hash_bank_image).
#pragma once

#include <exception>
#include <new>
#include <optional>
#include <span>
#include <string>

#include "residue/decode.hpp"
#include "residue/hash.hpp"

namespace residue::detail {

/// Fills r's locator, size, SHA-256 and format, then decodes. Returns the image with r's size
/// fields filled, or nullopt with r.error set (empty input, or the decoder's error).
inline std::optional<DecodedImage> decode_into(ItemRecord& r, std::string locator,
                                               std::span<const std::uint8_t> bytes,
                                               const DecodeOptions& decode) {
  r.locator = std::move(locator);
  r.size = bytes.size();
  if (bytes.empty()) {
    r.error = ItemError{ErrorCode::empty, "file is empty (0 bytes)"};
    return std::nullopt;
  }
  r.sha256 = sha256(bytes);
  r.has_sha256 = true;
  r.format = sniff_format(bytes);
  auto decoded = decode_luma(bytes, decode);
  if (!decoded) {
    r.error = decoded.error();
    return std::nullopt;
  }
  DecodedImage img = std::move(decoded.value());
  r.format = img.info.format;
  r.width = img.info.width();
  r.height = img.info.height();
  r.scale_denom = img.scale_denom;
  return img;
}

/// Runs f, turning any exception into r.error: nothing escapes a hashing entry point.
template <typename F>
void guarded(ItemRecord& r, F&& f) noexcept {
  try {
    f();
  } catch (const std::bad_alloc&) {
    r.error = ItemError{ErrorCode::out_of_memory, "out of memory while hashing"};
  } catch (const std::exception& e) {
    r.error =
        ItemError{ErrorCode::internal, std::string("unexpected error while hashing: ") + e.what()};
  } catch (...) {
    r.error = ItemError{ErrorCode::internal, "unexpected error while hashing"};
  }
}

}  // namespace residue::detail
