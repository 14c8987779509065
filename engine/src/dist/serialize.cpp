// Byte layouts of the records that cross ranks (see wire.hpp).
#include "residue/dist.hpp"
#include "wire.hpp"

namespace residue::dist {

using detail::Reader;
using detail::Writer;

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

void append_bytes(std::vector<std::uint8_t>& out, const ScanResult& r) {
  Writer w(out);
  w.value(r.event);
  w.value(r.container_kind);
  w.string(r.file.path);
  w.value(r.file.size);
  w.value(r.file.mtime_ns);
  const ItemRecord& i = r.record;
  w.string(i.locator);
  w.value(i.size);
  w.value(i.format);
  w.value(i.width);
  w.value(i.height);
  w.value(i.scale_denom);
  w.value(i.sha256);
  w.value(i.has_sha256);
  w.value(i.pdq);
  w.value(i.quality);
  w.value(i.phash);
  w.value(i.has_dihedral);
  if (i.has_dihedral) {
    w.value(i.pdq_dihedral);
    w.value(i.phash_dihedral);
  }
  w.value(i.has_trim);
  w.value(i.pdq_trim);
  w.value(i.quality_trim);
  w.value(i.phash_trim);
  w.value(i.has_strips);
  if (i.has_strips) {
    w.value(i.strip_pdq);
    w.value(i.strip_quality);
    w.value(i.strip_phash);
  }
  detail::write_error(w, i.error);
  w.array(std::span<const BankHash>(r.bank_hashes));
  w.array(std::span<const std::uint8_t>(r.thumbnail));
}

std::vector<ScanResult> scan_results_from_bytes(std::span<const std::uint8_t> bytes) {
  Reader rd(bytes);
  std::vector<ScanResult> out;
  while (!rd.done()) {
    ScanResult r;
    r.event = rd.value<SourceEvent>();
    r.container_kind = rd.value<ContainerKind>();
    r.file.path = rd.string();
    r.file.size = rd.value<std::uint64_t>();
    r.file.mtime_ns = rd.value<std::int64_t>();
    ItemRecord& i = r.record;
    i.locator = rd.string();
    i.size = rd.value<std::uint64_t>();
    i.format = rd.value<ImageFormat>();
    i.width = rd.value<int>();
    i.height = rd.value<int>();
    i.scale_denom = rd.value<int>();
    i.sha256 = rd.value<Sha256>();
    i.has_sha256 = rd.value<bool>();
    i.pdq = rd.value<Hash256>();
    i.quality = rd.value<int>();
    i.phash = rd.value<Hash64>();
    i.has_dihedral = rd.value<bool>();
    if (i.has_dihedral) {
      i.pdq_dihedral = rd.value<decltype(i.pdq_dihedral)>();
      i.phash_dihedral = rd.value<decltype(i.phash_dihedral)>();
    }
    i.has_trim = rd.value<bool>();
    i.pdq_trim = rd.value<Hash256>();
    i.quality_trim = rd.value<int>();
    i.phash_trim = rd.value<Hash64>();
    i.has_strips = rd.value<bool>();
    if (i.has_strips) {
      i.strip_pdq = rd.value<decltype(i.strip_pdq)>();
      i.strip_quality = rd.value<decltype(i.strip_quality)>();
      i.strip_phash = rd.value<decltype(i.strip_phash)>();
    }
    i.error = detail::read_error(rd);
    r.bank_hashes = rd.array<BankHash>();
    r.thumbnail = rd.array<std::uint8_t>();
    out.push_back(std::move(r));
  }
  return out;
}

Share share_of(std::size_t n, int rank, int size) noexcept {
  const auto r = static_cast<std::size_t>(rank), k = static_cast<std::size_t>(size);
  return Share{n * r / k, n * (r + 1) / k};
}

}  // namespace residue::dist
