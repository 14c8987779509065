// A one-line progress display on stderr for long jobs: items, items/s, MB/s, errors, ETA when the
// total is known. Only on a terminal (isatty(2)) and never with --quiet; otherwise every call is a
// no-op, so scripts and logs see only the final summary.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "residue/scan.hpp"

namespace residue::tool {

class Progress {
 public:
  /// total_bytes: bytes the job will consume (0 = unknown, no ETA).
  Progress(bool quiet, std::uint64_t total_bytes);
  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  void update(const ScanStats& s);
  /// Clears the line (before printing the summary or an error line).
  void clear();

 private:
  bool enabled_;
  std::uint64_t total_;
  bool drawn_ = false;
};

/// A one-line "label: done / total, percent, ETA" display for jobs that count their work (match).
/// Terminal only, never with --quiet; redrawn at most every 200 ms.
class CountProgress {
 public:
  CountProgress(bool quiet, std::string label);
  void update(std::uint64_t done, std::uint64_t total);
  void clear();

 private:
  bool enabled_;
  std::string label_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point started_, last_{};
};

/// Whether stderr is a terminal (progress displays only there).
bool stderr_is_terminal();

}  // namespace residue::tool
