// Distributed match and dedup: shard by contiguous catalog positions, gather on rank 0.
#include <algorithm>
#include <cstring>
#include <tuple>

#include "residue/dist.hpp"

namespace residue::dist {

MatchSet match_share(const Session& s, std::span<const CatalogHash> share, const BankHashes& bank,
                     const BankHashes& allow, const MatchOptions& options,
                     std::uint64_t* bytes_moved) {
  // The bank is small beside the catalog: one broadcast of it is the whole input traffic.
  std::vector<std::uint8_t> bank_bytes =
      s.rank() == 0 ? to_bytes(bank) : std::vector<std::uint8_t>{};
  std::vector<std::uint8_t> allow_bytes =
      s.rank() == 0 ? to_bytes(allow) : std::vector<std::uint8_t>{};
  broadcast(s, bank_bytes);
  broadcast(s, allow_bytes);
  const BankHashes my_bank = bank_from_bytes(bank_bytes);
  const BankHashes my_allow = bank_from_bytes(allow_bytes);
  MatchOptions o = options;
  o.threads = s.threads(options.threads);
  if (s.rank() != 0) o.progress = nullptr;
  const MatchSet mine = residue::match_catalog(share, my_bank, my_allow, o);
  s.test_die_hook();
  const std::vector<std::uint8_t> sent = to_bytes(mine);
  if (bytes_moved != nullptr) *bytes_moved += bank_bytes.size() + allow_bytes.size() + sent.size();
  const auto parts = gather(s, sent);
  MatchSet out;
  if (s.rank() != 0) return out;
  for (const auto& bytes : parts) {
    MatchSet part = match_set_from_bytes(bytes);
    out.matches.insert(out.matches.end(), part.matches.begin(), part.matches.end());
    out.stats.items += part.stats.items;
    out.stats.candidates += part.stats.candidates;
    out.stats.allowed += part.stats.allowed;
    out.stats.bank_hashes = part.stats.bank_hashes;
    out.stats.index = part.stats.index;
    out.stats.index_seconds = std::max(out.stats.index_seconds, part.stats.index_seconds);
    out.stats.search_seconds = std::max(out.stats.search_seconds, part.stats.search_seconds);
  }
  std::sort(out.matches.begin(), out.matches.end(), [](const Match& a, const Match& b) {
    return std::tuple(a.item_id, static_cast<int>(a.tier), a.pdq_distance, a.entry_id) <
           std::tuple(b.item_id, static_cast<int>(b.tier), b.pdq_distance, b.entry_id);
  });
  return out;
}

DedupSet self_join(const Session& s, std::span<const CatalogHash> items,
                   const MatchOptions& options) {
  const Share share = share_of(items.size(), s.rank(), s.size());
  MatchOptions o = options;
  o.threads = s.threads(options.threads);
  const DedupSet mine = self_join_share(items, share.begin, share.end, o);
  s.test_die_hook();
  const auto parts = gather(s, to_bytes(std::span<const PairMatch>(mine.pairs)));
  // The slowest rank's time: every rank sends its seconds as a one-double message.
  const auto* t = reinterpret_cast<const std::uint8_t*>(&mine.seconds);
  const auto times = gather(s, std::span<const std::uint8_t>(t, sizeof(double)));
  DedupSet out;
  if (s.rank() != 0) return out;
  std::vector<PairMatch> all;
  for (const auto& bytes : parts) {
    const auto part = pairs_from_bytes(bytes);
    all.insert(all.end(), part.begin(), part.end());
  }
  out.pairs = merge_pairs(all);
  for (const auto& bytes : times) {
    double v = 0;
    if (bytes.size() == sizeof v) std::memcpy(&v, bytes.data(), sizeof v);
    out.seconds = std::max(out.seconds, v);
  }
  return out;
}

}  // namespace residue::dist
