// Minimal JSON for the purge journal, the quarantine manifest and match report rows: a writer
// that keeps paths byte-exact and a small parser. Strings: valid UTF-8 is written as is, control
// characters escaped, and each byte of an invalid UTF-8 sequence written as \u00XX (XX >= 80);
// the parser reads \u0080..\u00ff back as those raw bytes, so any file name round-trips (this is
// also how report's json_quote writes them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace residue::detail {

/// A JSON string literal, with quotes, byte-exact for any input (see above).
[[nodiscard]] std::string json_string(std::string_view bytes);

struct Json {
  enum class Type : std::uint8_t { null, boolean, integer, real, string, array, object };
  Type type = Type::null;
  bool b = false;
  std::int64_t i = 0;
  double d = 0.0;
  std::string s;
  std::vector<Json> items;                           // array
  std::vector<std::pair<std::string, Json>> fields;  // object, in file order

  /// The field `key` of an object, or nullptr.
  [[nodiscard]] const Json* get(std::string_view key) const;
  /// The field as text ("" when absent or not a string), as an integer (0), as a bool (false).
  [[nodiscard]] std::string str(std::string_view key) const;
  [[nodiscard]] std::int64_t num(std::string_view key) const;
  [[nodiscard]] bool flag(std::string_view key) const;
};

/// Parses one JSON value (the whole text, surrounding blanks allowed); nullopt when malformed.
[[nodiscard]] std::optional<Json> parse_json(std::string_view text);

/// Every root the catalog's scans were given (Catalog::run_roots parsed), spelled as given,
/// distinct, in run order. A run whose roots are not a JSON array of strings contributes none.
[[nodiscard]] std::vector<std::string> scanned_roots(const std::vector<std::string>& run_roots);

/// Builds one JSON object line: `JsonLine().add("rec", "intent").add("id", 3).str()`.
class JsonLine {
 public:
  JsonLine& add(std::string_view key, std::string_view value);
  JsonLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  JsonLine& add(std::string_view key, const std::string& value) {
    return add(key, std::string_view(value));
  }
  JsonLine& add(std::string_view key, std::int64_t value);
  JsonLine& add(std::string_view key, std::uint64_t value);
  JsonLine& add(std::string_view key, int value) { return add(key, std::int64_t{value}); }
  JsonLine& add(std::string_view key, bool value);
  /// A value already rendered as JSON (an array or object).
  JsonLine& raw(std::string_view key, std::string_view json);
  [[nodiscard]] std::string str() const { return text_ + "}"; }

 private:
  void key(std::string_view k);
  std::string text_ = "{";
};

/// A JSON array of strings.
[[nodiscard]] std::string json_string_list(const std::vector<std::string>& v);

}  // namespace residue::detail
