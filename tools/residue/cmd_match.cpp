// `residue match`: every residual copy of a bank's withdrawn items in a catalog, and
// `residue dedup`: near-duplicate clusters within one catalog.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "report_files.hpp"
#include "residue/catalog.hpp"
#include "residue/decode.hpp"
#include "residue/dist.hpp"
#include "residue/match.hpp"
#include "residue/report.hpp"
#include "residue/source.hpp"

namespace residue::tool {
namespace {

constexpr int kThumbnailSide = 160;

struct PolicyArgs {
  int max_distance = kDefaultPdqDistance;
  int min_quality = kDefaultMinQuality;
  int phash_distance = kDefaultPhashDistance;
  int hash_only_distance = kDefaultHashOnlyDistance;
  int threads = 0;
  std::string index = "auto";
  std::string tiers;
  std::vector<std::string> outs;
  bool quiet = false;
  bool mpi = false;
};

void add_policy_options(CLI::App* cmd, PolicyArgs& a, const char* default_tiers) {
  a.tiers = default_tiers;
  cmd->add_option("--out", a.outs,
                  "Report file: .csv, .jsonl or .html by its name; repeatable (default: CSV on "
                  "stdout)");
  cmd->add_option("--max-distance", a.max_distance, "PDQ distance for near and review (0-128)")
      ->default_val(kDefaultPdqDistance);
  cmd->add_option("--min-quality", a.min_quality, "PDQ quality gate for near (0-100)")
      ->default_val(kDefaultMinQuality);
  cmd->add_option("--phash-distance", a.phash_distance,
                  "pHash distance that confirms a PDQ match (0-32)")
      ->default_val(kDefaultPhashDistance);
  cmd->add_option("--hash-only-distance", a.hash_only_distance,
                  "PDQ distance for near when the bank entry has no pHash (imported lists)")
      ->default_val(kDefaultHashOnlyDistance);
  cmd->add_option("--tiers", a.tiers, "Tiers to report, comma-separated")
      ->default_val(default_tiers);
  cmd->add_option("-j,--threads", a.threads, "Threads (0 = one per core)")->default_val(0);
  cmd->add_option("--index", a.index, "auto, brute, mih, faiss-flat, faiss-hash, faiss-multihash")
      ->default_val("auto");
  cmd->add_flag("-q,--quiet", a.quiet, "No summary on stderr");
  cmd->add_flag("--mpi", a.mpi,
                "Run as one rank of an MPI job (mpirun -n N residue ... --mpi): the same results, "
                "the work shared across ranks; rank 0 writes the reports");
}

MatchOptions policy(const PolicyArgs& a) {
  MatchOptions o;
  o.max_distance = a.max_distance;
  o.min_quality = a.min_quality;
  o.phash_distance = a.phash_distance;
  o.hash_only_distance = std::min(a.hash_only_distance, a.max_distance);
  if (a.hash_only_distance > a.max_distance && a.hash_only_distance != kDefaultHashOnlyDistance)
    RESIDUE_THROW("--hash-only-distance must not exceed --max-distance");
  o.threads = a.threads;
  const auto kind = parse_index_kind(a.index);
  if (!kind) RESIDUE_THROW("--index: unknown index kind '" + a.index + "'");
  o.index = *kind;
  validate(o);
  return o;
}

bool wanted(const std::vector<Tier>& tiers, Tier t) {
  return std::find(tiers.begin(), tiers.end(), t) != tiers.end();
}

std::string to_text(const std::vector<std::uint8_t>& v) {
  return {v.begin(), v.end()};
}

/// A thumbnail of a catalog item, read back from the mirror; or why there is none.
std::pair<std::string, std::string> copy_thumbnail(const std::string& locator) {
  auto bytes = read_item(locator);
  if (!bytes)
    return {"", fmt::format("could not read: {}: {}", to_string(bytes.error().code),
                            bytes.error().message)};
  auto thumb = make_thumbnail(bytes.value(), kThumbnailSide);
  if (!thumb)
    return {"", fmt::format("no thumbnail: {}: {}", to_string(thumb.error().code),
                            thumb.error().message)};
  return {to_text(thumb.value()), ""};
}

// ------------------------------------------------------------------------------------------
// match

struct MatchArgs {
  std::string catalog, bank, allow;
  PolicyArgs p;
};

int write_match_reports(const MatchArgs& a, const MatchOptions& options,
                        const std::vector<Tier>& tiers, std::vector<ReportFile>& reports,
                        Catalog& catalog, Bank& bank, const MatchSet& set);

/// The bank (and allow bank) of a match run, checked like the single-process command.
BankHashes load_bank(const std::string& path, Bank& bank) {
  BankHashes h = bank.load_hashes();
  if (h.hashes.empty() && h.digests.empty())
    RESIDUE_THROW(path +
                  ": the bank is empty (add images with `residue bank add` or hashes "
                  "with `residue bank import`)");
  return h;
}

int run_match(const MatchArgs& a) {
  const MatchOptions options = policy(a.p);
  const std::vector<Tier> tiers = parse_tiers(a.p.tiers);
  std::vector<ReportFile> reports = open_reports(a.p.outs);  // fail before any work

  Catalog catalog(a.catalog, Catalog::Mode::read_only);
  Bank bank(a.bank, Catalog::Mode::read_only);
  const BankHashes bank_hashes = load_bank(a.bank, bank);
  BankHashes allow_hashes;
  if (!a.allow.empty()) {
    Bank allow(a.allow, Catalog::Mode::read_only);
    allow_hashes = allow.load_hashes();
  }
  const std::vector<CatalogHash> items = catalog.load_hashes();
  CountProgress progress(a.p.quiet, "match: hashes searched");
  MatchOptions with_progress = options;
  with_progress.progress = [&](std::uint64_t done, std::uint64_t total) {
    progress.update(done, total);
  };
  const MatchSet set = match_catalog(items, bank_hashes, allow_hashes, with_progress);
  progress.clear();
  return write_match_reports(a, options, tiers, reports, catalog, bank, set);
}

/// The rows of `set` (of catalog `catalog` against `bank`), to every report and the summary.
/// Shared by the single-process and the --mpi paths (rank 0), so both write the same bytes.
int write_match_reports(const MatchArgs& a, const MatchOptions& options,
                        const std::vector<Tier>& tiers, std::vector<ReportFile>& reports,
                        Catalog& catalog, Bank& bank, const MatchSet& set) {
  std::vector<const Match*> kept;
  for (const Match& m : set.matches)
    if (wanted(tiers, m.tier)) kept.push_back(&m);
  std::vector<std::int64_t> ids;
  for (const Match* m : kept) ids.push_back(m->item_id);
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::unordered_map<std::int64_t, CatalogItem> info;
  for (auto& it : catalog.load_items(ids)) info.emplace(it.id, std::move(it));
  const bool html = std::any_of(reports.begin(), reports.end(), [](const ReportFile& r) {
    return r.format() == ReportFormat::html;
  });
  std::unordered_map<std::int64_t, BankEntry> entries;
  for (auto& e : bank.entries(html)) entries.emplace(e.id, std::move(e));

  std::vector<MatchRow> rows;
  rows.reserve(kept.size());
  for (const Match* m : kept) {
    const CatalogItem& it = info.at(m->item_id);
    const BankEntry& e = entries.at(m->entry_id);
    rows.push_back(MatchRow{.locator = it.locator,
                            .container = it.kind,
                            .bank_locator = e.locator,
                            .bank_label = e.label,
                            .tier = m->tier,
                            .pdq_distance = m->pdq_distance,
                            .phash_distance = m->phash_distance,
                            .dihedral = m->dihedral,
                            .quality = m->quality,
                            .sha256 = it.has_sha256 ? to_hex(it.sha256) : "",
                            .size = it.size,
                            .view = m->view,
                            .trimmed = m->trimmed});
  }

  const auto write_lines = [&](auto&& emit) {
    for (ReportFile& r : reports) {
      if (r.format() == ReportFormat::csv) {
        r.line(match_csv_header());
        for (const MatchRow& row : rows) r.line(match_csv_line(row));
      } else if (r.format() == ReportFormat::jsonl) {
        for (const MatchRow& row : rows) r.line(match_json_line(row));
      } else {
        emit(r);
      }
    }
  };
  std::string page;
  if (html) {
    // Thumbnails: the copy read back from the mirror, the withdrawn image from the bank.
    std::vector<HtmlMatch> gallery;
    gallery.reserve(rows.size());
    std::unordered_map<std::string, std::pair<std::string, std::string>> thumbs;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      HtmlMatch h;
      h.row = rows[i];
      auto [slot, fresh] = thumbs.try_emplace(rows[i].locator);
      if (fresh) slot->second = copy_thumbnail(rows[i].locator);
      h.copy_thumbnail = slot->second.first;
      h.copy_note = slot->second.second;
      const BankEntry& e = entries.at(kept[i]->entry_id);
      h.bank_thumbnail = e.thumbnail;
      if (e.thumbnail.empty())
        h.bank_pdq = e.locator.starts_with("hash:") ? e.locator.substr(5) : std::string();
      gallery.push_back(std::move(h));
    }
    HtmlReportInfo hi;
    hi.title = "residue match report";
    hi.generated_at = utc_timestamp();
    hi.facts = {{"catalog", a.catalog},
                {"bank", a.bank},
                {"allow bank", a.allow.empty() ? "(none)" : a.allow},
                {"policy", fmt::format("PDQ <= {}, pHash <= {}, quality >= {}, hash-only PDQ <= {}",
                                       options.max_distance, options.phash_distance,
                                       options.min_quality, options.hash_only_distance)},
                {"items compared", std::to_string(set.stats.items)}};
    page = match_html(gallery, hi);
  }
  write_lines([&](ReportFile& r) { r.write(page); });
  for (ReportFile& r : reports) r.commit();
  if (reports.empty()) {
    out_line(match_csv_header());
    for (const MatchRow& row : rows) out_line(match_csv_line(row));
  }

  if (!a.p.quiet) {
    std::map<Tier, std::uint64_t> by_tier;
    for (const MatchRow& r : rows) ++by_tier[r.tier];
    err_line(fmt::format(
        "match: {} items against {} bank entries ({} hashes, index {}): {} exact, {} near, {} "
        "review rows; {} items suppressed by the allow bank; {:.2f} s searching",
        set.stats.items, entries.size(), set.stats.bank_hashes, to_string(set.stats.index),
        by_tier[Tier::exact], by_tier[Tier::near], by_tier[Tier::review], set.stats.allowed,
        set.stats.index_seconds + set.stats.search_seconds));
    for (const ReportFile& r : reports) err_line("match: wrote " + r.path());
  }
  return kExitOk;
}

/// `match --mpi`: every rank opens the catalog read-only and loads the hashes of its share of the
/// items; rank 0 reads the banks, which src/dist/ broadcasts; each rank matches its share; rank 0
/// writes the reports.
/// A run error on any rank ends the whole job with a message naming the rank (exit 2).
int run_match_mpi(const MatchArgs& a) {
  const dist::Session s;
  const bool root = s.rank() == 0;
  if (root && !a.p.quiet)
    if (const auto note = s.binding_warning()) err_line("note: " + *note);
  try {
    const MatchOptions options = policy(a.p);
    const std::vector<Tier> tiers = parse_tiers(a.p.tiers);
    std::vector<ReportFile> reports;
    if (root) reports = open_reports(a.p.outs);
    Catalog catalog(a.catalog, Catalog::Mode::read_only);
    std::optional<Bank> bank;
    BankHashes bank_hashes, allow_hashes;
    if (root) {
      bank.emplace(a.bank, Catalog::Mode::read_only);
      bank_hashes = load_bank(a.bank, *bank);
      if (!a.allow.empty()) {
        Bank allow(a.allow, Catalog::Mode::read_only);
        allow_hashes = allow.load_hashes();
      }
    }
    // Each rank reads only its share: a contiguous range of item ids (ids are dense, so the
    // shares are about equal; the merged result does not depend on the partition).
    const auto [first_id, last_id] = catalog.item_id_range();
    const auto ids = static_cast<std::size_t>(last_id >= first_id ? last_id - first_id + 1 : 0);
    const dist::Share share = dist::share_of(ids, s.rank(), s.size());
    const std::vector<CatalogHash> items =
        catalog.load_hashes(first_id + static_cast<std::int64_t>(share.begin),
                            first_id + static_cast<std::int64_t>(share.end) - 1);
    CountProgress progress(a.p.quiet || !root, "match: hashes searched (rank 0's share)");
    MatchOptions with_progress = options;
    with_progress.progress = [&](std::uint64_t done, std::uint64_t total) {
      progress.update(done, total);
    };
    const MatchSet set = dist::match_share(s, items, bank_hashes, allow_hashes, with_progress);
    progress.clear();
    if (!root) return kExitOk;
    return write_match_reports(a, options, tiers, reports, catalog, *bank, set);
  } catch (const Error& e) {
    s.abort(e.what(), kExitFatal);
  }
}

// ------------------------------------------------------------------------------------------
// dedup

struct DedupArgs {
  std::string catalog;
  PolicyArgs p;
};

int write_dedup_reports(const DedupArgs& a, const MatchOptions& options,
                        const std::vector<Tier>& tiers, std::vector<ReportFile>& reports,
                        Catalog& catalog, const std::vector<CatalogHash>& items,
                        const DedupSet& pairs);

int run_dedup(const DedupArgs& a) {
  const MatchOptions options = policy(a.p);
  const std::vector<Tier> tiers = parse_tiers(a.p.tiers);
  std::vector<ReportFile> reports = open_reports(a.p.outs);
  Catalog catalog(a.catalog, Catalog::Mode::read_only);
  const std::vector<CatalogHash> items = catalog.load_hashes();
  const DedupSet pairs = self_join(items, options);
  return write_dedup_reports(a, options, tiers, reports, catalog, items, pairs);
}

/// The clusters of `pairs` over `items`, to every report and the summary. Shared by the
/// single-process and the --mpi paths (rank 0), so both write the same bytes.
int write_dedup_reports(const DedupArgs& a, const MatchOptions& options,
                        const std::vector<Tier>& tiers, std::vector<ReportFile>& reports,
                        Catalog& catalog, const std::vector<CatalogHash>& items,
                        const DedupSet& pairs) {
  const std::vector<Cluster> found = clusters(pairs.pairs, items.size(), tiers);

  std::vector<std::int64_t> ids;
  for (const Cluster& c : found)
    for (const std::uint32_t m : c.members) ids.push_back(items[m].item_id);
  std::unordered_map<std::int64_t, CatalogItem> info;
  for (auto& it : catalog.load_items(ids)) info.emplace(it.id, std::move(it));

  std::vector<DedupRow> rows;
  std::uint64_t cluster_no = 0, redundant = 0;
  for (const Cluster& c : found) {
    ++cluster_no;
    // Keeper: most pixels, then highest quality, then most bytes, then first locator.
    const auto rank = [&](std::uint32_t m) {
      const CatalogItem& it = info.at(items[m].item_id);
      return std::tuple(-static_cast<std::int64_t>(it.width) * it.height, -it.quality,
                        -static_cast<std::int64_t>(it.size), it.locator);
    };
    std::vector<std::uint32_t> members = c.members;
    std::sort(members.begin(), members.end(),
              [&](std::uint32_t x, std::uint32_t y) { return rank(x) < rank(y); });
    const CatalogHash& keeper = items[members.front()];
    for (std::size_t k = 0; k < members.size(); ++k) {
      const CatalogHash& h = items[members[k]];
      const CatalogItem& it = info.at(h.item_id);
      rows.push_back(DedupRow{.cluster = cluster_no,
                              .tier = c.tier,
                              .locator = it.locator,
                              .container = it.kind,
                              .keeper = k == 0,
                              .pdq_distance = k == 0 ? -1 : hamming(h.pdq, keeper.pdq),
                              .phash_distance = k == 0 ? -1 : hamming(h.phash, keeper.phash),
                              .width = it.width,
                              .height = it.height,
                              .quality = it.quality,
                              .size = it.size,
                              .sha256 = it.has_sha256 ? to_hex(it.sha256) : ""});
    }
    redundant += members.size() - 1;
  }

  for (ReportFile& r : reports) {
    if (r.format() == ReportFormat::csv) {
      r.line(dedup_csv_header());
      for (const DedupRow& row : rows) r.line(dedup_csv_line(row));
    } else if (r.format() == ReportFormat::jsonl) {
      for (const DedupRow& row : rows) r.line(dedup_json_line(row));
    } else {
      std::vector<HtmlDedupMember> members;
      std::unordered_map<std::string, std::pair<std::string, std::string>> thumbs;
      for (const DedupRow& row : rows) {
        auto [slot, fresh] = thumbs.try_emplace(row.locator);
        if (fresh) slot->second = copy_thumbnail(row.locator);
        members.push_back(HtmlDedupMember{row, slot->second.first, slot->second.second});
      }
      HtmlReportInfo hi;
      hi.title = "residue dedup report";
      hi.generated_at = utc_timestamp();
      hi.facts = {
          {"catalog", a.catalog},
          {"tiers", a.p.tiers},
          {"policy", fmt::format("PDQ <= {}, pHash <= {}, quality >= {}", options.max_distance,
                                 options.phash_distance, options.min_quality)}};
      r.write(dedup_html(members, hi));
    }
    r.commit();
  }
  if (reports.empty()) {
    out_line(dedup_csv_header());
    for (const DedupRow& row : rows) out_line(dedup_csv_line(row));
  }
  if (!a.p.quiet) {
    err_line(fmt::format(
        "dedup: {} items, {} clusters holding {} items ({} redundant copies beside the keepers); "
        "{:.2f} s",
        items.size(), found.size(), rows.size(), redundant, pairs.seconds));
    for (const ReportFile& r : reports) err_line("dedup: wrote " + r.path());
  }
  return kExitOk;
}

/// `dedup --mpi`: every rank loads the catalog's hashes and queries its share against an index of
/// all of them (src/dist/); rank 0 merges the pairs, clusters them and writes the reports.
int run_dedup_mpi(const DedupArgs& a) {
  const dist::Session s;
  const bool root = s.rank() == 0;
  if (root && !a.p.quiet)
    if (const auto note = s.binding_warning()) err_line("note: " + *note);
  try {
    const MatchOptions options = policy(a.p);
    const std::vector<Tier> tiers = parse_tiers(a.p.tiers);
    std::vector<ReportFile> reports;
    if (root) reports = open_reports(a.p.outs);
    Catalog catalog(a.catalog, Catalog::Mode::read_only);
    const std::vector<CatalogHash> items = catalog.load_hashes();
    const DedupSet pairs = dist::self_join(s, items, options);
    if (!root) return kExitOk;
    return write_dedup_reports(a, options, tiers, reports, catalog, items, pairs);
  } catch (const Error& e) {
    s.abort(e.what(), kExitFatal);
  }
}

}  // namespace

Runner add_match_command(CLI::App& app) {
  auto a = std::make_shared<MatchArgs>();
  CLI::App* cmd =
      app.add_subcommand("match", "Find every copy of a bank's withdrawn items in a catalog");
  cmd->add_option("--catalog", a->catalog, "Catalog made by `residue scan`")->required();
  cmd->add_option("--bank", a->bank, "Removal bank made by `residue bank add|import`")->required();
  cmd->add_option("--allow", a->allow,
                  "Allow bank: known-legitimate images; an item matching one (exact or near) is "
                  "never reported");
  add_policy_options(cmd, a->p, "exact,near,review");
  cmd->footer(
      "Each row is one copy of one withdrawn item, with its tier:\n"
      "  exact   the same bytes (SHA-256)\n"
      "  near    PDQ within --max-distance under some rotation/flip or crop view of the withdrawn\n"
      "          image, AND the pHash of that same view within --phash-distance, both PDQ\n"
      "          qualities >= --min-quality. Copies with a flat border are also compared with the\n"
      "          border trimmed. `residue purge` acts on exact and near.\n"
      "  review  PDQ within --max-distance, but pHash disagrees or a quality is low: for a person\n"
      "          to look at.\n"
      "Report columns (CSV header, JSONL keys): locator, container, bank_locator, bank_label, "
      "tier,\n"
      "pdq_distance, phash_distance, dihedral, quality, sha256, size, view, trimmed.\n"
      "Exit status: 0 done (whether or not copies were found), 2 fatal (bad flags, a catalog or "
      "bank\n"
      "that is not one, an empty bank, an unwritable --out: no report file is left behind).");
  return [a] { return a->p.mpi ? run_match_mpi(*a) : run_match(*a); };
}

Runner add_dedup_command(CLI::App& app) {
  auto a = std::make_shared<DedupArgs>();
  CLI::App* cmd = app.add_subcommand("dedup", "Near-duplicate clusters within one catalog");
  cmd->add_option("--catalog", a->catalog, "Catalog made by `residue scan`")->required();
  add_policy_options(cmd, a->p, "exact,near");
  cmd->footer(
      "Items are joined when they are exact or near copies of each other (the tiers of `residue\n"
      "match`; add review with --tiers exact,near,review); clusters are the connected groups.\n"
      "Each cluster suggests a keeper: the most pixels, then the highest PDQ quality, then the\n"
      "most bytes. Rows (CSV header, JSONL keys): cluster, tier, locator, container, keeper,\n"
      "pdq_distance, phash_distance (to the keeper), width, height, quality, size, sha256.\n"
      "Rotated or flipped duplicates are not joined (catalogs hold one orientation).");
  return [a] { return a->p.mpi ? run_dedup_mpi(*a) : run_dedup(*a); };
}

}  // namespace residue::tool
