#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "residue/core.hpp"

namespace residue {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string to_hex(const Hash256& h) {
  std::string s(64, '0');
  // Most significant word first; inside a word, most significant nibble first.
  for (int k = 0; k < 64; ++k) {
    const int nibble_index = 63 - k;  // nibble 0 holds bits 0..3
    const auto word = h.words[static_cast<std::size_t>(nibble_index / 16)];
    s[static_cast<std::size_t>(k)] = kHexDigits[(word >> ((nibble_index % 16) * 4)) & 0xF];
  }
  return s;
}

std::string to_hex(Hash64 h) {
  std::string s(16, '0');
  for (int k = 0; k < 16; ++k)
    s[static_cast<std::size_t>(k)] = kHexDigits[(h.bits >> ((15 - k) * 4)) & 0xF];
  return s;
}

std::string to_hex(const Sha256& h) {
  std::string s;
  s.reserve(64);
  for (auto b : h.bytes) {
    s.push_back(kHexDigits[b >> 4]);
    s.push_back(kHexDigits[b & 0xF]);
  }
  return s;
}

std::optional<Hash256> parse_hash256(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Hash256 h;
  for (int k = 0; k < 64; ++k) {
    const int v = hex_value(hex[static_cast<std::size_t>(k)]);
    if (v < 0) return std::nullopt;
    const int nibble_index = 63 - k;
    h.words[static_cast<std::size_t>(nibble_index / 16)] |= static_cast<std::uint64_t>(v)
                                                            << ((nibble_index % 16) * 4);
  }
  return h;
}

std::optional<Hash64> parse_hash64(std::string_view hex) {
  if (hex.size() != 16) return std::nullopt;
  Hash64 h;
  for (char c : hex) {
    const int v = hex_value(c);
    if (v < 0) return std::nullopt;
    h.bits = (h.bits << 4) | static_cast<std::uint64_t>(v);
  }
  return h;
}

std::optional<Sha256> parse_sha256(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Sha256 h;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    h.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return h;
}

std::string_view to_string(Tier t) noexcept {
  switch (t) {
    case Tier::exact:
      return "exact";
    case Tier::near:
      return "near";
    case Tier::review:
      return "review";
  }
  return "unknown";
}

std::optional<Tier> parse_tier(std::string_view name) noexcept {
  for (const Tier t : {Tier::exact, Tier::near, Tier::review})
    if (to_string(t) == name) return t;
  return std::nullopt;
}

std::vector<Tier> parse_tiers(std::string_view list) {
  std::vector<Tier> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto end = std::min(list.find(',', start), list.size());
    const std::string_view name = list.substr(start, end - start);
    const auto t = parse_tier(name);
    if (!t) RESIDUE_THROW("unknown tier '" + std::string(name) + "' (tiers: exact, near, review)");
    out.push_back(*t);
    start = end + 1;
  }
  return out;
}

std::string utc_timestamp(bool compact) {
  const auto t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string_view to_string(BankView v) noexcept {
  switch (v) {
    case BankView::full:
      return "full";
    case BankView::crop90:
      return "crop90";
    case BankView::crop80:
      return "crop80";
    case BankView::crop70:
      return "crop70";
    case BankView::crop95:
      return "crop95";
    case BankView::crop85:
      return "crop85";
    case BankView::crop75:
      return "crop75";
    case BankView::strip_top:
      return "top55";
    case BankView::strip_bottom:
      return "bottom55";
    case BankView::strip_left:
      return "left55";
    case BankView::strip_right:
      return "right55";
  }
  return "unknown";
}

double crop_fraction(BankView v) noexcept {
  switch (v) {
    case BankView::full:
      return 1.0;
    case BankView::crop90:
      return 0.9;
    case BankView::crop80:
      return 0.8;
    case BankView::crop70:
      return 0.7;
    case BankView::crop95:
      return 0.95;
    case BankView::crop85:
      return 0.85;
    case BankView::crop75:
      return 0.75;
    case BankView::strip_top:
    case BankView::strip_bottom:
    case BankView::strip_left:
    case BankView::strip_right:
      return 1.0;
  }
  return 1.0;
}

std::string_view to_string(Dihedral d) noexcept {
  switch (d) {
    case Dihedral::original:
      return "original";
    case Dihedral::rot90:
      return "rot90";
    case Dihedral::rot180:
      return "rot180";
    case Dihedral::rot270:
      return "rot270";
    case Dihedral::flip_x:
      return "flipx";
    case Dihedral::flip_y:
      return "flipy";
    case Dihedral::flip_plus1:
      return "flipplus1";
    case Dihedral::flip_minus1:
      return "flipminus1";
  }
  return "?";
}

std::string_view to_string(ErrorCode c) noexcept {
  switch (c) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::io_error:
      return "io_error";
    case ErrorCode::empty:
      return "empty";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::truncated:
      return "truncated";
    case ErrorCode::corrupt:
      return "corrupt";
    case ErrorCode::too_large:
      return "too_large";
    case ErrorCode::out_of_memory:
      return "out_of_memory";
    case ErrorCode::too_small:
      return "too_small";
    case ErrorCode::internal:
      return "internal";
  }
  return "unknown";
}

Error::Error(const std::string& what, const char* file, int line)
    : std::runtime_error(what), file_(file), line_(line) {}

void assert_fail(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "residue: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace residue

namespace residue {
std::string_view to_string(ImageFormat f) noexcept {
  switch (f) {
    case ImageFormat::unknown:
      return "unknown";
    case ImageFormat::jpeg:
      return "jpeg";
    case ImageFormat::png:
      return "png";
    case ImageFormat::webp:
      return "webp";
    case ImageFormat::bmp:
      return "bmp";
    case ImageFormat::tiff:
      return "tiff";
    case ImageFormat::gif:
      return "gif";
    case ImageFormat::pnm:
      return "pnm";
  }
  return "unknown";
}
}  // namespace residue

namespace residue {
void tune_allocator_for_batch_work() noexcept {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest value glibc accepts
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}
}  // namespace residue
