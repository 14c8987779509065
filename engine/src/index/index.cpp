// make_index (kind and radius validation, the automatic choice) and range_search_batched.
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <optional>
#include <string>

#include "index_kinds.hpp"

namespace residue {
namespace {

// `automatic` scans below these sizes and uses multi-index hashing from there on (radius <= 63).
// Measured on the 2-core EPYC (Zen 4 class, AVX-512 VPOPCNTDQ), radius 31, uniform random codes,
// one thread, queries/s of the scan vs multi-index hashing: 4k codes 1.37M vs 0.78M, 16k 434k vs
// 483k, 65k 111k vs 128k, 262k 27.1k vs 27.1k, 1.1M 4.5k vs 9.3k (10M: see bench/README.md,
// "match_scale"). With VPOPCNTDQ the two are level from ~16k to ~262k codes and the scan needs no
// tables, so it keeps that range; with only scalar POPCNT the scan is ~10x slower (4k codes:
// 170k queries/s) and multi-index hashing wins from a few thousand codes.
constexpr std::size_t kAutoScanBelowVpopcnt = 262144;
constexpr std::size_t kAutoScanBelowScalar = 4096;

std::size_t auto_scan_below() noexcept {
  return detail::best_scan_kernel() == detail::ScanKernel::avx512 ? kAutoScanBelowVpopcnt
                                                                  : kAutoScanBelowScalar;
}

}  // namespace

std::string_view to_string(IndexKind k) noexcept {
  switch (k) {
    case IndexKind::automatic:
      return "auto";
    case IndexKind::brute_force:
      return "brute";
    case IndexKind::multi_index:
      return "mih";
    case IndexKind::faiss_flat:
      return "faiss-flat";
    case IndexKind::faiss_hash:
      return "faiss-hash";
    case IndexKind::faiss_multihash:
      return "faiss-multihash";
  }
  return "?";
}

std::optional<IndexKind> parse_index_kind(std::string_view name) noexcept {
  for (IndexKind k : {IndexKind::automatic, IndexKind::brute_force, IndexKind::multi_index,
                      IndexKind::faiss_flat, IndexKind::faiss_hash, IndexKind::faiss_multihash})
    if (name == to_string(k)) return k;
  return std::nullopt;
}

std::unique_ptr<HashIndex> make_index(IndexKind kind, std::size_t expected_size, int max_radius) {
  using namespace detail;
  RESIDUE_THROW_IF_NOT(
      max_radius >= 0 && max_radius <= kMaxHammingDistance,
      "index: max_radius must be within 0..256, got " + std::to_string(max_radius));
  if (kind == IndexKind::automatic) {
    kind = expected_size < auto_scan_below() || max_radius > kMaxMultiIndexRadius
               ? IndexKind::brute_force
               : IndexKind::multi_index;
  }
  const auto too_far = [&](int limit) {
    return "index: " + std::string(to_string(kind)) + " is exact only up to radius " +
           std::to_string(limit) + ", got " + std::to_string(max_radius);
  };
  switch (kind) {
    case IndexKind::automatic:
    case IndexKind::brute_force:
      return make_brute_force_index(max_radius);
    case IndexKind::multi_index:
      RESIDUE_THROW_IF_NOT(max_radius <= kMaxMultiIndexRadius, too_far(kMaxMultiIndexRadius));
      return make_multi_index(max_radius);
    case IndexKind::faiss_flat:
      return make_faiss_flat_index(max_radius);
    case IndexKind::faiss_hash:
      RESIDUE_THROW_IF_NOT(max_radius <= kMaxFaissHashRadius, too_far(kMaxFaissHashRadius));
      return make_faiss_hash_index(max_radius, expected_size);
    case IndexKind::faiss_multihash:
      RESIDUE_THROW_IF_NOT(max_radius <= kMaxMultiIndexRadius, too_far(kMaxMultiIndexRadius));
      return make_faiss_multihash_index(max_radius);
  }
  RESIDUE_THROW("index: unknown kind");
}

std::vector<IndexHit> range_search_batched(const HashIndex& index, std::span<const Hash256> queries,
                                           int max_distance, int threads, std::size_t batch) {
  RESIDUE_THROW_IF_NOT(queries.size() <= std::size_t{UINT32_MAX},
                       "index: more than 2^32 - 1 queries in one search");
  RESIDUE_THROW_IF_NOT(threads >= 0, "index: threads must be >= 0");
  batch = std::max<std::size_t>(batch, 1);
  const std::size_t nbatches = (queries.size() + batch - 1) / batch;
  std::vector<std::vector<IndexHit>> per_batch(nbatches);

  const int workers = threads > 0 ? threads : tbb::info::default_concurrency();
  std::optional<tbb::global_control> allow;
  if (workers > tbb::info::default_concurrency())
    allow.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(workers));
  tbb::task_arena arena(workers);
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nbatches, 1),
                      [&](const tbb::blocked_range<std::size_t>& range) {
                        for (std::size_t b = range.begin(); b != range.end(); ++b) {
                          const std::size_t first = b * batch;
                          const auto part =
                              queries.subspan(first, std::min(batch, queries.size() - first));
                          auto& hits = per_batch[b];
                          index.range_search(part, max_distance, hits);
                          for (auto& h : hits) h.query += static_cast<std::uint32_t>(first);
                          std::sort(hits.begin(), hits.end());
                        }
                      });
  });

  std::size_t total = 0;
  for (const auto& hits : per_batch) total += hits.size();
  std::vector<IndexHit> out;
  out.reserve(total);
  for (auto& hits : per_batch) {
    out.insert(out.end(), hits.begin(), hits.end());
    std::vector<IndexHit>().swap(hits);
  }
  return out;  // batches are disjoint ranges of queries in order, each sorted: sorted overall
}

}  // namespace residue
