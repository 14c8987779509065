// residue/dist.hpp: the MPI driver. Shards match and dedup across the ranks of an MPI job and
// gathers the results on rank 0, which alone writes reports. The only code that uses MPI.
//
// Contract: every rank of MPI_COMM_WORLD calls the same functions in the same order (they are
// collective). Results are valid on rank 0 only; other ranks get empty values. Shares are
// contiguous ranges of catalog positions, so gathered results concatenate in rank order.
// Byte buffers are this build's in-memory layout: all ranks must run the same residue binary
// on machines of one architecture. Not thread-safe: call from the main thread.
// When residue is built without MPI, Session's constructor throws residue::Error
// ("this residue was built without MPI") and available() is false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "residue/catalog.hpp"
#include "residue/core.hpp"
#include "residue/match.hpp"

namespace residue::dist {

/// True when this residue was built with MPI.
[[nodiscard]] bool available() noexcept;

/// MPI_Init_thread .. MPI_Finalize (RAII); one per process. Throws residue::Error without MPI.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }
  /// Ranks running on this machine (MPI_COMM_TYPE_SHARED), for sizing thread pools.
  [[nodiscard]] int local_size() const noexcept { return local_size_; }
  /// Threads for this rank: `requested` if > 0, else the cores of this machine divided by the
  /// ranks on it (at least 1), so ranks sharing a machine do not oversubscribe it.
  [[nodiscard]] int threads(int requested) const noexcept;

  /// Ends the whole job (MPI_Abort) after printing "residue: rank R of N: <message>" on stderr.
  /// For a run error on one rank: the other ranks may be blocked in a collective.
  [[noreturn]] void abort(const std::string& message, int exit_code) const;

  /// Test hook: if the environment variable RESIDUE_DIST_TEST_DIE_RANK equals this rank, the
  /// process exits at once with status 3 without finalizing MPI (a rank that dies).
  void test_die_hook() const;

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

/// [begin, end) of rank `rank`'s contiguous share of `n` items split as evenly as possible.
struct Share {
  std::size_t begin = 0, end = 0;
};
[[nodiscard]] Share share_of(std::size_t n, int rank, int size) noexcept;

/// Broadcasts `bytes` from `root` to every rank (resizing the others' buffers).
void broadcast(const Session& s, std::vector<std::uint8_t>& bytes, int root = 0);
/// Gathers every rank's `bytes` on `root`, in rank order; other ranks get an empty vector.
[[nodiscard]] std::vector<std::vector<std::uint8_t>> gather(const Session& s,
                                                            std::span<const std::uint8_t> bytes,
                                                            int root = 0);

// Serialization of the records that cross ranks (throws residue::Error on a malformed buffer).
[[nodiscard]] std::vector<std::uint8_t> to_bytes(const BankHashes& bank);
[[nodiscard]] BankHashes bank_from_bytes(std::span<const std::uint8_t> bytes);
[[nodiscard]] std::vector<std::uint8_t> to_bytes(const MatchSet& set);
[[nodiscard]] MatchSet match_set_from_bytes(std::span<const std::uint8_t> bytes);
[[nodiscard]] std::vector<std::uint8_t> to_bytes(std::span<const PairMatch> pairs);
[[nodiscard]] std::vector<PairMatch> pairs_from_bytes(std::span<const std::uint8_t> bytes);

/// match_catalog across ranks. Every rank passes the same `items` (e.g. each opened the catalog
/// read-only); `bank` and `allow` are read on rank 0 only and broadcast. Each rank matches its
/// share of `items` with `options`; rank 0 returns the merged MatchSet (matches sorted as
/// match_catalog sorts them; stats summed, seconds the slowest rank's), identical in matches to
/// match_catalog(items, bank, allow, options). Other ranks return an empty set.
[[nodiscard]] MatchSet match_catalog(const Session& s, std::span<const CatalogHash> items,
                                     const BankHashes& bank, const BankHashes& allow,
                                     const MatchOptions& options);

/// self_join across ranks: each rank queries its share against an index of all `items` (the
/// same on every rank); rank 0 returns the merged pairs, with the same (a, b, tier,
/// pdq_distance) as self_join(items, options), hence the same clusters(). `seconds` is the
/// slowest rank's. Other ranks return an empty set.
[[nodiscard]] DedupSet self_join(const Session& s, std::span<const CatalogHash> items,
                                 const MatchOptions& options);

}  // namespace residue::dist
