// Matching a catalog against a removal bank, and a catalog against itself (dedup): candidate
// generation through the index layer, then the tier policy (see residue/match.hpp).
#include "residue/match.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <numeric>
#include <tuple>
#include <unordered_map>

namespace residue {
namespace {

using Clock = std::chrono::steady_clock;

/// Above this many catalog codes the bank is indexed whatever its size: the multi-index tables of
/// 10M codes took 1.2 GB (bench/match_scale), so this caps them near 4 GB.
constexpr std::size_t kMaxIndexedQueries = 32'000'000;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct ShaHash {
  std::size_t operator()(const Sha256& s) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, s.bytes.data(), sizeof h);
    return h;
  }
};

/// Lower is better: tier first, then PDQ distance (not compared counts as worst), then pHash.
bool better(const Match& a, const Match& b) {
  const auto key = [](const Match& m) {
    return std::tuple(static_cast<int>(m.tier), m.pdq_distance < 0 ? 1000 : m.pdq_distance,
                      m.phash_distance < 0 ? 1000 : m.phash_distance);
  };
  return key(a) < key(b);
}

/// One query of the index: an item's own hashes, those of the picture inside its border, or those
/// of one of its strips.
enum class QueryKind : std::uint8_t { whole = 0, trimmed = 1, strip = 2 };
struct Query {
  std::uint32_t item = 0;
  QueryKind kind = QueryKind::whole;
  std::uint8_t strip = 0;  // for QueryKind::strip
};

Hash64 query_phash(const CatalogHash& c, const Query& q) {
  switch (q.kind) {
    case QueryKind::whole:
      return c.phash;
    case QueryKind::trimmed:
      return c.phash_trim;
    case QueryKind::strip:
      return c.strip_phash[q.strip];
  }
  return c.phash;
}
int query_quality(const CatalogHash& c, const Query& q) {
  switch (q.kind) {
    case QueryKind::whole:
      return c.quality;
    case QueryKind::trimmed:
      return c.quality_trim;
    case QueryKind::strip:
      return c.strip_quality[q.strip];
  }
  return c.quality;
}

/// A strip of a copy is compared only with the same strip of a withdrawn image; the whole and
/// trimmed copy only with the whole image and its crops.
bool compatible(const Query& q, BankView v) {
  if (q.kind == QueryKind::strip)
    return is_strip(v) && static_cast<int>(v) - static_cast<int>(BankView::strip_top) == q.strip;
  return !is_strip(v);
}

void make_queries(std::span<const CatalogHash> items, bool with_strips, std::vector<Query>& queries,
                  std::vector<Hash256>& codes) {
  queries.reserve(items.size());
  codes.reserve(items.size());
  for (std::uint32_t i = 0; i < items.size(); ++i) {
    queries.push_back({i, QueryKind::whole, 0});
    codes.push_back(items[i].pdq);
    if (items[i].has_trim) {
      queries.push_back({i, QueryKind::trimmed, 0});
      codes.push_back(items[i].pdq_trim);
    }
    if (with_strips && items[i].has_strips) {
      for (std::uint8_t k = 0; k < kStripViewCount; ++k) {
        queries.push_back({i, QueryKind::strip, k});
        codes.push_back(items[i].strip_pdq[k]);
      }
    }
  }
}

/// The tier of a PDQ candidate under the policy. `bank_quality` < 0 means unknown (an imported
/// hash listed without quality), which the gate lets through: the list's author vouched for it.
Tier classify(const MatchOptions& o, int pdq_d, int phash_d, bool has_phash, int copy_quality,
              int bank_quality) {
  const bool quality_ok =
      copy_quality >= o.min_quality && (bank_quality < 0 || bank_quality >= o.min_quality);
  if (!quality_ok) return Tier::review;
  if (has_phash)
    return pdq_d <= o.max_distance && phash_d <= o.phash_distance ? Tier::near : Tier::review;
  return pdq_d <= o.hash_only_distance ? Tier::near : Tier::review;
}

using PairKey = std::pair<std::uint32_t, std::int64_t>;  // (item position, entry id)
struct PairKeyHash {
  std::size_t operator()(const PairKey& k) const noexcept {
    return std::hash<std::uint64_t>()((std::uint64_t{k.first} << 40) ^
                                      static_cast<std::uint64_t>(k.second));
  }
};
using BestMap = std::unordered_map<PairKey, Match, PairKeyHash>;

void offer(BestMap& best, std::uint32_t item, const Match& m) {
  auto [it, inserted] = best.try_emplace(PairKey{item, m.entry_id}, m);
  if (!inserted && better(m, it->second)) it->second = m;
}

void collect_exact(std::span<const CatalogHash> items, const BankHashes& bank, BestMap& best) {
  if (bank.digests.empty()) return;
  std::unordered_multimap<Sha256, std::int64_t, ShaHash> by_sha;
  by_sha.reserve(bank.digests.size());
  for (const BankDigest& d : bank.digests) by_sha.emplace(d.sha256, d.entry_id);
  // The full, untransformed view gives the distances shown for an exact match.
  std::unordered_map<std::int64_t, const BankHash*> original;
  for (const BankHash& h : bank.hashes)
    if (h.view == BankView::full && h.dihedral == Dihedral::original)
      original.emplace(h.entry_id, &h);
  for (std::uint32_t i = 0; i < items.size(); ++i) {
    const CatalogHash& c = items[i];
    const auto [lo, hi] = by_sha.equal_range(c.sha256);
    for (auto it = lo; it != hi; ++it) {
      Match m{.item_id = c.item_id, .entry_id = it->second, .tier = Tier::exact};
      m.quality = c.quality;
      if (const auto o_it = original.find(it->second); o_it != original.end()) {
        if (o_it->second->has_pdq) m.pdq_distance = hamming(c.pdq, o_it->second->pdq);
        if (o_it->second->has_phash) m.phash_distance = hamming(c.phash, o_it->second->phash);
      }
      offer(best, i, m);
    }
  }
}

/// Every (item, entry) pair with evidence, the best evidence kept.
BestMap collect(std::span<const CatalogHash> items, const BankHashes& bank, const MatchOptions& o,
                MatchStats& stats) {
  BestMap best;
  collect_exact(items, bank, best);

  // near / review: PDQ candidates from the index, then the policy. Bank hashes are indexed in
  // groups: the whole image and its crops (searched by each copy's whole and trimmed hashes), and
  // each strip view on its own (searched only by the same strip of each copy), so strip queries
  // scan an index of one code per entry instead of every hash.
  constexpr int kGroups = 1 + kStripViewCount;
  const auto group_of_view = [](BankView v) {
    return is_strip(v) ? 1 + static_cast<int>(v) - static_cast<int>(BankView::strip_top) : 0;
  };
  std::array<std::vector<Hash256>, kGroups> codes;
  std::array<std::vector<std::uint32_t>, kGroups> code_to_hash;
  std::vector<std::uint32_t> phash_only;
  for (std::uint32_t k = 0; k < bank.hashes.size(); ++k) {
    const BankHash& h = bank.hashes[k];
    if (h.has_pdq) {
      const auto g = static_cast<std::size_t>(group_of_view(h.view));
      codes[g].push_back(h.pdq);
      code_to_hash[g].push_back(k);
      ++stats.bank_hashes;
    } else if (h.has_phash) {
      phash_only.push_back(k);
    }
  }
  // Strip queries are made only when the bank has strip hashes (hash lists have none).
  const bool strips = std::any_of(codes.begin() + 1, codes.end(),
                                  [](const std::vector<Hash256>& c) { return !c.empty(); });
  std::vector<Query> queries;
  std::vector<Hash256> query_codes;
  make_queries(items, strips, queries, query_codes);
  const auto group_of_query = [](const Query& q) {
    return q.kind == QueryKind::strip ? 1 + q.strip : 0;
  };
  // Progress counts the codes searched (the smaller side of each group), in chunks.
  std::array<std::size_t, kGroups> group_queries{};
  for (const Query& q : queries) ++group_queries[static_cast<std::size_t>(group_of_query(q))];
  std::uint64_t total = 0, done = 0;
  for (std::size_t g = 0; g < kGroups; ++g)
    if (!codes[g].empty()) total += std::min(group_queries[g], codes[g].size());
  constexpr std::size_t kChunk = std::size_t{1} << 18;
  for (int g = 0; g < kGroups; ++g) {
    const auto gi = static_cast<std::size_t>(g);
    if (codes[gi].empty() || group_queries[gi] == 0) continue;
    std::vector<std::uint32_t> mine;  // positions in `queries` of this group's queries
    std::vector<Hash256> mine_codes;
    mine.reserve(group_queries[gi]);
    mine_codes.reserve(group_queries[gi]);
    for (std::uint32_t i = 0; i < queries.size(); ++i) {
      if (group_of_query(queries[i]) != g) continue;
      mine.push_back(i);
      mine_codes.push_back(query_codes[i]);
    }
    // Index the larger side (bench/match_scale: indexing a 10M catalog and searching with 1.1M
    // bank codes was 4.5x faster than the reverse), unless its tables would be too large.
    const bool swap =
        mine_codes.size() > codes[gi].size() && mine_codes.size() <= kMaxIndexedQueries;
    const std::vector<Hash256>& indexed = swap ? mine_codes : codes[gi];
    const std::vector<Hash256>& searched = swap ? codes[gi] : mine_codes;
    auto t0 = Clock::now();
    const auto index = make_index(o.index, indexed.size(), o.max_distance);
    index->add(indexed);
    if (g == 0) stats.index = index->kind();
    stats.index_seconds += seconds_since(t0);
    for (std::size_t start = 0; start < searched.size(); start += kChunk) {
      const std::size_t n = std::min(kChunk, searched.size() - start);
      t0 = Clock::now();
      std::vector<IndexHit> hits = range_search_batched(
          *index, std::span(searched).subspan(start, n), o.max_distance, o.threads, o.batch);
      stats.search_seconds += seconds_since(t0);
      stats.candidates += hits.size();
      for (IndexHit& hit : hits) {
        hit.query += static_cast<std::uint32_t>(start);
        if (swap) std::swap(hit.query, hit.id);
        const Query& q = queries[mine[hit.query]];
        const CatalogHash& c = items[q.item];
        const BankHash& b = bank.hashes[code_to_hash[gi][hit.id]];
        RESIDUE_ASSERT(compatible(q, b.view));
        const int phash_d = b.has_phash ? hamming(query_phash(c, q), b.phash) : -1;
        const int quality = query_quality(c, q);
        offer(best, q.item,
              Match{.item_id = c.item_id,
                    .entry_id = b.entry_id,
                    .tier = classify(o, hit.distance, phash_d, b.has_phash, quality, b.quality),
                    .pdq_distance = hit.distance,
                    .phash_distance = phash_d,
                    .dihedral = b.dihedral,
                    .view = b.view,
                    .trimmed = q.kind == QueryKind::trimmed,
                    .quality = quality});
      }
      done += n;
      if (o.progress) o.progress(done, total);
    }
  }
  // Entries imported from pHash-only lists: a 64-bit hash alone is too weak to act on, so they
  // give `review` rows only. Exhaustive: such lists are small.
  for (const std::uint32_t k : phash_only) {
    const BankHash& b = bank.hashes[k];
    for (const Query& q : queries) {
      if (!compatible(q, b.view)) continue;
      const CatalogHash& c = items[q.item];
      const int d = hamming(query_phash(c, q), b.phash);
      if (d > o.phash_distance) continue;
      offer(best, q.item,
            Match{.item_id = c.item_id,
                  .entry_id = b.entry_id,
                  .tier = Tier::review,
                  .pdq_distance = -1,
                  .phash_distance = d,
                  .dihedral = b.dihedral,
                  .view = b.view,
                  .trimmed = q.kind == QueryKind::trimmed,
                  .quality = query_quality(c, q)});
    }
  }
  return best;
}

}  // namespace

void validate(const MatchOptions& o) {
  const auto check = [](int v, int lo, int hi, const char* name) {
    if (v < lo || v > hi)
      RESIDUE_THROW(std::string(name) + " must be between " + std::to_string(lo) + " and " +
                    std::to_string(hi) + " (got " + std::to_string(v) + ")");
  };
  check(o.max_distance, 0, 128, "--max-distance");
  check(o.min_quality, 0, 100, "--min-quality");
  check(o.phash_distance, 0, 32, "--phash-distance");
  check(o.hash_only_distance, 0, o.max_distance, "--hash-only-distance");
  check(o.threads, 0, 4096, "--threads");
  if (o.batch == 0) RESIDUE_THROW("batch must be positive");
}

MatchSet match_catalog(std::span<const CatalogHash> items, const BankHashes& bank,
                       const BankHashes& allow, const MatchOptions& options) {
  validate(options);
  MatchSet out;
  out.stats.items = items.size();
  BestMap best = collect(items, bank, options, out.stats);
  // Allow bank: an item that matches a known-legitimate image in exact or near is never reported.
  if (!allow.hashes.empty() || !allow.digests.empty()) {
    MatchStats allow_stats;
    MatchOptions quiet = options;
    quiet.progress = nullptr;  // progress reports the bank search only
    const BestMap allowed = collect(items, allow, quiet, allow_stats);
    std::vector<char> is_allowed(items.size(), 0);
    for (const auto& [key, m] : allowed)
      if (m.tier != Tier::review) is_allowed[key.first] = 1;
    for (auto it = best.begin(); it != best.end();) {
      if (is_allowed[it->first.first] != 0)
        it = best.erase(it);
      else
        ++it;
    }
    out.stats.allowed =
        static_cast<std::uint64_t>(std::count(is_allowed.begin(), is_allowed.end(), 1));
  }
  out.matches.reserve(best.size());
  for (const auto& [key, m] : best) out.matches.push_back(m);
  std::sort(out.matches.begin(), out.matches.end(), [](const Match& a, const Match& b) {
    return std::tuple(a.item_id, static_cast<int>(a.tier), a.pdq_distance, a.entry_id) <
           std::tuple(b.item_id, static_cast<int>(b.tier), b.pdq_distance, b.entry_id);
  });
  return out;
}

DedupSet self_join(std::span<const CatalogHash> items, const MatchOptions& o) {
  // The whole catalog is the one share; self_join_share keeps the first of equally good evidence
  // in the same order, so the pairs are those of a dedicated loop.
  return self_join_share(items, 0, items.size(), o);
}

std::vector<Cluster> clusters(std::span<const PairMatch> pairs, std::size_t n,
                              std::span<const Tier> tiers) {
  std::vector<std::uint32_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0u);
  std::vector<int> weakest(n, static_cast<int>(Tier::exact));
  const auto find = [&](std::uint32_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (const PairMatch& p : pairs) {
    if (std::find(tiers.begin(), tiers.end(), p.tier) == tiers.end()) continue;
    std::uint32_t a = find(p.a), b = find(p.b);
    const int w = std::max({weakest[a], weakest[b], static_cast<int>(p.tier)});
    if (a != b) {
      if (b < a) std::swap(a, b);
      parent[b] = a;
    }
    weakest[a] = w;
  }
  std::vector<std::size_t> sizes(n, 0);
  for (std::uint32_t i = 0; i < n; ++i) ++sizes[find(i)];
  std::unordered_map<std::uint32_t, std::size_t> slot;
  std::vector<Cluster> out;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t r = find(i);
    if (sizes[r] < 2) continue;
    auto [it, inserted] = slot.try_emplace(r, out.size());
    if (inserted) out.push_back(Cluster{{}, static_cast<Tier>(weakest[r])});
    out[it->second].members.push_back(i);
  }
  return out;
}

}  // namespace residue

namespace residue {

// The pairs found by the items of one share of the catalog against an index of all of it:
// self_join is the share [0, n); distributed dedup (src/dist/) merges the shares of all ranks.
DedupSet self_join_share(std::span<const CatalogHash> items, std::size_t begin, std::size_t end,
                         const MatchOptions& o) {
  validate(o);
  if (begin > end || end > items.size()) RESIDUE_THROW("self_join_share: share out of range");
  const auto t0 = Clock::now();
  std::vector<PairMatch> found;
  {
    std::unordered_map<Sha256, std::uint32_t, ShaHash> first;
    first.reserve(items.size());
    for (std::uint32_t i = 0; i < end; ++i) {
      const auto [it, inserted] = first.try_emplace(items[i].sha256, i);
      if (inserted || i < begin) continue;
      const std::uint32_t a = it->second;
      found.push_back(PairMatch{.a = a,
                                .b = i,
                                .tier = Tier::exact,
                                .pdq_distance = hamming(items[a].pdq, items[i].pdq),
                                .phash_distance = hamming(items[a].phash, items[i].phash)});
    }
  }
  std::vector<Hash256> codes(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) codes[i] = items[i].pdq;
  std::vector<Query> queries;
  std::vector<Hash256> query_codes;
  make_queries(items.subspan(begin, end - begin), /*with_strips=*/false, queries, query_codes);
  for (Query& q : queries) q.item += static_cast<std::uint32_t>(begin);
  if (!codes.empty() && !query_codes.empty()) {
    const auto index = make_index(o.index, codes.size(), o.max_distance);
    index->add(codes);
    const std::vector<IndexHit> hits =
        range_search_batched(*index, query_codes, o.max_distance, o.threads, o.batch);
    for (const IndexHit& hit : hits) {
      const Query& q = queries[hit.query];
      if (hit.id == q.item) continue;
      const CatalogHash& c = items[q.item];
      const CatalogHash& other = items[hit.id];
      const int phash_d = hamming(query_phash(c, q), other.phash);
      PairMatch p{
          .a = std::min(q.item, hit.id),
          .b = std::max(q.item, hit.id),
          .tier = classify(o, hit.distance, phash_d, true, query_quality(c, q), other.quality),
          .pdq_distance = hit.distance,
          .phash_distance = phash_d};
      if (c.sha256 == other.sha256) p.tier = Tier::exact;
      found.push_back(p);
    }
  }
  DedupSet out;
  out.pairs = merge_pairs(found);
  out.seconds = seconds_since(t0);
  return out;
}

std::vector<PairMatch> merge_pairs(std::span<const PairMatch> pairs) {
  const auto better = [](const PairMatch& x, const PairMatch& y) {
    return std::tuple(x.a, x.b, static_cast<int>(x.tier),
                      x.pdq_distance < 0 ? 1000 : x.pdq_distance) <
           std::tuple(y.a, y.b, static_cast<int>(y.tier),
                      y.pdq_distance < 0 ? 1000 : y.pdq_distance);
  };
  std::vector<PairMatch> sorted(pairs.begin(), pairs.end());
  std::stable_sort(sorted.begin(), sorted.end(), better);
  std::vector<PairMatch> out;
  for (const PairMatch& p : sorted)
    if (out.empty() || out.back().a != p.a || out.back().b != p.b) out.push_back(p);
  return out;
}

}  // namespace residue
