// The purge journal: a write-ahead log in JSON lines, one record per line, each written with one
// write(2) and fsync'd before the step it announces (the directory is fsync'd when the journal is
// created). All intents are written before the first change (the journal holds the whole plan),
// then each action's records follow. Records (every one has "rec"; actions are numbered from 1):
//   header    version, mirror_id, catalog, catalog_created, roots, cwd, mode, quarantine, time
//   intent    id, op ("file" | "container"), kind, file (as the catalog spells it), path, sha256,
//             size, items [{locator, sha256, size, tier, bank, mate_of, extracted}], and the paths
//             the action will create: quarantine, tmp, idx, idx_sha256, tmp_idx, quarantine_idx
//   planned   actions: every intent is written; changes begin after this record (a journal
//             without it is rolled back whole by resume: nothing had been touched)
//   staged    id, new_sha256, new_idx_sha256: the verified rewrite is fsync'd at tmp (and the
//             original copied to quarantine); only renames remain
//   done      id: the action is complete (the manifest lines are written before it)
//   skipped   id, reason, detail: rolled back, nothing of it changed (or it changed by others)
//   catalog   the catalog was marked for every done action so far
//   restored  id: restore put the action's original back
//   end       time: the run (purge, resume or restore) finished
// A torn last line (power cut during a write) is ignored and cut off before appending.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "json.hpp"

namespace residue::detail {

inline constexpr int kJournalVersion = 1;

/// Appends fsync'd records to a journal. Each append is a crash_point() step.
class JournalWriter {
 public:
  /// Creates `path` (must not exist) and fsyncs its directory. Throws residue::Error.
  static JournalWriter create(const std::string& path);
  /// Opens an existing journal for appending, cutting off a torn last line. Throws.
  static JournalWriter reopen(const std::string& path);
  JournalWriter(JournalWriter&& o) noexcept;
  JournalWriter& operator=(JournalWriter&&) = delete;
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;
  ~JournalWriter();
  /// Writes one record (a JSON object without newline) and fsyncs. Throws residue::Error.
  void append(const std::string& record);
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  JournalWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

/// One action as the journal tells it.
struct JournalAction {
  std::int64_t id = 0;
  Json intent;
  std::optional<Json> staged{};
  bool done = false;
  bool skipped = false;
  bool restored = false;
  [[nodiscard]] bool finished() const noexcept { return done || skipped; }
};

struct JournalState {
  Json header;
  std::vector<JournalAction> actions;  // by id
  bool planned = false;                // the "planned" record is there
  bool catalog_marked = false;         // a "catalog" record follows the last done/restored record
  [[nodiscard]] JournalAction* find(std::int64_t id);
};

/// Reads a journal. Throws residue::Error when it cannot be read or is not a residue purge
/// journal (no header, a malformed line other than the last).
[[nodiscard]] JournalState read_journal(const std::string& path);

}  // namespace residue::detail
