// Byte layouts of the records that cross ranks: a count, then the records' memory images. Every
// record is trivially copyable and all ranks run the same binary (see dist.hpp).
#include <cstring>
#include <type_traits>

#include "residue/dist.hpp"

namespace residue::dist {
namespace {

class Writer {
 public:
  template <class T>
  void value(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  template <class T>
  void array(std::span<const T> v) {
    static_assert(std::is_trivially_copyable_v<T>);
    value(static_cast<std::uint64_t>(v.size()));
    const auto* p = reinterpret_cast<const std::uint8_t*>(v.data());
    bytes_.insert(bytes_.end(), p, p + v.size_bytes());
  }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
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

}  // namespace

std::vector<std::uint8_t> to_bytes(const BankHashes& bank) {
  Writer w;
  w.array(std::span<const BankHash>(bank.hashes));
  w.array(std::span<const BankDigest>(bank.digests));
  return w.take();
}

BankHashes bank_from_bytes(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  BankHashes b;
  b.hashes = r.array<BankHash>();
  b.digests = r.array<BankDigest>();
  r.finish();
  return b;
}

std::vector<std::uint8_t> to_bytes(const MatchSet& set) {
  Writer w;
  w.value(set.stats);
  w.array(std::span<const Match>(set.matches));
  return w.take();
}

MatchSet match_set_from_bytes(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  MatchSet s;
  s.stats = r.value<MatchStats>();
  s.matches = r.array<Match>();
  r.finish();
  return s;
}

std::vector<std::uint8_t> to_bytes(std::span<const PairMatch> pairs) {
  Writer w;
  w.array(pairs);
  return w.take();
}

std::vector<PairMatch> pairs_from_bytes(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  auto pairs = r.array<PairMatch>();
  r.finish();
  return pairs;
}

Share share_of(std::size_t n, int rank, int size) noexcept {
  const auto r = static_cast<std::size_t>(rank), k = static_cast<std::size_t>(size);
  return Share{n * r / k, n * (r + 1) / k};
}

}  // namespace residue::dist
