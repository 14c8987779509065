// bench/common.hpp: shared plumbing of the benchmark drivers (hash_throughput, decode_fidelity).
//
// File listing and reading, the one thread-pool harness every timed mode runs in (N std::threads
// pulling item indices from an atomic counter, so ratios between modes compare like with like),
// order statistics, the machine/commit/compiler description written into every run record, and
// small flag parsers. Not part of the engine: nothing under engine/ includes this.
// Everything here is reentrant; run_pool's callback must be safe to call from N threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace residue::bench {

/// Regular files in `dir` whose extension is .jpg/.jpeg/.png (any case), sorted by name.
/// Throws std::runtime_error when `dir` cannot be listed.
[[nodiscard]] std::vector<std::string> list_images(const std::filesystem::path& dir);

/// Reads the whole file into `out` (resized, its capacity reused between calls).
/// Returns false on any open/stat/read error or a short read.
[[nodiscard]] bool read_file(const std::string& path, std::vector<std::uint8_t>& out);

/// Runs fn(index, thread) for every index in [0, n) on `threads` fresh std::threads that pull
/// indices from a shared atomic counter; `thread` is 0..threads-1 (for per-thread state).
/// Returns the wall time in seconds from before the first thread starts to after the last joins.
double run_pool(int threads, std::size_t n, const std::function<void(std::size_t, int)>& fn);

/// CPU accounting to detect other load during a timed block: system-wide busy time (all CPUs,
/// including VM steal) and this process's own CPU time (all its threads), in seconds.
struct CpuSample {
  double system_busy = 0;
  double self = 0;
  double wall = 0;
};
[[nodiscard]] CpuSample cpu_sample();
/// Mean number of cores used by everything except this process between two samples
/// (0 on an otherwise idle machine; 1 means another process kept a whole core busy).
[[nodiscard]] double foreign_cores(const CpuSample& begin, const CpuSample& end);

struct MinMedMax {
  double min = 0;
  double median = 0;
  double max = 0;
};
/// Min, median (mean of the two middle values for an even count) and max; zeros when empty.
[[nodiscard]] MinMedMax summarize(std::vector<double> values);
/// Nearest-rank percentile, p in [0, 100]: the smallest value with at least p% of values <= it.
/// 0 when empty.
[[nodiscard]] double percentile(std::vector<double> values, double p);

/// What a run record says about where it ran.
struct RunContext {
  std::string date_utc;   // ISO 8601, e.g. 2026-11-26T18:40:00Z
  std::string uname;      // `uname -a`
  std::string cpu_model;  // first "model name" of /proc/cpuinfo
  unsigned nproc = 0;     // std::thread::hardware_concurrency()
  std::string hostname;   // short host name
  std::string commit;  // `git rev-parse --short HEAD` of the source tree (+ "-dirty"), or "unknown"
  std::string
      sources;  // sha256 (12 hex) of engine/ and bench/ sources: pins the code without a commit
  std::string
      binary_time;       // modification time of this executable (the tree may have moved on since)
  std::string compiler;  // e.g. "g++ 12.2.0"
  std::string build_type;  // CMAKE_BUILD_TYPE and its flags
  std::string loadavg;     // /proc/loadavg when the context was taken (other load skews timings)
};
[[nodiscard]] RunContext run_context();
/// The first three fields of /proc/loadavg ("" when unavailable).
[[nodiscard]] std::string loadavg();
/// The context as markdown lines ("- machine: ...").
[[nodiscard]] std::string format_context(const RunContext& ctx);

/// The command line, shell-quoted where needed.
[[nodiscard]] std::string command_line(int argc, char** argv);
/// Runs a shell command and returns its stdout without the trailing newline ("" on failure).
[[nodiscard]] std::string capture(const std::string& shell_command);

/// "1,2,4" -> {1, 2, 4}. Throws std::invalid_argument on anything else (empty items, signs, junk).
[[nodiscard]] std::vector<int> parse_int_list(std::string_view text);
/// "a,b" -> {"a", "b"} (empty items dropped).
[[nodiscard]] std::vector<std::string> split_list(std::string_view text);

/// Writes `text` to `path`, creating parent folders. Throws std::runtime_error on failure.
void write_text(const std::filesystem::path& path, std::string_view text);

}  // namespace residue::bench
