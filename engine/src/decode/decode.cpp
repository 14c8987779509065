// decode_luma: probe the header, refuse pixel bombs, check that the container is complete, decode
// (OpenCV imgcodecs; our own decoder for GIF, which OpenCV 4.6 lacks), convert to luminance and
// apply the EXIF orientation. The stages up to the 8-bit raster (probe_for_decode, decode_stored)
// are shared with make_thumbnail (thumbnail.cpp) through codec.hpp. Nothing thrown below
// decode_luma leaves it (detail::firewall).
//
// What OpenCV 4.6 does that shapes this code (each is pinned by a test in tests/decode):
//  - IMREAD_ANYCOLOR|IMREAD_ANYDEPTH gives 1 channel for grey sources and 3 (BGR) otherwise: it
//    expands palettes, drops alpha, keeps 16-bit depth, and converts CMYK JPEGs to BGR itself.
//    A grey+alpha PNG comes back as 3 equal channels, so grey sources ask for IMREAD_GRAYSCALE.
//  - The TIFF decoder applies the Orientation tag itself, even with IMREAD_IGNORE_ORIENTATION
//    (libtiff's RGBA reader plus fixOrientation()); the JPEG decoder honours the flag.
//  - libjpeg only warns about a premature end of data and returns a grey-filled image, hence the
//    structure checks (EOI, IEND, GIF trailer) before decoding.
//  - imgcodecs throws (validateInputImageSize) above OPENCV_IO_MAX_IMAGE_WIDTH/HEIGHT/PIXELS
//    (2^20, 2^20, 2^30 by default); we report those as too_large instead.
//  - OpenCV 4.6 has no GIF decoder, and Debian builds it with GDAL as a last-resort decoder for
//    data no other decoder claims (see the GDAL note in decode_stored).
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "codec.hpp"

// imgcodecs reads its limits through this exported function; its header
// (opencv2/core/utils/configuration.private.hpp) is not installed, so it is declared here.
namespace cv::utils {
size_t getConfigurationParameterSizeT(const char* name, size_t defaultValue);
}

namespace residue {
namespace {

using detail::ByteSpan;
using detail::fits;
using detail::Probe;

ItemError make_error(ErrorCode code, std::string msg) {
  return {code, std::move(msg)};
}

std::string printf_double(const char* format, double v) {
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), format, v);
  return buf.data();
}

struct CodecLimits {
  std::uint64_t width, height, pixels;
};

const CodecLimits& codec_limits() {
  static const CodecLimits limits{
      cv::utils::getConfigurationParameterSizeT("OPENCV_IO_MAX_IMAGE_WIDTH", 1U << 20),
      cv::utils::getConfigurationParameterSizeT("OPENCV_IO_MAX_IMAGE_HEIGHT", 1U << 20),
      cv::utils::getConfigurationParameterSizeT("OPENCV_IO_MAX_IMAGE_PIXELS", 1U << 30)};
  return limits;
}

void quiet_opencv() {
  // imgcodecs logs the failures we already report as ItemErrors. libjpeg's own warnings still
  // reach stderr: OpenCV does not route them. An explicit OPENCV_LOG_LEVEL is respected.
  static const bool once = [] {
    if (std::getenv("OPENCV_LOG_LEVEL") == nullptr)
      cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    return true;
  }();
  (void)once;
}

/// "image is 30000x30000 (900.0 megapixels), above the 250-megapixel cap"
ItemError over_cap(const char* what, std::uint64_t w, std::uint64_t h, std::uint64_t cap) {
  return make_error(ErrorCode::too_large,
                    std::string(what) + " is " + std::to_string(w) + "x" + std::to_string(h) +
                        " (" + printf_double("%.1f", double(w * h) / 1e6) +
                        " megapixels), above the " + printf_double("%g", double(cap) / 1e6) +
                        "-megapixel cap");
}

/// too_large when the stored size is above our cap, or above OpenCV's limits (it would throw).
std::optional<ItemError> check_size(const ImageInfo& info, const DecodeOptions& options,
                                    bool via_opencv) {
  const auto w = static_cast<std::uint64_t>(info.stored_width);
  const auto h = static_cast<std::uint64_t>(info.stored_height);
  if (w * h > options.max_pixels) return over_cap("image", w, h, options.max_pixels);
  if (via_opencv) {
    const CodecLimits& lim = codec_limits();
    if (w > lim.width || h > lim.height || w * h > lim.pixels)
      return make_error(ErrorCode::too_large,
                        "image is " + std::to_string(w) + "x" + std::to_string(h) +
                            ", above OpenCV's decoder limits (" + std::to_string(lim.width) +
                            " wide, " + std::to_string(lim.height) + " high, " +
                            std::to_string(lim.pixels) + " pixels)");
  }
  return std::nullopt;
}

/// The PDQ reference's luma, evaluated exactly like this in float32 (the TU is compiled with
/// -ffp-contract=off, so no fused multiply-add changes the last bit).
inline float luma_bgr(const std::uint8_t* bgr) noexcept {
  const float b = bgr[0], g = bgr[1], r = bgr[2];
  return 0.299f * r + 0.587f * g + 0.114f * b;
}

/// The oriented luma of an 8-bit image in one pass: the grey value for 1 channel (or grey+alpha),
/// luma_bgr for BGR[A]. The EXIF orientation o (1..8, anything else is 1) is a walk over the
/// source pixels: dst(X, Y) = src[base + X * dx + Y * dy], so no second raster is needed.
LumaImage oriented_luma(const cv::Mat& img, int o) {
  const cv::Mat m = img.isContinuous() ? img : img.clone();
  const std::ptrdiff_t w = m.cols, last = (m.rows - 1) * w;  // last: start of the last row
  struct Walk {
    std::ptrdiff_t base, dx, dy;
  };
  const std::array<Walk, 9> walks = {{
      {0, 1, w},               // (invalid: as stored)
      {0, 1, w},               // 1: as stored
      {w - 1, -1, w},          // 2: mirror
      {last + w - 1, -1, -w},  // 3: rotate 180
      {last, 1, -w},           // 4: flip vertically
      {0, w, 1},               // 5: transpose
      {last, -w, 1},           // 6: rotate 90 clockwise
      {last + w - 1, -w, -1},  // 7: transverse
      {w - 1, w, -1},          // 8: rotate 90 counter-clockwise
  }};
  if (o < 1 || o > 8) o = 1;
  const auto [base, dx, dy] = walks[static_cast<std::size_t>(o)];
  LumaImage out(o >= 5 ? m.rows : m.cols, o >= 5 ? m.cols : m.rows);
  const std::ptrdiff_t cn = m.channels();
  const std::uint8_t* src = m.data;
  for (int y = 0; y < out.height; ++y) {
    float* row = out.pixels.data() + static_cast<std::ptrdiff_t>(y) * out.width;
    const std::ptrdiff_t first = (base + y * dy) * cn, step = dx * cn;
    if (cn == 1 && step == 1) {
      // The common case (grey or fast-path JPEG, no rotation): a plain contiguous conversion the
      // compiler vectorises; it was ~10% of fast-mode time on 250x250 JPEGs as a strided walk.
      const std::uint8_t* in = src + first;
      for (int x = 0; x < out.width; ++x) row[x] = static_cast<float>(in[x]);
    } else if (cn <= 2) {
      for (int x = 0; x < out.width; ++x) row[x] = src[first + x * step];
    } else {
      for (int x = 0; x < out.width; ++x) row[x] = luma_bgr(src + first + x * step);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// GIF (first frame), as 3-channel BGR like OpenCV's colour decodes, so that the luma of a GIF goes
// through luma_bgr like every other colour image and thumbnails get its colours. The canvas is the
// logical screen, filled with the background colour; transparency is ignored like alpha elsewhere
// (a transparent pixel shows its palette colour).

/// The data sub-blocks of one GIF image as a byte stream.
class SubBlocks {
 public:
  SubBlocks(ByteSpan b, std::size_t pos) : b_(b), pos_(std::min(pos, b.size())) {}
  /// The next byte; -1 at the block terminator or when the data ends (truncated()).
  int next() noexcept {
    if (left_ == 0) {
      if (done_ || !take(left_)) return -1;
      if (left_ == 0) {
        done_ = true;
        return -1;
      }
    }
    std::uint32_t v = 0;
    if (!take(v)) return -1;
    --left_;
    return static_cast<int>(v);
  }
  void skip_rest() noexcept {
    while (!done_) {
      pos_ += std::min<std::size_t>(left_, b_.size() - pos_);
      left_ = 0;
      if (next() < 0) break;
    }
  }
  [[nodiscard]] bool truncated() const noexcept { return truncated_; }
  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }

 private:
  bool take(std::uint32_t& v) noexcept {
    if (pos_ >= b_.size()) {
      done_ = truncated_ = true;
      return false;
    }
    v = b_[pos_++];
    return true;
  }
  ByteSpan b_;
  std::size_t pos_;
  std::uint32_t left_ = 0;
  bool done_ = false, truncated_ = false;
};

using Palette = std::array<cv::Vec3b, 256>;  // BGR of each colour table entry

bool read_palette(ByteSpan b, std::size_t& pos, unsigned bits, Palette& pal, unsigned& n) {
  n = 2U << bits;
  if (!fits(b, pos, 3ULL * n)) return false;
  for (unsigned i = 0; i < n; ++i)
    pal[i] = cv::Vec3b(b[pos + 3 * i + 2], b[pos + 3 * i + 1], b[pos + 3 * i]);
  pos += 3 * n;
  return true;
}

Outcome<cv::Mat> decode_gif(ByteSpan b, const ImageInfo& info, std::uint64_t max_pixels) {
  const int sw = info.stored_width, sh = info.stored_height;
  std::size_t pos = 13;
  Palette global{}, local{};
  unsigned global_n = 0, n = 0;
  if ((b[10] & 0x80) != 0 && !read_palette(b, pos, b[10] & 7U, global, global_n))
    return make_error(ErrorCode::truncated, "GIF data ends inside the global colour table");
  cv::Mat canvas(sh, sw, CV_8UC3, b[11] < global_n ? global[b[11]] : cv::Vec3b());
  while (true) {  // skip extensions up to the first image descriptor
    if (pos >= b.size())
      return make_error(ErrorCode::truncated, "GIF data ends before its first image");
    const std::uint8_t block = b[pos++];
    if (block == 0x2C) break;
    if (block == 0x3B) return make_error(ErrorCode::corrupt, "GIF has no image");
    if (block != 0x21) return make_error(ErrorCode::corrupt, "GIF has an unknown block type");
    SubBlocks ext(b, pos + 1);  // after the extension label
    ext.skip_rest();
    if (ext.truncated())
      return make_error(ErrorCode::truncated, "GIF data ends inside an extension");
    pos = ext.pos();
  }
  if (!fits(b, pos, 10))
    return make_error(ErrorCode::truncated, "GIF data ends inside the image descriptor");
  const int left = static_cast<int>(detail::le16(b, pos)),
            top = static_cast<int>(detail::le16(b, pos + 2));
  const int fw = static_cast<int>(detail::le16(b, pos + 4)),
            fh = static_cast<int>(detail::le16(b, pos + 6));
  const std::uint8_t flags = b[pos + 8];
  const bool interlaced = (flags & 0x40) != 0;
  pos += 9;
  const Palette* pal = &global;
  n = global_n;
  if ((flags & 0x80) != 0) {
    if (!read_palette(b, pos, flags & 7U, local, n))
      return make_error(ErrorCode::truncated, "GIF data ends inside the local colour table");
    pal = &local;
  }
  if (n == 0) return make_error(ErrorCode::corrupt, "GIF image has no colour table");
  const std::uint64_t total = std::uint64_t(fw) * std::uint64_t(fh);
  if (total > max_pixels)  // the frame may be larger than the screen the header check saw
    return over_cap("GIF first frame", std::uint64_t(fw), std::uint64_t(fh), max_pixels);
  if (pos >= b.size())
    return make_error(ErrorCode::truncated, "GIF data ends before the image data");
  const unsigned min_code = b[pos++];
  if (min_code < 2 || min_code > 8)
    return make_error(ErrorCode::corrupt,
                      "GIF LZW minimum code size " + std::to_string(min_code) + " is invalid");

  // LZW with variable code width (min_code + 1 .. 12 bits) and a deferred clear when full.
  std::array<std::uint16_t, 4096> prefix{};
  std::array<std::uint8_t, 4096> suffix{}, first{}, stack{};
  const unsigned clear = 1U << min_code, eoi = clear + 1;
  for (unsigned i = 0; i < clear; ++i) suffix[i] = first[i] = static_cast<std::uint8_t>(i);
  unsigned next = eoi + 1, width = min_code + 1;
  int prev = -1;
  std::uint32_t acc = 0;
  unsigned nbits = 0;
  std::uint64_t done = 0;
  int x = 0, y = 0, pass = 0;
  constexpr int kStart[4] = {0, 4, 2, 1}, kStep[4] = {8, 8, 4, 2};
  const auto put = [&](std::uint8_t index) {
    if (left + x < sw && top + y < sh)
      canvas.at<cv::Vec3b>(top + y, left + x) = index < n ? (*pal)[index] : cv::Vec3b();
    if (++x == fw) {
      x = 0;
      y += interlaced ? kStep[pass] : 1;
      while (interlaced && y >= fh && pass < 3) y = kStart[++pass];
    }
    ++done;
  };
  SubBlocks data(b, pos);
  while (done < total) {
    while (nbits < width) {
      const int byte = data.next();
      if (byte < 0) break;
      acc |= static_cast<std::uint32_t>(byte) << nbits;
      nbits += 8;
    }
    if (nbits < width) break;
    const unsigned code = acc & ((1U << width) - 1);
    acc >>= width;
    nbits -= width;
    if (code == clear) {
      next = eoi + 1, width = min_code + 1, prev = -1;
      continue;
    }
    if (code == eoi) break;
    if (prev < 0) {
      if (code >= clear)
        return make_error(ErrorCode::corrupt, "GIF LZW data starts with an undefined code");
      put(static_cast<std::uint8_t>(code));
      prev = static_cast<int>(code);
      continue;
    }
    if (code > next || (code == next && next == 4096))
      return make_error(ErrorCode::corrupt, "GIF LZW data holds an undefined code");
    if (next < 4096) {  // the new entry: prev's string plus the first byte of code's string
      prefix[next] = static_cast<std::uint16_t>(prev);
      suffix[next] = code < next ? first[code] : first[static_cast<unsigned>(prev)];
      first[next] = first[static_cast<unsigned>(prev)];
      if (++next == (1U << width) && width < 12) ++width;
    }
    std::size_t len = 0;  // prefix[c] < c, so this walk ends; strings are at most 4096 long
    unsigned c = code;
    for (; c > eoi; c = prefix[c]) stack[len++] = suffix[c];
    stack[len++] = static_cast<std::uint8_t>(c);
    while (len > 0 && done < total) put(stack[--len]);
    prev = static_cast<int>(code);
  }
  if (done < total) {
    if (data.truncated())
      return make_error(ErrorCode::truncated, "GIF data ends inside the first image");
    return make_error(ErrorCode::corrupt, "GIF first image holds " + std::to_string(done) + " of " +
                                              std::to_string(total) + " pixels");
  }
  data.skip_rest();
  if (data.truncated())
    return make_error(ErrorCode::truncated, "GIF data ends inside the first image");
  if (std::memchr(b.data() + data.pos(), 0x3B, b.size() - data.pos()) == nullptr)
    return make_error(ErrorCode::truncated, "GIF has no trailer after its first image");
  return canvas;
}

// ---------------------------------------------------------------------------------------------

/// 16-bit samples to 8 (value/257, rounded); float samples (TIFF) from 0..1 to 0..255.
cv::Mat to_8bit(const cv::Mat& m) {
  cv::Mat out;
  switch (m.depth()) {
    case CV_8U:
      return m;
    case CV_16U:
      m.convertTo(out, CV_8U, 1.0 / 257);
      return out;
    case CV_32F:
    case CV_64F:
      m.convertTo(out, CV_8U, 255.0);
      return out;
    default:
      return out;
  }
}

int reduced_scale(const ImageInfo& info, int min_reduced_side) {
  const int side = std::min(info.stored_width, info.stored_height);
  // Orientations other than 1 (none) and 5 (transpose) reverse a stored axis. The codec's blocks
  // start at the stored image's first row and column; reversed, a partial last block lands
  // first, and PDQ's folded weights (PdqSource) would be off by the remainder: 28-34 bits on a
  // smooth 1732x1154 photo with orientation 3 (bench/accuracy). Such images use only scales
  // that divide both sides.
  const bool reverses = info.orientation >= 2 && info.orientation <= 8 && info.orientation != 5;
  for (int s : {8, 4, 2}) {
    if (side / s < min_reduced_side) continue;
    if (reverses && (info.stored_width % s != 0 || info.stored_height % s != 0)) continue;
    return s;
  }
  return 1;
}

Outcome<DecodedImage> decode_impl(ByteSpan bytes, const DecodeOptions& options) {
  auto probed = detail::probe_for_decode(bytes, options);
  if (!probed) return probed.error();
  const Probe& p = probed.value();
  DecodedImage out;
  out.info = p.info;
  int flags = cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH;
  if (p.info.format == ImageFormat::jpeg && !options.exact) {
    out.scale_denom = reduced_scale(p.info, options.min_reduced_side);
    flags = out.scale_denom == 8   ? cv::IMREAD_REDUCED_GRAYSCALE_8
            : out.scale_denom == 4 ? cv::IMREAD_REDUCED_GRAYSCALE_4
            : out.scale_denom == 2 ? cv::IMREAD_REDUCED_GRAYSCALE_2
                                   : cv::IMREAD_GRAYSCALE;
  } else if (p.grey) {
    flags = cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH;
  }
  auto img = detail::decode_stored(bytes, p, options, flags, out.scale_denom);
  if (!img) return img.error();
  out.luma =
      oriented_luma(img.value(), detail::codec_orients(p.info.format) ? 1 : p.info.orientation);
  return out;
}

}  // namespace

namespace detail {

Outcome<Probe> probe_for_decode(ByteSpan bytes, const DecodeOptions& options) {
  auto probed = detail::probe(bytes);
  if (!probed) return probed.error();
  const Probe& p = probed.value();
  if (auto e = check_size(p.info, options, p.info.format != ImageFormat::gif)) return *std::move(e);
  if (auto e = detail::check_complete(bytes, p)) return *std::move(e);
  return probed;
}

Outcome<cv::Mat> decode_stored(ByteSpan bytes, const Probe& p, const DecodeOptions& options,
                               int imread_flags, int scale_denom) {
  if (p.info.format == ImageFormat::gif) return decode_gif(bytes, p.info, options.max_pixels);

  quiet_opencv();
  if (bytes.size() > INT_MAX)
    return make_error(ErrorCode::too_large, "file is " + std::to_string(bytes.size()) +
                                                " bytes, above the decoder's 2 GiB buffer limit");
  // When none of its own decoders claims the data, imdecode tries GDAL, which matches "DTED" at
  // offset 140, copies the bytes to a temporary file and runs its drivers over them, outside our
  // pixel cap. JPEG, PNG, TIFF, BMP and PNM are claimed by their magic bytes alone; WebP by
  // libwebp's header check, which probe_webp mirrors. This is the backstop for WebP.
  if (p.info.format == ImageFormat::webp && bytes.size() >= 144 &&
      std::memcmp(bytes.data() + 140, "DTED", 4) == 0)
    return make_error(ErrorCode::corrupt, "WebP data carries a DTED signature at offset 140");
  // imdecode only reads the buffer; the Mat header just borrows it.
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U,
                    const_cast<std::uint8_t*>(bytes.data()));
  const cv::Mat img = cv::imdecode(buf, imread_flags | cv::IMREAD_IGNORE_ORIENTATION);
  const char* name = detail::format_name(p.info.format);
  if (img.empty())
    return make_error(ErrorCode::corrupt,
                      std::string("the ") + name + " decoder rejected the data");
  const bool oriented = codec_orients(p.info.format);
  const int s = scale_denom;
  const int want_w = oriented ? p.info.width() : (p.info.stored_width + s - 1) / s;
  const int want_h = oriented ? p.info.height() : (p.info.stored_height + s - 1) / s;
  if (img.cols != want_w || img.rows != want_h)
    return make_error(ErrorCode::corrupt,
                      std::string("the ") + name + " header says " + std::to_string(want_w) + "x" +
                          std::to_string(want_h) + " but the decoder produced " +
                          std::to_string(img.cols) + "x" + std::to_string(img.rows));
  cv::Mat img8 = to_8bit(img);
  if (img8.empty())
    return make_error(ErrorCode::unsupported, std::string(name) + " sample type is not supported");
  return img8;
}

}  // namespace detail

Outcome<DecodedImage> decode_luma(std::span<const std::uint8_t> bytes,
                                  const DecodeOptions& options) noexcept {
  return detail::firewall<DecodedImage>([&] { return decode_impl(bytes, options); });
}

}  // namespace residue
