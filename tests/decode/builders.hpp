// tests/decode/builders.hpp: tiny in-memory image writers for the decode tests.
//
// OpenCV's encoders cover the common cases (tests call cv::imencode directly for those). These
// builders write what OpenCV 4.6 cannot, byte by byte, so the tests know every pixel exactly:
// PNG with any colour type (palette, grey+alpha, eXIf chunks) using zlib "stored" blocks, GIF with
// a real LZW encoder (code widths grow to 12 bits), uncompressed TIFF with an orientation tag, EXIF
// blocks and JPEG APP1 insertion. Headers-only files (pixel bombs) are built from the same parts.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace residue::test {

using Bytes = std::vector<std::uint8_t>;

inline void put_u8(Bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v & 0xFFU));
}
inline void put_be16(Bytes& b, unsigned v) {
  put_u8(b, v >> 8);
  put_u8(b, v);
}
inline void put_be32(Bytes& b, std::uint32_t v) {
  put_be16(b, v >> 16);
  put_be16(b, v & 0xFFFFU);
}
inline void put_le16(Bytes& b, unsigned v) {
  put_u8(b, v);
  put_u8(b, v >> 8);
}
inline void put_le32(Bytes& b, std::uint32_t v) {
  put_le16(b, v & 0xFFFFU);
  put_le16(b, v >> 16);
}
inline void put_str(Bytes& b, std::string_view s) {
  b.insert(b.end(), s.begin(), s.end());
}
inline void append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}

inline std::uint32_t crc32(const std::uint8_t* p, std::size_t n, std::uint32_t crc = 0) {
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
  }
  return ~crc;
}

// ---------------------------------------------------------------------------------------------
// PNG

inline Bytes png_chunk(std::string_view type, const Bytes& data) {
  Bytes c;
  put_be32(c, static_cast<std::uint32_t>(data.size()));
  put_str(c, type);
  append(c, data);
  const std::uint32_t crc = crc32(c.data() + 4, c.size() - 4);
  put_be32(c, crc);
  return c;
}

/// zlib stream of `raw` in stored (uncompressed) deflate blocks.
inline Bytes zlib_stored(const Bytes& raw) {
  Bytes z{0x78, 0x01};
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(65535, raw.size() - pos);
    put_u8(z, pos + n == raw.size() ? 1 : 0);
    put_le16(z, static_cast<unsigned>(n));
    put_le16(z, static_cast<unsigned>(~n & 0xFFFFU));
    z.insert(z.end(), raw.begin() + static_cast<std::ptrdiff_t>(pos),
             raw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    pos += n;
  } while (pos < raw.size());
  std::uint32_t a = 1, b = 0;
  for (auto v : raw) {
    a = (a + v) % 65521U;
    b = (b + a) % 65521U;
  }
  put_be32(z, (b << 16) | a);
  return z;
}

inline Bytes png_ihdr(std::uint32_t w, std::uint32_t h, int bit_depth, int color_type) {
  Bytes d;
  put_be32(d, w);
  put_be32(d, h);
  put_u8(d, static_cast<unsigned>(bit_depth));
  put_u8(d, static_cast<unsigned>(color_type));
  put_u8(d, 0);
  put_u8(d, 0);
  put_u8(d, 0);
  return png_chunk("IHDR", d);
}

struct PngParts {
  Bytes plte{};                      // PLTE payload (empty: none)
  Bytes trns{};                      // tRNS payload (empty: none)
  std::vector<Bytes> before_idat{};  // whole chunks (from png_chunk) placed before IDAT
};

/// A PNG from packed rows (no filter bytes; each row is row_bytes long).
inline Bytes make_png(int w, int h, int bit_depth, int color_type, const Bytes& rows,
                      std::size_t row_bytes, const PngParts& parts = {}) {
  Bytes out{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  append(out, png_ihdr(static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(h), bit_depth,
                       color_type));
  if (!parts.plte.empty()) append(out, png_chunk("PLTE", parts.plte));
  if (!parts.trns.empty()) append(out, png_chunk("tRNS", parts.trns));
  for (const auto& c : parts.before_idat) append(out, c);
  Bytes raw;
  for (int y = 0; y < h; ++y) {
    raw.push_back(0);  // filter type None
    const auto* row = rows.data() + static_cast<std::size_t>(y) * row_bytes;
    raw.insert(raw.end(), row, row + row_bytes);
  }
  append(out, png_chunk("IDAT", zlib_stored(raw)));
  append(out, png_chunk("IEND", {}));
  return out;
}

// ---------------------------------------------------------------------------------------------
// EXIF / TIFF

/// A TIFF structure (header + IFD0 with one Orientation entry), as carried by EXIF blocks.
inline Bytes exif_tiff(int orientation, bool big_endian = false) {
  Bytes t;
  auto p16 = [&](unsigned v) { big_endian ? put_be16(t, v) : put_le16(t, v); };
  auto p32 = [&](std::uint32_t v) { big_endian ? put_be32(t, v) : put_le32(t, v); };
  put_str(t, big_endian ? "MM" : "II");
  p16(42);
  p32(8);
  p16(1);       // one entry
  p16(0x0112);  // Orientation
  p16(3);       // SHORT
  p32(1);
  p16(static_cast<unsigned>(orientation));
  p16(0);  // padding of the 4-byte value field
  p32(0);  // no next IFD
  return t;
}

/// Inserts an APP1 "Exif\0\0" segment carrying `orientation` right after the SOI of `jpeg`.
inline Bytes jpeg_with_orientation(const Bytes& jpeg, int orientation, bool big_endian = false) {
  Bytes payload;
  put_str(payload, std::string_view("Exif\0\0", 6));
  append(payload, exif_tiff(orientation, big_endian));
  Bytes seg{0xFF, 0xE1};
  put_be16(seg, static_cast<unsigned>(payload.size() + 2));
  append(seg, payload);
  Bytes out(jpeg.begin(), jpeg.begin() + 2);
  append(out, seg);
  out.insert(out.end(), jpeg.begin() + 2, jpeg.end());
  return out;
}

/// Uncompressed 8-bit TIFF (1 or 3 samples per pixel, one strip), little- or big-endian.
inline Bytes make_tiff(int w, int h, int spp, const Bytes& pixels, int orientation = 0,
                       bool big_endian = false) {
  Bytes t;
  auto p16 = [&](unsigned v) { big_endian ? put_be16(t, v) : put_le16(t, v); };
  auto p32 = [&](std::uint32_t v) { big_endian ? put_be32(t, v) : put_le32(t, v); };
  struct Entry {
    unsigned tag, type;
    std::uint32_t count, value;
  };
  const std::uint32_t bps_offset = 8;  // 3 SHORTs of BitsPerSample for RGB live here
  const std::uint32_t ifd_offset = 16;
  std::vector<Entry> e{{256, 4, 1, static_cast<std::uint32_t>(w)},
                       {257, 4, 1, static_cast<std::uint32_t>(h)},
                       {258, 3, static_cast<std::uint32_t>(spp), spp == 1 ? 8U : bps_offset},
                       {259, 3, 1, 1},
                       {262, 3, 1, spp == 1 ? 1U : 2U},
                       {273, 4, 1, 0},  // StripOffsets, patched below
                       {277, 3, 1, static_cast<std::uint32_t>(spp)},
                       {278, 4, 1, static_cast<std::uint32_t>(h)},
                       {279, 4, 1, static_cast<std::uint32_t>(pixels.size())},
                       {284, 3, 1, 1}};
  if (orientation != 0)
    e.insert(e.begin() + 5, {274, 3, 1, static_cast<std::uint32_t>(orientation)});
  const std::uint32_t data_offset = ifd_offset + 2 + static_cast<std::uint32_t>(e.size()) * 12 + 4;
  for (auto& x : e)
    if (x.tag == 273) x.value = data_offset;
  put_str(t, big_endian ? "MM" : "II");
  p16(42);
  p32(ifd_offset);
  p16(8);
  p16(8);
  p16(8);
  p16(0);
  p16(static_cast<unsigned>(e.size()));
  for (const auto& x : e) {
    p16(x.tag);
    p16(x.type);
    p32(x.count);
    if (x.type == 3 && x.count == 1) {
      p16(x.value);
      p16(0);
    } else {
      p32(x.value);
    }
  }
  p32(0);
  append(t, pixels);
  return t;
}

// ---------------------------------------------------------------------------------------------
// GIF

/// GIF LZW encoder (variable code width up to 12 bits, clear when the table is full).
inline Bytes gif_lzw(const Bytes& indices, int min_code_size) {
  Bytes out;
  std::uint32_t acc = 0;
  int nbits = 0;
  const unsigned clear = 1U << min_code_size, eoi = clear + 1;
  int width = min_code_size + 1;
  unsigned next = eoi + 1;
  std::unordered_map<std::uint32_t, unsigned> table;  // (prefix << 8 | byte) -> code
  auto emit = [&](unsigned code) {
    acc |= code << nbits;
    nbits += width;
    while (nbits >= 8) {
      out.push_back(static_cast<std::uint8_t>(acc & 0xFFU));
      acc >>= 8;
      nbits -= 8;
    }
  };
  emit(clear);
  if (!indices.empty()) {
    unsigned cur = indices[0];
    for (std::size_t i = 1; i < indices.size(); ++i) {
      const std::uint32_t key = (cur << 8) | indices[i];
      if (auto it = table.find(key); it != table.end()) {
        cur = it->second;
        continue;
      }
      emit(cur);
      if (next < 4096) {
        table[key] = next++;
        if (next > (1U << width) && width < 12) ++width;
      } else {
        emit(clear);
        table.clear();
        width = min_code_size + 1;
        next = eoi + 1;
      }
      cur = indices[i];
    }
    emit(cur);
  }
  emit(eoi);
  if (nbits > 0) out.push_back(static_cast<std::uint8_t>(acc & 0xFFU));
  return out;
}

struct GifFrame {
  int left = 0, top = 0, width = 0, height = 0;
  Bytes indices;  // width*height palette indices, in display row order
  bool interlaced = false;
};

/// A GIF87a (GIF89a when `gif89a`) with a global colour table and the given frames.
inline Bytes make_gif(int screen_w, int screen_h, const Bytes& palette_rgb,
                      const std::vector<GifFrame>& frames, int background = 0,
                      bool gif89a = false) {
  Bytes g;
  put_str(g, gif89a ? "GIF89a" : "GIF87a");
  put_le16(g, static_cast<unsigned>(screen_w));
  put_le16(g, static_cast<unsigned>(screen_h));
  int entries = 2, bits = 1;
  while (entries * 3 < static_cast<int>(palette_rgb.size())) entries *= 2, ++bits;
  put_u8(g, 0x80U | static_cast<unsigned>(bits - 1));
  put_u8(g, static_cast<unsigned>(background));
  put_u8(g, 0);
  Bytes pal = palette_rgb;
  pal.resize(static_cast<std::size_t>(entries) * 3, 0);
  append(g, pal);
  const int min_code = bits < 2 ? 2 : bits;
  for (const auto& f : frames) {
    put_u8(g, 0x2C);
    put_le16(g, static_cast<unsigned>(f.left));
    put_le16(g, static_cast<unsigned>(f.top));
    put_le16(g, static_cast<unsigned>(f.width));
    put_le16(g, static_cast<unsigned>(f.height));
    put_u8(g, f.interlaced ? 0x40U : 0U);
    Bytes order = f.indices;
    if (f.interlaced) {  // store rows in the 4-pass order
      order.clear();
      const int starts[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
      for (int p = 0; p < 4; ++p)
        for (int y = starts[p]; y < f.height; y += steps[p])
          order.insert(order.end(), f.indices.begin() + y * f.width,
                       f.indices.begin() + (y + 1) * f.width);
    }
    put_u8(g, static_cast<unsigned>(min_code));
    const Bytes lzw = gif_lzw(order, min_code);
    for (std::size_t pos = 0; pos < lzw.size(); pos += 255) {
      const std::size_t n = std::min<std::size_t>(255, lzw.size() - pos);
      put_u8(g, static_cast<unsigned>(n));
      g.insert(g.end(), lzw.begin() + static_cast<std::ptrdiff_t>(pos),
               lzw.begin() + static_cast<std::ptrdiff_t>(pos + n));
    }
    put_u8(g, 0);
  }
  put_u8(g, 0x3B);
  return g;
}

}  // namespace residue::test
