// CSV and JSON-lines renderings of match and dedup rows. The column names are a public interface
// (scripts read them): the header, the CSV fields and the JSON keys come from one list per row
// type, so they cannot drift apart.
#include <fmt/format.h>

#include <array>
#include <string>
#include <string_view>

#include "residue/report.hpp"

namespace residue {
namespace {

constexpr std::array<std::string_view, 13> kMatchColumns = {
    "locator",  "container", "bank_locator", "bank_label", "tier", "pdq_distance", "phash_distance",
    "dihedral", "quality",   "sha256",       "size",       "view", "trimmed"};

constexpr std::array<std::string_view, 12> kDedupColumns = {
    "cluster",        "tier",  "locator", "container", "keeper", "pdq_distance",
    "phash_distance", "width", "height",  "quality",   "size",   "sha256"};

/// One value of a row, already typed for both renderings.
struct Field {
  enum class Kind { text, number, boolean, null } kind;
  std::string value;  // the bytes (text) or the digits (number); "true"/"false" for boolean
};

Field text(std::string_view s) {
  return {Field::Kind::text, std::string(s)};
}
Field number(std::uint64_t v) {
  return {Field::Kind::number, fmt::format("{}", v)};
}
Field number(int v) {
  return {Field::Kind::number, fmt::format("{}", v)};
}
/// A Hamming distance; -1 (not compared) has no value.
Field distance(int d) {
  return d < 0 ? Field{Field::Kind::null, {}} : number(d);
}
Field boolean(bool b) {
  return {Field::Kind::boolean, b ? "true" : "false"};
}

/// RFC 4180: quoted (with doubled quotes) when the field holds a comma, a quote, CR or LF; every
/// other byte is written as it is, so a file name that is not UTF-8 survives the round trip.
void append_csv_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

template <std::size_t N>
std::string csv_header(const std::array<std::string_view, N>& columns) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += ',';
    out += columns[i];
  }
  return out;
}

/// A null is an empty field; booleans are true/false as in the JSON rendering.
template <std::size_t N>
std::string csv_line(const std::array<Field, N>& fields) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += ',';
    if (fields[i].kind != Field::Kind::null) append_csv_field(out, fields[i].value);
  }
  return out;
}

template <std::size_t N>
std::string json_line(const std::array<std::string_view, N>& columns,
                      const std::array<Field, N>& fields) {
  std::string out = "{";
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += columns[i];
    out += "\":";
    switch (fields[i].kind) {
      case Field::Kind::text:
        out += json_quote(fields[i].value);
        break;
      case Field::Kind::null:
        out += "null";
        break;
      case Field::Kind::number:
      case Field::Kind::boolean:
        out += fields[i].value;
        break;
    }
  }
  out += '}';
  return out;
}

std::array<Field, kMatchColumns.size()> match_fields(const MatchRow& r) {
  return {text(r.locator),
          text(r.container),
          text(r.bank_locator),
          text(r.bank_label),
          text(to_string(r.tier)),
          distance(r.pdq_distance),
          distance(r.phash_distance),
          text(to_string(r.dihedral)),
          number(r.quality),
          text(r.sha256),
          number(r.size),
          text(to_string(r.view)),
          boolean(r.trimmed)};
}

std::array<Field, kDedupColumns.size()> dedup_fields(const DedupRow& r) {
  return {number(r.cluster),          text(to_string(r.tier)), text(r.locator),
          text(r.container),          boolean(r.keeper),       distance(r.pdq_distance),
          distance(r.phash_distance), number(r.width),         number(r.height),
          number(r.quality),          number(r.size),          text(r.sha256)};
}

}  // namespace

std::string match_csv_header() {
  return csv_header(kMatchColumns);
}
std::string match_csv_line(const MatchRow& row) {
  return csv_line(match_fields(row));
}
std::string match_json_line(const MatchRow& row) {
  return json_line(kMatchColumns, match_fields(row));
}

std::string dedup_csv_header() {
  return csv_header(kDedupColumns);
}
std::string dedup_csv_line(const DedupRow& row) {
  return csv_line(dedup_fields(row));
}
std::string dedup_json_line(const DedupRow& row) {
  return json_line(kDedupColumns, dedup_fields(row));
}

}  // namespace residue
