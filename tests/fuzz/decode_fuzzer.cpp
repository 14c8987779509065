// libFuzzer target for the decode layer, modelled on libvips fuzz/generic_buffer_fuzzer.cc: one
// thread, a small pixel cap (4 megapixels) so large images are refused early. Any input must give
// a value or an ItemError from probe_image and decode_luma (fast and exact), never a crash, a
// decoded raster must be consistent with its header, and OpenCV must not fall back to GDAL. Build
// and run with scripts/fuzz.sh.
#include <opencv2/core.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "residue/decode.hpp"

namespace {

// A broken invariant is a finding: abort so that libFuzzer records the input.
void require(bool ok) {
  if (!ok) std::abort();
}

void check(const residue::DecodedImage& d) {
  const auto& l = d.luma;
  const int s = d.scale_denom;
  require(s == 1 || s == 2 || s == 4 || s == 8);
  require(l.width > 0 && l.height > 0);
  require(l.pixels.size() ==
          static_cast<std::size_t>(l.width) * static_cast<std::size_t>(l.height));
  require(l.width == (d.info.width() + s - 1) / s && l.height == (d.info.height() + s - 1) / s);
  for (float v : l.pixels) require(std::isfinite(v) && v >= 0.f && v <= 255.5f);
}

}  // namespace

// imdecode writes the data to a temporary file (mkstemp) when the decoder it picked cannot read
// from memory: that is GDAL, which OpenCV tries when no decoder of its own claims the bytes
// (GDAL matches "DTED" at offset 140). decode_luma must never let untrusted data take that path,
// so this definition, which the dynamic linker prefers to libc's, turns it into a finding.
extern "C" int mkstemp(char* /*name_template*/) {
  std::abort();
}

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  cv::setNumThreads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  const auto info = residue::probe_image(bytes);
  for (bool exact : {false, true}) {
    const auto decoded = residue::decode_luma(bytes, {.max_pixels = 4'000'000, .exact = exact});
    if (decoded.has_value()) {
      require(info.has_value());  // what decodes must also probe
      check(decoded.value());
    } else {
      require(!decoded.error().message.empty());
      require(decoded.error().code != residue::ErrorCode::ok);
    }
  }
  return 0;
}
