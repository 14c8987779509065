#include "common.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#ifndef RESIDUE_SOURCE_DIR
#define RESIDUE_SOURCE_DIR "."
#endif
#ifndef RESIDUE_BUILD_TYPE
#define RESIDUE_BUILD_TYPE "unknown"
#endif

namespace residue::bench {

std::vector<std::string> list_images(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw std::runtime_error("cannot list " + dir.string() + ": " + ec.message());
  for (const auto& entry : it) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool read_file(const std::string& path, std::vector<std::uint8_t>& out) {
  // POSIX read into a reused buffer: the cheapest honest "bytes in memory" step.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && st.st_size >= 0;
  if (ok) {
    const auto size = static_cast<std::size_t>(st.st_size);
    out.resize(size);
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = ::read(fd, out.data() + done, size - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ok = done == size;
  }
  ::close(fd);
  return ok;
}

double run_pool(int threads, std::size_t n, const std::function<void(std::size_t, int)>& fn) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(static_cast<std::size_t>(threads));
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (;;) {
        const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= n) break;
        fn(i, t);
      }
    });
  }
  for (auto& th : pool) th.join();
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(stop - start).count();
}

CpuSample cpu_sample() {
  CpuSample s;
  s.wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::ifstream in("/proc/stat");
  std::string cpu;
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  unsigned long long v[8] = {};
  if (in >> cpu && cpu == "cpu") {
    for (auto& x : v) in >> x;
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    s.system_busy = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
  }
  struct rusage ru {};
  if (::getrusage(RUSAGE_SELF, &ru) == 0) {
    auto sec = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    s.self = sec(ru.ru_utime) + sec(ru.ru_stime);
  }
  return s;
}

double foreign_cores(const CpuSample& begin, const CpuSample& end) {
  const double wall = end.wall - begin.wall;
  if (wall <= 0) return 0;
  const double other = (end.system_busy - begin.system_busy) - (end.self - begin.self);
  return std::max(0.0, other / wall);
}

MinMedMax summarize(std::vector<double> values) {
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double median = n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  return {values.front(), median, values.back()};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto idx =
      static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  return values[idx];
}

std::string capture(const std::string& shell_command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(shell_command.c_str(), "r"), ::pclose);
  if (!pipe) return {};
  std::string out;
  char buf[512];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0) out.append(buf, n);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        return value;
      }
    }
  }
  return "unknown";
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./,=:+@%") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return {};
  return a + " " + b + " " + c;
}

RunContext run_context() {
  RunContext ctx;
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  ctx.date_utc = date;
  struct stat exe {};
  if (::stat("/proc/self/exe", &exe) == 0) {
    std::tm btm{};
    ::gmtime_r(&exe.st_mtime, &btm);
    char built[32];
    std::strftime(built, sizeof built, "%Y-%m-%dT%H:%M:%SZ", &btm);
    ctx.binary_time = built;
  }
  ctx.uname = capture("uname -a 2>/dev/null");
  ctx.cpu_model = cpu_model();
  ctx.nproc = std::thread::hardware_concurrency();
  ctx.hostname = capture("hostname -s 2>/dev/null");
  const std::string src = shell_quote(RESIDUE_SOURCE_DIR);
  ctx.commit = capture("git -C " + src + " rev-parse --short HEAD 2>/dev/null");
  if (ctx.commit.empty()) {
    ctx.commit = "unknown";
  } else if (!capture("git -C " + src + " status --porcelain --untracked-files=no 2>/dev/null")
                  .empty()) {
    ctx.commit += "-dirty";
  }
  ctx.sources = capture(
      "cd " + src +
      " && find engine bench -type f \\( -name '*.cpp' -o -name '*.hpp' -o -name CMakeLists.txt \\)"
      " | LC_ALL=C sort | xargs sha256sum 2>/dev/null | sha256sum | cut -c1-12");
#if defined(__clang__)
  ctx.compiler = std::string("clang++ ") + __clang_version__;
#elif defined(__GNUC__)
  ctx.compiler = std::string("g++ ") + __VERSION__;
#else
  ctx.compiler = "unknown";
#endif
  ctx.build_type = RESIDUE_BUILD_TYPE;
  ctx.loadavg = loadavg();
  return ctx;
}

std::string format_context(const RunContext& ctx) {
  std::string s;
  s += "- date: " + ctx.date_utc + "\n";
  s += "- machine: `" + ctx.uname + "`\n";
  s += "- cpu: " + ctx.cpu_model + ", nproc " + std::to_string(ctx.nproc) + "\n";
  s += "- commit: " + ctx.commit + " (sources digest " + ctx.sources +
       "), taken at the start of the run; "
       "binary built " +
       ctx.binary_time + "\n";
  s += "- compiler: " + ctx.compiler + ", build type " + ctx.build_type + "\n";
  s += "- load average at start: " + ctx.loadavg + "\n";
  return s;
}

std::string command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    if (i) s += ' ';
    s += shell_quote(argv[i]);
  }
  return s;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    if (comma > pos) out.emplace_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

std::vector<int> parse_int_list(std::string_view text) {
  std::vector<int> out;
  for (const auto& item : split_list(text)) {
    if (item.find_first_not_of("0123456789") != std::string::npos || item.size() > 9) {
      throw std::invalid_argument("not a list of non-negative integers: " + std::string(text));
    }
    out.push_back(std::stoi(item));
  }
  if (out.empty()) throw std::invalid_argument("empty list: " + std::string(text));
  return out;
}

void write_text(const std::filesystem::path& path, std::string_view text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace residue::bench
