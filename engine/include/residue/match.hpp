// residue/match.hpp: joins a removal bank with a catalog through an index, and owns the threshold
// policy that decides each match's tier.
//
// Policy (documented in the README; the accuracy benchmark measures it):
//   exact   the copy's SHA-256 equals a bank entry's.
//   near    for some bank hash of the entry (a view of the withdrawn image under a dihedral
//           transform), PDQ distance <= max_distance AND the pHash of the same view and transform
//           within phash_distance, with both PDQ qualities >= min_quality. A copy whose uniform
//           border was trimmed at scan time is also tried with its trimmed hashes.
//           Entries imported from a PDQ-only hash list have no pHash to confirm with: they reach
//           `near` only within hash_only_distance, and `review` up to max_distance.
//   review  PDQ within max_distance but pHash disagrees, or a quality below the gate.
// Purge acts on exact and near, so `near` must hold no false matches: the accuracy benchmark's
// first figure. An item that matches the allow bank in exact or near is never reported.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "residue/catalog.hpp"
#include "residue/core.hpp"
#include "residue/index.hpp"

namespace residue {

/// pHash distance that confirms a PDQ match (64-bit DCT pHash). Calibrated on the corpus: see
/// bench/README.md (accuracy) for the distribution it was chosen from.
inline constexpr int kDefaultPhashDistance = 12;
inline constexpr int kDefaultPdqDistance = 31;
inline constexpr int kDefaultMinQuality = 50;
inline constexpr int kDefaultHashOnlyDistance = 15;

struct MatchOptions {
  int max_distance = kDefaultPdqDistance;             // PDQ, inclusive; 0..128
  int min_quality = kDefaultMinQuality;               // 0..100
  int phash_distance = kDefaultPhashDistance;         // 0..32
  int hash_only_distance = kDefaultHashOnlyDistance;  // for PDQ-only entries; <= max_distance
  int threads = 0;                                    // 0 = all cores
  IndexKind index = IndexKind::automatic;
  std::size_t batch = 4096;  // queries per index call
  /// Called from the calling thread as the search advances: codes searched so far, and in all.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress{};
};

/// Throws residue::Error (invalid_argument) with a message naming the option out of range.
void validate(const MatchOptions& options);

/// One (catalog item, bank entry) pair, the best evidence found for it: the lowest tier number
/// (exact < near < review), then the smallest PDQ distance.
struct Match {
  std::int64_t item_id = 0;
  std::int64_t entry_id = 0;
  Tier tier = Tier::review;
  int pdq_distance = -1;    // -1: not compared
  int phash_distance = -1;  // -1: not compared
  Dihedral dihedral = Dihedral::original;
  BankView view = BankView::full;
  bool trimmed = false;  // matched through the copy's border-trimmed hashes
  int quality = 0;       // the copy's PDQ quality (of the hashes that matched)
};

struct MatchStats {
  std::uint64_t items = 0;        // catalog items compared
  std::uint64_t bank_hashes = 0;  // index size
  std::uint64_t candidates = 0;   // index hits before the policy
  std::uint64_t allowed = 0;      // items suppressed because they match the allow bank
  IndexKind index = IndexKind::automatic;
  double index_seconds = 0.0, search_seconds = 0.0;
};

struct MatchSet {
  std::vector<Match> matches;  // sorted by (item_id, tier, pdq_distance, entry_id)
  MatchStats stats;
};

/// Matches every catalog item against the bank. `allow` may be empty.
[[nodiscard]] MatchSet match_catalog(std::span<const CatalogHash> items, const BankHashes& bank,
                                     const BankHashes& allow, const MatchOptions& options);

/// Near-duplicate pairs within one catalog (same tiers; exact = same SHA-256), for dedup.
struct PairMatch {
  std::uint32_t a = 0, b = 0;  // positions in `items`, a < b
  Tier tier = Tier::review;
  int pdq_distance = -1;
  int phash_distance = -1;
};
struct DedupSet {
  std::vector<PairMatch> pairs;
  double seconds = 0.0;
};
/// Pairs within one catalog: exact (same SHA-256), then PDQ within max_distance of each item's
/// hash (and of its border-trimmed hash), classified like matches. Catalog items carry no
/// dihedral hashes, so flipped or rotated duplicates are not paired.
[[nodiscard]] DedupSet self_join(std::span<const CatalogHash> items, const MatchOptions& options);

/// Connected components of the pairs whose tier is in `tiers` (union-find). Each cluster's tier
/// is the weakest link used; members are sorted; clusters are ordered by their first member.
struct Cluster {
  std::vector<std::uint32_t> members;
  Tier tier = Tier::exact;
};
[[nodiscard]] std::vector<Cluster> clusters(std::span<const PairMatch> pairs, std::size_t items,
                                            std::span<const Tier> tiers);

}  // namespace residue

namespace residue {

/// self_join for a share of the queries (self_join is the share [0, n)), for distributed dedup:
/// the pairs that items at positions [begin, end) of `items` find against an index of ALL `items`
/// (exact pairs whose later member is in the share, near/review pairs whose query item is in the
/// share). Each pair keeps the best evidence this share saw. Merging the shares of a partition of
/// [0, items.size()) with merge_pairs gives the pairs of self_join(items, options) with the same
/// (a, b, tier, pdq_distance); phash_distance may differ between equally good evidence. Throws
/// like self_join; begin <= end <= items.size().
[[nodiscard]] DedupSet self_join_share(std::span<const CatalogHash> items, std::size_t begin,
                                       std::size_t end, const MatchOptions& options);

/// Merges the pair lists of several self_join_share calls: one pair per (a, b), the best tier,
/// then the smallest PDQ distance; sorted by (a, b) like self_join.
[[nodiscard]] std::vector<PairMatch> merge_pairs(std::span<const PairMatch> pairs);

}  // namespace residue
