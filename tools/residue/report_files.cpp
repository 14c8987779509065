#include "report_files.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "residue/core.hpp"

namespace residue::tool {
namespace {

ReportFormat format_of(const std::string& path) {
  const auto dot = path.rfind('.');
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  if (ext == ".csv") return ReportFormat::csv;
  if (ext == ".jsonl" || ext == ".json") return ReportFormat::jsonl;
  if (ext == ".html" || ext == ".htm") return ReportFormat::html;
  RESIDUE_THROW(path + ": unknown report format (use a .csv, .jsonl or .html name)");
}

}  // namespace

ReportFile::ReportFile(std::string path) : path_(std::move(path)), format_(format_of(path_)) {
  tmp_ = path_ + ".partial-" + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "wbx");
  if (f_ == nullptr) {
    const int err = errno;
    RESIDUE_THROW("cannot write " + path_ + ": " + std::strerror(err));
  }
}

ReportFile::ReportFile(ReportFile&& o) noexcept
    : path_(std::move(o.path_)), tmp_(std::move(o.tmp_)), format_(o.format_), f_(o.f_) {
  o.f_ = nullptr;
  o.tmp_.clear();
}

ReportFile::~ReportFile() {
  if (f_ != nullptr) std::fclose(f_);
  if (!tmp_.empty()) std::remove(tmp_.c_str());
}

void ReportFile::write(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size()) {
    const int err = errno;
    RESIDUE_THROW("cannot write " + path_ + ": " + std::strerror(err));
  }
}

void ReportFile::line(std::string_view text) {
  write(text);
  write("\n");
}

void ReportFile::commit() {
  const bool ok = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
  const int err = errno;
  std::fclose(f_);
  f_ = nullptr;
  if (!ok) RESIDUE_THROW("cannot write " + path_ + ": " + std::strerror(err));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    RESIDUE_THROW("cannot write " + path_ + ": " + std::strerror(e));
  }
  tmp_.clear();
}

std::vector<ReportFile> open_reports(const std::vector<std::string>& paths) {
  std::vector<ReportFile> out;
  out.reserve(paths.size());
  for (const auto& p : paths) out.emplace_back(p);
  return out;
}

}  // namespace residue::tool
