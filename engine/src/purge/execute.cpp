// execute_plan, resume_journal, restore_journal: the journal header, one intent per plan group,
// and the drivers that run actions.cpp over a journal.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "actions.hpp"
#include "fs_ops.hpp"
#include "journal.hpp"
#include "json.hpp"
#include "residue/hash.hpp"
#include "residue/purge.hpp"

namespace residue {
namespace {

using namespace detail;
namespace fs = std::filesystem;

std::string base_name(const std::string& p) {
  const auto name = std::filesystem::path(p).filename().string();
  return name.empty() ? std::string("root") : name;
}

// Identifies a mirror: the catalog's creation time and the absolute scanned roots. A journal
// written for another catalog or other roots does not match.
std::string mirror_id(const std::string& catalog_created, const std::vector<std::string>& roots) {
  std::string s = "residue mirror\n" + catalog_created + "\n";
  for (const auto& r : roots) s += r + "\n";
  return to_hex(sha256({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}));
}

// Quarantine folder name of each root: its base name, made unique with its position.
std::string root_label(const std::vector<std::string>& roots, const std::string& root) {
  const auto pos =
      static_cast<std::size_t>(std::find(roots.begin(), roots.end(), root) - roots.begin());
  const std::string name = base_name(root);
  for (std::size_t i = 0; i < pos; ++i)
    if (base_name(roots[i]) == name) return name + "-" + std::to_string(pos + 1);
  return name;
}

std::string rel_to_root(const std::string& abs, const std::string& root) {
  if (abs == root) return base_name(abs);
  return abs.substr(root == "/" ? 1 : root.size() + 1);
}

// A member name as a relative path that cannot climb out of its folder.
std::string safe_rel(const std::string& suffix) {
  std::string out;
  std::size_t i = 0;
  while (i <= suffix.size()) {
    const auto j = std::min(suffix.find('/', i), suffix.size());
    std::string part = suffix.substr(i, j - i);
    if (part == "..") part = "__";
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    i = j + 1;
  }
  return out.empty() ? std::string("_") : out;
}

std::string idx_path_for(const std::string& rec) {
  if (rec.ends_with(".rec")) return rec.substr(0, rec.size() - 4) + ".idx";
  return rec + ".idx";
}

std::string item_json(const PlanItem& it, const std::string& extracted) {
  return JsonLine()
      .add("locator", it.locator)
      .add("sha256", it.sha256)
      .add("size", it.size)
      .add("tier", std::string(to_string(it.tier)))
      .add("bank", it.bank_entry)
      .add("mate_of", it.mate_of)
      .add("extracted", extracted)
      .str();
}

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Opens the journal's catalog (or the one given, which must be the same mirror's).
std::unique_ptr<Catalog> open_journal_catalog(const Json& header, const std::string& given,
                                              const std::string& journal) {
  const std::string path = given.empty() ? header.str("catalog") : absolute_normal(given);
  if (!exists_nofollow(path)) RESIDUE_THROW(path + ": no such catalog (named by " + journal + ")");
  auto catalog = std::make_unique<Catalog>(path, Catalog::Mode::read_write);
  // The catalog's own roots, made absolute from the folder the purge ran in (as the plan did):
  // a catalog of other roots, or another catalog of the same roots, is another mirror.
  const std::string created = catalog->meta_value("created_at").value_or("");
  std::vector<std::string> roots;
  for (const auto& r : detail::scanned_roots(catalog->run_roots())) {
    const fs::path p(r);
    std::string a =
        (p.is_absolute() ? p : fs::path(header.str("cwd")) / p).lexically_normal().string();
    while (a.size() > 1 && a.back() == '/') a.pop_back();
    if (std::find(roots.begin(), roots.end(), a) == roots.end()) roots.push_back(std::move(a));
  }
  if (mirror_id(created, roots) != header.str("mirror_id"))
    RESIDUE_THROW(journal + " is the journal of another mirror: its catalog and roots are not " +
                  path + "'s (nothing was changed)");
  return catalog;
}

ActionContext context(JournalWriter& w, const Json& header, PurgeSummary& summary) {
  const bool q = header.str("mode") == "quarantine";
  return ActionContext{.journal = w,
                       .quarantine = q,
                       .journal_path = w.path(),
                       .manifest_path = q ? header.str("quarantine") + "/MANIFEST.jsonl" : "",
                       .summary = summary};
}

// Completes or rolls back every unfinished action, then marks the catalog if needed.
void finish_journal(JournalState& st, ActionContext& ctx, Catalog& catalog) {
  for (JournalAction& a : st.actions) {
    if (a.finished()) continue;
    if (st.planned)
      (void)carry_out(ctx, a);
    else
      abandon(ctx, a);
  }
  bool marked = st.catalog_marked;
  for (const JournalAction& a : st.actions)
    if (a.done && !marked) {
      mark_catalog(ctx, catalog, st);
      st.catalog_marked = marked = true;
    }
}

}  // namespace

PurgeSummary execute_plan(Catalog& catalog, const PurgePlan& plan, const PurgeOptions& o) {
  PurgeSummary summary;
  summary.skipped = plan.refused;
  const bool quarantine = o.mode == PurgeMode::quarantine;
  std::string qdir;
  if (quarantine) {
    if (o.quarantine_dir.empty()) RESIDUE_THROW("quarantine mode needs a folder (--to DIR)");
    qdir = absolute_normal(o.quarantine_dir);
    for (const auto& r : plan.roots)
      if (inside(qdir, r) || inside(r, qdir))
        RESIDUE_THROW("the quarantine folder " + qdir + " must not be inside a scanned root (" + r +
                      ") nor hold one");
  }
  if (o.journal_path.empty()) RESIDUE_THROW("a journal path is needed (--journal FILE)");
  const std::string journal_path = absolute_normal(o.journal_path);
  for (const auto& r : plan.roots)
    if (inside(journal_path, r))
      RESIDUE_THROW("the journal " + journal_path + " must not be inside a scanned root (" + r +
                    ")");
  try {
    if (quarantine) make_dirs(qdir);
    make_dirs(parent_of(journal_path));
  } catch (const FsError& e) {
    RESIDUE_THROW(e.message);
  }
  JournalWriter journal = JournalWriter::create(journal_path);
  const std::string created = catalog.meta_value("created_at").value_or("");
  journal.append(JsonLine()
                     .add("rec", "header")
                     .add("tool", "residue purge")
                     .add("version", kJournalVersion)
                     .add("mirror_id", mirror_id(created, plan.roots))
                     .add("catalog", absolute_normal(catalog.path()))
                     .add("catalog_created", created)
                     .raw("roots", json_string_list(plan.roots))
                     .add("cwd", absolute_normal("."))
                     .add("mode", quarantine ? "quarantine" : "delete")
                     .add("quarantine", qdir)
                     .add("time", utc_timestamp())
                     .str());
  auto header = parse_json(
      JsonLine().add("mode", quarantine ? "quarantine" : "delete").add("quarantine", qdir).str());
  ActionContext ctx = context(journal, *header, summary);

  JournalState st;
  std::int64_t id = 0;
  std::uint64_t finished = 0;
  for (const PlanGroup& g : plan.groups) {
    const std::string label = root_label(plan.roots, g.root);
    const std::string qbase =
        quarantine ? qdir + "/" + label + "/" + rel_to_root(g.abs_path, g.root) : "";
    JsonLine intent;
    intent.add("rec", "intent")
        .add("id", ++id)
        .add("kind", g.kind)
        .add("file", g.file)
        .add("path", g.abs_path);
    std::string items = "[";
    if (g.kind == "file") {
      intent.add("op", "file")
          .add("sha256", g.items.front().sha256)
          .add("size", g.file_size)
          .add("quarantine", qbase);
      items += item_json(g.items.front(), "");
    } else {
      // The container may have changed between the plan and now: check again, then hash it.
      struct stat sb {};
      const auto state = catalog.file_state(g.file);
      const std::string sha = sha256_hex_of_file(g.abs_path);
      if (::lstat(g.abs_path.c_str(), &sb) != 0 || !state ||
          state->size != static_cast<std::uint64_t>(sb.st_size) ||
          state->mtime_ns != mtime_ns(sb) || sha.empty()) {
        for (const PlanItem& it : g.items)
          summary.skipped.push_back(Refusal{it.locator, RefuseReason::container_changed,
                                            "changed between the plan and the purge"});
        --id;
        continue;
      }
      const std::string dir = parent_of(g.abs_path), name = base_name(g.abs_path);
      const std::string tag =
          ".residue-purge-" + std::to_string(::getpid()) + "-" + std::to_string(id);
      intent.add("op", "container")
          .add("sha256", sha)
          .add("size", g.file_size)
          .add("tmp", dir + "/." + name + tag + ".tmp")
          .add("quarantine", qbase);
      const std::string idx = idx_path_for(g.abs_path);
      if (g.kind == "recordio" && is_regular_nofollow(idx)) {
        intent.add("idx", idx)
            .add("idx_sha256", sha256_hex_of_file(idx))
            .add("tmp_idx", dir + "/." + name + tag + ".idx.tmp")
            .add("quarantine_idx",
                 quarantine ? qdir + "/" + label + "/" + rel_to_root(idx, g.root) : "");
      }
      for (std::size_t k = 0; k < g.items.size(); ++k) {
        const PlanItem& it = g.items[k];
        const std::string extracted =
            quarantine ? qbase + ".removed/" + safe_rel(it.locator.substr(g.file.size() + 2)) : "";
        items += (k ? "," : "") + item_json(it, extracted);
      }
    }
    intent.raw("items", items + "]");
    const std::string text = intent.str();
    journal.append(text);
    st.actions.push_back(JournalAction{.id = id, .intent = *parse_json(text)});
  }
  // Every intent is journaled before the first change, so a resume after a crash anywhere
  // finishes the whole purge, not only the action that was under way.
  journal.append(JsonLine().add("rec", "planned").add("actions", st.actions.size()).str());
  for (JournalAction& a : st.actions) {
    (void)carry_out(ctx, a);
    if (o.progress) o.progress(++finished, st.actions.size());
  }
  if (std::any_of(st.actions.begin(), st.actions.end(),
                  [](const JournalAction& a) { return a.done; }))
    mark_catalog(ctx, catalog, st);
  journal.append(JsonLine().add("rec", "end").add("time", utc_timestamp()).str());
  summary.actions_completed = 0;  // a fresh purge: every action counts as removed, not resumed
  summary.actions_rolled_back = 0;
  return summary;
}

PurgeSummary resume_journal(const std::string& journal_path, const std::string& catalog_path) {
  const std::string path = absolute_normal(journal_path);
  JournalState st = read_journal(path);
  auto catalog = open_journal_catalog(st.header, catalog_path, path);
  PurgeSummary summary;
  const bool pending =
      st.actions.end() != std::find_if(st.actions.begin(), st.actions.end(),
                                       [](const JournalAction& a) { return !a.finished(); });
  const bool any_done = std::any_of(st.actions.begin(), st.actions.end(),
                                    [](const JournalAction& a) { return a.done; });
  if (!pending && (st.catalog_marked || !any_done)) return summary;  // nothing to do: no write
  JournalWriter w = JournalWriter::reopen(path);
  ActionContext ctx = context(w, st.header, summary);
  finish_journal(st, ctx, *catalog);
  w.append(JsonLine().add("rec", "end").add("time", utc_timestamp()).str());
  return summary;
}

PurgeSummary restore_journal(const std::string& journal_path, const std::string& catalog_path) {
  const std::string path = absolute_normal(journal_path);
  JournalState st = read_journal(path);
  if (st.header.str("mode") != "quarantine")
    RESIDUE_THROW(path + " is the journal of a delete-mode purge: nothing was kept to restore");
  auto catalog = open_journal_catalog(st.header, catalog_path, path);
  PurgeSummary summary;
  JournalWriter w = JournalWriter::reopen(path);
  ActionContext ctx = context(w, st.header, summary);
  finish_journal(st, ctx, *catalog);  // an interrupted purge is finished first
  summary.removed.clear();
  summary.actions_completed = 0;
  bool changed = false;
  for (auto it = st.actions.rbegin(); it != st.actions.rend(); ++it)
    if (it->done && !it->restored && undo(ctx, *it)) changed = true;
  if (changed || !st.catalog_marked) {
    mark_catalog(ctx, *catalog, st);
    st.catalog_marked = true;
  }
  summary.rescan.clear();
  w.append(JsonLine().add("rec", "end").add("time", utc_timestamp()).str());
  return summary;
}

}  // namespace residue
