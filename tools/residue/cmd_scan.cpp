// `residue scan`: scan mirrors into a catalog, incrementally and resumably.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "residue/catalog.hpp"
#include "residue/dist.hpp"
#include "residue/report.hpp"
#include "residue/scan.hpp"

namespace residue::tool {
namespace {

struct ScanArgs {
  std::vector<std::string> roots;
  std::string catalog;
  std::vector<std::string> excludes;
  int threads = 0;
  int tsv_column = -1;
  int batch = 1000;
  bool rehash = false;
  bool quiet = false;
  bool follow_symlinks = false;
  bool exact = false;
  bool no_strips = false;
  double max_megapixels = 250.0;
  bool mpi = false;
  std::uint64_t split_min_mb = 256;
};

std::string json_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + json_quote(v[i]);
  return out + "]";
}

/// What the catalog recorded of each file: the incremental policy's input. The locators of
/// containers a killed run left half done are loaded too (skipped when the bytes are unchanged).
std::unordered_map<std::string, PriorFile> load_priors(Catalog& catalog, bool rehash) {
  std::unordered_map<std::string, PriorFile> priors;
  for (auto& [path, st] : catalog.load_file_states()) {
    PriorFile p;
    p.kind = st.kind;
    p.size = st.size;
    p.mtime_ns = st.mtime_ns;
    p.complete = st.complete;
    if (!rehash && !st.complete && st.kind != "file") p.done_members = catalog.load_locators(path);
    priors.emplace(path, std::move(p));
  }
  return priors;
}

ScanOptions scan_options(const ScanArgs& a) {
  ScanOptions options;
  options.threads = a.threads;
  options.decode.exact = a.exact;
  options.strips = !a.no_strips;
  options.decode.max_pixels = static_cast<std::uint64_t>(a.max_megapixels * 1e6);
  options.source.walk.follow_symlinks = a.follow_symlinks;
  options.source.walk.excludes = a.excludes;
  if (a.tsv_column >= 0) options.source.tsv_column = a.tsv_column;
  return options;
}

std::int64_t begin_run(Catalog& catalog, const ScanArgs& a) {
  return catalog.begin_run(
      json_list(a.roots),
      fmt::format(
          "{{\"exact\":{},\"strips\":{},\"rehash\":{},\"follow_symlinks\":{},\"excludes\":{}}}",
          a.exact, !a.no_strips, a.rehash, a.follow_symlinks, json_list(a.excludes)));
}

/// Writes one result to the catalog (the single-process and the --mpi paths share it, so both
/// write the same rows).
void put_result(Catalog& catalog, const ScanResult& r, std::int64_t run_id, bool quiet,
                Progress& progress) {
  const std::string kind(to_string(r.container_kind));
  switch (r.event) {
    case SourceEvent::container_begin:
      catalog.put_container(r.file.path, kind, r.file.size, r.file.mtime_ns, false, run_id);
      return;
    case SourceEvent::container_end:
      catalog.put_container(r.file.path, kind, r.file.size, r.file.mtime_ns, true, run_id);
      return;
    case SourceEvent::item:
      break;
  }
  const bool in_container = r.container_kind != ContainerKind::none;
  const std::string& file = r.file.path.empty() ? r.record.locator : r.file.path;
  catalog.put_item(r.record, file, in_container ? r.file.path : std::string(), kind,
                   r.file.mtime_ns, r.file.size, run_id);
  if (!r.record.ok() && !quiet) {
    progress.clear();
    err_line(error_line(r.record));
  }
}

/// Commits, marks vanished items gone, closes the run and prints the summary.
int finish_scan(Catalog& catalog, const ScanArgs& a, std::int64_t run_id, const ScanStats& stats,
                const std::unordered_set<std::string>& seen, Progress& progress) {
  catalog.commit();
  const std::uint64_t gone = catalog.mark_unseen_gone(a.roots, seen);
  RunSummary summary;
  summary.items = stats.items;
  summary.ok = stats.ok;
  summary.failed = stats.failed;
  summary.skipped = stats.stream.skipped_unchanged + stats.stream.skipped_done;
  summary.gone = gone;
  summary.bytes = stats.bytes;
  catalog.finish_run(run_id, summary, "complete");
  progress.clear();

  const double secs = stats.seconds > 0 ? stats.seconds : 1e-9;
  err_line(fmt::format(
      "scan: {} items in {:.1f} s ({:.0f} items/s, {:.1f} MB/s): {} ok, {} failed; {} unchanged "
      "files skipped, {} resumed members skipped, {} non-image files skipped, {} items gone",
      stats.items, stats.seconds, static_cast<double>(stats.items) / secs,
      static_cast<double>(stats.stream.bytes_consumed) / 1e6 / secs, stats.ok, stats.failed,
      stats.stream.skipped_unchanged, stats.stream.skipped_done, stats.stream.skipped_not_items,
      gone));
  if (stats.failed > 0) {
    err_line(fmt::format("scan: errors by code: {}", error_counts(stats.errors_by_code)));
    return kExitItemsFailed;
  }
  return kExitOk;
}

int run_scan(const ScanArgs& a) {
  Catalog catalog(a.catalog, Catalog::Mode::read_write);
  catalog.set_batch_size(a.batch);
  Incremental incremental(load_priors(catalog, a.rehash), a.rehash);
  ScanOptions options = scan_options(a);
  incremental.install(options.source);

  Progress progress(
      a.quiet, a.quiet || !stderr_is_terminal() ? 0 : total_bytes(a.roots, options.source.walk));
  options.progress = [&](const ScanStats& s) { progress.update(s); };
  const std::int64_t run_id = begin_run(catalog, a);
  const ScanStats stats = scan_roots(a.roots, options, [&](const ScanResult& r) {
    put_result(catalog, r, run_id, a.quiet, progress);
  });
  return finish_scan(catalog, a, run_id, stats, incremental.seen(), progress);
}

/// `scan --mpi`: rank 0 opens the catalog, walks and plans; every rank scans its share and sends
/// its results to rank 0, which alone writes the catalog (see README "Running on a cluster").
int run_scan_mpi(const ScanArgs& a) {
  const dist::Session s;
  const bool root = s.rank() == 0;
  if (root && !a.quiet)
    if (const auto note = s.binding_warning()) err_line("note: " + *note);
  try {
    std::optional<Catalog> catalog;
    dist::ScanJob job;
    job.options = scan_options(a);
    job.rehash = a.rehash;
    job.split_min_bytes = a.split_min_mb * (std::uint64_t{1} << 20);
    if (root) {
      catalog.emplace(a.catalog, Catalog::Mode::read_write);
      catalog->set_batch_size(a.batch);
      job.roots = a.roots;
      job.priors = load_priors(*catalog, a.rehash);
    }
    Progress progress(a.quiet || !root, a.quiet || !root || !stderr_is_terminal()
                                            ? 0
                                            : total_bytes(a.roots, job.options.source.walk));
    job.options.progress = [&](const ScanStats& st) { progress.update(st); };
    const std::int64_t run_id = root ? begin_run(*catalog, a) : 0;
    const dist::ScanOutcome outcome = dist::scan(
        s, job, [&](const ScanResult& r) { put_result(*catalog, r, run_id, a.quiet, progress); });
    if (!root) return kExitOk;
    const int rc = finish_scan(*catalog, a, run_id, outcome.stats, outcome.seen, progress);
    if (!a.quiet) {
      std::string per_rank;
      double slowest = 0;
      for (std::size_t r = 0; r < outcome.ranks.size(); ++r) {
        const dist::RankScan& x = outcome.ranks[r];
        slowest = std::max(slowest, x.seconds + x.count_seconds);
        per_rank += fmt::format(
            "{}rank {}: {} items in {:.1f} s, {:.1f} MB sent, {:.1f} MB received",
            r == 0 ? "" : "; ", r, x.items, x.seconds + x.count_seconds,
            static_cast<double>(x.bytes_sent) / 1e6, static_cast<double>(x.bytes_received) / 1e6);
      }
      err_line(
          fmt::format("scan: {} ranks, {} files cut into {} ranges{}; planning {:.2f} s, slowest "
                      "rank {:.1f} s, "
                      "rank 0 writing the catalog {:.2f} s",
                      outcome.ranks.size(), outcome.cut_files, outcome.cut_ranges,
                      outcome.uncut_files == 0
                          ? std::string()
                          : fmt::format(" ({} more scanned whole: a range could not be counted)",
                                        outcome.uncut_files),
                      outcome.plan_seconds, slowest, outcome.sink_seconds));
      err_line("scan: " + per_rank);
    }
    return rc;
  } catch (const Error& e) {
    s.abort(e.what(), kExitFatal);
  }
}

}  // namespace

Runner add_scan_command(CLI::App& app) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "scan", "Scan mirrors (folders, tar/zip, TSV-base64, RecordIO) into a catalog");
  cmd->footer(
      "Every image found becomes one row of the catalog (a SQLite database): its locator, "
      "container,\n"
      "size, SHA-256, format, size in pixels, PDQ hash and quality, pHash, and its status.\n"
      "\n"
      "Containers are read where they are, never extracted: tar (also .tar.gz, .tar.zst; "
      "WebDataset\n"
      "shards, where only image members are items), zip, TSV files with base64 images (as "
      "MS-Celeb-1M\n"
      "shipped them; the image column is detected, or given with --tsv-column), and MXNet RecordIO "
      ".rec\n"
      "files (as InsightFace ships MS1M, Glint, WebFace). They are recognised by content.\n"
      "\n"
      "Locators name items the same way everywhere, built from the root as you give it:\n"
      "  a/b.jpg                    a plain file\n"
      "  shard-0001.tar!/000123.jpg an archive member\n"
      "  faces.tsv!/line/17         a TSV line (1-based)\n"
      "  train.rec!/record/5        a RecordIO record (0-based)\n"
      "`residue cat LOCATOR` writes an item's bytes back out.\n"
      "\n"
      "Incremental: a rescan skips plain files and containers whose size and mtime are unchanged\n"
      "(unless --rehash), marks vanished items as gone and adds new ones. Use the same spelling of "
      "the\n"
      "roots each time. Killing a scan at any moment leaves a valid catalog; running the same "
      "command\n"
      "again finishes the work without redoing what was committed.\n"
      "\n"
      "On a cluster: mpirun -n N residue scan --mpi ... shares the work across N ranks by bytes "
      "(rank 0\n"
      "writes the catalog; the same catalog as one process). See README \"Running on a "
      "cluster\".\n"
      "\n"
      "Bad files never stop a scan: each becomes an error row with a code and message (and a line "
      "on\n"
      "stderr unless --quiet). Exit status: 0 all items hashed, 1 some items failed, 2 fatal (bad\n"
      "flags, a catalog that is not a residue catalog or is from a newer version: left "
      "untouched).");
  cmd->add_option("roots", args->roots, "Folders, archives and files to scan")->required();
  cmd->add_option("--catalog", args->catalog, "Catalog database to create or update")->required();
  cmd->add_option("-j,--threads", args->threads, "Worker threads (0 = one per core)")
      ->default_val(0)
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--exclude", args->excludes,
                  "Skip paths matching this glob (path or base name); repeatable");
  cmd->add_option("--tsv-column", args->tsv_column,
                  "0-based column of the base64 image in TSV files (default: detect)")
      ->check(CLI::Range(0, 1000));
  cmd->add_option("--batch", args->batch,
                  "Items per catalog transaction (also committed at least every second)")
      ->default_val(1000)
      ->check(CLI::Range(1, 1000000));
  cmd->add_flag("--rehash", args->rehash, "Hash everything again, even unchanged files");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress display and no per-item error lines");
  cmd->add_flag("--follow-symlinks", args->follow_symlinks, "Follow symbolic links (loop-safe)");
  cmd->add_flag("--exact", args->exact, "Disable decoding shortcuts (full-resolution decode)");
  cmd->add_flag("--no-strips", args->no_strips,
                "Do not hash the four half views of each image (about 20% faster on small "
                "images; copies with a caption or logo overlay are then not found)");
  cmd->add_option("--max-megapixels", args->max_megapixels, "Refuse larger images before decoding")
      ->default_val(250.0)
      ->check(CLI::Range(0.000001, 1e6));
  cmd->add_flag("--mpi", args->mpi,
                "Run as one rank of an MPI job (mpirun -n N residue scan --mpi ...): the work is "
                "shared across ranks by bytes; rank 0 writes the catalog");
  cmd->add_option("--split-min-mb", args->split_min_mb,
                  "With --mpi: TSV and RecordIO files at least this large may be cut into byte "
                  "ranges scanned by different ranks")
      ->default_val(256)
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1} << 30));
  return [args] { return args->mpi ? run_scan_mpi(*args) : run_scan(*args); };
}

}  // namespace residue::tool
