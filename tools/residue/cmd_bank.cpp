// `residue bank add|import|export|stats|remove`: removal banks of withdrawn images or hashes.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "residue/catalog.hpp"
#include "residue/report.hpp"
#include "residue/scan.hpp"

namespace residue::tool {
namespace {

constexpr int kThumbnailSide = 160;

// ------------------------------------------------------------------------------------------
// bank add

struct AddArgs {
  std::string bank;
  std::string label;
  std::vector<std::string> sources;
  int threads = 0;
  int tsv_column = -1;
  bool quiet = false;
  bool no_thumbnails = false;
  bool follow_symlinks = false;
};

int add_images(const AddArgs& a) {
  Bank bank(a.bank, Catalog::Mode::read_write);
  ScanOptions options;
  options.threads = a.threads;
  options.bank = true;
  options.thumbnail_side = a.no_thumbnails ? 0 : kThumbnailSide;
  options.source.walk.follow_symlinks = a.follow_symlinks;
  if (a.tsv_column >= 0) options.source.tsv_column = a.tsv_column;
  Progress progress(
      a.quiet, a.quiet || !stderr_is_terminal() ? 0 : total_bytes(a.sources, options.source.walk));
  options.progress = [&](const ScanStats& s) { progress.update(s); };

  std::uint64_t added = 0, already = 0, hashes = 0, pending = 0;
  bank.begin();
  const ScanStats stats = scan_roots(a.sources, options, [&](const ScanResult& r) {
    if (r.event != SourceEvent::item) return;
    if (!r.record.ok()) {
      progress.clear();
      err_line(error_line(r.record));
      return;
    }
    if (bank.find(r.record.locator, r.record.sha256)) {
      ++already;
      return;
    }
    BankEntry e;
    e.locator = r.record.locator;
    e.label = a.label;
    e.origin = "image";
    e.has_sha256 = true;
    e.sha256 = r.record.sha256;
    e.size = r.record.size;
    e.format = std::string(to_string(r.record.format));
    e.width = r.record.width;
    e.height = r.record.height;
    e.thumbnail.assign(r.thumbnail.begin(), r.thumbnail.end());
    bank.add(e, r.bank_hashes);
    ++added;
    hashes += r.bank_hashes.size();
    if (++pending >= 500) {  // a killed run keeps what was committed; a rerun skips it
      bank.commit();
      bank.begin();
      pending = 0;
    }
  });
  bank.commit();
  progress.clear();
  err_line(fmt::format(
      "bank add: {} images added ({} hashes), {} already in the bank, {} failed; {} non-image "
      "files skipped",
      added, hashes, already, stats.failed, stats.stream.skipped_not_items));
  if (stats.failed > 0) {
    err_line(fmt::format("bank add: errors by code: {}", error_counts(stats.errors_by_code)));
    return kExitItemsFailed;
  }
  if (stats.items == 0) {
    err_line("bank add: no images found in the sources");
    return kExitFatal;
  }
  return kExitOk;
}

int run_add(const AddArgs& a) {
  const bool existed = std::filesystem::exists(a.bank);
  const int status = add_images(a);
  // A bank this run created but put nothing in is removed: a failed `bank add` leaves no file.
  if (!existed && std::filesystem::exists(a.bank)) {
    const bool empty = Bank(a.bank, Catalog::Mode::read_only).stats().entries == 0;
    if (empty)
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(a.bank + suffix);
  }
  return status;
}

// ------------------------------------------------------------------------------------------
// bank import: hash lists

struct ImportArgs {
  std::string bank;
  std::string file;
  std::string type = "pdq";
  std::string label;
  bool skip_bad = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep, std::size_t max_fields) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_fields) {
    const auto p = s.find(sep);
    if (p == std::string_view::npos) break;
    out.push_back(s.substr(0, p));
    s.remove_prefix(p + 1);
  }
  out.push_back(s);
  return out;
}

std::optional<Sha256> parse_sha256(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Sha256 s;
  for (std::size_t i = 0; i < 32; ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      const char c = hex[2 * i + static_cast<std::size_t>(k)];
      int d = -1;
      if (c >= '0' && c <= '9') d = c - '0';
      if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    s.bytes[i] = static_cast<std::uint8_t>(v);
  }
  return s;
}

std::optional<int> parse_int(std::string_view s, int lo, int hi) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<Dihedral> parse_dihedral(std::string_view s) {
  for (int d = 0; d < kDihedralCount; ++d)
    if (to_string(static_cast<Dihedral>(d)) == s) return static_cast<Dihedral>(d);
  return std::nullopt;
}

std::optional<BankView> parse_view(std::string_view s) {
  for (int v = 0; v < kBankViewCount; ++v)
    if (to_string(static_cast<BankView>(v)) == s) return static_cast<BankView>(v);
  return std::nullopt;
}

/// One entry being assembled from one or more lines.
struct ImportEntry {
  BankEntry entry;
  std::vector<BankHash> hashes;
};

/// Parses one line into `entries` (keyed so that lines of one exported entry join it).
/// Returns an error message, or "" when the line is fine (blank and # lines are fine).
std::string parse_line(std::string_view raw, const ImportArgs& a,
                       std::map<std::string, ImportEntry>& entries,
                       std::vector<std::string>& order) {
  const std::string_view line = trim(raw);
  if (line.empty() || line.front() == '#') return "";
  BankHash h;
  std::optional<Sha256> sha;
  std::string key, label = a.label;

  const auto words = split(line, ' ', 3);
  if (line.find(',') == std::string_view::npos && words.size() >= 2) {
    // "pdq <hex>", "phash <hex>", "sha256 <hex>" (hash-exchange style)
    const std::string_view kind = words[0], hex = trim(words[1]);
    if (kind == "pdq") {
      const auto p = parse_hash256(hex);
      if (!p) return "not a 64-digit hex PDQ hash: '" + std::string(hex) + "'";
      h.pdq = *p;
      h.has_pdq = true;
      h.quality = -1;
    } else if (kind == "phash") {
      const auto p = parse_hash64(hex);
      if (!p) return "not a 16-digit hex pHash: '" + std::string(hex) + "'";
      h.phash = *p;
      h.has_phash = true;
      h.quality = -1;
    } else if (kind == "sha256") {
      sha = parse_sha256(hex);
      if (!sha) return "not a 64-digit hex SHA-256: '" + std::string(hex) + "'";
    } else {
      return "unknown hash kind '" + std::string(kind) + "' (expected pdq, phash or sha256)";
    }
  } else if (line.find(',') != std::string_view::npos) {
    // PDQ CSV: hash,quality[,rest]; residue's own export adds phash,view,dihedral,key,label.
    const auto f = split(line, ',', 7);
    const auto p = parse_hash256(trim(f[0]));
    if (!p) return "not a 64-digit hex PDQ hash: '" + std::string(trim(f[0])) + "'";
    const auto q = parse_int(trim(f[1]), 0, 100);
    if (!q) return "quality must be an integer 0..100: '" + std::string(trim(f[1])) + "'";
    h.pdq = *p;
    h.has_pdq = true;
    h.quality = static_cast<std::int16_t>(*q);
    if (f.size() >= 6) {
      if (const auto ph = parse_hash64(trim(f[2]))) {  // residue export
        const auto v = parse_view(trim(f[3]));
        const auto d = parse_dihedral(trim(f[4]));
        if (!v || !d) return "bad view or dihedral in a residue export line";
        h.phash = *ph;
        h.has_phash = true;
        h.view = *v;
        h.dihedral = *d;
        key = std::string(trim(f[5]));
        if (key.starts_with("sha256:")) {
          sha = parse_sha256(std::string_view(key).substr(7));
          if (!sha) return "bad sha256 entry key '" + key + "'";
        }
        if (f.size() == 7 && a.label.empty()) label = std::string(f[6]);
      }
    }
  } else {
    // One hex hash per line; --type says which (a SHA-256 and a PDQ hash are both 64 digits).
    if (a.type == "pdq") {
      const auto p = parse_hash256(line);
      if (!p) return "not a 64-digit hex PDQ hash: '" + std::string(line) + "'";
      h.pdq = *p;
      h.has_pdq = true;
      h.quality = -1;
    } else if (a.type == "phash") {
      const auto p = parse_hash64(line);
      if (!p) return "not a 16-digit hex pHash: '" + std::string(line) + "'";
      h.phash = *p;
      h.has_phash = true;
      h.quality = -1;
    } else {
      sha = parse_sha256(line);
      if (!sha) return "not a 64-digit hex SHA-256: '" + std::string(line) + "'";
    }
  }

  std::string locator = h.has_pdq     ? "hash:" + to_hex(h.pdq)
                        : h.has_phash ? "hash:" + to_hex(h.phash)
                                      : "sha256:" + to_hex(*sha);
  if (key.empty()) key = locator;
  auto [it, inserted] = entries.try_emplace(key);
  ImportEntry& e = it->second;
  if (inserted) {
    order.push_back(key);
    e.entry.locator = locator;
    e.entry.origin = "list";
    e.entry.label = label;
  }
  // The entry is named by the hash of its full, untransformed view.
  if (h.has_pdq && h.view == BankView::full && h.dihedral == Dihedral::original)
    e.entry.locator = locator;
  if (sha) {
    e.entry.has_sha256 = true;
    e.entry.sha256 = *sha;
  }
  if (h.has_pdq || h.has_phash) e.hashes.push_back(h);
  return "";
}

int run_import(const ImportArgs& a) {
  std::ifstream in(a.file, std::ios::binary);
  if (!in) RESIDUE_THROW("cannot read " + a.file);
  std::map<std::string, ImportEntry> entries;
  std::vector<std::string> order;
  std::uint64_t bad = 0, line_no = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    const std::string why = parse_line(line, a, entries, order);
    if (why.empty()) continue;
    ++bad;
    err_line(fmt::format("{}:{}: {}", a.file, line_no, why));
  }
  if (in.bad()) RESIDUE_THROW("cannot read " + a.file);
  if (bad > 0 && !a.skip_bad) {
    err_line(fmt::format(
        "bank import: {} malformed lines; nothing imported (fix them, or pass --skip-bad)", bad));
    return kExitFatal;
  }
  if (entries.empty()) {
    err_line(fmt::format("bank import: no hashes in {}", a.file));
    return kExitFatal;
  }
  Bank bank(a.bank, Catalog::Mode::read_write);
  bank.begin();
  std::uint64_t added = 0, already = 0;
  for (const auto& key : order) {
    ImportEntry& e = entries.at(key);
    if (bank.find(e.entry.locator, std::nullopt)) {
      ++already;
      continue;
    }
    bank.add(e.entry, e.hashes);
    ++added;
  }
  bank.commit();
  err_line(
      fmt::format("bank import: {} entries added, {} already in the bank, {} bad lines skipped",
                  added, already, bad));
  return bad > 0 ? kExitItemsFailed : kExitOk;
}

// ------------------------------------------------------------------------------------------
// bank export

std::string entry_key(const BankEntry& e) {
  return e.has_sha256 ? "sha256:" + to_hex(e.sha256) : fmt::format("entry:{}", e.id);
}

int run_export(const std::string& path, const std::string& format) {
  Bank bank(path, Catalog::Mode::read_only);
  const std::vector<BankEntry> entries = bank.entries();
  const BankHashes all = bank.load_hashes();
  std::map<std::int64_t, std::vector<const BankHash*>> by_entry;
  for (const BankHash& h : all.hashes) by_entry[h.entry_id].push_back(&h);
  std::uint64_t skipped = 0;
  for (const BankEntry& e : entries) {
    const auto& hs = by_entry[e.id];
    if (format == "jsonl") {
      std::string hashes;
      for (const BankHash* h : hs) {
        hashes += fmt::format(
            "{}{{\"view\":\"{}\",\"dihedral\":\"{}\",\"pdq\":{},\"quality\":{},\"phash\":{}}}",
            hashes.empty() ? "" : ",", to_string(h->view), to_string(h->dihedral),
            h->has_pdq ? json_quote(to_hex(h->pdq)) : "null",
            h->quality < 0 ? std::string("null") : std::to_string(h->quality),
            h->has_phash ? json_quote(to_hex(h->phash)) : "null");
      }
      out_line(fmt::format(
          "{{\"locator\":{},\"label\":{},\"origin\":{},\"added_at\":{},\"sha256\":{},\"hashes\":[{}"
          "]}}",
          json_quote(e.locator), json_quote(e.label), json_quote(e.origin), json_quote(e.added_at),
          e.has_sha256 ? json_quote(to_hex(e.sha256)) : "null", hashes));
      continue;
    }
    // pdq-csv: `hash,quality` first, as the PDQ tools write it; then residue's own fields so
    // that `residue bank import` of the file gives back the same bank (pHash included).
    bool any = false;
    for (const BankHash* h : hs) {
      if (!h->has_pdq) continue;
      any = true;
      out_line(fmt::format("{},{},{},{},{},{},{}", to_hex(h->pdq), h->quality < 0 ? 0 : h->quality,
                           h->has_phash ? to_hex(h->phash) : "-", to_string(h->view),
                           to_string(h->dihedral), entry_key(e), e.label));
    }
    if (!any) ++skipped;
  }
  if (skipped > 0)
    err_line(fmt::format(
        "bank export: {} entries have no PDQ hash (SHA-256 or pHash only) and are not in the "
        "pdq-csv; use --format jsonl to export them",
        skipped));
  return kExitOk;
}

// ------------------------------------------------------------------------------------------
// bank stats / remove

int run_stats(const std::string& path, bool json) {
  Bank bank(path, Catalog::Mode::read_only);
  const BankStats st = bank.stats();
  if (json) {
    std::string labels;
    for (const auto& [k, v] : st.labels)
      labels += fmt::format("{}{}:{}", labels.empty() ? "" : ",", json_quote(k), v);
    out_line(fmt::format(
        "{{\"entries\":{},\"from_images\":{},\"from_lists\":{},\"hashes\":{},\"labels\":{{{}}}}}",
        st.entries, st.from_images, st.from_lists, st.hashes, labels));
    return kExitOk;
  }
  out_line(fmt::format("bank: {} (created {})", path, st.created_at));
  out_line(fmt::format("entries: {} ({} from images, {} from hash lists); {} hashes", st.entries,
                       st.from_images, st.from_lists, st.hashes));
  out_line("by label:");
  for (const auto& [k, v] : st.labels)
    out_line(fmt::format("  {:<20} {:>10}", k.empty() ? "(none)" : k, v));
  return kExitOk;
}

struct RemoveArgs {
  std::string bank;
  std::optional<std::int64_t> id;
  std::optional<std::string> label, locator;
};

int run_remove(const RemoveArgs& a) {
  const int given = (a.id ? 1 : 0) + (a.label ? 1 : 0) + (a.locator ? 1 : 0);
  if (given != 1) RESIDUE_THROW("bank remove: give exactly one of --id, --label, --locator");
  Bank bank(a.bank, Catalog::Mode::read_write);
  bank.begin();
  const std::uint64_t n = bank.remove(BankSelector{a.id, a.label, a.locator});
  bank.commit();
  err_line(fmt::format("bank remove: {} entries removed", n));
  if (n == 0) return kExitItemsFailed;
  return kExitOk;
}

}  // namespace

Runner add_bank_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("bank", "Removal banks: the withdrawn images to look for");
  cmd->require_subcommand(1);
  cmd->footer(
      "A bank is a SQLite file (like a catalog, but of role `bank`) of withdrawn items. Each\n"
      "entry keeps its locator, label and the time it was added, and its hashes: for an image,\n"
      "PDQ (with quality) and pHash of the whole picture under its 8 rotations and flips, and of\n"
      "centre crops to 95%, 90%, ..., 70% (5% apart), so that transformed and cropped copies\n"
      "are found.\n"
      "Hash lists (`bank import`) let mirror operators search without the images themselves.");

  auto add = std::make_shared<AddArgs>();
  CLI::App* c_add = cmd->add_subcommand("add", "Hash withdrawn images into a bank");
  c_add
      ->add_option("sources", add->sources,
                   "Folders, archives, TSV and RecordIO files (as `residue scan` reads them)")
      ->required();
  c_add->add_option("--bank", add->bank, "Bank database to create or extend")->required();
  c_add->add_option("--label", add->label, "Label stored with every entry (e.g. a request id)");
  c_add->add_option("-j,--threads", add->threads, "Worker threads (0 = one per core)")
      ->check(CLI::Range(0, 1024));
  c_add->add_option("--tsv-column", add->tsv_column, "0-based image column of TSV files")
      ->check(CLI::Range(0, 1000));
  c_add->add_flag("--no-thumbnails", add->no_thumbnails,
                  "Do not keep a 160 px thumbnail of each image (HTML reports then show hashes)");
  c_add->add_flag("--follow-symlinks", add->follow_symlinks, "Follow symbolic links");
  c_add->add_flag("-q,--quiet", add->quiet, "No progress display");
  c_add->footer(
      "Adding the same image (same locator and SHA-256) again is a no-op. Files that are not\n"
      "images are skipped; images that cannot be decoded are reported and not added (exit 1).");

  auto imp = std::make_shared<ImportArgs>();
  CLI::App* c_imp = cmd->add_subcommand("import", "Import a shared hash list (no images needed)");
  c_imp->add_option("file", imp->file, "Hash list")->required();
  c_imp->add_option("--bank", imp->bank, "Bank database to create or extend")->required();
  c_imp->add_option("--type", imp->type, "What bare one-hash-per-line lines are")
      ->check(CLI::IsMember({"pdq", "phash", "sha256"}))
      ->default_val("pdq");
  c_imp->add_option("--label", imp->label, "Label for every imported entry");
  c_imp->add_flag("--skip-bad", imp->skip_bad,
                  "Import the good lines even if some are malformed (exit 1)");
  c_imp->footer(
      "Accepted lines (blank lines and lines starting with # are ignored):\n"
      "  <pdq hex>,<quality>[,...]   PDQ CSV, as the PDQ reference tools and `residue hash` write\n"
      "                              (a `residue bank export` file adds pHash, view, transform,\n"
      "                              entry and label, and imports back with all of them)\n"
      "  pdq <hex> | phash <hex> | sha256 <hex>   hash-exchange style\n"
      "  <hex>                       one hash per line, of --type\n"
      "Malformed lines are reported as FILE:LINE: reason. Nothing is imported unless every line\n"
      "is good, or --skip-bad is given. How imported hashes match: a SHA-256 gives `exact`\n"
      "matches; a PDQ hash without pHash gives `near` only within --hash-only-distance (default\n"
      "15) and `review` up to --max-distance; a pHash alone gives `review` only.");

  auto exp = std::make_shared<std::pair<std::string, std::string>>("", "pdq-csv");
  CLI::App* c_exp = cmd->add_subcommand("export", "Write a bank's hashes (never its images)");
  c_exp->add_option("--bank", exp->first, "Bank database")->required();
  c_exp->add_option("--format", exp->second, "pdq-csv or jsonl")
      ->check(CLI::IsMember({"pdq-csv", "jsonl"}))
      ->default_val("pdq-csv");
  c_exp->footer(
      "pdq-csv lines: pdq,quality,phash,view,transform,entry,label (readers of the PDQ CSV\n"
      "format use the first two fields). jsonl: one object per entry with all its hashes.\n"
      "Neither contains thumbnails or image bytes.");

  auto st = std::make_shared<std::pair<std::string, bool>>("", false);
  CLI::App* c_st = cmd->add_subcommand("stats", "What a bank holds");
  c_st->add_option("bank", st->first, "Bank database")->required();
  c_st->add_flag("--json", st->second, "Print one JSON object");

  auto rm = std::make_shared<RemoveArgs>();
  CLI::App* c_rm = cmd->add_subcommand("remove", "Remove entries from a bank");
  c_rm->add_option("--bank", rm->bank, "Bank database")->required();
  c_rm->add_option("--id", rm->id, "Entry id");
  c_rm->add_option("--label", rm->label, "Every entry with this label");
  c_rm->add_option("--locator", rm->locator, "Entries with this locator");

  return [=] {
    if (c_add->parsed()) return run_add(*add);
    if (c_imp->parsed()) return run_import(*imp);
    if (c_exp->parsed()) return run_export(exp->first, exp->second);
    if (c_st->parsed()) return run_stats(st->first, st->second);
    return run_remove(*rm);
  };
}

}  // namespace residue::tool
