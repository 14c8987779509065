// tar and zip through libarchive, member by member, with bounded memory: one 64 KiB block for
// the compressed stream, and at most max_item_bytes for the member being read (larger members
// are skipped with archive_read_data_skip, never buffered).
#include "archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "file_io.hpp"

namespace residue::detail {
namespace {

constexpr std::size_t kBlockSize = std::size_t{1} << 16;
// A damaged stretch longer than this (in 512-byte blocks, 512 MiB) ends the archive.
constexpr std::uint64_t kMaxRetries = std::uint64_t{1} << 20;

// libarchive converts member names between the archive's charset and the current locale's. In
// the default "C" locale a UTF-8 zip name (flag bit 11) fails to convert and comes back NULL, so
// every call runs under a thread-local C.UTF-8 locale: UTF-8 names pass through, and names in
// no declared charset (most tar and zip names) are copied as raw bytes either way. uselocale()
// changes only this thread, and the guard restores it, so callers' locales are untouched.
class Utf8LocaleScope {
 public:
  Utf8LocaleScope() {
    static const locale_t utf8 =
        ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (utf8 != static_cast<locale_t>(nullptr)) {
      previous_ = ::uselocale(utf8);
      active_ = true;
    }
  }
  ~Utf8LocaleScope() {
    if (active_) ::uselocale(previous_);
  }
  Utf8LocaleScope(const Utf8LocaleScope&) = delete;
  Utf8LocaleScope& operator=(const Utf8LocaleScope&) = delete;

 private:
  locale_t previous_{};
  bool active_ = false;
};

bool contains_ci(std::string_view hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         }) != hay.end();
}

/// Reserves for a member's declared size, capped: a damaged header may declare any size, and
/// the vector still grows past the cap for members that really are that large.
void reserve_for(std::vector<std::uint8_t>& bytes, std::optional<std::uint64_t> size) {
  constexpr std::uint64_t kMaxReserve = std::uint64_t{64} << 20;
  if (size) bytes.reserve(static_cast<std::size_t>(std::min(*size, kMaxReserve)));
}

void enable_tar_filters(struct archive* a) {
  // Only filters built into libarchive: the *_version() probes return NULL when a library is
  // missing, and registering the filter then would make libarchive spawn an external program.
  archive_read_support_filter_none(a);
  if (archive_zlib_version() != nullptr) archive_read_support_filter_gzip(a);
  if (archive_bzlib_version() != nullptr) archive_read_support_filter_bzip2(a);
  if (archive_liblzma_version() != nullptr) archive_read_support_filter_xz(a);
  if (archive_libzstd_version() != nullptr) archive_read_support_filter_zstd(a);
}

}  // namespace

struct ArchiveCallbacks {
  static la_ssize_t read(struct archive* a, void* client, const void** buffer) {
    auto* self = static_cast<ArchiveReader*>(client);
    auto got = pread_full(self->fd_, self->block_, self->offset_);
    if (!got) {
      self->os_errno_ = errno != 0 ? errno : EIO;
      archive_set_error(a, self->os_errno_, "%s", got.error().message.c_str());
      return -1;
    }
    self->offset_ += got.value();
    if (self->consumed_ != nullptr) *self->consumed_ += got.value();
    *buffer = self->block_.data();
    return static_cast<la_ssize_t>(got.value());
  }
  static la_int64_t skip(struct archive*, void* client, la_int64_t request) {
    auto* self = static_cast<ArchiveReader*>(client);
    // Never skip past the end: libarchive then reads, meets EOF and reports the truncation.
    const std::uint64_t left =
        self->file_size_ > self->offset_ ? self->file_size_ - self->offset_ : 0;
    const auto n =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(std::max<la_int64_t>(request, 0)), left);
    self->offset_ += n;
    if (self->consumed_ != nullptr) *self->consumed_ += n;
    return static_cast<la_int64_t>(n);
  }
  static la_int64_t seek(struct archive*, void* client, la_int64_t offset, int whence) {
    auto* self = static_cast<ArchiveReader*>(client);
    la_int64_t base = 0;
    if (whence == SEEK_CUR) base = static_cast<la_int64_t>(self->offset_);
    if (whence == SEEK_END) base = static_cast<la_int64_t>(self->file_size_);
    const la_int64_t target = base + offset;
    if (target < 0) return ARCHIVE_FATAL;
    self->offset_ = static_cast<std::uint64_t>(target);
    return target;
  }
};

ArchiveReader::ArchiveReader(int fd, ContainerKind kind, std::uint64_t* consumed)
    : fd_(fd), kind_(kind), consumed_(consumed), block_(kBlockSize) {
  RESIDUE_ASSERT(kind == ContainerKind::tar || kind == ContainerKind::zip);
}

ArchiveReader::~ArchiveReader() {
  if (a_ != nullptr) {
    const Utf8LocaleScope locale;
    archive_read_free(a_);
  }
}

ItemError ArchiveReader::failure(const std::string& context) const {
  const char* text = archive_error_string(a_);
  const std::string detail = text != nullptr ? text : "unknown libarchive error";
  if (os_errno_ != 0) return {ErrorCode::io_error, context + ": " + detail};
  const bool cut = contains_ci(detail, "truncat") || contains_ci(detail, "premature end") ||
                   contains_ci(detail, "unexpected end");
  return {cut ? ErrorCode::truncated : ErrorCode::corrupt, context + ": " + detail};
}

ItemError ArchiveReader::header_failure() const {
  // "truncated tar archive after member 000012.jpg: <libarchive's words>"
  const std::string where =
      last_member_.empty() ? "before its first member" : "after member " + last_member_;
  ItemError e = failure(where);
  const char* adjective = e.code == ErrorCode::truncated ? "truncated "
                          : e.code == ErrorCode::corrupt ? "damaged "
                                                         : "unreadable ";
  e.message = adjective + std::string(to_string(kind_)) + " archive " + e.message;
  return e;
}

std::optional<ItemError> ArchiveReader::open() {
  const Utf8LocaleScope locale;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return os_error("cannot stat", errno);
  file_size_ = static_cast<std::uint64_t>(st.st_size);
  a_ = archive_read_new();
  if (a_ == nullptr) return ItemError{ErrorCode::out_of_memory, "cannot create an archive reader"};
  if (kind_ == ContainerKind::tar) {
    archive_read_support_format_tar(a_);
    enable_tar_filters(a_);
  } else {
    // Both zip readers: the seekable one (central directory, via our seek callback) is preferred
    // by libarchive; the streaming one takes over when the central directory is missing.
    archive_read_support_format_zip(a_);
    archive_read_support_filter_none(a_);
  }
  archive_read_set_callback_data(a_, this);
  archive_read_set_read_callback(a_, &ArchiveCallbacks::read);
  archive_read_set_skip_callback(a_, &ArchiveCallbacks::skip);
  archive_read_set_seek_callback(a_, &ArchiveCallbacks::seek);
  if (archive_read_open1(a_) != ARCHIVE_OK) {
    broken_ = true;
    return failure(std::string("not a readable ") + std::string(to_string(kind_)) + " archive");
  }
  return std::nullopt;
}

ArchiveReader::Next ArchiveReader::next(Entry& entry, ItemError& error) {
  const Utf8LocaleScope locale;
  if (pending_) {  // what followed a damaged stretch, held back while the damage was reported
    const Next p = *pending_;
    pending_.reset();
    entry = std::move(pending_entry_);
    error = std::move(pending_error_);
    return p;
  }
  if (broken_) return Next::end;
  // libarchive resynchronises after damage (a bad tar header checksum) by returning
  // ARCHIVE_RETRY once per 512-byte block until a valid header; the whole stretch is one error.
  std::optional<ItemError> damage;
  std::uint64_t retries = 0;
  const auto deliver = [&](Next outcome, Entry e, ItemError err) {
    if (!damage) {
      entry = std::move(e);
      error = std::move(err);
      return outcome;
    }
    pending_ = outcome;
    pending_entry_ = std::move(e);
    pending_error_ = std::move(err);
    error = std::move(*damage);
    return Next::recoverable;
  };
  for (;;) {
    struct archive_entry* e = nullptr;
    const int r = archive_read_next_header(a_, &e);
    if (r == ARCHIVE_RETRY) {
      if (!damage) damage = header_failure();
      if (++retries > kMaxRetries) {  // each retry consumes a block, but never spin on garbage
        broken_ = true;
        error = std::move(*damage);
        return Next::fatal;
      }
      continue;
    }
    if (r == ARCHIVE_EOF) return deliver(Next::end, {}, {});
    if (r == ARCHIVE_FATAL) {
      broken_ = true;
      return deliver(Next::fatal, {}, header_failure());
    }
    // ARCHIVE_OK or ARCHIVE_WARN (e.g. an unknown pax keyword): the entry is usable.
    const char* name = archive_entry_pathname(e);
    if (name == nullptr) name = archive_entry_pathname_utf8(e);
    if (name == nullptr) {
      ItemError bad =
          failure("member after " + (last_member_.empty() ? "the start" : last_member_) +
                  " has a name that cannot be read");
      bad.code = ErrorCode::corrupt;
      return deliver(Next::recoverable, {}, std::move(bad));
    }
    last_member_ = name;
    // Hard links carry no data in tar (the target was an earlier member); directories and
    // symlinks are not images.
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) continue;
    Entry found{.name = name,
                .size = archive_entry_size_is_set(e) != 0
                            ? std::optional<std::uint64_t>(
                                  static_cast<std::uint64_t>(archive_entry_size(e)))
                            : std::nullopt};
    return deliver(Next::entry, std::move(found), {});
  }
}

Outcome<std::size_t> ArchiveReader::read(std::span<std::uint8_t> out) {
  const Utf8LocaleScope locale;
  if (broken_) return ItemError{ErrorCode::io_error, "archive is no longer readable"};
  const la_ssize_t n = archive_read_data(a_, out.data(), out.size());
  if (n < 0) {
    if (n == ARCHIVE_FATAL) broken_ = true;
    return failure("cannot read member data");
  }
  return static_cast<std::size_t>(n);
}

std::optional<ItemError> ArchiveReader::read_rest(std::vector<std::uint8_t>& bytes,
                                                  std::uint64_t max_bytes) {
  // Ask for at most one byte beyond the limit: enough to know the member is too large.
  const std::uint64_t cap = max_bytes < UINT64_MAX ? max_bytes + 1 : max_bytes;
  for (;;) {
    const std::uint64_t room = cap - std::min<std::uint64_t>(bytes.size(), cap);
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kBlockSize, room));
    if (want == 0) break;
    const std::size_t old = bytes.size();
    bytes.resize(old + want);
    auto got = read(std::span(bytes).subspan(old, want));
    if (!got) {
      bytes.resize(old);
      return got.error();
    }
    bytes.resize(old + got.value());
    if (got.value() == 0) return std::nullopt;
  }
  const auto seen = bytes.size();
  bytes.clear();
  bytes.shrink_to_fit();
  skip();
  return ItemError{ErrorCode::too_large, "member is more than " + std::to_string(max_bytes) +
                                             " bytes (read " + std::to_string(seen) +
                                             " before giving up)"};
}

void ArchiveReader::skip() {
  const Utf8LocaleScope locale;
  if (broken_) return;
  if (archive_read_data_skip(a_) == ARCHIVE_FATAL) broken_ = true;
}

bool probe_compressed_tar(int fd) {
  ArchiveReader reader(fd, ContainerKind::tar);
  if (reader.open()) return false;
  ArchiveReader::Entry entry;
  ItemError error;
  const auto r = reader.next(entry, error);
  return r == ArchiveReader::Next::entry || r == ArchiveReader::Next::end;
}

namespace {

class ArchiveItems final : public ContainerItems {
 public:
  explicit ArchiveItems(ContainerContext context)
      : ctx_(std::move(context)), reader_(ctx_.fd, ctx_.kind, &ctx_.counts->bytes_consumed) {}

  std::optional<SourceItem> next() override {
    if (done_) return std::nullopt;
    if (!opened_) {
      opened_ = true;
      if (auto err = reader_.open()) return fail(ctx_.file.path, std::move(*err));
    }
    const SourceOptions& opt = *ctx_.options;
    for (;;) {
      ArchiveReader::Entry entry;
      ItemError error;
      switch (reader_.next(entry, error)) {
        case ArchiveReader::Next::end:
          done_ = true;
          return std::nullopt;
        case ArchiveReader::Next::fatal:
          return fail(ctx_.file.path, std::move(error));
        case ArchiveReader::Next::recoverable:
          return ctx_.error(ctx_.file.path, error.code, std::move(error.message));
        case ArchiveReader::Next::entry:
          break;
      }
      std::string locator = ctx_.locator(entry.name);
      if (ctx_.member_done(locator)) {
        reader_.skip();
        continue;
      }
      if (entry.size && *entry.size > opt.max_item_bytes) {
        reader_.skip();
        return ctx_.error(std::move(locator), ErrorCode::too_large,
                          "member is " + std::to_string(*entry.size) + " bytes, above the " +
                              std::to_string(opt.max_item_bytes) + "-byte limit");
      }
      SourceItem item = ctx_.item(std::move(locator));
      // The head decides whether this is an item before the rest is read (a .json beside a .jpg
      // costs 16 bytes, not its size).
      std::array<std::uint8_t, 16> head{};
      auto got = reader_.read(head);
      const auto& is_item = opt.is_member_item ? opt.is_member_item : opt.is_item;
      if (got && is_item && !is_item(entry.name, std::span(head).first(got.value()))) {
        ++ctx_.counts->skipped_not_items;
        reader_.skip();
        continue;
      }
      std::optional<ItemError> err;
      if (got) {
        reserve_for(item.bytes, entry.size);
        item.bytes.assign(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(got.value()));
        if (got.value() == head.size()) err = reader_.read_rest(item.bytes, opt.max_item_bytes);
      } else {
        err = got.error();
      }
      if (err) {
        item.bytes = {};
        item.error = std::move(*err);
        if (reader_.broken()) done_ = true;  // the member's error already says why it stopped
      }
      return item;
    }
  }

 private:
  std::optional<SourceItem> fail(std::string locator, ItemError error) {
    done_ = true;
    return ctx_.error(std::move(locator), error.code, std::move(error.message));
  }

  ContainerContext ctx_;
  ArchiveReader reader_;
  bool opened_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<ContainerItems> make_archive_items(ContainerContext context) {
  return std::make_unique<ArchiveItems>(std::move(context));
}

Outcome<std::vector<std::uint8_t>> read_archive_member(int fd, ContainerKind kind,
                                                       const std::string& archive_path,
                                                       const std::string& member,
                                                       std::uint64_t max_bytes) {
  ArchiveReader reader(fd, kind);
  if (auto err = reader.open()) return *err;
  for (;;) {
    ArchiveReader::Entry entry;
    ItemError error;
    switch (reader.next(entry, error)) {
      case ArchiveReader::Next::end:
        return ItemError{ErrorCode::io_error, "no member named " + member + " in " + archive_path};
      case ArchiveReader::Next::fatal:
        return error;
      case ArchiveReader::Next::recoverable:
        continue;  // damage elsewhere does not matter if the member we want is intact
      case ArchiveReader::Next::entry:
        break;
    }
    if (entry.name != member) continue;  // libarchive skips the data on the next header
    if (entry.size && *entry.size > max_bytes) {
      return ItemError{ErrorCode::too_large, "member is " + std::to_string(*entry.size) +
                                                 " bytes, above the " + std::to_string(max_bytes) +
                                                 "-byte limit"};
    }
    std::vector<std::uint8_t> bytes;
    reserve_for(bytes, entry.size);
    if (auto err = reader.read_rest(bytes, max_bytes)) return *err;
    if (bytes.empty()) return ItemError{ErrorCode::empty, "member is empty (0 bytes)"};
    return bytes;
  }
}

}  // namespace residue::detail
