// residue/catalog.hpp: the durable store of what a scan found. A real SQLite database (WAL mode),
// one row per item (locator, container, size, SHA-256, format, size in pixels, PDQ + quality,
// pHash, status and error), one row per plain file or container with the size and mtime that
// incremental scans compare, and a runs table. The only layer that speaks SQL.
//
// Safety: the schema is versioned in a residue_meta table and checked on open; a file that is not
// a residue database of the expected role, or is from a newer schema, is refused with a
// residue::Error and left untouched. Writes are batched in transactions; each item row and its
// file's incremental state are committed together, so a process killed at any point (SIGKILL)
// leaves a valid catalog, and a rerun redoes only what was not committed.
// Thread-safety: a Catalog is used from one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "residue/core.hpp"

namespace residue {

inline constexpr int kCatalogSchemaVersion = 1;

/// What kind of residue database a file is. Banks (withdrawn images) share the catalog's schema
/// conventions; a catalog opened as a bank (or the reverse) is refused.
enum class DatabaseRole : std::uint8_t { catalog, bank };

/// Incremental state of one plain file or container, as the last scan committed it.
struct FileState {
  std::string kind;  // "file", "tar", "zip", "tsv", "recordio"
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool complete = false;  // every item of it is committed (a container may be partial after a kill)
};

struct RunSummary {
  std::uint64_t items = 0;  // items hashed or failed in this run
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t skipped = 0;  // unchanged files and containers skipped
  std::uint64_t gone = 0;     // items marked gone
  std::uint64_t bytes = 0;
};

/// Counts for `residue catalog stats`.
struct CatalogStats {
  std::uint64_t items = 0;
  std::uint64_t gone = 0;
  std::map<std::string, std::uint64_t> by_status;     // "ok", "corrupt", ... (present items)
  std::map<std::string, std::uint64_t> by_format;     // present ok items
  std::map<std::string, std::uint64_t> by_container;  // "file", "tar", ... (present items)
  std::uint64_t runs = 0;
  std::string last_run_started, last_run_finished;
};

/// One hash row for matching: compact, loaded in bulk.
struct CatalogHash {
  std::int64_t item_id = 0;
  Hash256 pdq;
  Hash64 phash;
  Sha256 sha256;
  std::int16_t quality = 0;
  /// Hashes of the image with its uniform border trimmed, when scan found one.
  bool has_trim = false;
  std::int16_t quality_trim = 0;
  Hash256 pdq_trim;
  Hash64 phash_trim;
};

/// One hash of a bank entry: a view of the withdrawn image under a dihedral transform. Entries
/// imported from hash lists carry only what the list had (has_pdq / has_phash).
struct BankHash {
  std::int64_t entry_id = 0;
  BankView view = BankView::full;
  Dihedral dihedral = Dihedral::original;
  bool has_pdq = false;
  bool has_phash = false;
  std::int16_t quality = 0;
  Hash256 pdq;
  Hash64 phash;
};
/// The SHA-256 of a bank entry's bytes (or an imported SHA-256), for the exact tier.
struct BankDigest {
  std::int64_t entry_id = 0;
  Sha256 sha256;
};
/// Everything matching needs from a bank, loaded in bulk.
struct BankHashes {
  std::vector<BankHash> hashes;
  std::vector<BankDigest> digests;
};

class Catalog {
 public:
  enum class Mode : std::uint8_t { read_only, read_write };

  /// Opens (read_write creates it when absent). Throws residue::Error when the file is not a
  /// residue database of this role, has a newer schema, or cannot be opened.
  Catalog(const std::string& path, Mode mode, DatabaseRole role = DatabaseRole::catalog);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  [[nodiscard]] const std::string& path() const noexcept;

  // --- runs
  std::int64_t begin_run(std::string_view roots_json, std::string_view options_json);
  void finish_run(std::int64_t run_id, const RunSummary& summary, std::string_view status);

  // --- incremental state
  /// Every plain file and container the catalog knows, by path.
  [[nodiscard]] std::unordered_map<std::string, FileState> load_file_states();
  /// Locators already committed for one file (used to resume a partially scanned container).
  [[nodiscard]] std::unordered_set<std::string> load_locators(std::string_view file_path);

  // --- writing (batched: call commit() or let the batch size trigger it)
  /// Adds or replaces the item row for r.locator. `file_path` is the plain file or the container
  /// the item lives in. For a plain file, its FileState is recorded (complete) in the same batch.
  void put_item(const ItemRecord& r, std::string_view file_path, std::string_view container,
                std::string_view kind, std::int64_t file_mtime_ns, std::uint64_t file_size,
                std::int64_t run_id);
  /// Records a container's state: begin (complete=false) before its items, end (complete=true)
  /// after the last; `end` also marks gone the container's items not written by this run.
  void put_container(std::string_view path, std::string_view kind, std::uint64_t size,
                     std::int64_t mtime_ns, bool complete, std::int64_t run_id);
  /// Marks gone the items of every file under `roots` that is not in `seen`, and forgets those
  /// files. Returns the number of items marked gone.
  std::uint64_t mark_unseen_gone(const std::vector<std::string>& roots,
                                 const std::unordered_set<std::string>& seen);
  /// Commits the open batch (no-op when empty).
  void commit();
  void set_batch_size(int items) noexcept;

  // --- reading
  [[nodiscard]] CatalogStats stats();
  /// Every present item with status ok, for matching.
  [[nodiscard]] std::vector<CatalogHash> load_hashes();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace residue
