// residue/decode.hpp: untrusted bytes -> oriented luminance raster (and report thumbnails).
//
// The only layer that calls an image codec (OpenCV imgcodecs, private to this layer). The format
// is sniffed from magic bytes, never from a file name. The header is parsed first, by our own code,
// and an image above the pixel cap is refused before any pixel buffer is allocated. EXIF
// orientation is applied, so a copy that differs only by its orientation tag decodes to the picture
// a viewer shows. Every failure comes back as an ItemError (truncated, corrupt, empty, unsupported,
// too large, out of memory); no exception leaves this layer.
// All functions are reentrant and thread-safe; they keep no state between calls.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "residue/core.hpp"

namespace residue {

/// Format from the first bytes of the data (needs at most 12 bytes; fewer gives unknown).
[[nodiscard]] ImageFormat sniff_format(std::span<const std::uint8_t> bytes) noexcept;

/// What the header says, read without decoding pixels.
struct ImageInfo {
  ImageFormat format = ImageFormat::unknown;
  int stored_width = 0;  // as stored in the file, before orientation
  int stored_height = 0;
  int orientation = 1;       // EXIF orientation 1..8 (1 = as stored); 1 when absent or invalid
  bool progressive = false;  // JPEG only
  /// Size a viewer shows: stored size, swapped for orientations 5..8.
  [[nodiscard]] int width() const noexcept {
    return orientation >= 5 ? stored_height : stored_width;
  }
  [[nodiscard]] int height() const noexcept {
    return orientation >= 5 ? stored_width : stored_height;
  }
};

/// Parses the header (and EXIF orientation where the format carries it). Errors: empty,
/// unsupported, truncated (header ends early), corrupt (impossible values such as zero width).
[[nodiscard]] Outcome<ImageInfo> probe_image(std::span<const std::uint8_t> bytes) noexcept;

struct DecodeOptions {
  /// Refuse images whose stored width*height exceeds this (pixel bombs), before allocating.
  std::uint64_t max_pixels = 250'000'000;
  /// Disable every shortcut: full-resolution colour decode and the PDQ reference's luma formula.
  bool exact = false;
  /// Fast path: a JPEG is decoded at the smallest DCT scale 1/2, 1/4 or 1/8 that keeps
  /// min(width, height) / scale >= min_reduced_side. See bench/decode_fidelity for the measurement
  /// behind the default.
  int min_reduced_side = 128;
};

struct DecodedImage {
  ImageInfo info;
  int scale_denom = 1;  // the decoded raster is 1/scale_denom of the full size (1, 2, 4 or 8)
  LumaImage luma;       // oriented luminance, values 0..255
};

/// Decodes to luminance. Luma is Y = 0.299 R + 0.587 G + 0.114 B in float32 (the PDQ reference's
/// formula) for colour pixels, the grey value itself for one-channel images, and the codec's own
/// Y channel on the JPEG fast path. Alpha is ignored (not composited), 16-bit samples are scaled to
/// 8 bits, GIF gives its first frame.
[[nodiscard]] Outcome<DecodedImage> decode_luma(std::span<const std::uint8_t> bytes,
                                                const DecodeOptions& options = {}) noexcept;

/// A small colour JPEG of the image for reports: EXIF orientation applied, longest side at most
/// `max_side` pixels (>= 1; smaller images keep their size, never enlarged), aspect ratio kept,
/// quality 80, grey sources stay grey. Goes through the same checks as decode_luma (pixel cap
/// before allocation, completeness, codec errors) and fails with the same ErrorCodes. A JPEG much
/// larger than the thumbnail is decoded at a reduced DCT scale unless `options.exact`; GIF gives
/// its first frame; alpha is dropped.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> make_thumbnail(
    std::span<const std::uint8_t> bytes, int max_side = 160,
    const DecodeOptions& options = {}) noexcept;

}  // namespace residue
