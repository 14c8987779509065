// ItemStream: a file feed (the walk, or explicit slices), container detection, and one open
// container (or byte range of one) at a time, turned into a single lazy sequence of items and
// markers. Also item_bytes, the parallel-stage half.
//
// Memory: the feed (the walker's stack of directory listings, or the slice list), one open
// container reader (a 64 KiB block plus the member being read, at most max_item_bytes), and the
// item being returned. Plain files are not read here at all (needs_read); their bytes are read
// by item_bytes in parallel.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <memory>
#include <new>
#include <utility>

#include "archive.hpp"
#include "base64.hpp"
#include "container.hpp"
#include "detect.hpp"
#include "feed.hpp"
#include "file_io.hpp"
#include "recordio.hpp"
#include "residue/source.hpp"
#include "tsv.hpp"

namespace residue {
namespace {

SourceItem error_item(const FileInfo& file, ItemError error) {
  SourceItem it;
  it.locator = file.path;
  it.file = file;
  it.error = std::move(error);
  return it;
}

SourceItem marker(SourceEvent event, const FileInfo& file, ContainerKind kind) {
  SourceItem it;
  it.event = event;
  it.container = file.path;
  it.container_kind = kind;
  it.file = file;
  return it;
}

}  // namespace

struct ItemStream::Impl {
  /// The container being streamed, with the descriptor its reader borrows.
  struct Active {
    detail::UniqueFd fd;
    FileInfo file;
    ContainerKind kind = ContainerKind::none;
    std::unique_ptr<detail::ContainerItems> items;
    std::uint64_t consumed_at_start = 0;
    std::uint64_t span = 0;     // the bytes progress counts for it: its size, or its range's
    bool members_done = false;  // members exhausted; the end check and marker remain
    bool checked = false;
  };

  Impl(std::unique_ptr<detail::FileFeed> file_feed, SourceOptions opts)
      : options(std::move(opts)), feed(std::move(file_feed)) {}

  std::optional<SourceItem> next();
  std::optional<SourceItem> from_slice(FileSlice slice);
  std::optional<SourceItem> finish_container();
  SourceItem abandon(ItemError error);

  SourceOptions options;
  std::unique_ptr<detail::FileFeed> feed;
  StreamCounts counts;
  std::optional<Active> active;
  std::string last_path;  // the feed's latest file, for errors that escape as exceptions
};

std::optional<SourceItem> ItemStream::Impl::next() {
  for (;;) {
    if (active) {
      if (!active->members_done) {
        if (auto item = active->items->next()) return item;
        active->members_done = true;
      }
      return finish_container();
    }
    auto slice = feed->next();
    if (!slice) return std::nullopt;
    last_path = slice->file.path;
    if (slice->error) return error_item(slice->file, std::move(*slice->error));
    ++counts.files;
    if (auto item = from_slice(std::move(*slice))) return item;
  }
}

std::optional<SourceItem> ItemStream::Impl::from_slice(FileSlice slice) {
  FileInfo& file = slice.file;
  auto fd = detail::open_read(file.path);
  if (!fd) return error_item(file, fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return error_item(file, detail::os_error("cannot stat", errno));
  if (!S_ISREG(st.st_mode)) {  // replaced since the walk saw it
    return error_item(file,
                      ItemError{ErrorCode::io_error, "changed during scan (not a regular file)"});
  }
  auto detected = detail::detect_container(fd->get());
  if (!detected) return error_item(file, detected.error());
  const ContainerKind kind = detected->kind;
  if (!slice.whole && kind != ContainerKind::tsv && kind != ContainerKind::recordio) {
    return error_item(file, detail::range_unsupported(kind));
  }
  // is_item before unchanged: a metadata file needs no catalog lookup.
  if (kind == ContainerKind::none && options.is_item) {
    const auto head = std::span<const std::uint8_t>(detected->head).first(detected->head_size);
    if (!options.is_item(file.path, head)) {
      ++counts.skipped_not_items;
      return std::nullopt;
    }
  }
  if (options.unchanged && options.unchanged(file, kind)) {
    ++counts.skipped_unchanged;
    return std::nullopt;
  }
  if (kind == ContainerKind::none) {
    counts.bytes_consumed += file.size;
    SourceItem item;
    item.locator = file.path;
    item.file = std::move(file);
    item.needs_read = true;
    return item;
  }
  ++counts.containers;
  Active a;
  a.fd = std::move(fd.value());
  a.file = file;
  a.kind = kind;
  a.consumed_at_start = counts.bytes_consumed;
  a.span = file.size;
  detail::ItemRange range{};
  if (!slice.whole) {
    range = {.begin = slice.begin, .end = slice.end, .items_before = slice.items_before};
    const std::uint64_t begin = std::min(slice.begin, file.size);
    a.span = std::max(std::min(slice.end, file.size), begin) - begin;
  }
  detail::ContainerContext ctx{.options = &options,
                               .counts = &counts,
                               .file = file,
                               .kind = kind,
                               .fd = a.fd.get(),
                               .range = range};
  switch (kind) {
    case ContainerKind::tar:
    case ContainerKind::zip:
      a.items = detail::make_archive_items(std::move(ctx));
      break;
    case ContainerKind::tsv: {
      detail::TsvLayout layout = detected->tsv;
      if (options.tsv_column) layout.column = *options.tsv_column;
      a.items = detail::make_tsv_items(std::move(ctx), layout);
      break;
    }
    case ContainerKind::recordio:
      a.items = detail::make_recordio_items(std::move(ctx));
      break;
    case ContainerKind::none:
      break;
  }
  active = std::move(a);
  return marker(SourceEvent::container_begin, active->file, kind);
}

std::optional<SourceItem> ItemStream::Impl::finish_container() {
  Active& a = *active;
  if (!a.checked) {
    a.checked = true;
    // Readers stop at the size and framing they saw; a container rewritten meanwhile must not
    // pass as fully scanned.
    struct stat st {};
    const bool gone = ::fstat(a.fd.get(), &st) != 0 || st.st_nlink == 0;
    const auto mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                       static_cast<std::int64_t>(st.st_mtim.tv_nsec);
    if (gone || static_cast<std::uint64_t>(st.st_size) != a.file.size || mtime != a.file.mtime_ns) {
      SourceItem it = marker(SourceEvent::item, a.file, a.kind);
      it.locator = a.file.path;
      it.error = ItemError{ErrorCode::io_error,
                           gone ? "changed during scan (removed)" : "changed during scan"};
      return it;
    }
  }
  // Progress counts the container's size (or range) once, whatever the reader skipped or read
  // beyond it.
  counts.bytes_consumed = a.consumed_at_start + a.span;
  SourceItem end = marker(SourceEvent::container_end, a.file, a.kind);
  active.reset();
  return end;
}

SourceItem ItemStream::Impl::abandon(ItemError error) {
  if (active) {
    active->members_done = true;
    active->checked = true;  // the end marker follows; the size check means nothing now
    SourceItem it = marker(SourceEvent::item, active->file, active->kind);
    it.locator = active->file.path;
    it.error = std::move(error);
    return it;
  }
  return error_item(FileInfo{.path = last_path}, std::move(error));
}

namespace {

void validate(const SourceOptions& options) {
  RESIDUE_THROW_IF_NOT(options.max_item_bytes > 0, "max_item_bytes must be positive");
  RESIDUE_THROW_IF_NOT(!options.tsv_column || *options.tsv_column >= 0,
                       "tsv_column must be a 0-based column index");
}

}  // namespace

ItemStream::ItemStream(std::vector<std::string> roots, SourceOptions options) {
  validate(options);
  auto feed = detail::make_walk_feed(std::move(roots), options.walk);
  impl_ = std::make_unique<Impl>(std::move(feed), std::move(options));
}

ItemStream::ItemStream(std::vector<FileSlice> slices, SourceOptions options) {
  validate(options);
  impl_ = std::make_unique<Impl>(detail::make_slice_feed(std::move(slices)), std::move(options));
}

ItemStream::~ItemStream() = default;

std::optional<SourceItem> ItemStream::next() {
  // The stream runs inside the pipeline's source filter, where no exception may escape. The
  // readers return errors as values; what remains is allocation failure (a huge member, line or
  // directory) and library exceptions: the file at hand becomes an error item and the stream
  // moves on (an open container is abandoned: its reader may be mid-member).
  try {
    return impl_->next();
  } catch (const std::bad_alloc&) {
    return impl_->abandon(ItemError{ErrorCode::out_of_memory, "out of memory while reading"});
  } catch (const std::exception& e) {
    return impl_->abandon(ItemError{ErrorCode::internal, e.what()});
  }
}

const StreamCounts& ItemStream::counts() const noexcept {
  return impl_->counts;
}

Outcome<std::vector<std::uint8_t>> item_bytes(SourceItem& item, std::uint64_t max_bytes) {
  if (item.error) return *item.error;
  if (item.needs_read) {
    item.needs_read = false;
    return detail::read_whole_file(item.file.path, max_bytes, item.file.size);
  }
  if (item.container_kind == ContainerKind::tsv) {
    if (item.text.empty()) return ItemError{ErrorCode::empty, "image field is empty"};
    auto bytes = detail::base64_decode(item.text, max_bytes);
    std::string().swap(item.text);  // the text is spent; free it before the decode stage
    if (bytes && bytes->empty()) return ItemError{ErrorCode::empty, "image field is empty"};
    return bytes;
  }
  if (item.bytes.empty()) return ItemError{ErrorCode::empty, "member is empty (0 bytes)"};
  if (item.bytes.size() > max_bytes) {
    return ItemError{ErrorCode::too_large, "member is " + std::to_string(item.bytes.size()) +
                                               " bytes, above the " + std::to_string(max_bytes) +
                                               "-byte limit"};
  }
  return std::move(item.bytes);
}

}  // namespace residue
