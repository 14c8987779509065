#include "progress.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include <string>

namespace residue::tool {

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

Progress::Progress(bool quiet, std::uint64_t total_bytes)
    : enabled_(!quiet && stderr_is_terminal()), total_(total_bytes) {}

void Progress::update(const ScanStats& s) {
  if (!enabled_ || s.seconds <= 0.0) return;
  const double rate = static_cast<double>(s.items) / s.seconds;
  const double consumed = static_cast<double>(s.stream.bytes_consumed);
  const double mbps = consumed / 1e6 / s.seconds;
  std::string line = fmt::format("\r{:>10} items  {:>8.0f}/s  {:>7.1f} MB/s  errors {}", s.items,
                                 rate, mbps, s.failed);
  if (s.stream.skipped_unchanged > 0)
    line += fmt::format("  unchanged {}", s.stream.skipped_unchanged);
  if (total_ > 0 && consumed > 0) {
    const double fraction = std::min(1.0, consumed / static_cast<double>(total_));
    const double eta = s.seconds * (1.0 - fraction) / fraction;
    line += fmt::format("  {:>3.0f}%  ETA {}:{:02}", fraction * 100.0, static_cast<int>(eta) / 60,
                        static_cast<int>(eta) % 60);
  }
  line += "\x1b[K";  // clear to end of line
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  drawn_ = true;
}

CountProgress::CountProgress(bool quiet, std::string label)
    : enabled_(!quiet && stderr_is_terminal()),
      label_(std::move(label)),
      started_(std::chrono::steady_clock::now()) {}

void CountProgress::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - started_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total);
  std::string line = fmt::format("\r{}: {} / {}  {:>3.0f}%", label_, done, total, fraction * 100.0);
  if (fraction > 0.0) {
    const double eta = seconds * (1.0 - fraction) / fraction;
    line += fmt::format("  ETA {}:{:02}", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
  }
  line += "\x1b[K";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  drawn_ = true;
}

void CountProgress::clear() {
  if (!drawn_) return;
  static constexpr char kClear[] = "\r\x1b[K";
  (void)!::write(STDERR_FILENO, kClear, sizeof kClear - 1);
  drawn_ = false;
}

void Progress::clear() {
  if (!drawn_) return;
  static constexpr char kClear[] = "\r\x1b[K";
  (void)!::write(STDERR_FILENO, kClear, sizeof kClear - 1);
  drawn_ = false;
}

}  // namespace residue::tool
