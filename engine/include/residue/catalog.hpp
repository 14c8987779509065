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
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "residue/core.hpp"

namespace residue {

/// Schema 2 added border-trimmed hashes to catalogs and the bank tables; schema 1 files are
/// migrated when opened for writing.
inline constexpr int kCatalogSchemaVersion = 2;

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
  /// Hashes of the four half views (see hash.hpp, strip_hashes), when scan computed them.
  bool has_strips = false;
  std::array<std::int16_t, kStripViewCount> strip_quality{};
  std::array<Hash256, kStripViewCount> strip_pdq{};
  std::array<Hash64, kStripViewCount> strip_phash{};
};

/// One item's descriptive fields, for reports.
struct CatalogItem {
  std::int64_t id = 0;
  std::string locator;
  std::string file;       // the plain file or container path holding it
  std::string container;  // the container path ("" for a plain file)
  std::string kind;       // "file", "tar", "zip", "tsv", "recordio"
  std::uint64_t size = 0;
  bool has_sha256 = false;
  Sha256 sha256;
  std::string format;
  int width = 0, height = 0, quality = 0;
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
  /// Every present item with status ok, for matching, in id order.
  [[nodiscard]] std::vector<CatalogHash> load_hashes();
  /// The same for the items with first_id <= id <= last_id only (one rank's share of a
  /// distributed match: a range scan of the primary key, so each rank reads only its rows).
  [[nodiscard]] std::vector<CatalogHash> load_hashes(std::int64_t first_id, std::int64_t last_id);
  /// The smallest and largest item id ({1, 0} when the catalog has no items).
  [[nodiscard]] std::pair<std::int64_t, std::int64_t> item_id_range();
  /// The items with these ids (present or not), in the order given; unknown ids are skipped.
  [[nodiscard]] std::vector<CatalogItem> load_items(std::span<const std::int64_t> ids);

  // --- purge support (src/purge): lookups and the marks a purge or restore leaves
  /// The present (not gone) item with this locator, if any.
  [[nodiscard]] std::optional<CatalogItem> find_item(std::string_view locator);
  /// The incremental state of one plain file or container, if the catalog knows it.
  [[nodiscard]] std::optional<FileState> file_state(std::string_view path);
  /// The roots each scan of this catalog was given, in run order: one JSON array of strings per
  /// run, as begin_run stored it (the catalog does not parse JSON; purge does).
  [[nodiscard]] std::vector<std::string> run_roots();
  /// A value of the residue_meta table ("created_at", "role", ...), if present.
  [[nodiscard]] std::optional<std::string> meta_value(std::string_view key);
  /// Marks gone the present item with this locator when its SHA-256 is `sha256` (after a rescan
  /// a TSV line or RecordIO record number may name another image: that one is left alone).
  /// Returns whether a row changed. Committed at once.
  bool mark_item_gone(std::string_view locator, const Sha256& sha256);
  /// The reverse, for restore: marks present the gone item with this locator and SHA-256.
  bool mark_item_present(std::string_view locator, const Sha256& sha256);
  /// Makes the next `residue scan` re-read this plain file or container (its stored size becomes
  /// -1, which no file has): after a rewrite, the locators of its other items may have shifted.
  void mark_for_rescan(std::string_view path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Removal banks

/// One withdrawn item: an image hashed by `residue bank add`, or a hash imported from a list.
struct BankEntry {
  std::int64_t id = 0;
  std::string locator;  // as added; "hash:<hex>" for an imported hash
  std::string label;
  std::string origin;    // "image" or "list"
  std::string added_at;  // UTC, ISO 8601
  bool has_sha256 = false;
  Sha256 sha256;
  std::uint64_t size = 0;  // bytes (images only)
  std::string format;      // "jpeg", ... (images only)
  int width = 0, height = 0;
  std::string thumbnail;  // small JPEG for reports; loaded only when asked for
};

struct BankStats {
  std::uint64_t entries = 0;
  std::uint64_t from_images = 0;
  std::uint64_t from_lists = 0;
  std::uint64_t hashes = 0;                     // PDQ/pHash rows (views x transforms)
  std::map<std::string, std::uint64_t> labels;  // entries per label ("" = no label)
  std::string created_at;
};

/// What to remove from a bank: entries with this id, label or locator (exactly one is set).
struct BankSelector {
  std::optional<std::int64_t> id{};
  std::optional<std::string> label{};
  std::optional<std::string> locator{};
};

/// A removal bank: a residue database of role `bank` (same conventions as the catalog: WAL,
/// versioned residue_meta, refused when it is a catalog or foreign). Writes happen inside an
/// explicit transaction (begin/commit/rollback), so an import is all-or-nothing.
/// Thread-safety: one thread at a time.
class Bank {
 public:
  Bank(const std::string& path, Catalog::Mode mode);
  ~Bank();
  Bank(const Bank&) = delete;
  Bank& operator=(const Bank&) = delete;

  [[nodiscard]] const std::string& path() const noexcept;

  void begin();
  void commit();
  void rollback() noexcept;

  /// The id of an entry with this locator and content (SHA-256 for images; the hashes for
  /// imports), if there is one: adding the same thing twice is a no-op.
  [[nodiscard]] std::optional<std::int64_t> find(std::string_view locator,
                                                 const std::optional<Sha256>& sha256);
  /// Adds an entry and its hashes (their entry_id is ignored); returns the new id. Inside begin().
  std::int64_t add(const BankEntry& entry, std::span<const BankHash> hashes);
  /// Removes the selected entries and their hashes; returns how many entries. Inside begin().
  std::uint64_t remove(const BankSelector& selector);

  [[nodiscard]] std::vector<BankEntry> entries(bool with_thumbnails = false);
  [[nodiscard]] std::optional<BankEntry> entry(std::int64_t id, bool with_thumbnail = false);
  [[nodiscard]] BankHashes load_hashes();
  [[nodiscard]] BankStats stats();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace residue
