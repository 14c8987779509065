// residue/dist.hpp: the MPI driver. Shards scan, match and dedup across the ranks of an MPI job
// and brings the results to rank 0, which alone writes the catalog and the reports. The only code
// that uses MPI.
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
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "residue/catalog.hpp"
#include "residue/core.hpp"
#include "residue/match.hpp"
#include "residue/scan.hpp"
#include "residue/source.hpp"

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
  /// Threads for this rank: `requested` if > 0; else, when the rank is bound to some of the
  /// machine's cores (its CPU affinity), one per core it may use; else the cores of this machine
  /// divided by the ranks on it (at least 1), so ranks sharing a machine do not oversubscribe it.
  [[nodiscard]] int threads(int requested) const noexcept;
  /// A note for the user when this rank is bound to fewer cores than its share of the machine
  /// (Open MPI binds each rank to one core by default when a machine runs one or two ranks).
  [[nodiscard]] std::optional<std::string> binding_warning() const;

  /// Ends the whole job (MPI_Abort) after printing "residue: rank R of N: <message>" on stderr.
  /// For a run error on one rank: the other ranks may be blocked in a collective.
  [[noreturn]] void abort(const std::string& message, int exit_code) const;

  /// Test hook: if the environment variable RESIDUE_DIST_TEST_DIE_RANK equals this rank, the
  /// process exits at once with status 3 without finalizing MPI (a rank that dies).
  void test_die_hook() const;

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

/// Sends `bytes` to rank `dest` with `tag` (blocking until the buffer may be reused).
void send(const Session& s, std::span<const std::uint8_t> bytes, int dest, int tag);
/// A message received by receive().
struct Message {
  int source = -1;
  int tag = -1;
  std::vector<std::uint8_t> bytes;
};
/// The next message from any rank with any tag: waits for one when `wait`, else returns nullopt
/// when none has arrived.
[[nodiscard]] std::optional<Message> receive(const Session& s, bool wait);
/// Sends parts[r] (read on `root` only; one per rank) to each rank r; returns this rank's part.
[[nodiscard]] std::vector<std::uint8_t> scatter(const Session& s,
                                                const std::vector<std::vector<std::uint8_t>>& parts,
                                                int root = 0);

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

/// match_catalog across ranks, each holding only its own share of the catalog (`share`, e.g.
/// loaded by id range, or generated; any partition of the items across ranks). `bank` and
/// `allow` are read on rank 0 only and broadcast; each rank matches its share with `options`;
/// rank 0 returns the merged MatchSet (matches sorted as match_catalog sorts them; stats summed,
/// seconds the slowest rank's), identical in matches to match_catalog over all the items. Other
/// ranks return an empty set. Adds to `bytes_moved` (if not null) the bytes this rank received in
/// the broadcasts plus the bytes it sent in the gather.
[[nodiscard]] MatchSet match_share(const Session& s, std::span<const CatalogHash> share,
                                   const BankHashes& bank, const BankHashes& allow,
                                   const MatchOptions& options,
                                   std::uint64_t* bytes_moved = nullptr);

/// self_join across ranks: each rank queries its share against an index of all `items` (the
/// same on every rank); rank 0 returns the merged pairs, with the same (a, b, tier,
/// pdq_distance) as self_join(items, options), hence the same clusters(). `seconds` is the
/// slowest rank's. Other ranks return an empty set.
[[nodiscard]] DedupSet self_join(const Session& s, std::span<const CatalogHash> items,
                                 const MatchOptions& options);

// ---------------------------------------------------------------------------------------------
// Distributed scan. Rank 0 walks the roots and plans: the files, in walk order, are cut into N
// contiguous shares of about equal weight (bytes still to scan; a file the catalog already has
// unchanged weighs a few KiB); a TSV or RecordIO file of at least split_min_bytes that straddles a
// share boundary is cut there into byte ranges (items numbered as the whole file numbers them,
// after a counting pass each range's owner makes). Each rank scans its share with its own TBB
// pipeline and streams the results to rank 0 in batches; rank 0 hands every rank's results to
// the sink (which writes the one catalog) while it scans its own share.

/// One file in the plan: what the walk found, its weight, and whether it may be cut.
struct PlanFile {
  WalkedFile walked;
  std::uint64_t weight = 1;  // >= 1
  /// A TSV or RecordIO file (kind) that may be cut into byte ranges; weight must then be its
  /// size plus a constant.
  bool splittable = false;
  ContainerKind kind = ContainerKind::none;
};

/// A slice of the plan: a planned file, whole or one byte range of it (no copy of the file's
/// entry: rank 0 holds one per file while planning).
struct PlannedSlice {
  std::uint64_t file_index = 0;  // index into the planned files
  bool whole = true;
  std::uint64_t begin = 0, end = 0;     // the range [begin, end) when not whole
  std::uint32_t piece = 0, pieces = 1;  // this range's index among the file's ranges
};

/// The plan: for each rank, its slices in walk order; rank r's slices all precede rank r+1's.
/// Every file appears once, whole, or as ranges that partition [0, size) (no range shorter than
/// 64 KiB). Pure (no I/O): rank 0 calls it, tests check it.
[[nodiscard]] std::vector<std::vector<PlannedSlice>> plan_scan(std::span<const PlanFile> files,
                                                               int ranks);

/// A distributed scan: what every rank needs (the same on every rank: the command line), and
/// what only rank 0 reads.
struct ScanJob {
  std::vector<std::string> roots;  // rank 0
  /// Every rank's scan options. options.source.unchanged/member_done are set by scan() from
  /// `priors`; options.progress is called on rank 0 only, with every rank's items so far.
  ScanOptions options;
  bool rehash = false;
  /// Rank 0: what the catalog recorded of each file; each rank receives its files' entries.
  std::unordered_map<std::string, PriorFile> priors;
  /// TSV and RecordIO files at least this large may be cut into ranges across ranks.
  std::uint64_t split_min_bytes = std::uint64_t{256} << 20;
};

/// One rank's part in a distributed scan (for the summary and the benchmark).
struct RankScan {
  std::uint64_t planned_weight = 0;  // its share's weight in the plan
  std::uint64_t slices = 0;
  std::uint64_t items = 0;
  double seconds = 0;            // its scan_slices time
  double count_seconds = 0;      // its counting pass over cut files
  std::uint64_t bytes_sent = 0;  // plan, counts and results it sent
  std::uint64_t bytes_received = 0;
};

struct ScanOutcome {
  /// Rank 0: summed over ranks (stream counters too); seconds is the job's wall time from the
  /// start of planning. Other ranks: their own.
  ScanStats stats;
  /// Rank 0: every file the ranks' Incremental policies saw (for mark_unseen_gone).
  std::unordered_set<std::string> seen;
  std::vector<RankScan> ranks;  // rank 0: one per rank
  double plan_seconds = 0;      // rank 0: walk and plan
  std::uint64_t cut_files = 0;  // rank 0: files scanned as ranges on several ranks
  std::uint64_t cut_ranges = 0;
  std::uint64_t uncut_files = 0;  // planned as ranges, scanned whole: a range could not be counted
  double sink_seconds = 0;        // rank 0: time spent in the sink (writing the catalog)
};

/// Runs the scan on every rank (collective). `sink` is called on rank 0 only, one result at a
/// time, with every rank's results (each rank's in its stream order, ranks interleaved): the
/// results scan_roots would give over the same roots. A file cut into ranges gets one begin
/// marker (its first range's) and one end marker (after the last of its ranges has ended; none if
/// any range failed to open, so the file stays incomplete and the next run rescans it). Throws
/// residue::Error on rank-level failures; a rank that dies ends the job (mpirun reports it).
/// Test hook: with RESIDUE_DIST_TEST_DIE_RANK=R (R > 0) and RESIDUE_DIST_TEST_DIE_AFTER=K, rank R
/// exits with status 3 right after sending its first K results.
[[nodiscard]] ScanOutcome scan(const Session& s, const ScanJob& job,
                               const std::function<void(const ScanResult&)>& sink);

// Serialization of a scan's records (exposed for tests).
void append_bytes(std::vector<std::uint8_t>& out, const ScanResult& r);
[[nodiscard]] std::vector<ScanResult> scan_results_from_bytes(std::span<const std::uint8_t> bytes);

}  // namespace residue::dist
