// residue/purge.hpp: removes residual copies from a mirror, safely. The only layer that changes
// the user's files.
//
// Flow: targets (a match report's rows, or a fresh match of a catalog with a bank) ->
// build_plan() checks every item against the catalog and the disk -> a PurgePlan (what would be
// removed, grouped by plain file and container, and what is refused and why). Dry-run prints the
// plan and stops; execute_plan() acts on it, writing a journal first.
//
// Safety rules (the README's "Purging copies" says them in plain words):
//   * an item is removed only if it is inside a scanned root (the catalog's runs), its path below
//     the root holds no symbolic link, and its bytes still have the SHA-256 the catalog recorded;
//     a container whose size or mtime changed since the scan is refused whole;
//   * plain files are moved (quarantine) or unlinked (delete); containers are rewritten without
//     the removed items by source's rewrite_container (verified), then renamed over the original;
//   * every action is journaled (JSON lines, each fsync'd) before anything is touched; after a
//     crash at any point resume_journal() completes or rolls back each action, idempotently;
//     restore_journal() undoes a quarantine purge byte for byte.
// Paths: locators are as the catalog spells them (relative to the directory scan ran in, like
// every residue command); the journal holds absolute paths so resume and restore work from
// anywhere. Thread-safety: none of this is thread-safe; one purge per mirror at a time.
//
// Test hook (not a user feature): when the environment variable RESIDUE_TEST_CRASH_AT=N is set,
// the process kills itself with SIGKILL at the N-th step boundary (every journal record and every
// filesystem change is one step), so tests can crash a purge anywhere and check resume.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "residue/catalog.hpp"
#include "residue/core.hpp"
#include "residue/source.hpp"

namespace residue {

/// An item someone asked to remove: a row of a match report, or of a fresh match.
struct PurgeTarget {
  std::string locator;      // as the catalog spells it
  Tier tier = Tier::exact;  // the best tier it matched with
  std::string bank_entry;   // the bank entry's locator (or "hash:...")
};

/// Targets from `residue match --out X.jsonl` rows whose tier is in `tiers` (an item matching
/// several entries keeps its best tier). Throws residue::Error for an unreadable file or a line
/// that is not a report row (naming the line).
[[nodiscard]] std::vector<PurgeTarget> targets_from_report(const std::string& jsonl_path,
                                                           std::span<const Tier> tiers);
/// Targets from matching the catalog with the bank now (default match policy).
[[nodiscard]] std::vector<PurgeTarget> targets_from_match(Catalog& catalog, Bank& bank,
                                                          std::span<const Tier> tiers);

enum class PurgeMode : std::uint8_t { quarantine, remove };

/// One item the plan removes.
struct PlanItem {
  std::string locator;  // as the catalog spells it
  std::string sha256;   // hex, checked against the disk when the plan was built
  std::uint64_t size = 0;
  Tier tier = Tier::exact;
  std::string bank_entry;
  /// A WebDataset sample-mate (000123.json beside a removed 000123.jpg, same key, same folder of
  /// the same tar): removed with it so no half sample is left. Not matched itself.
  bool sample_mate = false;
  std::string mate_of{};  // the matched member it goes with
};

/// The items of one plain file (one item) or one container, removed in one journaled action.
struct PlanGroup {
  std::string file;             // the plain file or container, as the catalog spells it
  std::string abs_path;         // absolute, lexically normal
  std::string kind;             // "file", "tar", "zip", "tsv", "recordio"
  std::string root;             // absolute scanned root holding it
  std::uint64_t file_size = 0;  // of the plain file or container
  std::vector<PlanItem> items;
  [[nodiscard]] std::uint64_t bytes() const noexcept;
};

/// Why an item is not removed. Stable names (plans and summaries print them).
enum class RefuseReason : std::uint8_t {
  not_in_catalog,     // unknown locator, or already gone
  outside_roots,      // not below any scanned root (or a path with "..")
  symlink,            // a component of its path below the root is a symbolic link
  vanished,           // the file or member is no longer there
  changed,            // its bytes no longer have the catalog's SHA-256
  container_changed,  // the container's size or mtime differ from the scan's
  no_sha256,          // the catalog has no SHA-256 for it (failed item)
  unsupported,        // its container cannot be rewritten safely (found when executing)
  failed,             // an I/O error while acting (permission denied, disk full, ...)
};
[[nodiscard]] std::string_view to_string(RefuseReason r) noexcept;

struct Refusal {
  std::string locator;
  RefuseReason reason = RefuseReason::failed;
  std::string detail;  // e.g. the OS error
};

struct PurgePlan {
  std::vector<std::string> roots;  // absolute scanned roots
  std::vector<PlanGroup> groups;   // plain files first (by path), then containers (by path)
  std::vector<Refusal> refused;
  [[nodiscard]] std::uint64_t item_count() const noexcept;
  [[nodiscard]] std::uint64_t bytes() const noexcept;
};

/// Checks every target against the catalog and the disk (reads every item: plain files once,
/// containers streamed once each) and groups what may be removed. Never changes anything.
[[nodiscard]] PurgePlan build_plan(Catalog& catalog, std::span<const PurgeTarget> targets);

struct PurgeOptions {
  PurgeMode mode = PurgeMode::quarantine;
  std::string quarantine_dir;  // required in quarantine mode; must not be inside a scanned root
  std::string journal_path;    // must not exist (use resume_journal for an existing one)
  /// Called after each action with (actions finished, actions in all).
  std::function<void(std::uint64_t, std::uint64_t)> progress{};
};

/// What an execute, resume or restore did.
struct PurgeSummary {
  struct Kind {
    std::uint64_t items = 0, bytes = 0, files = 0;  // files: plain files or containers changed
  };
  std::map<std::string, Kind> removed;  // by kind ("file", "tar", ...); restored for restore
  std::vector<Refusal> skipped;         // refused at plan time and failed while acting
  std::uint64_t actions_completed = 0;  // resume: unfinished actions completed
  std::uint64_t actions_rolled_back = 0;
  std::vector<std::string> rescan;  // containers whose catalog rows need `residue scan`
};

/// Executes the plan: writes the journal header, then one action per group (see the journal
/// format in src/purge/journal.hpp and the README), then marks the catalog. Throws residue::Error
/// for run-level failures (journal exists or cannot be written, quarantine inside a root);
/// per-action failures are rolled back and listed in `skipped`.
[[nodiscard]] PurgeSummary execute_plan(Catalog& catalog, const PurgePlan& plan,
                                        const PurgeOptions& options);

/// Finishes every action of an interrupted purge: completes it when the original is still
/// intact or already replaced, rolls it back otherwise; then marks the catalog. Running it again
/// changes nothing. `catalog_path`: when not empty, must be the journal's catalog, else
/// residue::Error (a journal of another mirror).
[[nodiscard]] PurgeSummary resume_journal(const std::string& journal_path,
                                          const std::string& catalog_path = {});

/// Undoes every finished action of a quarantine purge, last first, verifying SHA-256s: plain
/// files moved back, containers copied back from quarantine; the catalog's rows come back
/// (containers are marked for rescan). Finishes an interrupted purge first. Idempotent. Throws
/// residue::Error for a delete-mode journal (nothing to restore) or another mirror's journal.
[[nodiscard]] PurgeSummary restore_journal(const std::string& journal_path,
                                           const std::string& catalog_path = {});

}  // namespace residue
