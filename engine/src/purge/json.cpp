// Minimal JSON writer and parser (see json.hpp).
#include "json.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>

namespace residue::detail {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned cp = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0Fu;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07u;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto t = static_cast<unsigned char>(s[i + k]);
    if ((t & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (t & 0x3Fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp >= 0x80 && cp < 0x100) {  // a raw byte (see json.hpp)
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}
  std::optional<Json> document() {
    auto v = value(0);
    blanks();
    if (!v || p_ != t_.size()) return std::nullopt;
    return v;
  }

 private:
  void blanks() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r'))
      ++p_;
  }
  bool eat(char c) {
    blanks();
    if (p_ < t_.size() && t_[p_] == c) {
      ++p_;
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    if (t_.substr(p_, w.size()) != w) return false;
    p_ += w.size();
    return true;
  }
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string s;
    while (p_ < t_.size() && t_[p_] != '"') {
      const char c = t_[p_++];
      if (c != '\\') {
        s.push_back(c);
        continue;
      }
      if (p_ >= t_.size()) return std::nullopt;
      const char e = t_[p_++];
      switch (e) {
        case 'n':
          s.push_back('\n');
          break;
        case 't':
          s.push_back('\t');
          break;
        case 'r':
          s.push_back('\r');
          break;
        case 'b':
          s.push_back('\b');
          break;
        case 'f':
          s.push_back('\f');
          break;
        case '/':
        case '\\':
        case '"':
          s.push_back(e);
          break;
        case 'u': {
          auto hex4 = [&]() -> std::optional<unsigned> {
            if (p_ + 4 > t_.size()) return std::nullopt;
            unsigned v = 0;
            for (int k = 0; k < 4; ++k) {
              const char h = t_[p_++];
              v <<= 4;
              if (h >= '0' && h <= '9')
                v |= static_cast<unsigned>(h - '0');
              else if (h >= 'a' && h <= 'f')
                v |= static_cast<unsigned>(h - 'a' + 10);
              else if (h >= 'A' && h <= 'F')
                v |= static_cast<unsigned>(h - 'A' + 10);
              else
                return std::nullopt;
            }
            return v;
          };
          auto cp = hex4();
          if (!cp) return std::nullopt;
          if (*cp >= 0xD800 && *cp <= 0xDBFF && t_.substr(p_, 2) == "\\u") {
            p_ += 2;
            auto lo = hex4();
            if (!lo) return std::nullopt;
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*lo - 0xDC00);
          }
          append_utf8(s, *cp);
          break;
        }
        default:
          return std::nullopt;
      }
    }
    if (p_ >= t_.size()) return std::nullopt;
    ++p_;
    return s;
  }
  std::optional<Json> value(int depth) {
    if (depth > 64) return std::nullopt;
    blanks();
    if (p_ >= t_.size()) return std::nullopt;
    Json j;
    const char c = t_[p_];
    if (c == '"') {
      auto s = string();
      if (!s) return std::nullopt;
      j.type = Json::Type::string;
      j.s = std::move(*s);
    } else if (c == '{') {
      ++p_;
      j.type = Json::Type::object;
      if (eat('}')) return j;
      do {
        auto k = string();
        if (!k || !eat(':')) return std::nullopt;
        auto v = value(depth + 1);
        if (!v) return std::nullopt;
        j.fields.emplace_back(std::move(*k), std::move(*v));
      } while (eat(','));
      if (!eat('}')) return std::nullopt;
    } else if (c == '[') {
      ++p_;
      j.type = Json::Type::array;
      if (eat(']')) return j;
      do {
        auto v = value(depth + 1);
        if (!v) return std::nullopt;
        j.items.push_back(std::move(*v));
      } while (eat(','));
      if (!eat(']')) return std::nullopt;
    } else if (word("true")) {
      j.type = Json::Type::boolean;
      j.b = true;
    } else if (word("false")) {
      j.type = Json::Type::boolean;
    } else if (word("null")) {
      j.type = Json::Type::null;
    } else {
      const std::size_t start = p_;
      bool real = false;
      while (p_ < t_.size() && (std::isdigit(static_cast<unsigned char>(t_[p_])) || t_[p_] == '-' ||
                                t_[p_] == '+' || t_[p_] == '.' || t_[p_] == 'e' || t_[p_] == 'E')) {
        if (t_[p_] == '.' || t_[p_] == 'e' || t_[p_] == 'E') real = true;
        ++p_;
      }
      if (p_ == start) return std::nullopt;
      const std::string num(t_.substr(start, p_ - start));
      char* end = nullptr;
      if (real) {
        j.type = Json::Type::real;
        j.d = std::strtod(num.c_str(), &end);
      } else {
        j.type = Json::Type::integer;
        j.i = std::strtoll(num.c_str(), &end, 10);
      }
      if (end != num.c_str() + num.size()) return std::nullopt;
    }
    return j;
  }

  std::string_view t_;
  std::size_t p_ = 0;
};

}  // namespace

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else if (const std::size_t n = utf8_length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    }
  }
  out.push_back('"');
  return out;
}

const Json* Json::get(std::string_view key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return &v;
  return nullptr;
}
std::string Json::str(std::string_view key) const {
  const Json* v = get(key);
  return v && v->type == Type::string ? v->s : std::string();
}
std::int64_t Json::num(std::string_view key) const {
  const Json* v = get(key);
  return v && v->type == Type::integer ? v->i : 0;
}
bool Json::flag(std::string_view key) const {
  const Json* v = get(key);
  return v && v->type == Type::boolean && v->b;
}

std::optional<Json> parse_json(std::string_view text) {
  return Parser(text).document();
}

void JsonLine::key(std::string_view k) {
  if (text_.size() > 1) text_.push_back(',');
  text_ += json_string(k);
  text_.push_back(':');
}
JsonLine& JsonLine::add(std::string_view k, std::string_view value) {
  key(k);
  text_ += json_string(value);
  return *this;
}
JsonLine& JsonLine::add(std::string_view k, std::int64_t value) {
  key(k);
  text_ += std::to_string(value);
  return *this;
}
JsonLine& JsonLine::add(std::string_view k, std::uint64_t value) {
  key(k);
  text_ += std::to_string(value);
  return *this;
}
JsonLine& JsonLine::add(std::string_view k, bool value) {
  key(k);
  text_ += value ? "true" : "false";
  return *this;
}
JsonLine& JsonLine::raw(std::string_view k, std::string_view json) {
  key(k);
  text_ += json;
  return *this;
}

std::string json_string_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_string(v[i]);
  return out + "]";
}

std::vector<std::string> scanned_roots(const std::vector<std::string>& run_roots) {
  std::vector<std::string> out;
  for (const std::string& text : run_roots) {
    const auto list = parse_json(text);
    if (!list || list->type != Json::Type::array) continue;
    for (const Json& r : list->items)
      if (r.type == Json::Type::string && std::find(out.begin(), out.end(), r.s) == out.end())
        out.push_back(r.s);
  }
  return out;
}

}  // namespace residue::detail
