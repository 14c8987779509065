// Report files for `residue match` and `residue dedup`: the format comes from the extension, every
// file is opened (as a temporary beside its final name) before any work starts, so a path that
// cannot be written fails at once, and is renamed into place only when complete: no partial
// output is ever left behind.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace residue::tool {

enum class ReportFormat { csv, jsonl, html };

class ReportFile {
 public:
  /// Throws residue::Error naming the path for an unknown extension or an unwritable place.
  explicit ReportFile(std::string path);
  ~ReportFile();  // removes the temporary when not committed
  ReportFile(const ReportFile&) = delete;
  ReportFile& operator=(const ReportFile&) = delete;
  ReportFile(ReportFile&&) noexcept;
  ReportFile& operator=(ReportFile&&) = delete;

  [[nodiscard]] ReportFormat format() const noexcept { return format_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  void write(std::string_view bytes);
  void line(std::string_view text);
  /// Flushes, fsyncs and renames the temporary onto the final path.
  void commit();

 private:
  std::string path_, tmp_;
  ReportFormat format_ = ReportFormat::csv;
  std::FILE* f_ = nullptr;
};

/// Opens every --out path (all-or-nothing: on a failure the ones already opened are removed).
[[nodiscard]] std::vector<ReportFile> open_reports(const std::vector<std::string>& paths);

}  // namespace residue::tool
