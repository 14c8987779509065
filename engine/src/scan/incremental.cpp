// Incremental scans: which files a scan may skip or resume, from what the catalog recorded.
#include "residue/scan.hpp"

namespace residue {

Incremental::Incremental(std::unordered_map<std::string, PriorFile> priors, bool rehash)
    : priors_(std::move(priors)), rehash_(rehash) {}

void Incremental::install(SourceOptions& source) {
  // Both callbacks run on the stream's thread, one file at a time: `resuming_` is the container
  // being streamed when it is a half-done one.
  source.unchanged = [this](const FileInfo& f, ContainerKind kind) {
    seen_.insert(f.path);
    resuming_ = nullptr;
    const auto it = priors_.find(f.path);
    if (it == priors_.end() || it->second.size != f.size || it->second.mtime_ns != f.mtime_ns)
      return false;
    if (it->second.kind != to_string(kind)) return false;
    if (rehash_) return false;
    if (it->second.complete) return true;
    resuming_ = &it->second.done_members;
    return false;
  };
  source.member_done = [this](std::string_view locator) {
    return resuming_ != nullptr && resuming_->contains(std::string(locator));
  };
}

}  // namespace residue
