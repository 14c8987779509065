// ItemStream's file feeds (the walk, or explicit slices) and count_slice_items, which numbers
// the items of a slice so that its locators match a whole-file stream's.
#include "feed.hpp"

#include <utility>

#include "file_io.hpp"
#include "recordio.hpp"
#include "tsv.hpp"
#include "walk.hpp"

namespace residue::detail {
namespace {

class WalkFeed final : public FileFeed {
 public:
  WalkFeed(std::vector<std::string> roots, WalkOptions options)
      : walker_(std::move(roots), std::move(options)) {}

  std::optional<FileSlice> next() override {
    auto entry = walker_.next();
    if (!entry) return std::nullopt;
    return FileSlice{.file = std::move(entry->file), .error = std::move(entry->error)};
  }

 private:
  Walker walker_;
};

class SliceFeed final : public FileFeed {
 public:
  explicit SliceFeed(std::vector<FileSlice> slices) : slices_(std::move(slices)) {}

  std::optional<FileSlice> next() override {
    if (next_ == slices_.size()) return std::nullopt;
    return std::move(slices_[next_++]);
  }

 private:
  std::vector<FileSlice> slices_;
  std::size_t next_ = 0;
};

}  // namespace

std::unique_ptr<FileFeed> make_walk_feed(std::vector<std::string> roots, WalkOptions options) {
  return std::make_unique<WalkFeed>(std::move(roots), std::move(options));
}

std::unique_ptr<FileFeed> make_slice_feed(std::vector<FileSlice> slices) {
  return std::make_unique<SliceFeed>(std::move(slices));
}

ItemError range_unsupported(ContainerKind kind) {
  const std::string what = kind == ContainerKind::none ? "plain" : std::string(to_string(kind));
  return {ErrorCode::unsupported,
          "a byte range of a " + what + " file: only TSV and RecordIO files are read in ranges"};
}

}  // namespace residue::detail

namespace residue {

Outcome<std::uint64_t> count_slice_items(const FileInfo& file, ContainerKind kind,
                                         std::uint64_t begin, std::uint64_t end) {
  if (kind != ContainerKind::tsv && kind != ContainerKind::recordio) {
    return detail::range_unsupported(kind);
  }
  auto fd = detail::open_read(file.path);
  if (!fd) return fd.error();
  if (kind == ContainerKind::tsv) return detail::count_tsv_lines(fd->get(), begin, end);
  return detail::count_recordio_records(fd->get(), begin, end);
}

}  // namespace residue
