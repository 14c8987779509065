// `residue purge`: removes the copies a match found (dry-run plan by default), and
// `residue restore`: undoes a quarantine purge from its journal.
#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "residue/catalog.hpp"
#include "residue/purge.hpp"
#include "residue/report.hpp"

namespace residue::tool {
namespace {

struct PurgeArgs {
  std::string report, catalog, bank, tiers = "exact,near", mode = "quarantine", to, journal, resume;
  bool execute = false, json = false, quiet = false;
};

std::string human_bytes(std::uint64_t n) {
  if (n < 10'000) return fmt::format("{} B", n);
  if (n < 1'000'000) return fmt::format("{:.1f} kB", static_cast<double>(n) / 1e3);
  if (n < 1'000'000'000ULL) return fmt::format("{:.1f} MB", static_cast<double>(n) / 1e6);
  return fmt::format("{:.1f} GB", static_cast<double>(n) / 1e9);
}

void print_plan_text(const PurgePlan& plan, const PurgeArgs& a) {
  out_line(fmt::format("purge plan (dry run: nothing is changed; add --execute to act)"));
  out_line(fmt::format("mode: {}; tiers: {}",
                       a.mode == "delete"
                           ? "delete"
                           : "quarantine to " + (a.to.empty() ? std::string("(--to DIR)") : a.to),
                       a.tiers));
  std::uint64_t file_items = 0, file_bytes = 0;
  for (const PlanGroup& g : plan.groups)
    if (g.kind == "file") {
      ++file_items;
      file_bytes += g.bytes();
    }
  if (file_items) {
    out_line(fmt::format("plain files: {} to {}, {}", file_items,
                         a.mode == "delete" ? "delete" : "move to quarantine",
                         human_bytes(file_bytes)));
    for (const PlanGroup& g : plan.groups)
      if (g.kind == "file")
        out_line(fmt::format("  {}  {}  {}  {}", g.items.front().locator, human_bytes(g.bytes()),
                             to_string(g.items.front().tier), g.items.front().bank_entry));
  }
  for (const PlanGroup& g : plan.groups) {
    if (g.kind == "file") continue;
    const auto mates = std::count_if(g.items.begin(), g.items.end(),
                                     [](const PlanItem& i) { return i.sample_mate; });
    out_line(
        fmt::format("container {} ({}): remove {} item{}{}, {}; rewritten without them, verified, "
                    "then renamed over the original",
                    g.file, g.kind, g.items.size() - static_cast<std::size_t>(mates),
                    g.items.size() - static_cast<std::size_t>(mates) == 1 ? "" : "s",
                    mates ? fmt::format(" + {} sample-mate{}", mates, mates == 1 ? "" : "s") : "",
                    human_bytes(g.bytes())));
    for (const PlanItem& i : g.items) {
      if (i.sample_mate)
        out_line(
            fmt::format("  {}  {}  sample-mate of {}", i.locator, human_bytes(i.size), i.mate_of));
      else
        out_line(fmt::format("  {}  {}  {}  {}", i.locator, human_bytes(i.size), to_string(i.tier),
                             i.bank_entry));
    }
  }
  if (!plan.refused.empty()) {
    out_line(fmt::format("refused: {} (never removed)", plan.refused.size()));
    for (const Refusal& r : plan.refused)
      out_line(fmt::format("  {}: {}{}", r.locator, to_string(r.reason),
                           r.detail.empty() ? "" : " (" + r.detail + ")"));
  }
  const auto containers = std::count_if(plan.groups.begin(), plan.groups.end(),
                                        [](const PlanGroup& g) { return g.kind != "file"; });
  out_line(fmt::format("total: {} items ({}) in {} plain files and {} containers; {} refused",
                       plan.item_count(), human_bytes(plan.bytes()), file_items, containers,
                       plan.refused.size()));
}

void print_plan_json(const PurgePlan& plan) {
  for (const PlanGroup& g : plan.groups)
    for (const PlanItem& i : g.items)
      out_line(fmt::format(
          "{{\"action\":\"remove\",\"locator\":{},\"file\":{},\"kind\":\"{}\",\"size\":{},"
          "\"sha256\":\"{}\",\"tier\":\"{}\",\"bank_entry\":{},\"sample_mate_of\":{}}}",
          json_quote(i.locator), json_quote(g.file), g.kind, i.size, i.sha256, to_string(i.tier),
          json_quote(i.bank_entry), i.sample_mate ? json_quote(i.mate_of) : "null"));
  for (const Refusal& r : plan.refused)
    out_line(fmt::format("{{\"action\":\"refuse\",\"locator\":{},\"reason\":{},\"detail\":{}}}",
                         json_quote(r.locator), json_quote(std::string(to_string(r.reason))),
                         json_quote(r.detail)));
}

int report_summary(const std::string& verb, const PurgeSummary& s, bool quiet) {
  for (const Refusal& r : s.skipped)
    err_line(fmt::format("skipped {}: {}{}", r.locator, to_string(r.reason),
                         r.detail.empty() ? "" : " (" + r.detail + ")"));
  if (!quiet) {
    std::uint64_t items = 0, bytes = 0;
    std::string parts;
    for (const auto& [kind, k] : s.removed) {
      items += k.items;
      bytes += k.bytes;
      parts += fmt::format("{}{}: {} items in {} {}", parts.empty() ? "" : "; ", kind, k.items,
                           k.files, kind == "file" ? "files" : "containers");
    }
    std::map<std::string, std::uint64_t> why;
    for (const Refusal& r : s.skipped) ++why[std::string(to_string(r.reason))];
    std::string whys;
    for (const auto& [w, n] : why) whys += fmt::format("{}{} {}", whys.empty() ? "" : ", ", n, w);
    err_line(fmt::format("{}: {} items ({}){}{}; {} skipped{}", verb, items, human_bytes(bytes),
                         parts.empty() ? "" : " - ", parts, s.skipped.size(),
                         whys.empty() ? "" : " (" + whys + ")"));
    if (!s.rescan.empty())
      err_line(
          fmt::format("{}: {} rewritten container(s) are marked for rescan: run `residue scan` "
                      "with the same roots and catalog to refresh their rows",
                      verb, s.rescan.size()));
  }
  return s.skipped.empty() ? kExitOk : kExitItemsFailed;
}

int run_purge(const PurgeArgs& a) {
  // A full disk under `ulimit -f` must be an EFBIG error we roll back, not a killed process.
  std::signal(SIGXFSZ, SIG_IGN);
  if (!a.resume.empty()) {
    CountProgress none(true, "");
    const PurgeSummary s = resume_journal(a.resume, a.catalog);
    if (!a.quiet)
      err_line(fmt::format("resume: {} unfinished actions completed, {} rolled back",
                           s.actions_completed, s.actions_rolled_back));
    return report_summary("resume", s, a.quiet);
  }
  if (a.mode != "quarantine" && a.mode != "delete")
    RESIDUE_THROW("--mode: quarantine or delete, not '" + a.mode + "'");
  if (a.catalog.empty()) RESIDUE_THROW("--catalog is required (the scanned roots and SHA-256s)");
  if (a.report.empty() == a.bank.empty())
    RESIDUE_THROW("give either --report REPORT.jsonl or --bank B.db");
  if (a.execute && a.mode == "quarantine" && a.to.empty())
    RESIDUE_THROW("--mode quarantine needs --to DIR");
  if (a.execute && a.mode == "delete" && a.journal.empty())
    RESIDUE_THROW("--mode delete needs --journal FILE (outside the mirror)");
  const std::vector<Tier> tiers = parse_tiers(a.tiers);
  Catalog catalog(a.catalog, a.execute ? Catalog::Mode::read_write : Catalog::Mode::read_only);
  std::vector<PurgeTarget> targets;
  if (!a.report.empty()) {
    targets = targets_from_report(a.report, tiers);
  } else {
    Bank bank(a.bank, Catalog::Mode::read_only);
    targets = targets_from_match(catalog, bank, tiers);
  }
  const PurgePlan plan = build_plan(catalog, targets);
  if (!a.execute) {
    if (a.json)
      print_plan_json(plan);
    else
      print_plan_text(plan, a);
    return plan.refused.empty() ? kExitOk : kExitItemsFailed;
  }
  CountProgress progress(a.quiet, "purge: actions");
  PurgeOptions o{.mode = a.mode == "delete" ? PurgeMode::remove : PurgeMode::quarantine,
                 .quarantine_dir = a.to,
                 .journal_path = a.journal.empty()
                                     ? a.to + "/journal-" + utc_timestamp(true) + ".jsonl"
                                     : a.journal,
                 .progress = [&](std::uint64_t d, std::uint64_t t) { progress.update(d, t); }};
  const PurgeSummary s = execute_plan(catalog, plan, o);
  progress.clear();
  const int status = report_summary("purge", s, a.quiet);
  if (!a.quiet) err_line("purge: journal " + o.journal_path);
  return status;
}

constexpr const char* kSafetyRules =
    "Safety rules:\n"
    "  * Without --execute nothing is changed: the plan lists every item it would remove, grouped\n"
    "    by plain file and container, with sizes, and every item it refuses and why.\n"
    "  * Only exact and near copies (--tiers) of items the catalog knows are removed, and only\n"
    "    inside the roots the catalog's scans were given; a path through a symbolic link is\n"
    "    refused, and links are never followed when removing.\n"
    "  * Each item is read again and its SHA-256 compared with the catalog's: an item (or a\n"
    "    container) that changed or vanished since the scan is skipped and reported.\n"
    "  * quarantine (default) moves plain files to DIR/<root name>/<path in the root> and writes\n"
    "    DIR/MANIFEST.jsonl; delete removes them for good.\n"
    "  * Containers (tar, zip, TSV, RecordIO + .idx) are rewritten without the removed items (and\n"
    "    a WebDataset sample's other files, e.g. 000123.json beside 000123.jpg), read back and\n"
    "    verified member by member, then renamed over the original; in quarantine mode the\n"
    "    original container is copied to DIR first and the removed members extracted beside it.\n"
    "  * A journal is written (and synced to disk) before every change. After a crash or kill,\n"
    "    `residue purge --resume JOURNAL` finishes or rolls back each change; running it again\n"
    "    changes nothing. `residue restore --journal JOURNAL` puts everything back byte for byte.\n"
    "  * The catalog marks the removed items gone; rewritten containers are rescanned by the\n"
    "    next `residue scan`.\n"
    "Run purge from the folder you ran `residue scan` in (locators are relative to it).\n"
    "Exit status: 0 everything planned was removed (or, dry run, nothing refused), 1 some items\n"
    "were refused or skipped, 2 fatal (bad flags, a journal of another mirror, unusable catalog).";

}  // namespace

Runner add_purge_command(CLI::App& app) {
  auto a = std::make_shared<PurgeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "purge", "Remove the copies a match found: dry-run plan by default, --execute to act");
  cmd->add_option("--report", a->report,
                  "Match report in JSON lines (residue match --out R.jsonl)");
  cmd->add_option("--catalog", a->catalog, "Catalog made by `residue scan` (always needed)");
  cmd->add_option("--bank", a->bank,
                  "Removal bank: match the catalog with it now instead of --report");
  cmd->add_option("--tiers", a->tiers, "Tiers to remove, comma-separated")
      ->default_val("exact,near");
  cmd->add_option("--mode", a->mode, "quarantine (move away, restorable) or delete")
      ->default_val("quarantine");
  cmd->add_option("--to", a->to, "Quarantine folder (outside the mirror)");
  cmd->add_flag("--execute", a->execute, "Act on the plan (default: only print it)");
  cmd->add_option("--journal", a->journal,
                  "Journal file to create (default: DIR/journal-<time>.jsonl in quarantine mode)");
  cmd->add_option("--resume", a->resume, "Finish an interrupted purge from its journal");
  cmd->add_flag("--json", a->json, "Dry run: print the plan as JSON lines");
  cmd->add_flag("-q,--quiet", a->quiet, "No summary or progress on stderr");
  cmd->footer(kSafetyRules);
  return [a] { return run_purge(*a); };
}

Runner add_restore_command(CLI::App& app) {
  auto journal = std::make_shared<std::string>();
  auto catalog = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "restore",
      "Undo a quarantine purge: put every removed item and container back, byte for byte");
  cmd->add_option("--journal", *journal, "The purge's journal")->required();
  cmd->add_option("--catalog", *catalog, "The catalog (default: the one the journal names)");
  cmd->add_flag("-q,--quiet", *quiet, "No summary on stderr");
  cmd->footer(
      "Plain files are moved back from quarantine; containers are copied back from the quarantine\n"
      "copy of the original, verified by SHA-256, and renamed into place. Anything that changed "
      "at\n"
      "its place since the purge is not overwritten (reported, exit 1). Running it again changes\n"
      "nothing. The catalog's rows come back; rescan to refresh restored containers.");
  return [journal, catalog, quiet] {
    std::signal(SIGXFSZ, SIG_IGN);
    return report_summary("restore", restore_journal(*journal, *catalog), *quiet);
  };
}

}  // namespace residue::tool
