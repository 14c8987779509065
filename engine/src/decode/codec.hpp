// decode/codec.hpp: the stages decode_luma and make_thumbnail share, so that both go through the
// same safety checks in the same order: probe the header, refuse pixel bombs and incomplete files
// before any pixel is allocated, run the codec (OpenCV imgcodecs, or our GIF decoder), check the
// decoded size against the header, and convert every exception into an ItemError.
// Kept apart from detail.hpp because it speaks OpenCV types; only decode/*.cpp include it.
#pragma once

#include <opencv2/core.hpp>

#include <new>
#include <string>

#include "detail.hpp"

namespace residue::detail {

/// probe() plus everything decided before decoding: the pixel cap (options.max_pixels, and
/// OpenCV's own limits, above which imgcodecs would throw) and check_complete. Errors: those of
/// probe_image, too_large, truncated, corrupt.
[[nodiscard]] Outcome<Probe> probe_for_decode(ByteSpan bytes, const DecodeOptions& options);

/// The codec applies the EXIF orientation itself for this format (OpenCV's TIFF decoder does,
/// whatever the flags say), so the raster from decode_stored is already oriented.
[[nodiscard]] inline bool codec_orients(ImageFormat f) noexcept {
  return f == ImageFormat::tiff;
}

/// Decodes the pixels of a probed image (from probe_for_decode) to an 8-bit raster, as stored
/// (not oriented, except where codec_orients). `imread_flags` are OpenCV's
/// (IMREAD_IGNORE_ORIENTATION is added); `scale_denom` (1, 2, 4 or 8) must match the
/// IMREAD_REDUCED_* flag, and the result is checked to be ceil(stored size / scale_denom). 16-bit
/// and float samples are scaled to 8 bits. GIF ignores the flags and gives its first frame as
/// 3-channel BGR. Errors: corrupt (the codec rejects the data, or its size disagrees with the
/// header), too_large (buffer above 2 GiB), unsupported (sample type). May throw cv::Exception or
/// std::bad_alloc: call it under firewall.
[[nodiscard]] Outcome<cv::Mat> decode_stored(ByteSpan bytes, const Probe& p,
                                             const DecodeOptions& options, int imread_flags,
                                             int scale_denom);

/// Runs f() and turns whatever it throws into an ItemError: cv::Exception -> corrupt, bad_alloc
/// -> out_of_memory, anything else -> internal. The decode layer's exception firewall.
template <class T, class F>
[[nodiscard]] Outcome<T> firewall(F&& f) noexcept {
  // The fallback messages fit std::string's small buffer: building them cannot throw again.
  try {
    return f();
  } catch (const cv::Exception& e) {
    try {
      return ItemError{ErrorCode::corrupt, "decoder error: " + e.err};
    } catch (...) {
      return ItemError{ErrorCode::corrupt, "codec error"};
    }
  } catch (const std::bad_alloc&) {
    return ItemError{ErrorCode::out_of_memory, "out of memory"};
  } catch (const std::exception& e) {
    try {
      return ItemError{ErrorCode::internal, std::string("unexpected exception: ") + e.what()};
    } catch (...) {
      return ItemError{ErrorCode::internal, "exception"};
    }
  } catch (...) {
    return ItemError{ErrorCode::internal, "exception"};
  }
}

}  // namespace residue::detail
