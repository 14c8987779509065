// One-line renderings of ItemRecords: the reference-CLI-shaped CSV line, JSON lines, error lines.
#include <fmt/format.h>

#include "residue/report.hpp"

namespace residue {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid (overlongs,
// surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
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
  } else
    return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  const std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_hash_map(std::string& out, const char* key, const auto& hashes) {
  out += fmt::format(",\"{}\":{{", key);
  for (int d = 0; d < kDihedralCount; ++d) {
    if (d > 0) out += ',';
    out += fmt::format("\"{}\":\"{}\"", to_string(static_cast<Dihedral>(d)),
                       to_hex(hashes[static_cast<std::size_t>(d)]));
  }
  out += '}';
}

}  // namespace

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\u{:04x}", c);
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out +=
          fmt::format("\\u{:04x}", c);  // not UTF-8: its Latin-1 reading, so the output stays valid
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  out += '"';
  return out;
}

std::string hash_csv_line(const ItemRecord& r) {
  return fmt::format("{},{},{}", to_hex(r.pdq), r.quality, r.locator);
}

std::string hash_json_line(const ItemRecord& r) {
  std::string out = "{\"locator\":" + json_quote(r.locator);
  out += fmt::format(",\"size\":{},\"format\":\"{}\"", r.size, to_string(r.format));
  if (r.has_sha256) out += fmt::format(",\"sha256\":\"{}\"", to_hex(r.sha256));
  if (r.ok()) {
    out += fmt::format(
        ",\"width\":{},\"height\":{},\"decode_scale\":{},\"pdq\":\"{}\",\"quality\":{},\"phash\":"
        "\"{}\"",
        r.width, r.height, r.scale_denom, to_hex(r.pdq), r.quality, to_hex(r.phash));
    if (r.has_dihedral) {
      append_hash_map(out, "pdq_dihedral", r.pdq_dihedral);
      append_hash_map(out, "phash_dihedral", r.phash_dihedral);
    }
    out += ",\"error\":null";
  } else {
    out += fmt::format(",\"error\":{{\"code\":\"{}\",\"message\":{}}}", to_string(r.error->code),
                       json_quote(r.error->message));
  }
  out += '}';
  return out;
}

std::string error_counts(const std::map<ErrorCode, std::uint64_t>& by_code) {
  std::string s;
  for (const auto& [code, n] : by_code)
    s += fmt::format("{}{}: {}", s.empty() ? "" : ", ", to_string(code), n);
  return s;
}

std::string error_line(const ItemRecord& r) {
  if (r.ok()) return r.locator + ": ok";
  return fmt::format("{}: {}: {}", r.locator, to_string(r.error->code), r.error->message);
}

}  // namespace residue
