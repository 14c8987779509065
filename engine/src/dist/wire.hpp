// Private to dist/: the byte layouts of messages between ranks. Fixed-size records are written
// as their memory images (every rank runs the same binary, see dist.hpp); strings and arrays
// carry a u64 length. A Reader throws residue::Error on a truncated or overlong buffer.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "residue/core.hpp"

namespace residue::dist::detail {

class Writer {
 public:
  Writer() = default;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  explicit Writer(std::vector<std::uint8_t>& out) : out_(&out) {}
  template <class T>
  void value(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out_->insert(out_->end(), p, p + sizeof(T));
  }
  template <class T>
  void array(std::span<const T> v) {
    static_assert(std::is_trivially_copyable_v<T>);
    value(static_cast<std::uint64_t>(v.size()));
    const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
    out_->insert(out_->end(), p, p + v.size_bytes());
  }
  void string(std::string_view v) { array(std::span<const char>(v.data(), v.size())); }
  std::vector<std::uint8_t> take() { return std::move(*out_); }

 private:
  std::vector<std::uint8_t> own_;
  std::vector<std::uint8_t>* out_ = &own_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : bytes_(b) {}
  template <class T>
  T value() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  template <class T>
  std::vector<T> array() {
    const auto n = value<std::uint64_t>();
    if (n > (bytes_.size() - at_) / sizeof(T)) RESIDUE_THROW("dist: truncated message");
    std::vector<T> v(static_cast<std::size_t>(n));
    if (!v.empty()) std::memcpy(v.data(), bytes_.data() + at_, v.size() * sizeof(T));
    at_ += v.size() * sizeof(T);
    return v;
  }
  std::string string() {
    const auto n = value<std::uint64_t>();
    if (n > bytes_.size() - at_) RESIDUE_THROW("dist: truncated message");
    std::string v(reinterpret_cast<const char*>(bytes_.data() + at_), static_cast<std::size_t>(n));
    at_ += v.size();
    return v;
  }
  [[nodiscard]] bool done() const noexcept { return at_ == bytes_.size(); }
  void finish() const {
    if (at_ != bytes_.size()) RESIDUE_THROW("dist: trailing bytes in message");
  }

 private:
  void need(std::size_t n) const {
    if (bytes_.size() - at_ < n) RESIDUE_THROW("dist: truncated message");
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
};

inline void write_error(Writer& w, const std::optional<ItemError>& e) {
  w.value(e.has_value());
  if (e) {
    w.value(e->code);
    w.string(e->message);
  }
}

inline std::optional<ItemError> read_error(Reader& r) {
  if (!r.value<bool>()) return std::nullopt;
  ItemError e;
  e.code = r.value<ErrorCode>();
  e.message = r.string();
  return e;
}

}  // namespace residue::dist::detail
