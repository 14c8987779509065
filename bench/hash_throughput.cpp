// hash_throughput: images/s of residue's hashing against the decode ceiling and a peer.
//
// Usage: hash_throughput SETS_DIR [--threads 1,2] [--seconds S] [--out DIR]
//          [--sets 250,640,1920] [--modes
//          read,decode_ceiling,decode_matched,residue_fast,residue_exact,opencv_phash]
//          [--fast-min-side 128,320] [--min-reps 5] [--max-reps 200] [--limit N] [--cv-threads 1]
//          [--max-foreign-load 0.1] [--retries 3] [--retry-wait 30]
// SETS_DIR holds the folders 250/ 640/ 1920/ made by scripts/make_bench_sets.sh. For every set and
// thread count, each mode processes the whole set once per repetition on the same harness
// (bench/common.hpp run_pool); modes are interleaved repetition by repetition, in the same order
// for every set. A repetition's result is checked: every item must succeed and give the same
// fingerprint (hashes, or decoded size) as the first, untimed pass; otherwise the run is invalid
// and the program exits 1 without a table. The machine may be shared: each (set, threads) block
// measures the CPU that other processes used meanwhile (/proc/stat minus our getrusage) and is
// redone when that exceeds --max-foreign-load cores; the final figure is printed with the table.
// See bench/README.md for the modes and the outputs.
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/img_hash.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common.hpp"
#include "residue/decode.hpp"
#include "residue/scan.hpp"

namespace {

namespace fs = std::filesystem;
using namespace residue::bench;

enum class Kind { read, decode_ceiling, decode_matched, residue_fast, residue_exact, opencv_phash };

struct KindInfo {
  Kind kind;
  const char* key;    // raw.csv and --modes spelling
  const char* label;  // table row
};
constexpr KindInfo kKinds[] = {
    {Kind::read, "read", "(a) read bytes"},
    {Kind::decode_ceiling, "decode_ceiling", "(b) read + imdecode REDUCED_GRAYSCALE_8"},
    {Kind::decode_matched, "decode_matched",
     "(b') read + probe + imdecode GRAYSCALE at the fast path's scale"},
    {Kind::residue_fast, "residue_fast", "(c) residue hash_bytes, fast"},
    {Kind::residue_exact, "residue_exact", "(c) residue hash_bytes, exact"},
    {Kind::opencv_phash, "opencv_phash", "(d) OpenCV imread COLOR + img_hash PHash"},
};

// A timed mode: a kind, and for residue_fast / decode_matched the min_reduced_side (0 = the
// engine's default).
struct Mode {
  Kind kind = Kind::read;
  int min_side = 0;
  friend auto operator<=>(const Mode&, const Mode&) = default;

  [[nodiscard]] std::string key() const {
    std::string k = kKinds[static_cast<int>(kind)].key;
    return min_side > 0 ? k + "_m" + std::to_string(min_side) : k;
  }
  [[nodiscard]] std::string label() const {
    std::string l = kKinds[static_cast<int>(kind)].label;
    if (kind != Kind::residue_fast && kind != Kind::decode_matched) return l;
    const int m = min_side > 0 ? min_side : residue::DecodeOptions{}.min_reduced_side;
    return l + " (min_reduced_side " + std::to_string(m) + (min_side > 0 ? ")" : ", default)");
  }
  [[nodiscard]] residue::DecodeOptions decode_options() const {
    residue::DecodeOptions opts{.exact = kind == Kind::residue_exact};
    if (min_side > 0) opts.min_reduced_side = min_side;
    return opts;
  }
};

struct Options {
  fs::path sets_dir;
  std::vector<int> threads{1, 2};
  double seconds = 1.0;  // minimum measured time per (set, mode, threads) cell
  int min_reps = 5;
  int max_reps = 200;
  std::vector<std::string> sets{"250", "640", "1920"};
  std::vector<Mode> modes{{Kind::read},         {Kind::decode_ceiling}, {Kind::decode_matched},
                          {Kind::residue_fast}, {Kind::residue_exact},  {Kind::opencv_phash}};
  std::vector<int> fast_min_sides;  // --fast-min-side: one residue_fast + decode_matched per value
  std::size_t limit = 0;            // 0 = every file of a set
  int cv_threads = 1;               // cv::setNumThreads; -1 leaves OpenCV's default
  double max_foreign = 0.10;  // cores other processes may use during a block before it is redone
  int retries = 3;            // redo a disturbed (set, threads) block at most this often
  double retry_wait = 30;     // seconds to wait before redoing it
  fs::path out;
};

// Per-thread state, cache-line aligned so counters of two threads never share a line.
struct alignas(64) Worker {
  std::vector<std::uint8_t> buf;
  cv::Ptr<cv::img_hash::PHash> phash = cv::img_hash::PHash::create();
  cv::Mat hash;
  std::uint64_t failures = 0;
  std::uint64_t mismatches = 0;
  std::string first_problem;
};

struct SetData {
  std::string name;
  std::vector<std::string> files;
  std::uint64_t bytes = 0;
  std::string dims;                                      // "250x250" from the first file's header
  std::map<Mode, std::vector<std::uint64_t>> reference;  // fingerprint per file, per mode
  std::map<int, double> foreign;  // threads -> cores used by other processes during the kept block
  std::map<int, int> attempts;    // threads -> blocks run (1 = not disturbed)
};

struct Row {
  std::string set;
  Mode mode;
  int threads;
  int rep;
  std::size_t images;
  double seconds;
};

std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

std::uint64_t fingerprint(const residue::ItemRecord& r) {
  std::uint64_t h = 0;
  for (auto w : r.pdq.words) h = mix(h, w);
  h = mix(h, r.phash.bits);
  std::uint64_t s = 0;
  std::memcpy(&s, r.sha256.bytes.data(), sizeof s);
  h = mix(h, s);
  return mix(h, static_cast<std::uint64_t>(r.quality));
}

// One item of one mode. Returns its fingerprint; on failure sets `problem`.
std::uint64_t run_item(Mode mode, const std::string& path, Worker& w, std::string& problem) {
  if (mode.kind == Kind::opencv_phash) {
    const cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
    if (img.empty()) {
      problem = "imread failed";
      return 0;
    }
    w.phash->compute(img, w.hash);
    if (w.hash.total() != 8) {
      problem = "PHash gave no hash";
      return 0;
    }
    std::uint64_t h = 0;
    std::memcpy(&h, w.hash.ptr(), sizeof h);
    return h;
  }
  if (!read_file(path, w.buf)) {
    problem = "read failed";
    return 0;
  }
  switch (mode.kind) {
    case Kind::read:
      return w.buf.size();
    case Kind::decode_ceiling: {
      const cv::Mat raw(1, static_cast<int>(w.buf.size()), CV_8UC1, w.buf.data());
      const cv::Mat img = cv::imdecode(raw, cv::IMREAD_REDUCED_GRAYSCALE_8);
      if (img.empty()) {
        problem = "imdecode failed";
        return 0;
      }
      return mix(static_cast<std::uint64_t>(img.rows) << 32 | static_cast<std::uint64_t>(img.cols),
                 img.at<std::uint8_t>(img.rows / 2, img.cols / 2));
    }
    case Kind::decode_matched: {
      // The decode residue's fast path does for this image: the engine's scale rule (decode.cpp
      // reduced_scale) on the probed stored size, then the reduced grayscale JPEG decode.
      const auto info = residue::probe_image(w.buf);
      if (!info) {
        problem = "probe failed";
        return 0;
      }
      const int m = mode.decode_options().min_reduced_side;
      const int side = std::min(info->stored_width, info->stored_height);
      int scale = 1;
      for (int sc : {8, 4, 2}) {
        if (side / sc >= m) {
          scale = sc;
          break;
        }
      }
      const int flags = info->format != residue::ImageFormat::jpeg ? cv::IMREAD_GRAYSCALE
                        : scale == 8                               ? cv::IMREAD_REDUCED_GRAYSCALE_8
                        : scale == 4                               ? cv::IMREAD_REDUCED_GRAYSCALE_4
                        : scale == 2                               ? cv::IMREAD_REDUCED_GRAYSCALE_2
                                                                   : cv::IMREAD_GRAYSCALE;
      const cv::Mat raw(1, static_cast<int>(w.buf.size()), CV_8UC1, w.buf.data());
      const cv::Mat img = cv::imdecode(raw, flags | cv::IMREAD_IGNORE_ORIENTATION);
      if (img.empty()) {
        problem = "imdecode failed";
        return 0;
      }
      return mix(static_cast<std::uint64_t>(img.rows) << 32 | static_cast<std::uint64_t>(img.cols),
                 img.at<std::uint8_t>(img.rows / 2, img.cols / 2));
    }
    case Kind::residue_fast:
    case Kind::residue_exact: {
      const residue::ItemRecord r =
          residue::hash_bytes(path, w.buf, mode.decode_options(), /*dihedral=*/false);
      if (!r.ok()) {
        problem = std::string(residue::to_string(r.error->code)) + ": " + r.error->message;
        return 0;
      }
      return fingerprint(r);
    }
    case Kind::opencv_phash:
      break;
  }
  return 0;
}

// One pass over the set. The first pass of a mode records the reference fingerprints; later
// passes must reproduce them (any thread count). Exits the program if the result is invalid.
double run_pass(Mode mode, SetData& set, int threads, std::vector<Worker>& workers) {
  auto& ref = set.reference[mode];
  const bool record = ref.empty();
  if (record) ref.assign(set.files.size(), 0);
  for (auto& w : workers) {
    w.failures = 0;
    w.mismatches = 0;
    w.first_problem.clear();
  }
  const double seconds = run_pool(threads, set.files.size(), [&](std::size_t i, int t) {
    Worker& w = workers[static_cast<std::size_t>(t)];
    std::string problem;
    const std::uint64_t fp = run_item(mode, set.files[i], w, problem);
    if (!problem.empty()) {
      if (w.failures++ == 0 && w.first_problem.empty())
        w.first_problem = set.files[i] + ": " + problem;
    } else if (record) {
      ref[i] = fp;
    } else if (ref[i] != fp) {
      if (w.mismatches++ == 0 && w.first_problem.empty()) {
        w.first_problem = set.files[i] + ": result differs from the first pass";
      }
    }
  });
  std::uint64_t failures = 0, mismatches = 0;
  std::string first;
  for (int t = 0; t < threads; ++t) {
    const Worker& w = workers[static_cast<std::size_t>(t)];
    failures += w.failures;
    mismatches += w.mismatches;
    if (first.empty()) first = w.first_problem;
  }
  if (failures || mismatches) {
    std::cerr << "hash_throughput: INVALID result for set " << set.name << ", mode " << mode.key()
              << ", " << threads << " thread(s): " << failures << " failed, " << mismatches
              << " differ from the first pass; first: " << first << "\n";
    std::exit(1);
  }
  return seconds;
}

std::string fixed(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

std::string usage() {
  return "usage: hash_throughput SETS_DIR [--threads 1,2] [--seconds S] [--out DIR]\n"
         "         [--sets 250,640,1920] [--modes "
         "read,decode_ceiling,decode_matched,residue_fast,residue_exact,"
         "opencv_phash]\n"
         "         [--fast-min-side 128,320] [--min-reps 5] [--max-reps 200] [--limit N] "
         "[--cv-threads 1]\n"
         "         [--max-foreign-load 0.1] [--retries 3] [--retry-wait 30]\n";
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--threads") {
      o.threads = parse_int_list(value());
    } else if (a == "--seconds") {
      o.seconds = std::stod(value());
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--sets") {
      o.sets = split_list(value());
    } else if (a == "--modes") {
      o.modes.clear();
      for (const auto& key : split_list(value())) {
        const auto* k = std::find_if(std::begin(kKinds), std::end(kKinds),
                                     [&](const KindInfo& ki) { return key == ki.key; });
        if (k == std::end(kKinds)) throw std::invalid_argument("unknown mode " + key);
        o.modes.push_back({k->kind});
      }
    } else if (a == "--fast-min-side") {
      o.fast_min_sides = parse_int_list(value());
    } else if (a == "--min-reps") {
      o.min_reps = std::stoi(value());
    } else if (a == "--max-reps") {
      o.max_reps = std::stoi(value());
    } else if (a == "--limit") {
      o.limit = static_cast<std::size_t>(std::stoul(value()));
    } else if (a == "--cv-threads") {
      o.cv_threads = std::stoi(value());
    } else if (a == "--max-foreign-load") {
      o.max_foreign = std::stod(value());
    } else if (a == "--retries") {
      o.retries = std::stoi(value());
    } else if (a == "--retry-wait") {
      o.retry_wait = std::stod(value());
    } else if (a == "-h" || a == "--help") {
      std::cout << usage();
      std::exit(0);
    } else if (!a.empty() && a[0] == '-') {
      throw std::invalid_argument("unknown flag " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 1) throw std::invalid_argument("expected one SETS_DIR");
  o.sets_dir = positional[0];
  for (int t : o.threads) {
    if (t < 1) throw std::invalid_argument("--threads: counts must be >= 1");
  }
  if (o.min_reps < 1 || o.max_reps < o.min_reps)
    throw std::invalid_argument("bad --min-reps/--max-reps");
  if (o.modes.empty()) throw std::invalid_argument("--modes is empty");
  if (!o.fast_min_sides.empty()) {
    // Replace the default-M fast (and matched-decode) mode by one per requested M, in place.
    std::vector<Mode> modes;
    for (const Mode& m : o.modes) {
      if (m.kind != Kind::residue_fast && m.kind != Kind::decode_matched) {
        modes.push_back(m);
        continue;
      }
      for (int side : o.fast_min_sides) {
        if (side < 1) throw std::invalid_argument("--fast-min-side: values must be >= 1");
        modes.push_back({m.kind, side});
      }
    }
    o.modes = modes;
  }
  return o;
}

double median_ips(const std::vector<Row>& rows, const std::string& set, Mode m, int threads) {
  std::vector<double> v;
  for (const auto& r : rows) {
    if (r.set == set && r.mode == m && r.threads == threads)
      v.push_back(static_cast<double>(r.images) / r.seconds);
  }
  return summarize(v).median;
}

std::string set_table(const SetData& set, const std::vector<Row>& rows, const Options& o) {
  std::ostringstream s;
  const double mean_kib =
      static_cast<double>(set.bytes) / static_cast<double>(set.files.size()) / 1024.0;
  s << "### set " << set.name << ": " << set.dims << ", " << set.files.size() << " images, mean "
    << fixed(mean_kib, 1) << " KiB\n\n";
  s << "Other load during the kept blocks (cores used by other processes and VM steal):";
  for (int t : o.threads) {
    const double f = set.foreign.count(t) ? set.foreign.at(t) : 0;
    s << " " << t << "t " << fixed(f, 2) << (f > o.max_foreign ? " (**disturbed**)" : "");
    const int a = set.attempts.count(t) ? set.attempts.at(t) : 1;
    if (a > 1) s << " (block run " << a << " times)";
    s << ";";
  }
  s << "\n\n";
  s << "| mode |";
  for (int t : o.threads)
    s << " " << t << " thread" << (t > 1 ? "s" : "") << ": images/s min / **median** / max |";
  s << " MB/s (median, " << o.threads.back() << "t) |";
  if (o.threads.size() > 1)
    s << " scaling " << o.threads.back() << "t/" << o.threads.front() << "t |";
  s << "\n|---|";
  for (std::size_t i = 0; i < o.threads.size(); ++i) s << "---:|";
  s << "---:|" << (o.threads.size() > 1 ? "---:|" : "") << "\n";
  for (Mode m : o.modes) {
    s << "| " << m.label() << " |";
    for (int t : o.threads) {
      std::vector<double> v;
      for (const auto& r : rows) {
        if (r.set == set.name && r.mode == m && r.threads == t)
          v.push_back(static_cast<double>(r.images) / r.seconds);
      }
      const auto mm = summarize(v);
      s << " " << fixed(mm.min, 0) << " / **" << fixed(mm.median, 0) << "** / " << fixed(mm.max, 0)
        << " |";
    }
    const double med = median_ips(rows, set.name, m, o.threads.back());
    s << " "
      << fixed(med * static_cast<double>(set.bytes) / static_cast<double>(set.files.size()) / 1e6,
               1)
      << " |";
    if (o.threads.size() > 1) {
      const double base = median_ips(rows, set.name, m, o.threads.front());
      s << " " << fixed(base > 0 ? med / base : 0, 2) << " |";
    }
    s << "\n";
  }
  struct Ratio {
    Mode num, den;
    std::string label;
    double target;  // 0 = no target
  };
  std::vector<Ratio> ratios;
  const bool has_b =
      std::find(o.modes.begin(), o.modes.end(), Mode{Kind::decode_ceiling}) != o.modes.end();
  const bool has_d =
      std::find(o.modes.begin(), o.modes.end(), Mode{Kind::opencv_phash}) != o.modes.end();
  for (const Mode& m : o.modes) {
    if (m.kind != Kind::residue_fast && m.kind != Kind::residue_exact) continue;
    const bool fast = m.kind == Kind::residue_fast;
    const std::string name =
        fast ? (m.min_side > 0 ? "fast M=" + std::to_string(m.min_side) : "fast") : "exact";
    if (has_b)
      ratios.push_back({m, {Kind::decode_ceiling}, name + " / (b) decode ceiling", fast ? 0.8 : 0});
    const Mode matched{Kind::decode_matched, m.min_side};
    if (fast && std::find(o.modes.begin(), o.modes.end(), matched) != o.modes.end()) {
      ratios.push_back({m, matched, name + " / (b') decode at the same scale", 0});
    }
    if (has_d)
      ratios.push_back({m, {Kind::opencv_phash}, name + " / (d) OpenCV PHash", fast ? 2.0 : 0});
  }
  const int target_threads =
      std::find(o.threads.begin(), o.threads.end(), 2) != o.threads.end() ? 2 : o.threads.back();
  if (!ratios.empty()) {
    s << "\n| ratio of medians |";
    for (int t : o.threads) s << " " << t << "t |";
    s << " target at " << target_threads << "t |\n|---|";
    for (std::size_t i = 0; i < o.threads.size(); ++i) s << "---:|";
    s << "---|\n";
  }
  for (const auto& r : ratios) {
    s << "| " << r.label << " |";
    for (int t : o.threads) {
      const double den = median_ips(rows, set.name, r.den, t);
      s << " " << fixed(den > 0 ? median_ips(rows, set.name, r.num, t) / den : 0, 2) << " |";
    }
    if (r.target > 0) {
      const double den = median_ips(rows, set.name, r.den, target_threads);
      const double v = den > 0 ? median_ips(rows, set.name, r.num, target_threads) / den : 0;
      s << " >= " << fixed(r.target, 1) << ": " << (v >= r.target ? "met" : "**missed**") << " |";
    } else {
      s << " - |";
    }
    s << "\n";
  }
  s << "\n";
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "hash_throughput: " << e.what() << "\n" << usage();
    return 2;
  }
  if (o.cv_threads >= 0) cv::setNumThreads(o.cv_threads);
  residue::tune_allocator_for_batch_work();  // as the residue tool does: time what it runs

  const RunContext ctx = run_context();
  const std::string cmd = command_line(argc, argv);
  std::ostringstream header;
  header << "# hash_throughput\n\n"
         << format_context(ctx) << "- OpenCV: " << cv::getVersionString() << ", cv::setNumThreads("
         << o.cv_threads << "); residue::tune_allocator_for_batch_work() called\n"
         << "- command: `" << cmd << "`\n";
  std::cout << header.str() << std::flush;

  std::vector<SetData> sets;
  for (const auto& name : o.sets) {
    SetData set;
    set.name = name;
    try {
      set.files = list_images(o.sets_dir / name);
    } catch (const std::exception& e) {
      std::cerr << "hash_throughput: " << e.what()
                << " (make it with scripts/make_bench_sets.sh)\n";
      return 2;
    }
    if (o.limit && set.files.size() > o.limit) set.files.resize(o.limit);
    if (set.files.empty()) {
      std::cerr << "hash_throughput: no images in " << (o.sets_dir / name) << "\n";
      return 2;
    }
    sets.push_back(std::move(set));
  }

  const int max_threads = *std::max_element(o.threads.begin(), o.threads.end());
  std::vector<Worker> workers(static_cast<std::size_t>(max_threads));
  std::vector<Row> rows;
  std::ostringstream sets_desc;
  for (auto& set : sets) {
    // Warm the page cache (and learn the sizes): read every file once.
    std::vector<std::uint8_t> buf;
    for (const auto& f : set.files) {
      if (!read_file(f, buf)) {
        std::cerr << "hash_throughput: cannot read " << f << "\n";
        return 2;
      }
      set.bytes += buf.size();
      if (set.dims.empty()) {
        const auto probe = residue::probe_image(buf);
        set.dims =
            probe ? std::to_string(probe->width()) + "x" + std::to_string(probe->height()) : "?";
      }
    }
    sets_desc << "- set " << set.name << ": " << (o.sets_dir / set.name).string() << ", "
              << set.files.size() << " images " << set.dims << ", " << set.bytes << " bytes\n";
    for (int threads : o.threads) {
      for (int attempt = 1;; ++attempt) {
        std::cerr << "set " << set.name << ", " << threads << " thread(s):";
        const CpuSample c0 = cpu_sample();
        // Untimed first pass per mode: warms code and allocators, checks and records the
        // results, and sizes the repetition count.
        std::map<Mode, int> reps;
        int most = 0;
        for (Mode m : o.modes) {
          const double t = run_pass(m, set, threads, workers);
          const double want = t > 0 ? std::ceil(o.seconds / t) : o.max_reps;
          reps[m] = static_cast<int>(
              std::clamp(want, static_cast<double>(o.min_reps), static_cast<double>(o.max_reps)));
          most = std::max(most, reps[m]);
        }
        std::vector<Row> block;
        for (int rep = 0; rep < most; ++rep) {
          for (Mode m : o.modes) {
            if (rep >= reps[m]) continue;
            const double t = run_pass(m, set, threads, workers);
            block.push_back({set.name, m, threads, rep, set.files.size(), t});
          }
        }
        const double foreign = foreign_cores(c0, cpu_sample());
        for (Mode m : o.modes) std::cerr << " " << m.key() << " x" << reps[m];
        std::cerr << "; other load " << fixed(foreign, 2) << " cores\n";
        if (foreign > o.max_foreign && attempt <= o.retries) {
          std::cerr << "  disturbed (> " << o.max_foreign << " cores): redoing the block in "
                    << o.retry_wait << " s\n";
          std::this_thread::sleep_for(std::chrono::duration<double>(o.retry_wait));
          continue;
        }
        set.foreign[threads] = foreign;
        set.attempts[threads] = attempt;
        rows.insert(rows.end(), block.begin(), block.end());
        break;
      }
    }
  }

  sets_desc << "- load average at end: " << loadavg() << "\n";
  std::ostringstream summary;
  summary << header.str() << sets_desc.str() << "\n";
  for (const auto& set : sets) summary << set_table(set, rows, o);
  std::cout << "\n" << sets_desc.str() << "\n";
  for (const auto& set : sets) std::cout << set_table(set, rows, o);

  if (!o.out.empty()) {
    std::ostringstream setup;
    setup << "# Setup of this run\n\n"
          << format_context(ctx) << "- host: " << ctx.hostname
          << "\n- OpenCV: " << cv::getVersionString() << ", cv::setNumThreads(" << o.cv_threads
          << ")\n"
          << "- command: `" << cmd << "`\n"
          << sets_desc.str()
          << "- method: each repetition is one pass over the whole set on a pool of N std::threads "
             "pulling indices from an atomic counter (the same harness for every mode); page cache "
             "warmed first; one untimed checking pass per (set, threads, mode); modes interleaved "
             "repetition by repetition; at least "
          << o.min_reps << " repetitions and " << o.seconds
          << " s per cell; a (set, threads) block during "
             "which other processes used more than "
          << o.max_foreign << " cores is redone (up to " << o.retries << " times).\n";
    std::ostringstream csv;
    csv << "set,mode,threads,rep,images,seconds,images_per_s\n";
    for (const auto& r : rows) {
      csv << r.set << "," << r.mode.key() << "," << r.threads << "," << r.rep << "," << r.images
          << "," << fixed(r.seconds, 6) << ","
          << fixed(static_cast<double>(r.images) / r.seconds, 1) << "\n";
    }
    try {
      write_text(o.out / "SETUP.md", setup.str());
      write_text(o.out / "raw.csv", csv.str());
      write_text(o.out / "summary.md", summary.str());
    } catch (const std::exception& e) {
      std::cerr << "hash_throughput: " << e.what() << "\n";
      return 2;
    }
    std::cerr << "wrote " << (o.out / "SETUP.md") << ", raw.csv, summary.md\n";
  }
  return 0;
}
