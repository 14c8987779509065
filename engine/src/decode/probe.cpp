// Header parsers, one per format, and the container walks decode.cpp uses to detect truncation.
// Our own code, not OpenCV's: the pixel cap must be enforced before any codec allocates, and a
// codec's idea of the header is not something to trust with hostile input. Parsers read only what
// they need (sizes, orientation, progressive), and every read is bounds-checked (see detail.hpp).
#include <climits>
#include <cstring>
#include <iterator>
#include <optional>
#include <string>

#include "detail.hpp"

namespace residue::detail {
namespace {

ItemError truncated(std::string msg) {
  return {ErrorCode::truncated, std::move(msg)};
}
ItemError corrupt(std::string msg) {
  return {ErrorCode::corrupt, std::move(msg)};
}

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) noexcept {
  return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}
std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) noexcept {
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

bool same(ByteSpan b, std::size_t offset, const char* tag, std::size_t n) noexcept {
  return fits(b, offset, n) && std::memcmp(b.data() + offset, tag, n) == 0;
}

/// Sets the stored size, refusing what no image can be: zero, or beyond int (LumaImage's type).
bool set_size(Probe& p, std::uint64_t w, std::uint64_t h) noexcept {
  if (w == 0 || h == 0 || w > INT_MAX || h > INT_MAX) return false;
  p.info.stored_width = static_cast<int>(w);
  p.info.stored_height = static_cast<int>(h);
  return true;
}

std::string size_text(std::uint64_t w, std::uint64_t h) {
  return std::to_string(w) + "x" + std::to_string(h);
}

// ---------------------------------------------------------------------------------------------
// JPEG: walk the marker segments to the first SOF (and on to the first SOS, collecting the EXIF
// orientation on the way).

bool is_sof(std::uint8_t m) noexcept {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;  // not DHT, JPG, DAC
}
bool is_standalone(std::uint8_t m) noexcept {  // markers without a length field
  return m == 0x01 || (m >= 0xD0 && m <= 0xD9);
}

Outcome<Probe> probe_jpeg(ByteSpan b) {
  Probe p;
  p.info.format = ImageFormat::jpeg;
  bool have_sof = false, have_exif = false;
  std::size_t pos = 2;
  while (true) {
    // libjpeg skips stray bytes and fill bytes before a marker (with a warning); so do we.
    while (pos < b.size() && b[pos] != 0xFF) ++pos;
    while (pos < b.size() && b[pos] == 0xFF) ++pos;
    if (pos >= b.size()) break;
    const std::uint8_t m = b[pos++];
    if (m == 0xD9) {
      p.jpeg_eoi_before_scan = true;
      break;
    }
    if (m == 0x00 || is_standalone(m)) continue;
    if (!fits(b, pos, 2)) break;
    const std::uint32_t len = be16(b, pos);
    if (len < 2) return corrupt("JPEG segment length " + std::to_string(len) + " is below 2");
    if (!fits(b, pos, len)) break;
    const ByteSpan seg = b.subspan(pos + 2, len - 2);
    if (is_sof(m) && !have_sof) {
      if (seg.size() < 6) return corrupt("JPEG frame header is too short");
      const std::uint32_t h = be16(seg, 1), w = be16(seg, 3);
      if (!set_size(p, w, h)) return corrupt("JPEG frame header gives the size " + size_text(w, h));
      if (seg[5] == 0) return corrupt("JPEG frame header has no components");
      p.info.progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE;
      p.grey = seg[5] == 1;
      have_sof = true;
    } else if (m == 0xE1 && !have_exif && same(seg, 0, "Exif\0\0", 6)) {
      have_exif = true;  // the first EXIF block is the main image's; later ones are not
      p.info.orientation = exif_orientation(seg);
    } else if (m == 0xDA) {
      if (!have_sof) return corrupt("JPEG scan starts before the frame header");
      p.jpeg_scan = pos + len;
      break;
    }
    pos += len;
  }
  if (!have_sof) {
    if (p.jpeg_eoi_before_scan) return corrupt("JPEG ends (EOI) without a frame header");
    return truncated("JPEG data ends before the frame header");
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// PNG: IHDR, then the chunks before IDAT for an eXIf chunk.

bool png_depth_ok(std::uint32_t type, std::uint32_t depth) noexcept {
  switch (type) {
    case 0:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3:
      return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2:
    case 4:
    case 6:
      return depth == 8 || depth == 16;
    default:
      return false;
  }
}

Outcome<Probe> probe_png(ByteSpan b) {
  Probe p;
  p.info.format = ImageFormat::png;
  if (!fits(b, 0, 29)) return truncated("PNG data ends inside the IHDR chunk");
  if (be32(b, 8) != 13 || !same(b, 12, "IHDR", 4))
    return corrupt("PNG does not start with a 13-byte IHDR chunk");
  const std::uint32_t w = be32(b, 16), h = be32(b, 20), depth = b[24], type = b[25];
  if (w > 0x7FFFFFFFU || h > 0x7FFFFFFFU || !set_size(p, w, h))
    return corrupt("PNG header gives the size " + size_text(w, h));
  if (!png_depth_ok(type, depth))
    return corrupt("PNG header has colour type " + std::to_string(type) + " with bit depth " +
                   std::to_string(depth));
  p.grey = type == 0 || type == 4;
  // The PNG extensions spec only honours an eXIf chunk that precedes IDAT.
  std::uint64_t pos = 33;
  while (fits(b, pos, 8)) {
    const auto at = static_cast<std::size_t>(pos);
    const std::uint32_t len = be32(b, at);
    if (len > 0x7FFFFFFFU || same(b, at + 4, "IDAT", 4)) break;
    if (same(b, at + 4, "eXIf", 4)) {
      if (fits(b, pos + 8, len)) p.info.orientation = exif_orientation(b.subspan(at + 8, len));
      break;
    }
    pos += 12ULL + len;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// GIF, BMP, TIFF, WebP, PNM

Outcome<Probe> probe_gif(ByteSpan b) {
  Probe p;
  p.info.format = ImageFormat::gif;
  if (!fits(b, 0, 13)) return truncated("GIF data ends inside the logical screen descriptor");
  const std::uint32_t w = le16(b, 6), h = le16(b, 8);
  if (!set_size(p, w, h)) return corrupt("GIF logical screen is " + size_text(w, h));
  return p;
}

Outcome<Probe> probe_bmp(ByteSpan b) {
  Probe p;
  p.info.format = ImageFormat::bmp;
  if (!fits(b, 0, 18)) return truncated("BMP data ends inside the file header");
  const std::uint32_t header = le32(b, 14);
  std::int64_t w = 0, h = 0;
  std::uint32_t bpp = 0, compression = 0;
  if (header == 12) {  // BITMAPCOREHEADER: unsigned 16-bit sizes, always bottom-up
    if (!fits(b, 14, 12)) return truncated("BMP data ends inside the core header");
    w = le16(b, 18);
    h = le16(b, 20);
    bpp = le16(b, 24);
  } else if (header >= 16 && header <= 1024) {  // BITMAPINFOHEADER and its successors
    if (!fits(b, 14, 16)) return truncated("BMP data ends inside the info header");
    w = static_cast<std::int32_t>(le32(b, 18));
    h = static_cast<std::int32_t>(le32(b, 22));  // negative: rows stored top-down
    bpp = le16(b, 28);
    if (header >= 20 && fits(b, 30, 4)) compression = le32(b, 30);
  } else {
    return corrupt("BMP has an unknown header size " + std::to_string(header));
  }
  if (w <= 0 || h == 0 ||
      !set_size(p, static_cast<std::uint64_t>(w), static_cast<std::uint64_t>(h < 0 ? -h : h)))
    return corrupt("BMP header gives the size " + std::to_string(w) + "x" + std::to_string(h));
  const bool uncompressed = compression == 0 || compression == 3;  // BI_RGB, BI_BITFIELDS
  if (uncompressed && (bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32)) {
    const std::uint64_t stride = (sat_mul(static_cast<std::uint64_t>(w), bpp) + 31) / 32 * 4;
    p.min_size =
        sat_add(le32(b, 10), sat_mul(stride, static_cast<std::uint64_t>(p.info.stored_height)));
  }
  return p;
}

Outcome<Probe> probe_tiff(ByteSpan b) {
  Probe p;
  p.info.format = ImageFormat::tiff;
  TiffView t;
  switch (t.open(b)) {
    case TiffView::Status::truncated:
      return truncated("TIFF data ends inside the first IFD");
    case TiffView::Status::corrupt:
      return corrupt("TIFF header is invalid");
    case TiffView::Status::ok:
      break;
  }
  const auto scalar = [&](std::uint16_t tag) -> std::optional<std::uint32_t> {
    const auto e = t.find(tag);
    return e && (e->type == 3 || e->type == 4) ? t.value(*e, 0) : std::nullopt;
  };
  const auto w = scalar(256), h = scalar(257);
  if (!w || !h) return corrupt("TIFF has no valid ImageWidth/ImageLength");
  if (!set_size(p, *w, *h)) return corrupt("TIFF header gives the size " + size_text(*w, *h));
  const auto o = scalar(274);
  p.info.orientation = o && *o >= 1 && *o <= 8 ? static_cast<int>(*o) : 1;
  // The furthest strip or tile end is the least the file needs; value() stops at the data's end,
  // so these loops are bounded by the input size, whatever the counts claim.
  for (const auto& [offsets_tag, counts_tag] :
       {std::pair<std::uint16_t, std::uint16_t>{273, 279},
        std::pair<std::uint16_t, std::uint16_t>{324, 325}}) {
    const auto offsets = t.find(offsets_tag), counts = t.find(counts_tag);
    if (!offsets || !counts) continue;
    for (std::uint32_t i = 0; i < offsets->count && i < counts->count; ++i) {
      const auto off = t.value(*offsets, i), n = t.value(*counts, i);
      if (!off || !n) break;
      p.min_size = std::max(p.min_size, std::uint64_t{*off} + *n);
    }
  }
  return p;
}

// OpenCV's WebP decoder claims data only when libwebp's WebPGetFeatures accepts its first 32
// bytes; otherwise imdecode moves on to its other decoders, down to GDAL. So the header checks
// libwebp makes are made here too, as corrupt, and nothing libwebp would refuse reaches OpenCV.
Outcome<Probe> probe_webp(ByteSpan b) {
  Probe p;
  p.info.format = ImageFormat::webp;
  if (!fits(b, 0, 20)) return truncated("WebP data ends before its first chunk");
  const std::uint32_t riff = le32(b, 4), chunk = le32(b, 16);
  if (riff < 12 || riff > 0xFFFFFFF6U) return corrupt("WebP RIFF size is invalid");
  p.min_size = riff + 8ULL;
  const bool bitstream = same(b, 12, "VP8 ", 4) || same(b, 12, "VP8L", 4);
  if (bitstream && chunk > riff - 12)
    return corrupt("WebP chunk is larger than its RIFF container");
  std::uint64_t w = 0, h = 0;
  if (same(b, 12, "VP8 ", 4)) {
    if (!fits(b, 20, 10)) return truncated("WebP data ends inside the VP8 frame header");
    const std::uint32_t tag = le24(b, 20);
    if ((tag & 1) != 0) return corrupt("WebP VP8 data does not start with a key frame");
    if (((tag >> 1) & 7) > 3 || ((tag >> 4) & 1) == 0 || (tag >> 5) >= chunk)
      return corrupt("WebP VP8 frame header is invalid");
    if (b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A)
      return corrupt("WebP VP8 key frame has no start code");
    w = le16(b, 26) & 0x3FFF;  // the top 2 bits are an upscaling hint, not part of the size
    h = le16(b, 28) & 0x3FFF;
  } else if (same(b, 12, "VP8L", 4)) {
    if (!fits(b, 20, 5)) return truncated("WebP data ends inside the VP8L header");
    if (b[20] != 0x2F) return corrupt("WebP VP8L data has no signature byte");
    const std::uint32_t bits = le32(b, 21);
    if ((bits >> 29) != 0) return corrupt("WebP VP8L header has an unknown version");
    w = (bits & 0x3FFF) + 1;
    h = ((bits >> 14) & 0x3FFF) + 1;
  } else if (same(b, 12, "VP8X", 4)) {
    if (chunk != 10) return corrupt("WebP VP8X chunk is not 10 bytes");
    if (!fits(b, 20, 10)) return truncated("WebP data ends inside the VP8X header");
    w = le24(b, 24) + 1ULL;
    h = le24(b, 27) + 1ULL;
    if (w * h >= (1ULL << 32)) return corrupt("WebP canvas " + size_text(w, h) + " is too large");
    // An EXIF chunk anywhere among the chunks carries the orientation.
    for (std::uint64_t pos = 30; fits(b, pos, 8);) {
      const auto at = static_cast<std::size_t>(pos);
      const std::uint32_t size = le32(b, at + 4);
      if (same(b, at, "EXIF", 4)) {
        if (fits(b, pos + 8, size)) p.info.orientation = exif_orientation(b.subspan(at + 8, size));
        break;
      }
      pos += 8ULL + size + (size & 1U);
    }
  } else {
    return corrupt("WebP has an unknown first chunk");
  }
  if (!set_size(p, w, h)) return corrupt("WebP header gives the size " + size_text(w, h));
  return p;
}

bool pnm_space(std::uint8_t c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/// Reads one header number, skipping whitespace and '#' comments. 0 = ok, 1 = truncated,
/// 2 = corrupt (not a number, or above INT_MAX).
int pnm_number(ByteSpan b, std::size_t& pos, std::uint64_t& out) noexcept {
  while (pos < b.size() && (pnm_space(b[pos]) || b[pos] == '#')) {
    if (b[pos] == '#') {
      while (pos < b.size() && b[pos] != '\n' && b[pos] != '\r') ++pos;
    } else {
      ++pos;
    }
  }
  if (pos >= b.size()) return 1;
  if (b[pos] < '0' || b[pos] > '9') return 2;
  out = 0;
  for (; pos < b.size() && b[pos] >= '0' && b[pos] <= '9'; ++pos) {
    out = out * 10 + (b[pos] - '0');
    if (out > INT_MAX) return 2;
  }
  return pos < b.size() ? 0 : 1;  // a number must be followed by whitespace
}

Outcome<Probe> probe_pnm(ByteSpan b) {
  Probe p;
  p.info.format = ImageFormat::pnm;
  const int kind = b[1] - '0';  // sniff guarantees 'P', '1'..'6', whitespace
  const bool bitmap = kind == 1 || kind == 4;
  std::uint64_t v[3] = {0, 0, 1};
  std::size_t pos = 2;
  for (int i = 0; i < (bitmap ? 2 : 3); ++i) {
    const int r = pnm_number(b, pos, v[i]);
    if (r == 1) return truncated("PNM data ends inside the header");
    if (r == 2) return corrupt("PNM header has an invalid number");
  }
  if (!set_size(p, v[0], v[1]))
    return corrupt("PNM header gives the size " + size_text(v[0], v[1]));
  if (v[2] == 0 || v[2] > 65535)
    return corrupt("PNM maximum value " + std::to_string(v[2]) + " is out of range");
  if (!pnm_space(b[pos])) return corrupt("PNM header is not followed by whitespace");
  p.grey = kind != 3 && kind != 6;
  // The raster starts after one whitespace byte; the least it can take follows from the header.
  const std::uint64_t header_end = pos + 1, samples = sat_mul(v[0] * v[1], kind % 3 == 0 ? 3 : 1);
  const std::uint64_t sample_bytes = v[2] > 255 ? 2 : 1;
  switch (kind) {
    case 1:
      p.min_size = sat_add(header_end, samples);
      break;  // digits need no separators
    case 2:
    case 3:
      p.min_size = sat_add(header_end, sat_mul(2, samples) - 1);
      break;
    case 4:
      p.min_size = sat_add(header_end, sat_mul((v[0] + 7) / 8, v[1]));
      break;
    default:
      p.min_size = sat_add(header_end, sat_mul(samples, sample_bytes));
      break;
  }
  return p;
}

}  // namespace

Outcome<Probe> probe(ByteSpan bytes) {
  if (bytes.empty()) return ItemError{ErrorCode::empty, "the data is empty (0 bytes)"};
  switch (sniff_format(bytes)) {
    case ImageFormat::jpeg:
      return probe_jpeg(bytes);
    case ImageFormat::png:
      return probe_png(bytes);
    case ImageFormat::gif:
      return probe_gif(bytes);
    case ImageFormat::bmp:
      return probe_bmp(bytes);
    case ImageFormat::tiff:
      return probe_tiff(bytes);
    case ImageFormat::webp:
      return probe_webp(bytes);
    case ImageFormat::pnm:
      return probe_pnm(bytes);
    case ImageFormat::unknown:
      break;
  }
  return ItemError{ErrorCode::unsupported, "not a supported image format (unknown magic bytes)"};
}

namespace {

enum class Structure { complete, truncated, corrupt };

Structure jpeg_structure(ByteSpan b, std::size_t first_scan) noexcept {
  int scans = 1;
  for (std::size_t pos = first_scan; pos + 1 < b.size();) {
    const auto* ff =
        static_cast<const std::uint8_t*>(std::memchr(b.data() + pos, 0xFF, b.size() - pos));
    if (ff == nullptr) break;
    pos = static_cast<std::size_t>(ff - b.data());
    if (pos + 1 >= b.size()) break;
    const std::uint8_t m = b[pos + 1];
    if (m == 0xD9) return Structure::complete;
    // Only the segments that can sit between scans are skipped by length (tables, restart
    // interval, comments, application data, DNL, the next SOS). Anything else after FF is
    // stuffing, a restart marker, a fill byte or damage, and is stepped over.
    const bool segment = m == 0xC4 || m == 0xCC || m == 0xDA || m == 0xDB || m == 0xDC ||
                         m == 0xDD || m == 0xFE || (m >= 0xE0 && m <= 0xEF);
    if (!segment) {
      pos += m == 0xFF ? 1 : 2;
      continue;
    }
    if (m == 0xDA && ++scans > kMaxJpegScans) return Structure::corrupt;
    if (!fits(b, pos + 2, 2)) break;
    pos += 2 + be16(b, pos + 2);
  }
  return Structure::truncated;
}

Structure png_structure(ByteSpan b) noexcept {
  for (std::uint64_t pos = 8; fits(b, pos, 8);) {
    const auto at = static_cast<std::size_t>(pos);
    if (same(b, at + 4, "IEND", 4))  // with its CRC: libpng reads it
      return fits(b, pos, 12) ? Structure::complete : Structure::truncated;
    const std::uint32_t len = be32(b, at);
    if (len > 0x7FFFFFFFU) return Structure::corrupt;
    pos += 12ULL + len;
  }
  return Structure::truncated;
}

}  // namespace

const char* format_name(ImageFormat f) noexcept {
  static constexpr const char* kNames[] = {"image", "JPEG", "PNG", "WebP",
                                           "BMP",   "TIFF", "GIF", "PNM"};
  const auto i = static_cast<std::size_t>(f);
  return i < std::size(kNames) ? kNames[i] : "image";
}

std::optional<ItemError> check_complete(ByteSpan bytes, const Probe& p) {
  switch (p.info.format) {
    case ImageFormat::jpeg: {
      if (p.jpeg_eoi_before_scan) return corrupt("JPEG ends (EOI) before its first scan");
      if (p.jpeg_scan == 0) return truncated("JPEG data ends before its first scan");
      const Structure s = jpeg_structure(bytes, p.jpeg_scan);
      if (s == Structure::truncated)
        return truncated("JPEG data ends inside the image data (no EOI marker)");
      if (s == Structure::corrupt)
        return corrupt("JPEG has more than " + std::to_string(kMaxJpegScans) + " scans");
      return std::nullopt;
    }
    case ImageFormat::png: {
      const Structure s = png_structure(bytes);
      if (s == Structure::truncated) return truncated("PNG data ends before the IEND chunk");
      if (s == Structure::corrupt) return corrupt("PNG has an invalid chunk length");
      return std::nullopt;
    }
    case ImageFormat::gif:
      return std::nullopt;  // checked while decoding
    default:
      if (p.min_size > bytes.size())
        return truncated(std::string(format_name(p.info.format)) + " data is " +
                         std::to_string(bytes.size()) + " bytes, its header needs at least " +
                         std::to_string(p.min_size));
      return std::nullopt;
  }
}

}  // namespace residue::detail

namespace residue {

Outcome<ImageInfo> probe_image(std::span<const std::uint8_t> bytes) noexcept {
  try {
    auto p = detail::probe(bytes);
    if (!p) return p.error();
    return p.value().info;
  } catch (...) {  // only the error messages allocate
    return ItemError{ErrorCode::out_of_memory, "out of memory"};
  }
}

}  // namespace residue
