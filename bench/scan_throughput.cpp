// scan_throughput: images/s, peak memory and rescan cost of `residue scan` on mirrors that mix
// every container kind, against `residue hash` and the decode ceiling; optionally `scan --mpi`.
//
// Usage: scan_throughput MIRROR_DIR... --residue PATH/TO/residue [--threads 1,2] [--reps 3]
//          [--out DIR] [--tmp DIR] [--tokens-per-thread 4] [--wait-load 0.5] [--wait-max 1800]
//          [--max-foreign-load 0.3] [--retries 4] [--retry-wait 30]
//          [--mpirun PATH [--ranks 1,2] [--split-min-mb M] [--mpirun-args "ARGS"]]
// MIRROR_DIRs come from scripts/make_mirror.py (their MANIFEST.json gives the expected item count
// per container kind). For each mirror and thread count N, one repetition runs, in this order:
//   (a) decode ceiling: residue's own source layer (ItemStream + item_bytes) feeding
//       cv::imdecode(IMREAD_REDUCED_GRAYSCALE_8) in a tbb::parallel_pipeline shaped like the scan's
//       (serial source, parallel bytes+decode, serial in-order sink), N threads, in this process;
//   (a2) the same at full scale (IMREAD_GRAYSCALE): residue's fast path decodes an image at 1/2,
//       1/4 or 1/8 only when the result keeps DecodeOptions::min_reduced_side (128) pixels, so for
//       images under 256 px (all of make_mirror's 250x250) this is the decode it actually does;
//   (b) `residue hash -j N MIRROR > /dev/null`, a child process (fork/exec from a launcher process,
//       see Launcher): wall time, peak RSS (wait4 ru_maxrss);
//   (c) `residue scan MIRROR --catalog TMP/cat.db -j N --quiet` on a fresh catalog: same;
//   (d) the same command again on (c)'s catalog: a no-change rescan;
//   (e) with --mpirun, for each R of --ranks dividing N, mode scan_mpi_R: `mpirun -n R
//       [--allow-run-as-root] --bind-to none [ARGS] residue scan --mpi MIRROR --catalog TMP/cat.db
//       -j N/R [--split-min-mb M] --quiet` on a fresh catalog, timed like (c). `--bind-to none`
//       because Open MPI 4 binds each rank to one core when R <= 2 (R = 1 would run its N threads
//       on one core). Its peak RSS is wait4's ru_maxrss of mpirun, which is the largest of
//       mpirun's and its reaped ranks' peaks (one process, not their sum); its CPU time is the
//       sum over them (checked with ranks of known size and CPU time).
// Before timing, one untimed pass per mirror warms the page cache and checks results: the ceiling
// decodes every image, `residue hash` prints one line per image, and `residue catalog stats --json`
// of a scan's catalog has the manifest's count for every container kind, all ok. With --mpirun
// the pass also runs each scan_mpi_R once without --quiet, each rank started through this program
// (`--rank-rusage`, which execs the rank and records its own peak RSS), checks the catalog the
// same way and parses the per-rank lines (items, seconds, MB sent and received). Fixed costs
// (an empty folder scanned, `mpirun -n R /bin/true`) are timed once, median of 3.
// A mismatch is printed as MISMATCH (and kept in summary.md); the timings still run. A repetition
// during which other processes used more than --max-foreign-load cores is redone after
// --retry-wait seconds (up to --retries times; then kept, and the figure is printed); before each
// repetition the program waits until other processes use less than that (another benchmark
// sharing the machine).
// Targets (shown, not asserted): scan >= 0.8x (b); peak RSS < 300 MB and flat from a 10k to a
// 100k mirror; rescan < 5% of the first scan's time. See bench/README.md.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common.hpp"
#include "residue/scan.hpp"
#include "residue/source.hpp"

namespace {

namespace fs = std::filesystem;
using namespace residue::bench;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kKinds = {"file", "tar", "zip", "tsv", "recordio"};
const std::vector<std::string> kModes = {"ceiling", "ceiling_full", "hash", "scan", "rescan"};
const std::map<std::string, std::string> kModeLabel = {
    {"ceiling", "(a) decode ceiling: ItemStream + imdecode REDUCED_GRAYSCALE_8"},
    {"ceiling_full", "(a2) full-scale decode: ItemStream + imdecode GRAYSCALE"},
    {"hash", "(b) residue hash -j N > /dev/null"},
    {"scan", "(c) residue scan, fresh catalog"},
    {"rescan", "(d) residue scan, no-change rescan"}};
const std::string kMpiPrefix = "scan_mpi_";  // + the rank count: mode scan_mpi_R

std::string mode_label(const std::string& mode) {
  if (mode.starts_with(kMpiPrefix)) {
    const std::string r = mode.substr(kMpiPrefix.size());
    return "(e) scan --mpi, " + r + (r == "1" ? " rank" : " ranks") + " x N/" + r +
           " threads, fresh catalog";
  }
  return kModeLabel.at(mode);
}

struct Options {
  std::vector<std::string> mirrors;
  std::string residue;
  std::vector<int> threads{1, 2};
  int reps = 3;
  std::string out;
  std::string tmp;
  int tokens_per_thread = 4;  // ScanOptions' default
  double wait_load = -1;      // < 0: do not wait
  int wait_max = 1800;
  double max_foreign = 0.3;
  int retries = 4;
  int retry_wait = 30;  // seconds to wait before redoing a disturbed repetition
  std::string mpirun;   // empty: no scan_mpi_R modes
  std::vector<int> ranks{1, 2};
  int split_min_mb = -1;  // < 0: residue's default (not passed)
  std::vector<std::string> mpirun_args;
};

std::string usage() {
  return "usage: scan_throughput MIRROR_DIR... --residue PATH [--threads 1,2] [--reps 3] [--out "
         "DIR]\n"
         "         [--tmp DIR] [--tokens-per-thread 4] [--wait-load 0.5] [--wait-max 1800]\n"
         "         [--max-foreign-load 0.3] [--retries 4] [--retry-wait 30]\n"
         "         [--mpirun PATH [--ranks 1,2] [--split-min-mb M] [--mpirun-args \"ARGS\"]]\n";
}

Options parse(int argc, char** argv) {
  Options o;
  bool mpi_flags = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--residue")
      o.residue = value();
    else if (a == "--threads")
      o.threads = parse_int_list(value());
    else if (a == "--reps")
      o.reps = std::stoi(value());
    else if (a == "--out")
      o.out = value();
    else if (a == "--tmp")
      o.tmp = value();
    else if (a == "--tokens-per-thread")
      o.tokens_per_thread = std::stoi(value());
    else if (a == "--wait-load")
      o.wait_load = std::stod(value());
    else if (a == "--wait-max")
      o.wait_max = std::stoi(value());
    else if (a == "--max-foreign-load")
      o.max_foreign = std::stod(value());
    else if (a == "--retries")
      o.retries = std::stoi(value());
    else if (a == "--retry-wait")
      o.retry_wait = std::stoi(value());
    else if (a == "--mpirun")
      o.mpirun = value();
    else if (a == "--ranks") {
      o.ranks = parse_int_list(value());
      mpi_flags = true;
    } else if (a == "--split-min-mb") {
      o.split_min_mb = std::stoi(value());
      mpi_flags = true;
    } else if (a == "--mpirun-args") {
      std::istringstream words(value());
      for (std::string w; words >> w;) o.mpirun_args.push_back(w);
      mpi_flags = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << usage();
      std::exit(0);
    } else if (a.rfind("--", 0) == 0)
      throw std::invalid_argument("unknown flag " + a);
    else
      o.mirrors.push_back(a);
  }
  if (o.mirrors.empty()) throw std::invalid_argument("no MIRROR_DIR");
  if (o.residue.empty()) throw std::invalid_argument("--residue PATH is required");
  if (::access(o.residue.c_str(), X_OK) != 0)
    throw std::invalid_argument("not executable: " + o.residue);
  for (int t : o.threads)
    if (t < 1) throw std::invalid_argument("--threads: counts must be >= 1");
  if (o.reps < 1 || o.tokens_per_thread < 1 || o.retries < 0 || o.retry_wait < 0)
    throw std::invalid_argument("bad --reps/--tokens/--retries");
  if (mpi_flags && o.mpirun.empty())
    throw std::invalid_argument("--ranks, --split-min-mb and --mpirun-args need --mpirun PATH");
  if (!o.mpirun.empty() && ::access(o.mpirun.c_str(), X_OK) != 0)
    throw std::invalid_argument("not executable: " + o.mpirun);
  for (int r : o.ranks)
    if (r < 1) throw std::invalid_argument("--ranks: counts must be >= 1");
  return o;
}

// ------------------------------------------------------------------------------- the mirror

struct Mirror {
  std::string path;
  std::string name;
  std::map<std::string, std::uint64_t> expected;  // from MANIFEST.json "items"; empty if none
  std::uint64_t bytes = 0;                        // from MANIFEST.json "bytes"
  std::uint64_t images = 0;                       // the count every images/s figure divides
};

// The flat {"key": number, ...} object that follows `"key":` in a JSON text (enough for
// MANIFEST.json and `residue catalog stats --json`; nested objects are not supported).
std::map<std::string, std::uint64_t> json_counts(const std::string& text, const std::string& key) {
  std::map<std::string, std::uint64_t> out;
  const auto k = text.find("\"" + key + "\"");
  if (k == std::string::npos) return out;
  const auto open = text.find('{', k);
  const auto close = text.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return out;
  std::string body = text.substr(open + 1, close - open - 1);
  std::size_t pos = 0;
  while ((pos = body.find('"', pos)) != std::string::npos) {
    const auto end = body.find('"', pos + 1);
    const auto colon = body.find(':', end);
    if (end == std::string::npos || colon == std::string::npos) break;
    out[body.substr(pos + 1, end - pos - 1)] = std::stoull(body.substr(colon + 1));
    pos = body.find_first_of(",}", colon);
    if (pos == std::string::npos) break;
  }
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Mirror load_mirror(const std::string& path) {
  Mirror m;
  m.path = path;
  m.name = fs::path(path).lexically_normal().filename().string();
  if (m.name.empty()) m.name = fs::path(path).lexically_normal().parent_path().filename().string();
  const fs::path manifest = fs::path(path) / "MANIFEST.json";
  if (fs::exists(manifest)) {
    const std::string text = slurp(manifest);
    m.expected = json_counts(text, "items");
    for (const auto& [k, v] : json_counts(text, "bytes")) m.bytes += v;
    for (const auto& [k, v] : m.expected) m.images += v;
  }
  return m;
}

// ------------------------------------------------------------------------------- (a) ceiling

struct CeilingResult {
  double wall = 0;
  std::uint64_t items = 0, ok = 0, failed = 0, bytes = 0;
};

struct Decoded {
  bool ok = false;
  std::uint64_t bytes = 0;
};

CeilingResult run_ceiling(const std::string& root, int threads, int tokens_per_thread,
                          int imread_flags) {
  CeilingResult r;
  const auto start = Clock::now();
  residue::SourceOptions options;
  options.is_item = residue::looks_like_image;  // what `residue scan` counts as an item
  const std::uint64_t max_bytes = options.max_item_bytes;
  residue::ItemStream stream({root}, std::move(options));
  tbb::task_arena arena(threads);
  arena.execute([&] {
    tbb::parallel_pipeline(static_cast<std::size_t>(threads * tokens_per_thread),
                           tbb::make_filter<void, residue::SourceItem>(
                               tbb::filter_mode::serial_in_order,
                               [&](tbb::flow_control& fc) -> residue::SourceItem {
                                 for (;;) {
                                   auto item = stream.next();
                                   if (!item) {
                                     fc.stop();
                                     return {};
                                   }
                                   if (item->event == residue::SourceEvent::item)
                                     return std::move(*item);
                                 }
                               }) &
                               tbb::make_filter<residue::SourceItem, Decoded>(
                                   tbb::filter_mode::parallel,
                                   [&](residue::SourceItem item) -> Decoded {
                                     Decoded d;
                                     if (item.error) return d;
                                     auto bytes = residue::item_bytes(item, max_bytes);
                                     if (!bytes) return d;
                                     const auto& b = bytes.value();
                                     d.bytes = b.size();
                                     try {  // nothing may leave a filter
                                       const cv::Mat raw(1, static_cast<int>(b.size()), CV_8UC1,
                                                         const_cast<std::uint8_t*>(b.data()));
                                       d.ok = !cv::imdecode(raw, imread_flags).empty();
                                     } catch (...) {
                                       d.ok = false;
                                     }
                                     return d;
                                   }) &
                               tbb::make_filter<Decoded, void>(tbb::filter_mode::serial_in_order,
                                                               [&](const Decoded& d) {
                                                                 ++r.items;
                                                                 r.bytes += d.bytes;
                                                                 if (d.ok)
                                                                   ++r.ok;
                                                                 else
                                                                   ++r.failed;
                                                               }));
  });
  r.wall = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

// ------------------------------------------------------------------------------- (b-d) children
//
// Children are started by a launcher process forked at the top of main, while this process is
// still small. ru_maxrss of a child is max(its own peak, the high-water mark of the address space
// it was exec'd from): spawned straight from here (after the ceiling has decoded images, with
// OpenCV and TBB loaded) every child would report at least this process's peak. The launcher's
// floor is measured (/bin/true) and printed with the results.

struct ChildResult {
  double wall = 0;
  double cpu = 0;         // user + system seconds of the child
  long maxrss_kb = 0;     // peak resident set (wait4 ru_maxrss)
  int exit_code = -1;     // -1 when killed by a signal
  std::string last_line;  // the last line it wrote to stderr (its summary)
};

struct LaunchReply {
  double wall = 0;
  double cpu = 0;
  long maxrss_kb = 0;
  int exit_code = -1;
  int spawn_errno = 0;
};

bool write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t k = ::write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t k = ::read(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

// Request: u32 count, then count x (u32 length + bytes): argv..., stdout path, stderr path.
bool read_request(int fd, std::vector<std::string>& strings) {
  std::uint32_t count = 0;
  if (!read_all(fd, &count, sizeof count)) return false;
  strings.assign(count, {});
  for (auto& str : strings) {
    std::uint32_t len = 0;
    if (!read_all(fd, &len, sizeof len)) return false;
    str.resize(len);
    if (len > 0 && !read_all(fd, str.data(), len)) return false;
  }
  return true;
}

LaunchReply spawn_and_wait(std::vector<std::string> strings) {
  LaunchReply r;
  const std::string err_path = strings.back();
  strings.pop_back();
  const std::string out_path = strings.back();
  strings.pop_back();
  std::vector<char*> args;
  for (auto& a : strings) args.push_back(a.data());
  args.push_back(nullptr);
  // fork + exec rather than posix_spawn: the child asks to be killed when the launcher dies
  // (which dies with the benchmark), so an interrupted benchmark leaves no residue running.
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.spawn_errno = errno;
    return r;
  }
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    r.spawn_errno = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return r;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd >= 0 && err_fd >= 0 && ::dup2(out_fd, 1) >= 0 && ::dup2(err_fd, 2) >= 0)
      ::execv(args[0], args.data());
    const int e = errno;
    (void)!::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  int exec_errno = 0;
  if (read_all(err_pipe[0], &exec_errno, sizeof exec_errno)) r.spawn_errno = exec_errno;
  ::close(err_pipe[0]);
  int status = 0;
  struct rusage ru {};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  r.wall = std::chrono::duration<double>(Clock::now() - start).count();
  auto sec = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  r.cpu = sec(ru.ru_utime) + sec(ru.ru_stime);
  r.maxrss_kb = ru.ru_maxrss;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `scan_throughput --rank-rusage PREFIX CMD ARGS...` (internal): what mpirun starts as each rank
// in the untimed per-rank pass. CMD runs as its child with the rank's environment (so MPI_Init in
// CMD joins the job); after wait4 it writes "maxrss_kb cpu_s" to PREFIX.RANK, RANK from
// OMPI_COMM_WORLD_RANK (Open MPI) or PMI_RANK. It exits with CMD's status (128 + the signal when
// CMD was killed), so mpirun sees a failing rank as before. CMD's peak RSS has the floor of every
// child here: this program's size at startup, before main has loaded anything (see Launcher).
int rank_rusage_main(char** argv) {
  const std::string prefix = argv[2];
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("scan_throughput --rank-rusage: fork");
    return 2;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // mpirun ending this rank ends CMD too
    ::execv(argv[3], argv + 3);
    std::fprintf(stderr, "scan_throughput --rank-rusage: cannot start %s: %s\n", argv[3],
                 std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru {};
  while (::wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (rank == nullptr) rank = std::getenv("PMI_RANK");
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::ofstream(prefix + "." + (rank != nullptr ? rank : "unknown"))
      << ru.ru_maxrss << " " << cpu << "\n";
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class Launcher {
 public:
  /// Forks the launcher; call first thing in main. The launcher serves requests until the pipe
  /// closes and dies with this process.
  Launcher() {
    int req[2], rep[2];
    if (::pipe(req) != 0 || ::pipe(rep) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::close(req[1]);
      ::close(rep[0]);
      std::vector<std::string> strings;
      while (read_request(req[0], strings) && strings.size() >= 3) {
        const LaunchReply r = spawn_and_wait(std::move(strings));
        if (!write_all(rep[1], &r, sizeof r)) break;
      }
      ::_exit(0);
    }
    ::close(req[0]);
    ::close(rep[1]);
    pid_ = pid;
    to_ = req[1];
    from_ = rep[0];
  }
  ~Launcher() {
    ::close(to_);
    ::close(from_);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  /// Runs argv (argv[0] a path) with stdout and stderr sent to files; waits with wait4.
  ChildResult run(const std::vector<std::string>& argv, const std::string& out_path,
                  const std::string& err_path) {
    std::vector<std::string> strings = argv;
    strings.push_back(out_path);
    strings.push_back(err_path);
    std::string msg;
    auto put32 = [&](std::uint32_t v) { msg.append(reinterpret_cast<const char*>(&v), sizeof v); };
    put32(static_cast<std::uint32_t>(strings.size()));
    for (const auto& str : strings) {
      put32(static_cast<std::uint32_t>(str.size()));
      msg += str;
    }
    LaunchReply r;
    if (!write_all(to_, msg.data(), msg.size()) || !read_all(from_, &r, sizeof r))
      throw std::runtime_error("the launcher process died");
    if (r.spawn_errno != 0)
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(r.spawn_errno));
    ChildResult c{.wall = r.wall,
                  .cpu = r.cpu,
                  .maxrss_kb = r.maxrss_kb,
                  .exit_code = r.exit_code,
                  .last_line = {}};
    std::ifstream err(err_path);
    for (std::string line; std::getline(err, line);)
      if (!line.empty()) c.last_line = line;
    return c;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
};

void remove_catalog(const fs::path& db) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(db.string() + suffix);
}

// ------------------------------------------------------------------------------- measurements

std::string fmt(double v, int prec = 0);

struct Sample {
  std::string mirror;
  int threads = 0;
  int rep = 0;
  std::string mode;
  double wall = 0;
  double per_s = 0;
  long maxrss_kb = 0;
  double cpu = 0;
  double foreign = 0;
  int exit_code = 0;
};

// What `scan --mpi` printed (without --quiet) in the untimed pass, and each rank's peak RSS.
struct RankLine {
  int rank = 0;
  std::uint64_t items = 0;  // of its own share
  double seconds = 0;       // its scan plus its counting pass over cut files (0.1 s resolution)
  double mb_sent = 0;       // 1e6 bytes, 0.1 MB resolution: plan, counts, results
  double mb_received = 0;
  long maxrss_kb = 0;  // from --rank-rusage; 0 when missing
  double cpu = 0;      // from --rank-rusage
};

struct MpiCheck {
  std::string mirror;
  int threads = 0;  // total: ranks x threads per rank
  int ranks = 0;
  int exit_code = -1;
  double wall = 0;              // of this untimed run (started through --rank-rusage)
  long mpirun_maxrss_kb = 0;    // wait4 on mpirun: the largest process of the job
  bool parsed = false;          // both lines found, one entry per rank
  std::uint64_t cut_files = 0;  // files cut into byte ranges across ranks
  std::uint64_t cut_ranges = 0;
  double plan_seconds = 0;
  double slowest_seconds = 0;
  double sink_seconds = -1;  // rank 0 writing the catalog; < 0 when the binary does not print it
  std::string uncut{};       // what it says about cut files scanned whole, if anything
  std::vector<RankLine> per_rank{};
};

// Parses the two lines `scan --mpi` prints on stderr after its summary
// (tools/residue/cmd_scan.cpp): "scan: 2 ranks, 1 files cut into 2 ranges[ (N more scanned whole:
// ...)]; planning 0.01 s, slowest rank 3.1 s[, rank 0 writing the catalog 0.4 s]" and
// "scan: rank 0: 5000 items in 3.0 s, 0.0 MB sent, 4.1 MB received; rank 1: ...".
bool parse_mpi_lines(const std::string& text, MpiCheck& c) {
  static const std::regex head(
      R"(scan: (\d+) ranks, (\d+) files cut into (\d+) ranges([^;]*); planning ([0-9.]+) s, slowest rank ([0-9.]+) s(, rank 0 writing the catalog ([0-9.]+) s)?)");
  static const std::regex rank(
      R"(rank (\d+): (\d+) items in ([0-9.]+) s, ([0-9.]+) MB sent, ([0-9.]+) MB received)");
  std::smatch h;
  if (!std::regex_search(text, h, head)) return false;
  c.cut_files = std::stoull(h[2].str());
  c.cut_ranges = std::stoull(h[3].str());
  c.uncut = h[4].str();
  c.plan_seconds = std::stod(h[5].str());
  c.slowest_seconds = std::stod(h[6].str());
  c.sink_seconds = h[8].matched ? std::stod(h[8].str()) : -1;
  c.per_rank.clear();
  for (auto it = std::sregex_iterator(text.begin(), text.end(), rank); it != std::sregex_iterator();
       ++it) {
    const std::smatch& r = *it;
    c.per_rank.push_back({.rank = std::stoi(r[1].str()),
                          .items = std::stoull(r[2].str()),
                          .seconds = std::stod(r[3].str()),
                          .mb_sent = std::stod(r[4].str()),
                          .mb_received = std::stod(r[5].str())});
  }
  return c.per_rank.size() == std::stoull(h[1].str());
}

struct FixedCost {
  std::string what;
  double median = 0;  // wall seconds, median of 3
  int exit_code = 0;  // the last run's
};

struct Runner {
  const Options& o;
  Launcher& launcher;
  fs::path tmp;
  std::vector<Sample> samples;
  std::vector<std::string> mismatches;
  std::vector<std::string> notes;
  double max_foreign_seen = 0;
  std::string self_exe;  // this program, started as each rank by the per-rank pass
  std::vector<MpiCheck> mpi_checks;
  std::vector<FixedCost> fixed;

  /// The modes of one repetition at t threads: (a)-(d), then scan_mpi_R for each R dividing t.
  std::vector<std::string> modes(int t) const {
    std::vector<std::string> out = kModes;
    if (!o.mpirun.empty())
      for (int r : o.ranks)
        if (t % r == 0) out.push_back(kMpiPrefix + std::to_string(r));
    return out;
  }

  std::vector<std::string> cmd_hash(const Mirror& m, int t) const {
    return {o.residue, "hash", "-j", std::to_string(t), m.path};
  }
  std::vector<std::string> cmd_scan(const Mirror& m, int t) const {
    return {o.residue,         "scan",   m.path, "--catalog", (tmp / "cat.db").string(), "-j",
            std::to_string(t), "--quiet"};
  }
  std::vector<std::string> mpirun_prefix(int ranks) const {
    std::vector<std::string> a{o.mpirun, "-n", std::to_string(ranks)};
    if (::geteuid() == 0) a.push_back("--allow-run-as-root");
    a.insert(a.end(), {"--bind-to", "none"});
    a.insert(a.end(), o.mpirun_args.begin(), o.mpirun_args.end());
    return a;
  }
  /// `mpirun ... residue scan --mpi ROOT ... -j t/ranks`; with `rusage_prefix`, each rank runs
  /// through `--rank-rusage rusage_prefix`.
  std::vector<std::string> cmd_scan_mpi(const std::string& root, int t, int ranks, bool quiet,
                                        const std::string& rusage_prefix = {}) const {
    std::vector<std::string> a = mpirun_prefix(ranks);
    if (!rusage_prefix.empty()) a.insert(a.end(), {self_exe, "--rank-rusage", rusage_prefix});
    a.insert(a.end(), {o.residue, "scan", "--mpi", root, "--catalog", (tmp / "cat.db").string(),
                       "-j", std::to_string(t / ranks)});
    if (o.split_min_mb >= 0) a.insert(a.end(), {"--split-min-mb", std::to_string(o.split_min_mb)});
    if (quiet) a.push_back("--quiet");
    return a;
  }

  // Before each repetition: other processes must use less than --max-foreign-load cores over a
  // 2 s idle sample (another benchmark sharing the machine is waited for, up to --wait-max s).
  void wait_idle() const {
    const auto start = Clock::now();
    for (;;) {
      const CpuSample a = cpu_sample();
      std::this_thread::sleep_for(std::chrono::seconds(2));
      const double f = foreign_cores(a, cpu_sample());
      if (f <= o.max_foreign) return;
      if (std::chrono::duration<double>(Clock::now() - start).count() > o.wait_max) {
        std::cout << "  other processes use " << fmt(f, 2) << " cores; waited " << o.wait_max
                  << " s, going on\n";
        return;
      }
      std::cout << "  other processes use " << fmt(f, 2) << " cores: waiting " << o.retry_wait
                << " s\n"
                << std::flush;
      std::this_thread::sleep_for(std::chrono::seconds(o.retry_wait));
    }
  }

  Sample measure(const Mirror& m, int t, int rep, const std::string& mode) {
    Sample s{.mirror = m.name, .threads = t, .rep = rep, .mode = mode};
    const CpuSample before = cpu_sample();
    double child_cpu = 0;
    if (mode == "ceiling" || mode == "ceiling_full") {
      const int flags = mode == "ceiling" ? cv::IMREAD_REDUCED_GRAYSCALE_8 : cv::IMREAD_GRAYSCALE;
      const CeilingResult c = run_ceiling(m.path, t, o.tokens_per_thread, flags);
      s.wall = c.wall;
      s.exit_code = c.ok == m.images ? 0 : 1;
    } else {
      const bool mpi = mode.starts_with(kMpiPrefix);
      if (mode == "scan" || mpi) remove_catalog(tmp / "cat.db");
      const auto argv =
          mode == "hash"
              ? cmd_hash(m, t)
              : (mpi ? cmd_scan_mpi(m.path, t, std::stoi(mode.substr(kMpiPrefix.size())), true)
                     : cmd_scan(m, t));
      const ChildResult c = launcher.run(argv, "/dev/null", (tmp / (mode + ".err")).string());
      s.wall = c.wall;
      s.maxrss_kb = c.maxrss_kb;
      s.exit_code = c.exit_code;
      child_cpu = c.cpu;
    }
    const CpuSample after = cpu_sample();
    const double wall = after.wall - before.wall;
    s.cpu = child_cpu > 0 ? child_cpu : after.self - before.self;
    s.foreign = wall > 0 ? std::max(0.0, (after.system_busy - before.system_busy -
                                          (after.self - before.self) - child_cpu) /
                                             wall)
                         : 0;
    s.per_s = s.wall > 0 ? static_cast<double>(m.images) / s.wall : 0;
    return s;
  }

  // Untimed: warms the page cache and checks every mode's results against the manifest.
  void verify(Mirror& m, int t) {
    const CeilingResult c =
        run_ceiling(m.path, t, o.tokens_per_thread, cv::IMREAD_REDUCED_GRAYSCALE_8);
    if (m.expected.empty()) {
      m.images = c.ok;
      notes.push_back(m.name + ": no MANIFEST.json; image count taken from the ceiling pass (" +
                      std::to_string(c.ok) + ")");
    }
    std::cout << "  check (a): " << c.items << " items, " << c.ok << " decoded, " << c.failed
              << " failed, " << c.wall << " s\n";
    if (c.ok != m.images || c.failed != 0)
      mismatches.push_back(m.name + ": decode ceiling decoded " + std::to_string(c.ok) + " of " +
                           std::to_string(c.items) + " items, expected " +
                           std::to_string(m.images) + " images");

    const std::string hash_out = (tmp / "hash.out").string();
    const ChildResult h = launcher.run(cmd_hash(m, t), hash_out, (tmp / "hash.err").string());
    std::uint64_t lines = 0;
    {
      std::ifstream in(hash_out);
      for (std::string line; std::getline(in, line);) ++lines;
    }
    fs::remove(hash_out);
    std::cout << "  check (b): residue hash printed " << lines << " hashes, exit " << h.exit_code
              << (h.last_line.empty() ? "" : ", stderr: " + h.last_line) << "\n";
    if (lines != m.images)
      mismatches.push_back(m.name + ": `residue hash` printed " + std::to_string(lines) +
                           " hashes, expected " + std::to_string(m.images));
    if (h.exit_code != 0)
      notes.push_back(m.name + ": `residue hash` exits " + std::to_string(h.exit_code) +
                      " on this mirror: " + h.last_line);

    remove_catalog(tmp / "cat.db");
    const ChildResult s = launcher.run(cmd_scan(m, t), "/dev/null", (tmp / "scan.err").string());
    std::cout << "  check (c): exit " << s.exit_code << ", " << s.last_line << "\n";
    if (s.exit_code != 0)
      mismatches.push_back(m.name + ": `residue scan` exit " + std::to_string(s.exit_code) + ": " +
                           s.last_line);
    check_catalog(m, "scan");
    const ChildResult r = launcher.run(cmd_scan(m, t), "/dev/null", (tmp / "rescan.err").string());
    std::cout << "  check (d): exit " << r.exit_code << ", " << r.last_line << "\n";
    if (r.exit_code != 0)
      mismatches.push_back(m.name + ": no-change rescan exit " + std::to_string(r.exit_code) +
                           ": " + r.last_line);
    check_catalog(m, "rescan");
    if (!o.mpirun.empty()) verify_mpi(m);
  }

  // Untimed: each scan_mpi_R once without --quiet on a fresh catalog, at the largest thread
  // count R divides, every rank started through --rank-rusage; the catalog is checked like (c)'s.
  void verify_mpi(const Mirror& m) {
    for (int r : o.ranks) {
      int t = 0;
      for (int x : o.threads)
        if (x % r == 0) t = std::max(t, x);
      if (t == 0) {
        notes.push_back(m.name + ": no --threads count is divisible by " + std::to_string(r) +
                        " ranks: scan_mpi_" + std::to_string(r) + " not run");
        continue;
      }
      MpiCheck c{.mirror = m.name, .threads = t, .ranks = r};
      const std::string prefix = (tmp / "rank-rusage").string();
      for (int k = 0; k < r; ++k) fs::remove(prefix + "." + std::to_string(k));
      remove_catalog(tmp / "cat.db");
      const std::string err = (tmp / ("scan_mpi_" + std::to_string(r) + ".err")).string();
      const ChildResult run =
          launcher.run(cmd_scan_mpi(m.path, t, r, false, prefix), "/dev/null", err);
      c.exit_code = run.exit_code;
      c.wall = run.wall;
      c.mpirun_maxrss_kb = run.maxrss_kb;
      const std::string text = slurp(err);
      c.parsed = parse_mpi_lines(text, c);
      std::uint64_t items = 0;
      for (auto& x : c.per_rank) {
        std::ifstream in(prefix + "." + std::to_string(x.rank));
        in >> x.maxrss_kb >> x.cpu;
        items += x.items;
      }
      std::cout << "  check (e) " << r << " ranks x " << t / r << " threads: exit " << c.exit_code
                << ", " << c.wall << " s\n";
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);)
        if (line.starts_with("scan: ")) std::cout << "    " << line << "\n";
      const std::string what = m.name + ": `scan --mpi` with " + std::to_string(r) + " ranks";
      if (c.exit_code != 0)
        mismatches.push_back(what + " exit " + std::to_string(c.exit_code) + ": " + run.last_line);
      if (!c.parsed)
        mismatches.push_back(what + " printed no per-rank lines (last line: " + run.last_line +
                             ")");
      else if (items != m.images)
        mismatches.push_back(what + ": the ranks' items add up to " + std::to_string(items) +
                             ", expected " + std::to_string(m.images));
      check_catalog(m, kMpiPrefix + std::to_string(r));
      mpi_checks.push_back(std::move(c));
    }
  }

  // Once per run (with --mpirun): what a scan costs with nothing to scan, and mpirun alone.
  void measure_fixed_costs() {
    const fs::path empty = tmp / "empty";
    fs::create_directories(empty);
    const std::string cat = (tmp / "cat.db").string();
    auto median3 = [&](const std::string& what, const std::vector<std::string>& argv) {
      std::vector<double> walls;
      FixedCost f{.what = what};
      for (int i = 0; i < 3; ++i) {
        remove_catalog(tmp / "cat.db");
        const ChildResult c = launcher.run(argv, "/dev/null", (tmp / "fixed.err").string());
        walls.push_back(c.wall);
        f.exit_code = c.exit_code;
      }
      f.median = summarize(walls).median;
      std::cout << "  fixed cost: " << what << ": " << fmt(f.median, 3) << " s, exit "
                << f.exit_code << "\n";
      fixed.push_back(f);
    };
    wait_idle();
    median3("`residue scan EMPTY --catalog C -q` (single process)",
            {o.residue, "scan", empty.string(), "--catalog", cat, "--quiet"});
    for (int r : o.ranks) {
      std::vector<std::string> tru = mpirun_prefix(r);
      tru.push_back("/bin/true");
      median3("`mpirun -n " + std::to_string(r) + " /bin/true`", tru);
      median3("`mpirun -n " + std::to_string(r) + " residue scan --mpi EMPTY --catalog C -j 1 -q`",
              cmd_scan_mpi(empty.string(), r, r, true));
    }
    remove_catalog(tmp / "cat.db");
  }

  static std::string describe(const std::map<std::string, std::uint64_t>& counts) {
    std::string out;
    for (const auto& [k, v] : counts) out += " " + k + " " + std::to_string(v);
    return out;
  }

  void check_catalog(const Mirror& m, const std::string& after) {
    const std::string out = (tmp / "stats.json").string();
    const ChildResult st =
        launcher.run({o.residue, "catalog", "stats", "--json", (tmp / "cat.db").string()}, out,
                     (tmp / "stats.err").string());
    const std::string text = slurp(out);
    const auto by_container = json_counts(text, "by_container");
    const auto by_status = json_counts(text, "by_status");
    std::cout << "  catalog after " << after << ": " << text << (text.ends_with('\n') ? "" : "\n");
    if (st.exit_code != 0) {
      mismatches.push_back(m.name + ": `residue catalog stats` failed after " + after + ": " +
                           st.last_line);
      return;
    }
    for (const auto& kind : kKinds) {
      const auto want = m.expected.contains(kind) ? m.expected.at(kind) : 0;
      const auto got = by_container.contains(kind) ? by_container.at(kind) : 0;
      if (!m.expected.empty() && want != got)
        mismatches.push_back(m.name + " (after " + after + "): catalog has " + std::to_string(got) +
                             " items of kind " + kind + ", the mirror has " + std::to_string(want));
    }
    for (const auto& [k, v] : by_container)
      if (std::find(kKinds.begin(), kKinds.end(), k) == kKinds.end())
        mismatches.push_back(m.name + " (after " + after + "): catalog has " + std::to_string(v) +
                             " items of unexpected kind " + k);
    const auto ok = by_status.contains("ok") ? by_status.at("ok") : 0;
    if (ok != m.images)
      mismatches.push_back(m.name + " (after " + after + "): catalog has " + std::to_string(ok) +
                           " ok items, expected " + std::to_string(m.images) +
                           " (by_status:" + describe(by_status) + ")");
  }

  void run_mirror(Mirror& m) {
    std::cout << "\n## " << m.name << " (" << m.path << ")\n";
    verify(m, *std::max_element(o.threads.begin(), o.threads.end()));
    for (int t : o.threads) {
      for (int rep = 0; rep < o.reps; ++rep) {
        for (int attempt = 0;; ++attempt) {
          wait_idle();
          std::vector<Sample> got;
          double worst = 0;
          for (const auto& mode : modes(t)) {
            got.push_back(measure(m, t, rep, mode));
            worst = std::max(worst, got.back().foreign);
          }
          std::cout << "  " << t << "t rep " << rep;
          for (const auto& s : got)
            std::cout << "  " << s.mode << " " << static_cast<long>(s.per_s) << "/s " << s.wall
                      << " s"
                      << (s.maxrss_kb ? " " + std::to_string(s.maxrss_kb / 1024) + " MB" : "");
          std::cout << "  foreign " << worst
                    << (worst > o.max_foreign && attempt < o.retries ? " (redo)" : "") << "\n"
                    << std::flush;
          if (worst > o.max_foreign && attempt < o.retries) {
            std::this_thread::sleep_for(std::chrono::seconds(o.retry_wait));
            continue;
          }
          max_foreign_seen = std::max(max_foreign_seen, worst);
          for (auto& s : got) samples.push_back(s);
          break;
        }
      }
    }
    remove_catalog(tmp / "cat.db");
  }
};

// ------------------------------------------------------------------------------- reporting

std::string fmt(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::vector<Sample> select(const std::vector<Sample>& all, const std::string& mirror, int t,
                           const std::string& mode) {
  std::vector<Sample> out;
  for (const auto& s : all)
    if (s.mirror == mirror && s.threads == t && s.mode == mode) out.push_back(s);
  return out;
}

template <class F>
MinMedMax stat(const std::vector<Sample>& v, F f) {
  std::vector<double> x;
  for (const auto& s : v) x.push_back(f(s));
  return summarize(x);
}

std::vector<std::string> all_modes(const Options& o) {
  std::vector<std::string> out = kModes;
  if (!o.mpirun.empty())
    for (int r : o.ranks) out.push_back(kMpiPrefix + std::to_string(r));
  return out;
}

const MpiCheck* find_check(const Runner& run, const std::string& mirror, int t, int ranks) {
  for (const auto& c : run.mpi_checks)
    if (c.mirror == mirror && c.threads == t && c.ranks == ranks) return &c;
  return nullptr;
}

// Bytes a rank sent per item of its own share (0.1 MB resolution of the printed figure).
std::string sent_per_item(const RankLine& x) {
  return x.items == 0 ? "-" : fmt(x.mb_sent * 1e6 / static_cast<double>(x.items));
}

// Per mirror: scan against scan_mpi_R at each thread count, and the untimed run's per-rank lines.
std::string mpi_tables(const Options& o, const Mirror& m, const Runner& run) {
  std::ostringstream s;
  auto med = [&](int t, const std::string& mode, auto f) {
    return stat(select(run.samples, m.name, t, mode), f).median;
  };
  auto per_s = [](const Sample& x) { return x.per_s; };
  auto wall = [](const Sample& x) { return x.wall; };
  auto rss = [](const Sample& x) { return static_cast<double>(x.maxrss_kb) / 1024.0; };
  s << "\n#### " << m.name << ": `scan --mpi` against the single-process scan\n\n"
    << "Medians of the timed reps. Peak RSS of an MPI mode is wait4's ru_maxrss of mpirun: the "
       "largest single process of the job (mpirun or one rank), not the job's total; per-rank "
       "peaks are in the next table. Bytes sent per image: what each rank sent (plan, counts, "
       "result batches) divided by the items of its own share, from the untimed run at the same "
       "thread count.\n\n"
       "| N | mode | images/s | wall s | / (c) scan | / (a) ceiling | / (a2) full-scale decode | "
       "peak RSS MB | bytes sent per image, per rank |\n"
       "|---:|---|---:|---:|---:|---:|---:|---:|---|\n";
  for (int t : o.threads) {
    const double scan = med(t, "scan", per_s);
    const double ceiling = med(t, "ceiling", per_s);
    const double full = med(t, "ceiling_full", per_s);
    s << "| " << t << " | (c) scan, 1 process x " << t << " threads | " << fmt(scan) << " | "
      << fmt(med(t, "scan", wall), 2) << " | 1.00 | " << fmt(scan / ceiling, 2) << " | "
      << fmt(scan / full, 2) << " | " << fmt(med(t, "scan", rss), 1) << " | - |\n";
    for (int r : o.ranks) {
      const std::string mode = kMpiPrefix + std::to_string(r);
      if (t % r != 0 || select(run.samples, m.name, t, mode).empty()) continue;
      const double v = med(t, mode, per_s);
      std::string sent = "-";
      if (const MpiCheck* c = find_check(run, m.name, t, r); c != nullptr && c->parsed) {
        sent.clear();
        for (const auto& x : c->per_rank)
          sent +=
              (sent.empty() ? "" : ", ") + ("r" + std::to_string(x.rank)) + " " + sent_per_item(x);
      }
      s << "| " << t << " | (e) " << mode << ", " << r << " x " << t / r << " threads | " << fmt(v)
        << " | " << fmt(med(t, mode, wall), 2) << " | " << fmt(v / scan, 2) << " | "
        << fmt(v / ceiling, 2) << " | " << fmt(v / full, 2) << " | " << fmt(med(t, mode, rss), 1)
        << " | " << sent << " |\n";
    }
  }
  bool any = false;
  for (const auto& c : run.mpi_checks) any = any || c.mirror == m.name;
  if (!any) return s.str();
  s << "\nPer rank, from one untimed run of each mode without --quiet (seconds and MB as "
       "`scan --mpi` prints them, to 0.1; rank 0 also writes the catalog; peak RSS of each rank "
       "from `--rank-rusage`):\n\n"
       "| ranks x threads | rank | items | share | seconds | MB sent | MB received | "
       "bytes sent per own item | peak RSS MB |\n"
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& c : run.mpi_checks) {
    if (c.mirror != m.name) continue;
    for (const auto& x : c.per_rank)
      s << "| " << c.ranks << " x " << c.threads / c.ranks << " | " << x.rank << " | " << x.items
        << " | "
        << fmt(100.0 * static_cast<double>(x.items) /
                   static_cast<double>(std::max<std::uint64_t>(1, m.images)),
               1)
        << "% | " << fmt(x.seconds, 1) << " | " << fmt(x.mb_sent, 1) << " | "
        << fmt(x.mb_received, 1) << " | " << sent_per_item(x) << " | "
        << (x.maxrss_kb > 0 ? fmt(static_cast<double>(x.maxrss_kb) / 1024.0, 1) : "-") << " |\n";
  }
  s << "\n";
  for (const auto& c : run.mpi_checks) {
    if (c.mirror != m.name) continue;
    s << "- " << c.ranks << " x " << c.threads / c.ranks << " threads: exit " << c.exit_code;
    if (!c.parsed) {
      s << ", no per-rank lines\n";
      continue;
    }
    double sum = 0, slowest = 0, rss_sum = 0;
    std::uint64_t others = 0;
    for (const auto& x : c.per_rank) {
      sum += x.seconds;
      slowest = std::max(slowest, x.seconds);
      rss_sum += static_cast<double>(x.maxrss_kb) / 1024.0;
      if (x.rank != 0) others += x.items;
    }
    const double mean = sum / static_cast<double>(c.per_rank.size());
    s << ", " << c.cut_files << " files cut into " << c.cut_ranges << " ranges" << c.uncut
      << ", planning " << fmt(c.plan_seconds, 2) << " s, slowest rank " << fmt(c.slowest_seconds, 1)
      << (c.sink_seconds >= 0 ? " s, rank 0 writing the catalog " + fmt(c.sink_seconds, 1) : "")
      << " s; slowest / mean rank seconds " << (mean > 0 ? fmt(slowest / mean, 2) : "-")
      << "; this run's wall time " << fmt(c.wall, 2) << " s";
    if (others > 0 && !c.per_rank.empty() && c.per_rank.front().rank == 0)
      s << "; rank 0 received "
        << fmt(c.per_rank.front().mb_received * 1e6 / static_cast<double>(others))
        << " bytes per image of the other ranks";
    s << "; peak RSS: sum of the ranks " << fmt(rss_sum, 1) << " MB, wait4 on mpirun "
      << fmt(static_cast<double>(c.mpirun_maxrss_kb) / 1024.0, 1) << " MB\n";
  }
  return s.str();
}

std::string tables(const Options& o, const std::vector<Mirror>& mirrors, const Runner& run) {
  std::ostringstream s;
  for (const auto& m : mirrors) {
    s << "\n### " << m.name << ": " << m.images << " images";
    if (!m.expected.empty()) {
      s << " (";
      for (std::size_t i = 0; i < kKinds.size(); ++i)
        s << (i ? ", " : "") << kKinds[i] << " "
          << (m.expected.contains(kKinds[i]) ? m.expected.at(kKinds[i]) : 0);
      s << "), " << fmt(static_cast<double>(m.bytes) / 1048576.0, 1) << " MiB";
    }
    s << "\n\nimages/s, min / **median** / max of " << o.reps
      << " reps; wall s and peak RSS are medians\n\n| mode |";
    for (int t : o.threads)
      s << " " << t << "t images/s | " << t << "t wall s | " << t << "t peak RSS MB |";
    s << "\n|---|";
    for (std::size_t i = 0; i < o.threads.size(); ++i) s << "---:|---:|---:|";
    s << "\n";
    for (const auto& mode : all_modes(o)) {
      s << "| " << mode_label(mode) << " |";
      for (int t : o.threads) {
        const auto v = select(run.samples, m.name, t, mode);
        if (v.empty()) {  // scan_mpi_R where R does not divide t
          s << " - | - | - |";
          continue;
        }
        const auto ps = stat(v, [](const Sample& x) { return x.per_s; });
        const auto w = stat(v, [](const Sample& x) { return x.wall; });
        const auto rss =
            stat(v, [](const Sample& x) { return static_cast<double>(x.maxrss_kb) / 1024.0; });
        s << " " << fmt(ps.min) << " / **" << fmt(ps.median) << "** / " << fmt(ps.max) << " | "
          << fmt(w.median, 2) << " | " << (mode.starts_with("ceiling") ? "-" : fmt(rss.median, 1))
          << " |";
      }
      s << "\n";
    }
    s << "\n| ratio (medians) |";
    for (int t : o.threads) s << " " << t << "t |";
    s << " target |\n|---|";
    for (std::size_t i = 0; i < o.threads.size(); ++i) s << "---:|";
    s << "---|\n";
    auto med = [&](int t, const std::string& mode, auto f) {
      return stat(select(run.samples, m.name, t, mode), f).median;
    };
    auto per_s = [](const Sample& x) { return x.per_s; };
    auto wall = [](const Sample& x) { return x.wall; };
    auto rss = [](const Sample& x) { return static_cast<double>(x.maxrss_kb) / 1024.0; };
    s << "| scan / (b) hash, images/s |";
    for (int t : o.threads)
      s << " " << fmt(med(t, "scan", per_s) / med(t, "hash", per_s), 2) << " |";
    s << " >= 0.8 |\n| scan / (a) ceiling, images/s |";
    for (int t : o.threads)
      s << " " << fmt(med(t, "scan", per_s) / med(t, "ceiling", per_s), 2) << " |";
    s << " (how far from merely decoding) |\n| scan / (a2) full-scale decode, images/s |";
    for (int t : o.threads)
      s << " " << fmt(med(t, "scan", per_s) / med(t, "ceiling_full", per_s), 2) << " |";
    s << " (the decode residue does here) |\n| (b) hash / (a) ceiling, images/s |";
    for (int t : o.threads)
      s << " " << fmt(med(t, "hash", per_s) / med(t, "ceiling", per_s), 2) << " |";
    s << " |\n| rescan time / scan time |";
    for (int t : o.threads)
      s << " " << fmt(100.0 * med(t, "rescan", wall) / med(t, "scan", wall), 2) << "% |";
    s << " < 5% |\n| scan peak RSS MB |";
    for (int t : o.threads) s << " " << fmt(med(t, "scan", rss), 1) << " |";
    s << " < 300 |\n";
    if (!o.mpirun.empty()) s << mpi_tables(o, m, run);
  }
  // Memory against mirror size.
  s << "\n### Peak RSS by mirror size (MB, median of reps)\n\n| mirror | images | threads | hash | "
       "scan | rescan |\n"
       "|---|---:|---:|---:|---:|---:|\n";
  for (const auto& m : mirrors)
    for (int t : o.threads) {
      auto rss = [&](const std::string& mode) {
        return fmt(stat(select(run.samples, m.name, t, mode),
                        [](const Sample& x) { return static_cast<double>(x.maxrss_kb) / 1024.0; })
                       .median,
                   1);
      };
      s << "| " << m.name << " | " << m.images << " | " << t << " | " << rss("hash") << " | "
        << rss("scan") << " | " << rss("rescan") << " |\n";
    }
  if (mirrors.size() > 1) {
    s << "\nScan peak RSS, largest mirror / smallest (flat = about 1.0):";
    const auto& small = *std::min_element(mirrors.begin(), mirrors.end(),
                                          [](auto& a, auto& b) { return a.images < b.images; });
    const auto& large = *std::max_element(mirrors.begin(), mirrors.end(),
                                          [](auto& a, auto& b) { return a.images < b.images; });
    for (int t : o.threads) {
      auto rss = [&](const Mirror& m) {
        return stat(select(run.samples, m.name, t, "scan"),
                    [](const Sample& x) { return static_cast<double>(x.maxrss_kb); })
            .median;
      };
      s << " " << t << "t " << fmt(rss(large) / std::max(1.0, rss(small)), 2) << "x;";
    }
    s << " (" << large.name << " / " << small.name << ")\n";
  }
  if (!run.fixed.empty()) {
    s << "\n### Fixed costs: nothing to scan (wall s, median of 3)\n\n| command | wall s | exit |\n"
         "|---|---:|---:|\n";
    for (const auto& f : run.fixed)
      s << "| " << f.what << " | " << fmt(f.median, 3) << " | " << f.exit_code << " |\n";
  }
  s << "\nOther load during the timed reps: at most " << fmt(run.max_foreign_seen, 2)
    << " cores used by other processes in any kept repetition (limit " << fmt(o.max_foreign, 2)
    << ").\n";
  if (!run.mismatches.empty()) {
    s << "\n### MISMATCH: results that differ from the mirror's manifest\n\n";
    for (const auto& x : run.mismatches) s << "- " << x << "\n";
  } else {
    s << "\nChecks: every mode found exactly the manifest's images; the catalog has the manifest's "
         "count for every "
         "container kind, all ok, after the scan and after the rescan"
      << (o.mpirun.empty() ? "" : ", and after each untimed `scan --mpi` run") << ".\n";
  }
  if (!run.notes.empty()) {
    s << "\nNotes:\n";
    for (const auto& x : run.notes) s << "- " << x << "\n";
  }
  return s.str();
}

void wait_for_quiet(const Options& o) {
  if (o.wait_load < 0) return;
  const auto start = Clock::now();
  for (;;) {
    const std::string load = loadavg();
    const double one = load.empty() ? 0 : std::stod(load);
    if (one < o.wait_load) {
      std::cout << "load average " << load << " < " << o.wait_load << ": starting\n";
      return;
    }
    if (std::chrono::duration<double>(Clock::now() - start).count() > o.wait_max) {
      std::cout << "load average " << load << " still >= " << o.wait_load << " after " << o.wait_max
                << " s: starting anyway\n";
      return;
    }
    std::cout << "load average " << load << " >= " << o.wait_load << ": waiting 30 s\n"
              << std::flush;
    std::this_thread::sleep_for(std::chrono::seconds(30));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::string_view(argv[1]) == "--rank-rusage") return rank_rusage_main(argv);
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "scan_throughput: " << e.what() << "\n" << usage();
    return 2;
  }
  try {
    Launcher launcher;     // first, while this process is small (see Launcher)
    cv::setNumThreads(1);  // the pipeline alone sets the parallelism, as in the engine
    const long rss_floor_kb = launcher.run({"/bin/true"}, "/dev/null", "/dev/null").maxrss_kb;
    fs::path tmp = o.tmp.empty() ? fs::temp_directory_path() /
                                       ("residue-scan-throughput-" + std::to_string(::getpid()))
                                 : fs::path(o.tmp);
    fs::create_directories(tmp);
    std::vector<Mirror> mirrors;
    for (const auto& p : o.mirrors) {
      if (!fs::is_directory(p)) throw std::runtime_error("not a directory: " + p);
      mirrors.push_back(load_mirror(p));
    }
    wait_for_quiet(o);
    const RunContext ctx = run_context();
    const std::string cmd = command_line(argc, argv);
    const std::string version = capture("'" + o.residue + "' --version 2>&1");
    std::ostringstream setup;
    setup << format_context(ctx) << "- residue: `" << o.residue << "` (" << version << ")\n"
          << "- OpenCV: " << cv::getVersionString() << ", cv::setNumThreads(1) in the ceiling\n"
          << "- peak RSS floor of a child started by the launcher (/bin/true): "
          << fmt(static_cast<double>(rss_floor_kb) / 1024.0, 1)
          << " MB (a child's peak RSS reads at least this)\n"
          << "- catalogs in: " << tmp.string() << " ("
          << capture("df -T '" + tmp.string() + "' | awk 'NR==2{print $2}'") << ")\n- command: `"
          << cmd << "`\n";
    if (!o.mpirun.empty()) {
      std::string env;
      for (char** e = environ; *e != nullptr; ++e)
        if (std::string_view(*e).starts_with("OMPI_MCA_"))
          env += (env.empty() ? "`" : ", `") + std::string(*e) + "`";
      const Runner probe{o, launcher, tmp, {}, {}, {}, 0.0, {}, {}, {}};
      std::string example, ranks;
      for (const auto& a : probe.cmd_scan_mpi("MIRROR", o.ranks.back(), o.ranks.back(), true))
        example += (example.empty() ? "" : " ") + a;
      for (int r : o.ranks) ranks += (ranks.empty() ? "" : ",") + std::to_string(r);
      setup << "- mpirun: `" << o.mpirun << "` ("
            << capture("'" + o.mpirun + "' --version 2>&1 | head -1") << "), ranks " << ranks
            << ", environment: " << (env.empty() ? "no OMPI_MCA_ variables" : env)
            << "\n- MPI command, e.g.: `" << example << "`\n";
    }
    std::cout << "# scan_throughput\n\n" << setup.str() << std::flush;

    Runner run{o,  launcher, tmp, {}, {}, {}, 0.0, fs::read_symlink("/proc/self/exe").string(),
               {}, {}};
    if (!o.mpirun.empty()) run.measure_fixed_costs();
    for (auto& m : mirrors) run.run_mirror(m);
    const std::string load_end = loadavg();
    const std::string summary =
        tables(o, mirrors, run) + "\nLoad average at the end: " + load_end + "\n";
    std::cout << "\n" << summary;

    if (!o.out.empty()) {
      const fs::path out(o.out);
      std::ostringstream su;
      su << "# Setup of this run\n\n"
         << setup.str() << "- load average at the end: " << load_end << "\n"
         << "- method: per mirror, an untimed check pass at the largest thread count (warms the "
            "page cache, checks "
            "counts); then for each thread count, reps of (a) ceiling in-process (1/8 scale), (a2) "
            "the "
            "same at full scale, (b) `residue "
            "hash -j N MIRROR > "
            "/dev/null`, (c) `residue scan MIRROR --catalog TMP/cat.db -j N --quiet` on a fresh "
            "catalog, (d) the same "
            "scan again (no change). Children are started by a launcher process forked at startup "
            "(so they do not "
            "inherit this process's RSS high-water mark) and timed from fork to wait4; peak RSS is "
            "wait4's ru_maxrss. "
            "images/s = the mirror's image count / wall time, for every mode. A repetition in "
            "which other processes "
            "used more than "
         << fmt(o.max_foreign, 2) << " cores is redone (up to " << o.retries << " times).";
      if (!o.mpirun.empty())
        su << " With --mpirun: (e) scan_mpi_R for each R of --ranks dividing N, `mpirun -n R ... "
              "residue scan --mpi MIRROR --catalog TMP/cat.db -j N/R --quiet` on a fresh catalog, "
              "timed like (c) (peak RSS: wait4's ru_maxrss of mpirun = the largest single process "
              "of the job; CPU: mpirun and its ranks). In the check pass each scan_mpi_R also runs "
              "once without --quiet, every rank started through `scan_throughput --rank-rusage` "
              "(its own peak RSS), and the per-rank lines go to mpi_ranks.csv. Fixed costs "
              "(nothing to scan) are timed once, median of 3.";
      su << "\n\n## Mirrors\n\n";
      for (const auto& m : mirrors) {
        su << "- " << m.name << ": `" << m.path << "`, " << m.images << " images, "
           << fmt(static_cast<double>(m.bytes) / 1048576.0, 1) << " MiB";
        for (const auto& [k, v] : m.expected) su << ", " << k << " " << v;
        su << "\n";
      }
      write_text(out / "SETUP.md", su.str());
      std::ostringstream csv;
      csv << "mirror,images,threads,rep,mode,wall_s,images_per_s,maxrss_kb,cpu_s,foreign_cores,"
             "exit_code\n";
      for (const auto& s : run.samples) {
        const auto m = std::find_if(mirrors.begin(), mirrors.end(),
                                    [&](const Mirror& x) { return x.name == s.mirror; });
        csv << s.mirror << "," << m->images << "," << s.threads << "," << s.rep << "," << s.mode
            << "," << fmt(s.wall, 4) << "," << fmt(s.per_s, 1) << "," << s.maxrss_kb << ","
            << fmt(s.cpu, 3) << "," << fmt(s.foreign, 3) << "," << s.exit_code << "\n";
      }
      write_text(out / "raw.csv", csv.str());
      if (!o.mpirun.empty()) {
        std::ostringstream mc;
        mc << "mirror,threads,ranks,rank,items,seconds,mb_sent,mb_received,maxrss_kb,cpu_s,"
              "cut_files,cut_ranges,plan_s,slowest_rank_s,catalog_write_s,run_wall_s,"
              "mpirun_maxrss_kb,exit_code\n";
        for (const auto& c : run.mpi_checks)
          for (const auto& x : c.per_rank)
            mc << c.mirror << "," << c.threads << "," << c.ranks << "," << x.rank << "," << x.items
               << "," << fmt(x.seconds, 1) << "," << fmt(x.mb_sent, 1) << ","
               << fmt(x.mb_received, 1) << "," << x.maxrss_kb << "," << fmt(x.cpu, 3) << ","
               << c.cut_files << "," << c.cut_ranges << "," << fmt(c.plan_seconds, 2) << ","
               << fmt(c.slowest_seconds, 1) << ","
               << (c.sink_seconds >= 0 ? fmt(c.sink_seconds, 1) : "") << "," << fmt(c.wall, 3)
               << "," << c.mpirun_maxrss_kb << "," << c.exit_code << "\n";
        write_text(out / "mpi_ranks.csv", mc.str());
      }
      write_text(out / "summary.md", "# scan_throughput\n\n" + setup.str() + summary);
      std::cout << "\nwrote " << (out / "SETUP.md").string() << ", raw.csv, summary.md"
                << (o.mpirun.empty() ? "" : ", mpi_ranks.csv") << "\n";
    }
    if (o.tmp.empty()) fs::remove_all(tmp);
    return run.mismatches.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "scan_throughput: " << e.what() << "\n";
    return 2;
  }
}
