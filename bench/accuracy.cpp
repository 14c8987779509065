// accuracy: how many copies of withdrawn images `residue match` finds, per edit, and how many false
// matches it reports per tier, beside the plain PDQ rule and OpenCV's PHash on the same items.
//
// Usage: accuracy --mirror OUT --residue PATH/TO/residue [--out DIR] [--threads N]
//          [--max-distance 31] [--phash-distance 10] [--match-args "ARGS"] [--peers-only]
// OUT comes from scripts/make_accuracy_mirror.py: OUT/withdrawn (the originals), OUT/mirror (their
// edited copies and the distractors, in every container kind) and OUT/truth.tsv (what each mirror
// item derives from, its edit and target group). In OUT/work, made fresh each run, it runs
//   residue scan --catalog OUT/work/catalog.db OUT/mirror
//   residue bank add --bank OUT/work/bank.db OUT/withdrawn
//   residue match --catalog OUT/work/catalog.db --bank OUT/work/bank.db --out
//   OUT/work/matches.jsonl
// and reads the JSON-lines report. A report row is TRUE when the copy derives from that withdrawn
// image, EXCLUDED when it derives from another member of the image's corpus family (a marked
// near-duplicate: neither a hit nor a false match), FALSE otherwise.
// Peers, computed here on the same items (bytes from residue::read_item), every (mirror item,
// withdrawn original) pair compared, no quality gate:
//   pdq         residue's PDQ in exact mode (the reference's bits), distance <= --max-distance
//   pdq_dihedral  the same against the original's 8 dihedral hashes
//   opencv_phash  cv::img_hash::PHash on imdecode(IMREAD_COLOR), distance <= --phash-distance
// Then a calibration of residue's 64-bit pHash (fast mode, as `residue scan` computes it): its
// distances between unrelated pairs and between true pairs, to choose the distance that confirms
// a PDQ match (the `near` tier).
// Targets (bench/README.md): no false match in exact or near; exact+near recall >= 99% for every
// edit of group t99, >= 90% for group t90; group "report" is measured only. Exit status: 0 every
// target met, 1 a target missed (or peers only), 2 run error.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/img_hash.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common.hpp"
#include "residue/scan.hpp"
#include "residue/source.hpp"

namespace {

namespace fs = std::filesystem;
using namespace residue::bench;
using Clock = std::chrono::steady_clock;

struct Options {
  fs::path dir;  // OUT of make_accuracy_mirror.py
  std::string residue;
  fs::path out;
  int threads = 0;
  int max_distance = 31;
  int phash_distance = 10;
  std::vector<std::string> match_args;
  bool peers_only = false;
};

std::string usage() {
  return "usage: accuracy --mirror OUT --residue PATH [--out DIR] [--threads N] [--max-distance "
         "31]\n"
         "         [--phash-distance 10] [--match-args \"ARGS\"] [--peers-only]\n";
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--mirror")
      o.dir = value();
    else if (a == "--residue")
      o.residue = value();
    else if (a == "--out")
      o.out = value();
    else if (a == "--threads")
      o.threads = std::stoi(value());
    else if (a == "--max-distance")
      o.max_distance = std::stoi(value());
    else if (a == "--phash-distance")
      o.phash_distance = std::stoi(value());
    else if (a == "--match-args") {
      std::istringstream words(value());
      for (std::string w; words >> w;) o.match_args.push_back(w);
    } else if (a == "--peers-only")
      o.peers_only = true;
    else if (a == "-h" || a == "--help") {
      std::cout << usage();
      std::exit(0);
    } else
      throw std::invalid_argument("unknown argument " + a);
  }
  if (o.dir.empty()) throw std::invalid_argument("--mirror OUT is required");
  if (o.residue.empty() && !o.peers_only) throw std::invalid_argument("--residue PATH is required");
  if (!o.residue.empty() && ::access(o.residue.c_str(), X_OK) != 0)
    throw std::invalid_argument("not executable: " + o.residue);
  if (o.threads < 0 || o.max_distance < 0 || o.max_distance > 256 || o.phash_distance < 0 ||
      o.phash_distance > 64)
    throw std::invalid_argument("bad --threads / --max-distance / --phash-distance");
  if (o.threads == 0)
    o.threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  o.dir = fs::absolute(o.dir).lexically_normal();
  if (o.dir.has_filename() == false) o.dir = o.dir.parent_path();
  return o;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fmt(double v, int prec = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::string pct(int found, int n) {
  return n == 0 ? "-" : fmt(100.0 * found / n, 1) + "%";
}

// ------------------------------------------------------------------------------- the truth

struct Item {
  std::string locator;  // as `residue scan OUT/mirror` spells it (OUT as this run names it)
  std::string container, source, family, edit, group;
  bool positive = false;
  int withdrawn = -1;  // index into Truth::withdrawn when positive
};

struct Withdrawn {
  std::string name;  // corpus file name = file name in OUT/withdrawn
  std::string family;
  std::string path;  // OUT/withdrawn/name, as given to `residue bank add`
};

struct Truth {
  std::string root;  // OUT/mirror
  std::vector<Item> items;
  std::vector<Withdrawn> withdrawn;
  std::unordered_map<std::string, std::size_t> by_locator;
  std::unordered_map<std::string, int> by_name;  // withdrawn file name -> index
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const auto tab = line.find('\t', pos);
    out.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
    if (tab == std::string::npos) return out;
    pos = tab + 1;
  }
}

// The "mirror_root" string of MANIFEST.json: the absolute root the locators in truth.tsv start
// with. When OUT has moved since, the locators are respelled with the root as this run names it.
std::string manifest_root(const std::string& manifest) {
  const auto k = manifest.find("\"mirror_root\"");
  if (k == std::string::npos) throw std::runtime_error("MANIFEST.json has no mirror_root");
  const auto open = manifest.find('"', manifest.find(':', k));
  const auto close = manifest.find('"', open + 1);
  return manifest.substr(open + 1, close - open - 1);
}

Truth load_truth(const fs::path& dir) {
  Truth t;
  t.root = (dir / "mirror").string();
  const std::string old_root = manifest_root(slurp(dir / "MANIFEST.json"));
  std::istringstream in(slurp(dir / "truth.tsv"));
  std::string line;
  std::getline(in, line);
  const auto header = split_tabs(line);
  auto col = [&](const std::string& name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) throw std::runtime_error("truth.tsv has no column " + name);
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t c_loc = col("locator"), c_cont = col("container"), c_src = col("source"),
                    c_fam = col("family"), c_edit = col("edit"), c_group = col("group"),
                    c_pos = col("positive");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = split_tabs(line);
    if (f.size() < header.size()) throw std::runtime_error("short truth.tsv line: " + line);
    Item it{f[c_loc], f[c_cont], f[c_src], f[c_fam], f[c_edit], f[c_group], f[c_pos] == "1"};
    if (it.locator.starts_with(old_root + "/"))
      it.locator = t.root + it.locator.substr(old_root.size());
    if (it.positive) {
      auto [pos, added] = t.by_name.try_emplace(it.source, static_cast<int>(t.withdrawn.size()));
      if (added) t.withdrawn.push_back({it.source, it.family, (dir / "withdrawn" / it.source)});
      it.withdrawn = pos->second;
    }
    t.by_locator.emplace(it.locator, t.items.size());
    t.items.push_back(std::move(it));
  }
  for (const auto& w : t.withdrawn)
    if (!fs::is_regular_file(w.path)) throw std::runtime_error("missing " + w.path);
  return t;
}

enum class Relation { same, family, unrelated };

Relation relation(const Item& item, const Withdrawn& w) {
  if (item.source == w.name) return Relation::same;
  if (!item.family.empty() && item.family == w.family) return Relation::family;
  return Relation::unrelated;
}

// ------------------------------------------------------------------------------- residue runs

struct Command {
  std::string name;
  std::vector<std::string> argv;
  int exit_code = -1;
  double seconds = 0;
  std::string err_tail{};  // last lines of stderr
};

// fork + exec with stdout and stderr to files; returns the exit code (-1 when killed).
void run_command(Command& c, const fs::path& work) {
  const std::string out = (work / (c.name + ".out")).string();
  const std::string err = (work / (c.name + ".err")).string();
  std::vector<char*> args;
  for (auto& a : c.argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::cout << "$ " << command_line(static_cast<int>(c.argv.size()), args.data()) << "\n"
            << std::flush;
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0) ::_exit(127);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  c.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  c.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream lines(slurp(err));
  std::vector<std::string> tail;
  for (std::string l; std::getline(lines, l);) {
    // Progress lines, and libpng's warnings about sRGB profiles of some corpus PNGs.
    if (l.find('\r') != std::string::npos || l.starts_with("libpng warning")) continue;
    tail.push_back(l);
    if (tail.size() > 3) tail.erase(tail.begin());
  }
  for (const auto& l : tail) c.err_tail += (c.err_tail.empty() ? "" : " | ") + l;
  std::cout << "  exit " << c.exit_code << ", " << fmt(c.seconds, 1) << " s"
            << (c.err_tail.empty() ? "" : ": " + c.err_tail) << "\n"
            << std::flush;
}

// One flat JSON object (string, number, true/false/null values; no nesting) -> name -> text
// (null -> ""). Enough for `residue match` report rows. Returns false on malformed input.
bool parse_flat_json(std::string_view s, std::map<std::string, std::string>& out) {
  std::size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  };
  auto string = [&](std::string& v) {
    if (i >= s.size() || s[i] != '"') return false;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] != '\\') {
        v += s[i];
        continue;
      }
      if (++i >= s.size()) return false;
      const char e = s[i];
      if (e == 'u') {
        if (i + 4 >= s.size()) return false;
        const unsigned cp =
            static_cast<unsigned>(std::stoul(std::string(s.substr(i + 1, 4)), nullptr, 16));
        i += 4;
        if (cp < 0x80) {
          v += static_cast<char>(cp);
        } else if (cp < 0x800) {
          v += static_cast<char>(0xC0 | (cp >> 6));
          v += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          v += static_cast<char>(0xE0 | (cp >> 12));
          v += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          v += static_cast<char>(0x80 | (cp & 0x3F));
        }
      } else {
        const std::string_view from = "\"\\/bfnrt", to = "\"\\/\b\f\n\r\t";
        const auto k = from.find(e);
        if (k == std::string_view::npos) return false;
        v += to[k];
      }
    }
    if (i >= s.size()) return false;
    ++i;
    return true;
  };
  ws();
  if (i >= s.size() || s[i++] != '{') return false;
  for (;;) {
    ws();
    if (i < s.size() && s[i] == '}') return true;
    std::string key, val;
    if (!string(key)) return false;
    ws();
    if (i >= s.size() || s[i++] != ':') return false;
    ws();
    if (i < s.size() && s[i] == '"') {
      if (!string(val)) return false;
    } else {
      const auto end = s.find_first_of(",}", i);
      if (end == std::string_view::npos) return false;
      val = std::string(s.substr(i, end - i));
      while (!val.empty() && (val.back() == ' ' || val.back() == '\n')) val.pop_back();
      if (val == "null") val.clear();
      i = end;
    }
    out[key] = val;
    ws();
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') return true;
    return false;
  }
}

enum Tier { kExact = 0, kNear = 1, kReview = 2, kNone = 3 };
const std::array<std::string, 3> kTierNames = {"exact", "near", "review"};

struct ReportRow {
  std::string locator, bank_locator, dihedral, view;
  int tier = kNone;
  std::string pdq, phash;  // "" when null
  bool trimmed = false;
};

std::vector<ReportRow> read_report(const fs::path& path, std::vector<std::string>& problems) {
  std::vector<ReportRow> rows;
  std::istringstream in(slurp(path));
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.empty()) continue;
    std::map<std::string, std::string> f;
    if (!parse_flat_json(line, f)) {
      problems.push_back("matches.jsonl line " + std::to_string(n) + " is not a flat JSON object");
      continue;
    }
    ReportRow r;
    r.locator = f["locator"];
    r.bank_locator = f["bank_locator"];
    r.dihedral = f["dihedral"];
    r.view = f["view"];
    const auto t = std::find(kTierNames.begin(), kTierNames.end(), f["tier"]);
    if (t == kTierNames.end()) {
      problems.push_back("matches.jsonl line " + std::to_string(n) + ": unknown tier '" +
                         f["tier"] + "'");
      continue;
    }
    r.tier = static_cast<int>(t - kTierNames.begin());
    r.pdq = f["pdq_distance"];
    r.phash = f["phash_distance"];
    r.trimmed = f["trimmed"] == "true";
    rows.push_back(std::move(r));
  }
  return rows;
}

bool has_match_commands(const std::string& residue) {
  const std::string help = capture("'" + residue + "' --help 2>&1");
  return help.find("bank") != std::string::npos && help.find("match") != std::string::npos;
}

// ------------------------------------------------------------------------------- in-process hashes

struct Hashes {
  bool ok = false;  // residue's hashes (fast and exact) computed
  bool cv_ok = false;
  residue::ItemRecord fast;   // default DecodeOptions, as `residue scan` hashes
  residue::ItemRecord exact;  // DecodeOptions{.exact = true}: the PDQ reference's bits
  std::uint64_t cv = 0;       // OpenCV PHash, 8 bytes
  std::string error;
};

Hashes hash_locator(const std::string& locator, bool dihedral, cv::img_hash::PHash& phash) {
  Hashes h;
  auto bytes = residue::read_item(locator);
  if (!bytes) {
    h.error = "read: " + bytes.error().message;
    return h;
  }
  const auto& b = bytes.value();
  h.fast = residue::hash_bytes(locator, b, residue::DecodeOptions{}, dihedral);
  h.exact = residue::hash_bytes(locator, b, residue::DecodeOptions{.exact = true}, dihedral);
  h.ok = h.fast.ok() && h.exact.ok();
  if (!h.ok) h.error = h.fast.ok() ? h.exact.error->message : h.fast.error->message;
  try {
    const cv::Mat raw(1, static_cast<int>(b.size()), CV_8UC1, const_cast<std::uint8_t*>(b.data()));
    const cv::Mat img = cv::imdecode(raw, cv::IMREAD_COLOR);
    if (!img.empty()) {
      cv::Mat out;
      phash.compute(img, out);
      if (out.total() == 8) {
        for (int k = 0; k < 8; ++k) h.cv = (h.cv << 8) | out.at<std::uint8_t>(0, k);
        h.cv_ok = true;
      }
    }
  } catch (const cv::Exception&) {
    h.cv_ok = false;
  }
  return h;
}

int pdq_dist(const residue::Hash256& a, const residue::Hash256& b) {
  return residue::hamming(a, b);
}

// ------------------------------------------------------------------------------- evaluation

const std::vector<std::string> kMethods = {"residue_exact", "residue_exact_near", "residue_any",
                                           "pdq",           "pdq_dihedral",       "opencv_phash"};

struct EditStats {
  std::string edit, group;
  int positives = 0;
  std::map<std::string, int> found;  // method -> positives found
  std::map<std::string, int> fp;     // method -> false matching pairs involving these items
};

double target_of(const std::string& group) {
  if (group == "t99") return 0.99;
  if (group == "t90") return 0.90;
  return -1;
}

struct FalseMatch {
  std::size_t item;
  int withdrawn;
  std::string detail;
};

struct Quantiles {
  std::size_t n = 0;
  std::vector<double> q;
};

Quantiles quantiles(const std::vector<int>& v, const std::vector<double>& ps) {
  Quantiles out;
  out.n = v.size();
  std::vector<double> d(v.begin(), v.end());
  for (double p : ps) out.q.push_back(d.empty() ? -1 : percentile(d, p));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "accuracy: " << e.what() << "\n" << usage();
    return 2;
  }
  try {
    residue::tune_allocator_for_batch_work();
    cv::setNumThreads(1);
    const RunContext ctx = run_context();
    Truth truth = load_truth(o.dir);
    const auto& items = truth.items;
    const auto& W = truth.withdrawn;
    std::ostringstream setup;
    setup << format_context(ctx) << "- OpenCV: " << cv::getVersionString() << "\n"
          << "- mirror: `" << o.dir.string() << "`: " << items.size() << " items, " << W.size()
          << " withdrawn originals\n- command: `" << command_line(argc, argv) << "`\n";
    std::cout << "# accuracy\n\n" << setup.str() << std::flush;

    // ---- residue: the real commands
    std::vector<Command> commands;
    std::vector<std::string> problems;
    std::vector<ReportRow> rows;
    bool residue_ran = false;
    std::string residue_version;
    if (!o.peers_only && !has_match_commands(o.residue)) {
      problems.push_back("`" + o.residue +
                         " --help` lists no `bank` / `match` command: peers only");
      o.peers_only = true;
    }
    if (!o.peers_only) {
      residue_version = capture("'" + o.residue + "' --version 2>&1");
      const fs::path work = o.dir / "work";
      fs::create_directories(work);
      for (const char* f : {"catalog.db", "catalog.db-wal", "catalog.db-shm", "bank.db",
                            "bank.db-wal", "bank.db-shm", "matches.jsonl"})
        fs::remove(work / f);
      const std::string cat = (work / "catalog.db").string(), bank = (work / "bank.db").string();
      const std::string report = (work / "matches.jsonl").string();
      const std::string threads = std::to_string(o.threads);
      commands.push_back(
          {"scan",
           {o.residue, "scan", "--catalog", cat, "--threads", threads, "--quiet", truth.root}});
      commands.push_back(
          {"bank_add", {o.residue, "bank", "add", "--bank", bank, (o.dir / "withdrawn").string()}});
      Command match{"match",
                    {o.residue, "match", "--catalog", cat, "--bank", bank, "--out", report}};
      match.argv.insert(match.argv.end(), o.match_args.begin(), o.match_args.end());
      commands.push_back(match);
      commands.push_back({"stats", {o.residue, "catalog", "stats", "--json", cat}});
      for (auto& c : commands) {
        run_command(c, work);
        // scan exits 1 when some items failed: the catalog still holds the rest.
        if (c.exit_code != 0 && !(c.name == "scan" && c.exit_code == 1))
          problems.push_back("`residue " + c.name + "` exited " + std::to_string(c.exit_code) +
                             ": " + c.err_tail);
      }
      std::cout << "catalog stats: " << slurp(work / "stats.out") << std::flush;
      if (fs::exists(report)) {
        rows = read_report(report, problems);
        residue_ran = true;
      } else {
        problems.push_back("no report written at " + report);
      }
    }

    // ---- in-process hashes of every item and every withdrawn original
    std::vector<Hashes> H(items.size()), WH(W.size());
    std::vector<cv::Ptr<cv::img_hash::PHash>> ph;
    for (int t = 0; t < o.threads; ++t) ph.push_back(cv::img_hash::PHash::create());
    const double hash_s = run_pool(o.threads, items.size() + W.size(), [&](std::size_t k, int t) {
      if (k < W.size())
        WH[k] = hash_locator(W[k].path, true, *ph[static_cast<std::size_t>(t)]);
      else
        H[k - W.size()] =
            hash_locator(items[k - W.size()].locator, false, *ph[static_cast<std::size_t>(t)]);
    });
    std::cout << "hashed " << items.size() + W.size() << " items in-process (fast, exact, OpenCV "
              << "PHash) in " << fmt(hash_s, 1) << " s\n";
    std::vector<std::string> hash_errors;
    for (std::size_t i = 0; i < items.size(); ++i)
      if (!H[i].ok || !H[i].cv_ok)
        hash_errors.push_back(items[i].locator + " (" + items[i].edit +
                              "): " + (H[i].ok ? "OpenCV could not decode or hash" : H[i].error));
    for (std::size_t w = 0; w < W.size(); ++w)
      if (!WH[w].ok || !WH[w].cv_ok)
        throw std::runtime_error("cannot hash withdrawn original " + W[w].path + ": " +
                                 WH[w].error);

    // ---- per-edit statistics
    std::vector<EditStats> edits;
    std::map<std::pair<std::string, std::string>, std::size_t> edit_index;
    std::vector<std::size_t> item_edit(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto key = std::make_pair(items[i].group, items[i].edit);
      auto [it, added] = edit_index.try_emplace(key, edits.size());
      if (added) edits.push_back({items[i].edit, items[i].group, 0, {}, {}});
      item_edit[i] = it->second;
      edits[it->second].positives += items[i].positive;
    }

    // residue: the best tier of each positive with its own original; false rows per tier.
    std::vector<int> best(items.size(), kNone);
    std::array<std::vector<std::string>, 3> false_rows;
    std::map<std::string, std::array<int, 2>> by_container;  // positives, found exact+near
    int excluded_rows = 0;
    for (const auto& r : rows) {
      const auto it = truth.by_locator.find(r.locator);
      const auto w = truth.by_name.find(fs::path(r.bank_locator).filename().string());
      if (it == truth.by_locator.end() || w == truth.by_name.end()) {
        problems.push_back("report row not in the truth: " + r.locator + " -> " + r.bank_locator);
        continue;
      }
      const Item& item = items[it->second];
      const Relation rel = relation(item, W[static_cast<std::size_t>(w->second)]);
      if (rel == Relation::same) {
        best[it->second] = std::min(best[it->second], r.tier);
      } else if (rel == Relation::family) {
        ++excluded_rows;
      } else {
        false_rows[static_cast<std::size_t>(r.tier)].push_back(
            r.locator + " (" + item.source + ", " + item.edit + ") -> " + r.bank_locator +
            ": pdq " + (r.pdq.empty() ? "-" : r.pdq) + ", phash " +
            (r.phash.empty() ? "-" : r.phash) + ", " + r.dihedral + ", view " + r.view +
            (r.trimmed ? ", trimmed" : ""));
        auto& fp = edits[item_edit[it->second]].fp;
        ++fp["residue_any"];
        if (r.tier <= kNear) ++fp["residue_exact_near"];
        if (r.tier == kExact) ++fp["residue_exact"];
      }
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!items[i].positive) continue;
      auto& f = edits[item_edit[i]].found;
      f["residue_exact"] += best[i] == kExact;
      f["residue_exact_near"] += best[i] <= kNear;
      f["residue_any"] += best[i] != kNone;
      auto& c = by_container[items[i].container];
      ++c[0];
      c[1] += best[i] <= kNear;
    }

    // peers: every (item, withdrawn) pair.
    std::map<std::string, std::vector<std::string>> peer_false;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!H[i].ok && !H[i].cv_ok) continue;
      for (std::size_t w = 0; w < W.size(); ++w) {
        const Relation rel = relation(items[i], W[w]);
        if (rel == Relation::family) continue;
        std::map<std::string, int> d;
        if (H[i].ok) {
          d["pdq"] = pdq_dist(H[i].exact.pdq, WH[w].exact.pdq);
          int m = 256;
          for (const auto& v : WH[w].exact.pdq_dihedral)
            m = std::min(m, pdq_dist(H[i].exact.pdq, v));
          d["pdq_dihedral"] = m;
        }
        if (H[i].cv_ok) d["opencv_phash"] = std::popcount(H[i].cv ^ WH[w].cv);
        for (const auto& [method, dist] : d) {
          const int limit = method == "opencv_phash" ? o.phash_distance : o.max_distance;
          if (dist > limit) continue;
          if (rel == Relation::same) {
            ++edits[item_edit[i]].found[method];
          } else {
            ++edits[item_edit[i]].fp[method];
            peer_false[method].push_back(items[i].locator + " (" + items[i].source + ", " +
                                         items[i].edit + ") -> " + W[w].name + ": " +
                                         std::to_string(dist));
          }
        }
      }
    }

    // ---- report
    std::ostringstream s;
    bool all_pass = residue_ran;
    if (residue_ran) {
      s << "\n## residue match: recall per edit\n\n"
           "Recall = share of the edit's copies (one per withdrawn image) that the report pairs "
           "with their own withdrawn image, in exact or near (what purge acts on), and in any tier "
           "(with review).\n\n"
           "| edit | group | copies | exact | near | review | exact+near | +review | target | |\n"
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
      for (const auto& e : edits) {
        if (e.positives == 0) continue;
        const int ex = e.found.count("residue_exact") ? e.found.at("residue_exact") : 0;
        const int en = e.found.count("residue_exact_near") ? e.found.at("residue_exact_near") : 0;
        const int an = e.found.count("residue_any") ? e.found.at("residue_any") : 0;
        const double target = target_of(e.group);
        const bool pass = target < 0 || en >= target * e.positives - 1e-9;
        if (!pass) all_pass = false;
        s << "| " << e.edit << " | " << e.group << " | " << e.positives << " | " << ex << " | "
          << en - ex << " | " << an - en << " | " << pct(en, e.positives) << " | "
          << pct(an, e.positives) << " | " << (target < 0 ? "-" : fmt(100 * target, 0) + "%")
          << " | "
          << (target < 0 ? ""
              : pass     ? "PASS"
                         : "**FAIL**")
          << " |\n";
      }
      s << "\nMissed copies (not in exact or near), by edit, where at most 10 were missed:\n\n";
      for (const auto& e : edits) {
        std::vector<std::string> missed;
        for (std::size_t i = 0; i < items.size(); ++i)
          if (items[i].positive && best[i] > kNear && items[i].edit == e.edit &&
              items[i].group == e.group)
            missed.push_back(items[i].source + (best[i] == kReview ? " (review)" : ""));
        if (missed.empty() || missed.size() > 10) continue;
        s << "- " << e.edit << ":";
        for (const auto& m : missed) s << " " << m;
        s << "\n";
      }
      s << "\n| group | copies | exact+near | +review |\n|---|---:|---:|---:|\n";
      for (const std::string g : {"t99", "t90", "report", "all"}) {
        int n = 0, en = 0, an = 0;
        for (const auto& e : edits) {
          if (e.positives == 0 || (g != "all" && e.group != g)) continue;
          n += e.positives;
          en += e.found.count("residue_exact_near") ? e.found.at("residue_exact_near") : 0;
          an += e.found.count("residue_any") ? e.found.at("residue_any") : 0;
        }
        s << "| " << g << " | " << n << " | " << pct(en, n) << " | " << pct(an, n) << " |\n";
      }
      s << "\nBy container (exact+near, all edits): ";
      for (const auto& [k, c] : by_container)
        s << k << " " << pct(c[1], c[0]) << " (" << c[0] << "); ";
      s << "\n\n## residue match: false matches per tier\n\n";
      for (int t = 0; t < 3; ++t) {
        const auto& v = false_rows[static_cast<std::size_t>(t)];
        if (t < 2 && !v.empty()) all_pass = false;
        s << "- " << kTierNames[static_cast<std::size_t>(t)] << ": " << v.size()
          << (t < 2 ? (v.empty() ? " (target 0: PASS)" : " (target 0: **FAIL**)") : "") << "\n";
        for (const auto& x : v) s << "  - " << x << "\n";
      }
      s << "- report rows between a copy and another member of its family (excluded): "
        << excluded_rows << "\n- report rows in total: " << rows.size() << "\n";
    }

    s << "\n## Peers on the same items (recall per edit)\n\n"
         "pdq: PDQ (exact mode, the reference's bits) <= "
      << o.max_distance << "; pdq_dihedral: the same against the original's 8 dihedral hashes; "
      << "opencv_phash: OpenCV img_hash PHash (imdecode COLOR) <= " << o.phash_distance
      << ". No quality gate.\n\n| edit | group | copies |"
      << (residue_ran ? " residue exact+near |" : "")
      << " pdq | pdq_dihedral | opencv_phash |\n|---|---|---:|" << (residue_ran ? "---:|" : "")
      << "---:|---:|---:|\n";
    auto found = [](const EditStats& e, const std::string& m) {
      return e.found.count(m) ? e.found.at(m) : 0;
    };
    for (const auto& e : edits) {
      if (e.positives == 0) continue;
      s << "| " << e.edit << " | " << e.group << " | " << e.positives << " |";
      if (residue_ran) s << " " << pct(found(e, "residue_exact_near"), e.positives) << " |";
      for (const std::string m : {"pdq", "pdq_dihedral", "opencv_phash"})
        s << " " << pct(found(e, m), e.positives) << " |";
      s << "\n";
    }
    int n_pos = 0;
    for (const auto& e : edits) n_pos += e.positives;
    s << "| **all** | | " << n_pos << " |";
    std::vector<std::string> overall_methods = {"pdq", "pdq_dihedral", "opencv_phash"};
    if (residue_ran) overall_methods.insert(overall_methods.begin(), "residue_exact_near");
    for (const auto& m : overall_methods) {
      int f = 0;
      for (const auto& e : edits) f += found(e, m);
      s << " **" << pct(f, n_pos) << "** |";
    }
    s << "\n\nFalse matches of the peers (pairs of a mirror item and an unrelated withdrawn "
         "original within the threshold):\n\n";
    for (const std::string m : {"pdq", "pdq_dihedral", "opencv_phash"}) {
      const auto& v = peer_false[m];
      s << "- " << m << ": " << v.size() << "\n";
      for (std::size_t k = 0; k < v.size() && k < 40; ++k) s << "  - " << v[k] << "\n";
      if (v.size() > 40) s << "  - ... " << v.size() - 40 << " more\n";
    }

    // ---- pHash calibration (residue's 64-bit pHash, fast mode as scanned)
    const std::vector<double> low = {0, 0.1, 1, 5, 50};
    std::vector<int> unrel_corpus8, unrel_corpus1, unrel_all1;
    std::vector<std::pair<int, std::string>> unrel_pdq;  // phash at a PDQ-passing variant
    std::map<std::string, std::vector<int>> true_conf;   // group -> phash at PDQ-passing variant
    std::map<std::pair<std::string, std::string>, std::vector<int>> true_conf_edit;
    std::map<std::string, int> true_pdq_fail;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!H[i].ok) continue;
      const auto& f = H[i].fast;
      for (std::size_t w = 0; w < W.size(); ++w) {
        const Relation rel = relation(items[i], W[w]);
        if (rel == Relation::family) continue;
        const auto& b = WH[w].fast;
        int min_ph = 64, conf = -1, conf_pdq = -1;
        for (int d = 0; d < residue::kDihedralCount; ++d) {
          const int ph_d = residue::hamming(f.phash, b.phash_dihedral[static_cast<std::size_t>(d)]);
          const int pdq_d = pdq_dist(f.pdq, b.pdq_dihedral[static_cast<std::size_t>(d)]);
          min_ph = std::min(min_ph, ph_d);
          if (pdq_d <= o.max_distance && (conf < 0 || ph_d < conf)) {
            conf = ph_d;
            conf_pdq = pdq_d;
          }
          if (rel == Relation::unrelated && items[i].edit == "byte_copy")
            unrel_corpus8.push_back(ph_d);
        }
        if (rel == Relation::unrelated) {
          if (items[i].edit == "byte_copy") unrel_corpus1.push_back(min_ph);
          unrel_all1.push_back(min_ph);
          if (conf >= 0)
            unrel_pdq.push_back({conf, items[i].locator + " (" + items[i].source + ", " +
                                           items[i].edit + ") -> " + W[w].name + ": pdq " +
                                           std::to_string(conf_pdq) + ", phash " +
                                           std::to_string(conf)});
        } else if (conf >= 0) {
          true_conf[items[i].group].push_back(conf);
          true_conf_edit[{items[i].group, items[i].edit}].push_back(conf);
        } else {
          ++true_pdq_fail[items[i].group];
        }
      }
    }
    s << "\n## pHash calibration (residue's 64-bit pHash, fast mode as `residue scan` computes "
         "it)\n\nUnrelated pairs: different files, not of one family. Quantiles are "
         "nearest-rank.\n\n"
         "| unrelated pairs | n | min | 0.1% | 1% | 5% | median "
         "|\n|---|---:|---:|---:|---:|---:|---:|\n";
    auto qrow = [&](const std::string& name, const std::vector<int>& v,
                    const std::vector<double>& ps) {
      const auto q = quantiles(v, ps);
      s << "| " << name << " | " << q.n << " |";
      for (double x : q.q) s << " " << fmt(x, 0) << " |";
      s << "\n";
    };
    qrow("corpus images x withdrawn originals, each of the 8 dihedral variants", unrel_corpus8,
         low);
    qrow("corpus images x withdrawn originals, min over the 8 variants", unrel_corpus1, low);
    qrow("all mirror items (incl. distractor edits) x withdrawn, min over 8", unrel_all1, low);
    std::sort(unrel_pdq.begin(), unrel_pdq.end());
    s << "\nUnrelated pairs whose PDQ (fast mode, any variant) is within " << o.max_distance
      << " (what the pHash must reject): " << unrel_pdq.size() << "\n";
    for (std::size_t k = 0; k < unrel_pdq.size() && k < 40; ++k)
      s << "- " << unrel_pdq[k].second << "\n";
    const std::vector<double> high = {50, 90, 95, 99, 100};
    s << "\nTrue pairs (an edited copy and its own original) whose PDQ is within " << o.max_distance
      << " for some variant: pHash distance at the best such variant (full-image bank view only; "
         "residue's bank also hashes centre crops).\n\n"
         "| true pairs | PDQ within | PDQ not within | median | 90% | 95% | 99% | max |\n"
         "|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const std::string g : {"t99", "t90", "report"}) {
      const auto q = quantiles(true_conf[g], high);
      s << "| group " << g << " | " << q.n << " | " << true_pdq_fail[g] << " |";
      for (double x : q.q) s << " " << fmt(x, 0) << " |";
      s << "\n";
    }
    for (const auto& e : edits) {
      if (e.positives == 0) continue;
      const auto& v = true_conf_edit[{e.group, e.edit}];
      const auto q = quantiles(v, high);
      s << "| " << e.edit << " | " << q.n << " | " << e.positives - static_cast<int>(q.n) << " |";
      for (double x : q.q) s << " " << (q.n ? fmt(x, 0) : "-") << " |";
      s << "\n";
    }
    s << "\nConfirmation threshold T (pHash distance <= T at a PDQ-passing variant):\n\n"
         "| T | true pairs t99+t90 confirmed | unrelated PDQ-passing pairs confirmed | unrelated "
         "pairs (all items, min over 8) <= T |\n|---:|---:|---:|---:|\n";
    std::vector<int> true_main = true_conf["t99"];
    true_main.insert(true_main.end(), true_conf["t90"].begin(), true_conf["t90"].end());
    for (int T = 4; T <= 24; T += 2) {
      const auto le = [T](const std::vector<int>& v) {
        return static_cast<int>(std::count_if(v.begin(), v.end(), [T](int x) { return x <= T; }));
      };
      int unrel_conf = 0;
      for (const auto& u : unrel_pdq) unrel_conf += u.first <= T;
      s << "| " << T << " | " << pct(le(true_main), static_cast<int>(true_main.size())) << " | "
        << unrel_conf << " | "
        << fmt(100.0 * le(unrel_all1) /
                   static_cast<double>(std::max<std::size_t>(1, unrel_all1.size())),
               3)
        << "% |\n";
    }

    if (!hash_errors.empty()) {
      s << "\nItems the in-process peers could not hash (" << hash_errors.size() << "):\n";
      for (std::size_t k = 0; k < hash_errors.size() && k < 40; ++k)
        s << "- " << hash_errors[k] << "\n";
    }
    if (!problems.empty()) {
      s << "\n## Problems\n\n";
      for (const auto& p : problems) s << "- " << p << "\n";
    }
    s << "\nResult: "
      << (residue_ran ? (all_pass ? "every target met" : "**targets missed** (see FAIL above)")
                      : "residue not run (peers only)")
      << "\n";
    std::cout << s.str() << std::flush;

    if (!o.out.empty()) {
      std::ostringstream su;
      su << "# Setup of this run\n\n" << setup.str();
      if (!residue_version.empty())
        su << "- residue: `" << o.residue << "` (" << residue_version << ")\n";
      su << "\n## Commands\n\n```\n";
      su << "/usr/bin/python3 scripts/make_accuracy_mirror.py " << o.dir.string() << "\n";
      for (const auto& c : commands) {
        std::vector<std::string> a = c.argv;
        std::vector<char*> p;
        for (auto& x : a) p.push_back(x.data());
        su << command_line(static_cast<int>(p.size()), p.data()) << "    # exit " << c.exit_code
           << ", " << fmt(c.seconds, 1) << " s\n";
      }
      su << "```\n\nMirror manifest: `" << (o.dir / "MANIFEST.json").string() << "`\n";
      write_text(o.out / "SETUP.md", su.str());
      std::ostringstream csv;
      csv << "edit,group,target,method,positives,found,recall,false_matches\n";
      for (const auto& e : edits)
        for (const auto& m : kMethods) {
          if (!residue_ran && m.starts_with("residue")) continue;
          const int f = found(e, m);
          const int fp = e.fp.count(m) ? e.fp.at(m) : 0;
          const double t = target_of(e.group);
          csv << '"' << e.edit << "\"," << e.group << "," << (t < 0 ? "" : fmt(t, 2)) << "," << m
              << "," << e.positives << "," << f << ","
              << (e.positives ? fmt(static_cast<double>(f) / e.positives, 4) : "") << "," << fp
              << "\n";
        }
      write_text(o.out / "raw.csv", csv.str());
      write_text(o.out / "summary.md", "# accuracy\n\n" + setup.str() + s.str());
      std::cout << "\nwrote " << (o.out / "SETUP.md").string() << ", raw.csv, summary.md\n";
    }
    return residue_ran && all_pass ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "accuracy: " << e.what() << "\n";
    return 2;
  }
}
