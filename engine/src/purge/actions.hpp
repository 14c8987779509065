// One journaled action, carried out from whatever state a crash left it in: the code that both a
// fresh purge and `--resume` run (they differ only in where they start), its undo for restore,
// and the catalog marks. Private to src/purge.
#pragma once

#include <string>

#include "journal.hpp"
#include "residue/catalog.hpp"
#include "residue/purge.hpp"

namespace residue::detail {

struct ActionContext {
  JournalWriter& journal;
  bool quarantine = true;
  std::string journal_path;   // absolute, written into manifest lines
  std::string manifest_path;  // quarantine dir / MANIFEST.jsonl ("" in delete mode)
  PurgeSummary& summary;
};

enum class ActionResult : std::uint8_t { done, rolled_back, unfinished };

/// Brings an action whose intent is journaled to `done` (removing its items) or `skipped`
/// (rolling it back; nothing of the mirror changed), inspecting the filesystem and hashes to see
/// how far it got. `unfinished` when an error left it in a state only a later resume can finish
/// (it is reported in summary.skipped). Throws residue::Error only for journal write failures.
ActionResult carry_out(ActionContext& ctx, JournalAction& action);

/// Records an action whose purge stopped before any change began (no "planned" record) as
/// rolled back, without touching anything.
void abandon(ActionContext& ctx, JournalAction& action);

/// Undoes a done action of a quarantine purge (the original back in place, verified). Returns
/// false (with the reason in summary.skipped) when the mirror holds something else there now.
bool undo(ActionContext& ctx, JournalAction& action);

/// Marks the catalog for every done action (items gone, or present again when restored; the
/// file or container to be rescanned) and journals a "catalog" record.
void mark_catalog(ActionContext& ctx, Catalog& catalog, const JournalState& state);

}  // namespace residue::detail
