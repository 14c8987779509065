// FAISS 1.7.3 binary indexes behind HashIndex. The only file that includes a FAISS header.
//
// FAISS's range search is strict (distance < radius), so max_distance + 1 is passed, here and
// nowhere else. FAISS parallelises range_search with OpenMP; our contract is one thread per call
// (range_search_batched parallelises over batches with TBB), so each call holds the calling
// thread's OpenMP team size to 1 and restores it afterwards.
// Codes are handed over as the 32 bytes of Hash256::words in memory order; Hamming distance does
// not depend on the byte order as long as both sides use the same one.
#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "index_kinds.hpp"

namespace residue::detail {
namespace {

constexpr int kBits = 256;
constexpr std::size_t kCodeBytes = 32;

class OmpSingleThread {
 public:
  OmpSingleThread() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~OmpSingleThread() { omp_set_num_threads(saved_); }
  OmpSingleThread(const OmpSingleThread&) = delete;
  OmpSingleThread& operator=(const OmpSingleThread&) = delete;

 private:
  int saved_;
};

// IndexBinaryMultiHash reads each b-bit key as a uint64 at byte offset ho / 8, i.e. up to 7
// bytes past the last code of the array (faiss/IndexBinaryHash.cpp, add and
// search_1_query_multihash). Copy into a buffer with that slack so the read stays in bounds.
std::vector<std::uint8_t> padded_bytes(std::span<const Hash256> codes) {
  std::vector<std::uint8_t> bytes(codes.size() * kCodeBytes + 8, 0);
  if (!codes.empty()) std::memcpy(bytes.data(), codes.data(), codes.size() * kCodeBytes);
  return bytes;
}

class FaissIndex final : public HashIndex {
 public:
  FaissIndex(IndexKind kind, int max_radius, std::unique_ptr<faiss::IndexBinary> index,
             std::size_t (*table_bytes)(const faiss::IndexBinary&))
      : kind_(kind), max_radius_(max_radius), index_(std::move(index)), table_bytes_(table_bytes) {}

  void add(std::span<const Hash256> codes) override {
    RESIDUE_THROW_IF_NOT(size() + codes.size() <= std::size_t{UINT32_MAX},
                         "index: more than 2^32 - 1 codes");
    if (codes.empty()) return;
    const auto bytes = padded_bytes(codes);
    index_->add(static_cast<faiss::Index::idx_t>(codes.size()), bytes.data());
  }
  [[nodiscard]] std::size_t size() const noexcept override {
    return static_cast<std::size_t>(index_->ntotal);
  }
  [[nodiscard]] IndexKind kind() const noexcept override { return kind_; }
  void range_search(std::span<const Hash256> queries, int max_distance,
                    std::vector<IndexHit>& out) const override {
    RESIDUE_THROW_IF_NOT(max_distance >= 0 && max_distance <= max_radius_,
                         "index: max_distance outside 0..max_radius");
    if (queries.empty() || index_->ntotal == 0) return;
    const auto bytes = padded_bytes(queries);
    faiss::RangeSearchResult result(static_cast<faiss::Index::idx_t>(queries.size()));
    {
      OmpSingleThread one;
      // FAISS's radius is strict: "only distances < radius are returned" (faiss/IndexBinary.h).
      index_->range_search(static_cast<faiss::Index::idx_t>(queries.size()), bytes.data(),
                           max_distance + 1, &result);
    }
    for (std::size_t q = 0; q < queries.size(); ++q) {
      for (std::size_t j = result.lims[q]; j < result.lims[q + 1]; ++j) {
        out.push_back({static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(result.labels[j]),
                       static_cast<std::int32_t>(result.distances[j])});
      }
    }
  }
  [[nodiscard]] std::size_t memory_bytes() const noexcept override {
    return size() * kCodeBytes + table_bytes_(*index_);
  }

 private:
  IndexKind kind_;
  int max_radius_;
  std::unique_ptr<faiss::IndexBinary> index_;
  std::size_t (*table_bytes_)(const faiss::IndexBinary&);
};

// Hash-table footprints are estimates: libstdc++ unordered_map nodes (key + value + next pointer,
// ~ 48 bytes with the vector header) plus the bucket array, plus the id vectors' contents.
std::size_t no_tables(const faiss::IndexBinary&) {
  return 0;
}
std::size_t hash_tables(const faiss::IndexBinary& index) {
  const auto& h = dynamic_cast<const faiss::IndexBinaryHash&>(index);
  return h.invlists.size() * 64 + static_cast<std::size_t>(h.ntotal) * 8;
}
std::size_t multihash_tables(const faiss::IndexBinary& index) {
  const auto& h = dynamic_cast<const faiss::IndexBinaryMultiHash&>(index);
  std::size_t bytes = 0;
  for (const auto& map : h.maps) bytes += map.size() * 56 + map.bucket_count() * 8;
  return bytes + static_cast<std::size_t>(h.ntotal) * static_cast<std::size_t>(h.nhash) * 8;
}

double binomial_sum(int n, int k) {  // sum_{j <= k} C(n, j)
  double c = 1, sum = 1;
  for (int j = 1; j <= k && j <= n; ++j) {
    c = c * (n - j + 1) / j;
    sum += c;
  }
  return sum;
}

}  // namespace

std::unique_ptr<HashIndex> make_faiss_flat_index(int max_radius) {
  return std::make_unique<FaissIndex>(IndexKind::faiss_flat, max_radius,
                                      std::make_unique<faiss::IndexBinaryFlat>(kBits), no_tables);
}

// IndexBinaryHash buckets codes by their first b bits and probes every key within nflip bits of
// the query's. A code within radius r differs from the query in at most min(r, b) of those bits,
// so nflip = min(r, b) is exact, at sum_{k <= nflip} C(b, k) probes per query. b is chosen to
// minimise probes + codes scanned for the expected size; kMaxFaissHashRadius bounds r because
// beyond it even the best b scans more than IndexBinaryFlat would.
std::unique_ptr<HashIndex> make_faiss_hash_index(int max_radius, std::size_t expected_size) {
  const double n = static_cast<double>(std::max<std::size_t>(expected_size, 1));
  int best_b = 1;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int b = 1; b <= 32; ++b) {
    const double probes = binomial_sum(b, std::min(max_radius, b));
    const double cost = probes + probes * n / std::ldexp(1.0, b);
    if (cost < best_cost) best_cost = cost, best_b = b;
  }
  auto index = std::make_unique<faiss::IndexBinaryHash>(kBits, best_b);
  index->nflip = std::min(max_radius, best_b);
  return std::make_unique<FaissIndex>(IndexKind::faiss_hash, max_radius, std::move(index),
                                      hash_tables);
}

// IndexBinaryMultiHash(d=256, nhash=16, b=16): 16 disjoint 16-bit keys. Pigeonhole: a code within
// r of the query is within floor(r / 16) bits of it on at least one key, so nflip = floor(r / 16)
// is exact (r <= 31: one flip, 17 probes per table).
std::unique_ptr<HashIndex> make_faiss_multihash_index(int max_radius) {
  constexpr int kHashes = 16, kKeyBits = 16;
  auto index = std::make_unique<faiss::IndexBinaryMultiHash>(kBits, kHashes, kKeyBits);
  index->nflip = max_radius / kHashes;
  return std::make_unique<FaissIndex>(IndexKind::faiss_multihash, max_radius, std::move(index),
                                      multihash_tables);
}

}  // namespace residue::detail
