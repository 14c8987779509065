// decode_fidelity: what the JPEG fast path (reduced DCT-scale decode + the codec's Y channel) costs
// in hash fidelity, for each candidate DecodeOptions::min_reduced_side.
//
// Usage: decode_fidelity [--corpus DIR] [--sets SETS_DIR] [--min-side 64,96,128,192,256]
//          [--limit N] [--out DIR]
// For every JPEG of the corpus (default: ../shared/corpus next to the source tree) and of the sets
// 250/ 640/ 1920/ under SETS_DIR (default: bench/data when it exists), hashes the bytes with
// DecodeOptions{.exact = true} and with {.exact = false, .min_reduced_side = M} for each M, and
// reports per (M, set) the Hamming distance between the two PDQ hashes (images whose exact-mode
// PDQ quality >= 80, and all images) and between the two pHashes, the decode scales chosen, and
// the time per image of each mode (one thread; hash_bytes only, the file is already in memory).
// Budget: PDQ median <= 2 bits and p99 <= 10 bits at quality >= 80 on every set; the smallest M
// that meets it is printed. With --out DIR writes fidelity_raw.csv and fidelity_summary.md.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"
#include "residue/decode.hpp"
#include "residue/scan.hpp"

#ifndef RESIDUE_DEFAULT_CORPUS
#define RESIDUE_DEFAULT_CORPUS "../shared/corpus"
#endif
#ifndef RESIDUE_DEFAULT_SETS
#define RESIDUE_DEFAULT_SETS "bench/data"
#endif

namespace {

namespace fs = std::filesystem;
using namespace residue::bench;

constexpr int kMinQuality = 80;
constexpr double kBudgetMedian = 2;
constexpr double kBudgetP99 = 10;

struct Options {
  fs::path corpus = RESIDUE_DEFAULT_CORPUS;
  fs::path sets;
  bool sets_given = false;
  std::vector<int> min_sides{64, 96, 128, 192, 256};
  std::size_t limit = 0;
  fs::path out;
};

struct Group {
  std::string name;
  std::vector<std::string> files;
};

// One image: the exact-mode reference and, per M, the fast-mode comparison.
struct Sample {
  std::string file;
  int quality = 0;
  double exact_ms = 0;
  std::vector<int> pdq_d, phash_d, scale;
  std::vector<double> fast_ms;
};

struct Stat {
  double median = 0, p99 = 0, max = 0;
  std::size_t n = 0;
};
Stat stat_of(const std::vector<double>& v) {
  return {summarize(v).median, percentile(v, 99), summarize(v).max, v.size()};
}

std::string fixed(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}
std::string triple(const Stat& s) {
  if (s.n == 0) return "n/a";
  return fixed(s.median, 1) + " / " + fixed(s.p99, 0) + " / " + fixed(s.max, 0);
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string usage() {
  return "usage: decode_fidelity [--corpus DIR] [--sets SETS_DIR] [--min-side 64,96,128,192,256]\n"
         "         [--limit N] [--out DIR]\n";
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--corpus") {
      o.corpus = value();
    } else if (a == "--sets") {
      o.sets = value();
      o.sets_given = true;
    } else if (a == "--min-side") {
      o.min_sides = parse_int_list(value());
      std::sort(o.min_sides.begin(), o.min_sides.end());
    } else if (a == "--limit") {
      o.limit = static_cast<std::size_t>(std::stoul(value()));
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "-h" || a == "--help") {
      std::cout << usage();
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown argument " + a);
    }
  }
  if (!o.sets_given) {
    const fs::path def = fs::path(RESIDUE_DEFAULT_SETS);
    if (fs::is_directory(def)) o.sets = def;
  }
  return o;
}

// Hashes every file of the group in both modes. Exits on a failure (the result would be wrong).
std::vector<Sample> measure(const Group& g, const Options& o) {
  std::vector<Sample> out;
  std::vector<std::uint8_t> bytes;
  const std::size_t nm = o.min_sides.size();
  for (const auto& file : g.files) {
    if (!read_file(file, bytes)) {
      std::cerr << "decode_fidelity: cannot read " << file << "\n";
      std::exit(2);
    }
    Sample s;
    s.file = file;
    auto t0 = std::chrono::steady_clock::now();
    const residue::ItemRecord exact =
        residue::hash_bytes(file, bytes, residue::DecodeOptions{.exact = true}, /*dihedral=*/false);
    s.exact_ms = ms_since(t0);
    if (!exact.ok()) {
      std::cerr << "decode_fidelity: INVALID: " << file
                << " (exact): " << residue::to_string(exact.error->code) << ": "
                << exact.error->message << "\n";
      std::exit(1);
    }
    s.quality = exact.quality;
    for (std::size_t k = 0; k < nm; ++k) {
      t0 = std::chrono::steady_clock::now();
      const residue::ItemRecord fast = residue::hash_bytes(
          file, bytes, residue::DecodeOptions{.exact = false, .min_reduced_side = o.min_sides[k]},
          false);
      s.fast_ms.push_back(ms_since(t0));
      if (!fast.ok()) {
        std::cerr << "decode_fidelity: INVALID: " << file << " (fast, M=" << o.min_sides[k]
                  << "): " << residue::to_string(fast.error->code) << ": " << fast.error->message
                  << "\n";
        std::exit(1);
      }
      s.pdq_d.push_back(residue::hamming(exact.pdq, fast.pdq));
      s.phash_d.push_back(residue::hamming(exact.phash, fast.phash));
      s.scale.push_back(fast.scale_denom);
    }
    out.push_back(std::move(s));
  }
  return out;
}

struct Cell {  // one (M, group)
  std::size_t images = 0, good = 0;
  Stat pdq_good, pdq_all, phash;
  std::map<int, std::size_t> scales;
  double fast_ms = 0, exact_ms = 0;  // mean per image
  [[nodiscard]] bool meets() const {
    return good > 0 && pdq_good.median <= kBudgetMedian && pdq_good.p99 <= kBudgetP99;
  }
};

Cell cell_of(const std::vector<Sample>& samples, std::size_t k) {
  Cell c;
  std::vector<double> good, all, ph;
  for (const auto& s : samples) {
    all.push_back(s.pdq_d[k]);
    ph.push_back(s.phash_d[k]);
    if (s.quality >= kMinQuality) good.push_back(s.pdq_d[k]);
    ++c.scales[s.scale[k]];
    c.fast_ms += s.fast_ms[k];
    c.exact_ms += s.exact_ms;
  }
  c.images = samples.size();
  c.good = good.size();
  c.pdq_good = stat_of(good);
  c.pdq_all = stat_of(all);
  c.phash = stat_of(ph);
  if (c.images) {
    c.fast_ms /= static_cast<double>(c.images);
    c.exact_ms /= static_cast<double>(c.images);
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "decode_fidelity: " << e.what() << "\n" << usage();
    return 2;
  }

  residue::tune_allocator_for_batch_work();  // as the residue tool does: time what it runs
  const RunContext ctx = run_context();
  std::vector<Group> groups;
  try {
    Group corpus{"corpus", {}};
    std::vector<std::uint8_t> head;
    std::size_t skipped = 0;
    for (const auto& f : list_images(o.corpus)) {
      // Only JPEGs take the fast path; the format is sniffed, not taken from the name.
      if (read_file(f, head) && residue::sniff_format(head) == residue::ImageFormat::jpeg) {
        corpus.files.push_back(f);
      } else {
        ++skipped;
      }
    }
    std::cerr << "corpus " << o.corpus.string() << ": " << corpus.files.size() << " JPEGs ("
              << skipped << " other files skipped)\n";
    groups.push_back(std::move(corpus));
    if (!o.sets.empty()) {
      for (const char* name : {"250", "640", "1920"})
        groups.push_back({name, list_images(o.sets / name)});
    } else {
      std::cerr << "no --sets and no " << RESIDUE_DEFAULT_SETS << ": measuring the corpus only\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "decode_fidelity: " << e.what() << "\n";
    return 2;
  }
  for (auto& g : groups) {
    if (o.limit && g.files.size() > o.limit) g.files.resize(o.limit);
  }

  std::map<std::string, std::vector<Sample>> samples;
  std::ostringstream load;  // other processes' CPU use while each group was measured
  load << "- other load while measuring (cores used by other processes and VM steal; timings are "
          "unreliable above ~0.1):";
  for (const auto& g : groups) {
    const auto t0 = std::chrono::steady_clock::now();
    const CpuSample c0 = cpu_sample();
    samples[g.name] = measure(g, o);
    const double foreign = foreign_cores(c0, cpu_sample());
    load << " " << g.name << " " << fixed(foreign, 2) << ";";
    std::cerr << "measured " << g.name << ": " << g.files.size() << " images in "
              << fixed(ms_since(t0) / 1000, 1) << " s, other load " << fixed(foreign, 2)
              << " cores\n";
  }

  std::ostringstream md;
  md << "# decode_fidelity\n\n"
     << format_context(ctx) << "- command: `" << command_line(argc, argv) << "`\n"
     << "- corpus: " << o.corpus.string()
     << "; sets: " << (o.sets.empty() ? "none" : o.sets.string()) << "\n"
     << "- distances are Hamming bits between exact-mode and fast-mode hashes of the same bytes; "
        "median / p99 (nearest rank) / max. Times are ms per image for hash_bytes on one thread "
        "(decode + PDQ + pHash + SHA-256, bytes already in memory).\n"
     << load.str() << "\n"
     << "- budget: PDQ median <= " << kBudgetMedian << " and p99 <= " << kBudgetP99
     << " bits over images "
     << "with exact-mode quality >= " << kMinQuality << ", on every set.\n\n";

  std::map<int, bool> meets_all;
  for (std::size_t k = 0; k < o.min_sides.size(); ++k) {
    const int m = o.min_sides[k];
    md << "## min_reduced_side = " << m << "\n\n"
       << "| set | images | q>=" << kMinQuality << " | PDQ q>=" << kMinQuality
       << " med/p99/max | PDQ all med/p99/max "
       << "| pHash med/p99/max | scale 1 / 2 / 4 / 8 | fast ms/img | exact ms/img | exact/fast | "
          "budget |\n"
       << "|---|---:|---:|---|---|---|---|---:|---:|---:|---|\n";
    bool all_ok = true;
    for (const auto& g : groups) {
      const Cell c = cell_of(samples[g.name], k);
      auto sc = [&](int d) { return std::to_string(c.scales.count(d) ? c.scales.at(d) : 0); };
      md << "| " << g.name << " | " << c.images << " | " << c.good << " | " << triple(c.pdq_good)
         << " | " << triple(c.pdq_all) << " | " << triple(c.phash) << " | " << sc(1) << " / "
         << sc(2) << " / " << sc(4) << " / " << sc(8) << " | " << fixed(c.fast_ms, 3) << " | "
         << fixed(c.exact_ms, 3) << " | " << fixed(c.fast_ms > 0 ? c.exact_ms / c.fast_ms : 0, 2)
         << " | " << (c.meets() ? "met" : "**missed**") << " |\n";
      all_ok = all_ok && c.meets();
    }
    meets_all[m] = all_ok;
    md << "\n";
  }

  md << "## Budget per min_reduced_side\n\n| min_reduced_side | meets the budget on every set "
        "|\n|---:|---|\n";
  int smallest = -1;
  for (int m : o.min_sides) {
    md << "| " << m << " | " << (meets_all[m] ? "yes" : "no") << " |\n";
    if (meets_all[m] && smallest < 0) smallest = m;
  }
  md << "\n";
  if (smallest > 0) {
    md << "**Smallest min_reduced_side meeting the budget on every set: " << smallest << "**\n";
  } else {
    md << "**No measured min_reduced_side meets the budget on every set.**\n";
  }
  std::cout << md.str();

  if (!o.out.empty()) {
    std::ostringstream csv;
    csv << "set,file,min_reduced_side,exact_quality,scale_denom,pdq_distance,phash_distance,fast_"
           "ms,exact_ms\n";
    for (const auto& g : groups) {
      for (const auto& s : samples[g.name]) {
        for (std::size_t k = 0; k < o.min_sides.size(); ++k) {
          csv << g.name << "," << fs::path(s.file).filename().string() << "," << o.min_sides[k]
              << "," << s.quality << "," << s.scale[k] << "," << s.pdq_d[k] << "," << s.phash_d[k]
              << "," << fixed(s.fast_ms[k], 4) << "," << fixed(s.exact_ms, 4) << "\n";
        }
      }
    }
    try {
      write_text(o.out / "fidelity_raw.csv", csv.str());
      write_text(o.out / "fidelity_summary.md", md.str());
    } catch (const std::exception& e) {
      std::cerr << "decode_fidelity: " << e.what() << "\n";
      return 2;
    }
    std::cerr << "wrote " << (o.out / "fidelity_raw.csv") << ", fidelity_summary.md\n";
  }
  return 0;
}
