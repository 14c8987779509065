// residue/index.hpp: Hamming range search over 256-bit PDQ hashes, behind our own interface.
//
// Every index answers the same question: every (query, id) pair whose Hamming distance is at most
// `max_distance` (inclusive; FAISS's own range search is strict and is adapted inside). Results
// are exact for every kind: the brute-force index is the reference oracle, and the tests compare
// every other kind against it on the same inputs. No FAISS header appears outside
// engine/src/index/.
//
// Ids are positions in add order (0, 1, 2, ...). Indexes are built once and then only read:
// range_search is const and may be called from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "residue/core.hpp"

namespace residue {

enum class IndexKind : std::uint8_t {
  automatic,        // chosen from the size and the radius (see make_index)
  brute_force,      // exhaustive scan with hardware popcount: the reference
  multi_index,      // our exact multi-index hashing (substring tables, pigeonhole + bit flips)
  faiss_flat,       // faiss::IndexBinaryFlat
  faiss_hash,       // faiss::IndexBinaryHash
  faiss_multihash,  // faiss::IndexBinaryMultiHash, configured so the pigeonhole makes it exact
};

[[nodiscard]] std::string_view to_string(IndexKind k) noexcept;
/// "auto", "brute", "mih", "faiss-flat", "faiss-hash", "faiss-multihash"; nullopt when unknown.
[[nodiscard]] std::optional<IndexKind> parse_index_kind(std::string_view name) noexcept;

struct IndexHit {
  std::uint32_t query = 0;  // position in the queries span
  std::uint32_t id = 0;     // position in add order
  std::int32_t distance = 0;
  friend auto operator<=>(const IndexHit&, const IndexHit&) = default;
};

class HashIndex {
 public:
  virtual ~HashIndex() = default;
  /// Appends codes; their ids continue from size().
  virtual void add(std::span<const Hash256> codes) = 0;
  [[nodiscard]] virtual std::size_t size() const noexcept = 0;
  [[nodiscard]] virtual IndexKind kind() const noexcept = 0;
  /// Appends to `out` every (query, id) with hamming <= max_distance, in no particular order.
  /// `max_distance` must not exceed the radius the index was made for. Single-threaded: the
  /// caller parallelises over batches (see range_search_batched).
  virtual void range_search(std::span<const Hash256> queries, int max_distance,
                            std::vector<IndexHit>& out) const = 0;
  /// Bytes the index holds (codes + tables), for reports and benchmarks.
  [[nodiscard]] virtual std::size_t memory_bytes() const noexcept = 0;
};

/// Makes an empty index of `kind` that will answer radii up to `max_radius` exactly.
/// `expected_size` (codes to be added) lets `automatic` choose: brute force for small sets,
/// multi-index hashing beyond (the threshold depends on the CPU's popcount; see index.cpp), and
/// brute force for any radius above 63. Throws residue::Error for a radius outside 0..256 or one
/// the kind cannot answer exactly: multi_index and faiss_multihash up to 63, faiss_hash up to 8
/// (IndexBinaryHash keys on the first b bits only; beyond 8 exactness costs more than a scan).
/// Cost: multi-index hashing's per-query work grows far slower than the indexed set, so index the
/// larger side of a join and query with the smaller (bench/README.md, "match_scale").
[[nodiscard]] std::unique_ptr<HashIndex> make_index(IndexKind kind, std::size_t expected_size,
                                                    int max_radius);

/// Runs `index.range_search` over batches of `queries` on `threads` TBB workers (0 = all cores),
/// with OpenMP inside FAISS held to one thread per worker so the two never oversubscribe.
/// Returns the hits sorted by (query, id).
[[nodiscard]] std::vector<IndexHit> range_search_batched(const HashIndex& index,
                                                         std::span<const Hash256> queries,
                                                         int max_distance, int threads,
                                                         std::size_t batch = 4096);

}  // namespace residue
