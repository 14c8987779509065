// One-line renderings of ItemRecords: the reference-CLI-shaped CSV line, JSON lines, error lines.
#include <fmt/format.h>

#include "residue/report.hpp"
#include "utf8.hpp"

namespace residue {
namespace {

using detail::utf8_sequence;

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
