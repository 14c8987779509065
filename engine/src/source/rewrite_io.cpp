// Output files and sequential streams for container rewrites. Compression goes through
// libarchive (already private to this layer): its raw format reads a compressed file as one
// decompressed stream, and writes one stream through a compressor.
#include "rewrite_io.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace residue::detail {
namespace {

constexpr std::size_t kWriteBuffer = std::size_t{1} << 20;
constexpr std::size_t kReadBlock = std::size_t{1} << 16;

}  // namespace

// ---------------------------------------------------------------------------------------------
// OutputFile

OutputFile::OutputFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {
  buf_.reserve(kWriteBuffer);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::move(other.fd_)),
      buf_(std::move(other.buf_)),
      written_(other.written_),
      keep_(other.keep_) {
  other.keep_ = true;  // the moved-from object owns nothing to remove
}

OutputFile::~OutputFile() {
  if (!keep_ && fd_.valid()) ::unlink(path_.c_str());
}

Outcome<OutputFile> OutputFile::create(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return os_error("cannot create " + path, errno);
  return OutputFile(path, UniqueFd(fd));
}

std::optional<ItemError> OutputFile::write(std::span<const std::uint8_t> bytes) {
  written_ += bytes.size();
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), kWriteBuffer - buf_.size());
    buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    bytes = bytes.subspan(n);
    if (buf_.size() == kWriteBuffer) {
      if (auto err = flush()) return err;
    }
  }
  return std::nullopt;
}

std::optional<ItemError> OutputFile::flush() {
  std::size_t done = 0;
  while (done < buf_.size()) {
    const ssize_t n = ::write(fd_.get(), buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot write " + path_, errno);
    }
    done += static_cast<std::size_t>(n);
  }
  buf_.clear();
  return std::nullopt;
}

std::optional<ItemError> OutputFile::finish() {
  if (auto err = flush()) return err;
  if (::fsync(fd_.get()) != 0) return os_error("cannot fsync " + path_, errno);
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) return os_error("cannot stat " + path_, errno);
  if (static_cast<std::uint64_t>(st.st_size) != written_) {
    return ItemError{ErrorCode::io_error, path_ + " has " + std::to_string(st.st_size) +
                                              " bytes after writing " + std::to_string(written_)};
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Plain streams

namespace {

class FdSource final : public ByteSource {
 public:
  explicit FdSource(int fd) : reader_(fd) {}
  Outcome<std::size_t> read(std::span<std::uint8_t> out) override { return reader_.read(out); }

 private:
  FdReader reader_;
};

class FileSink final : public ByteSink {
 public:
  explicit FileSink(OutputFile& out) : out_(out) {}
  std::optional<ItemError> write(std::span<const std::uint8_t> bytes) override {
    return out_.write(bytes);
  }
  std::optional<ItemError> close() override { return std::nullopt; }

 private:
  OutputFile& out_;
};

// ---------------------------------------------------------------------------------------------
// Compressed streams through libarchive

ItemError archive_failure(struct archive* a, const std::string& what, int os_errno) {
  const char* text = archive_error_string(a);
  std::string msg = what + ": " + (text != nullptr ? text : "unknown libarchive error");
  return {os_errno != 0 ? ErrorCode::io_error : ErrorCode::corrupt, std::move(msg)};
}

class DecompressSource final : public ByteSource {
 public:
  explicit DecompressSource(int fd) : fd_(fd), block_(kReadBlock) {}
  ~DecompressSource() override {
    if (a_ != nullptr) archive_read_free(a_);
  }
  DecompressSource(const DecompressSource&) = delete;
  DecompressSource& operator=(const DecompressSource&) = delete;

  std::optional<ItemError> open(FilterCode* filter) {
    a_ = archive_read_new();
    if (a_ == nullptr) return ItemError{ErrorCode::out_of_memory, "cannot create a reader"};
    // Only filters built into libarchive (a missing one would run an external program).
    if (archive_zlib_version() != nullptr) archive_read_support_filter_gzip(a_);
    if (archive_bzlib_version() != nullptr) archive_read_support_filter_bzip2(a_);
    if (archive_liblzma_version() != nullptr) archive_read_support_filter_xz(a_);
    if (archive_libzstd_version() != nullptr) archive_read_support_filter_zstd(a_);
    archive_read_support_format_raw(a_);
    archive_read_set_callback_data(a_, this);
    archive_read_set_read_callback(a_, &DecompressSource::on_read);
    struct archive_entry* e = nullptr;
    if (archive_read_open1(a_) != ARCHIVE_OK || archive_read_next_header(a_, &e) != ARCHIVE_OK) {
      return archive_failure(a_, "cannot decompress", os_errno_);
    }
    // Filters are listed from the outermost compression down to "none" (the file itself).
    if (archive_filter_count(a_) != 2) {
      return ItemError{ErrorCode::unsupported, "expected exactly one compression layer, found " +
                                                   std::to_string(archive_filter_count(a_) - 1)};
    }
    if (filter != nullptr) *filter = archive_filter_code(a_, 0);
    return std::nullopt;
  }

  Outcome<std::size_t> read(std::span<std::uint8_t> out) override {
    std::size_t done = 0;
    while (done < out.size()) {
      const la_ssize_t n = archive_read_data(a_, out.data() + done, out.size() - done);
      if (n < 0) return archive_failure(a_, "cannot decompress", os_errno_);
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

 private:
  static la_ssize_t on_read(struct archive* a, void* client, const void** buffer) {
    auto* self = static_cast<DecompressSource*>(client);
    auto got = pread_full(self->fd_, self->block_, self->offset_);
    if (!got) {
      self->os_errno_ = errno != 0 ? errno : EIO;
      archive_set_error(a, self->os_errno_, "%s", got.error().message.c_str());
      return -1;
    }
    self->offset_ += got.value();
    *buffer = self->block_.data();
    return static_cast<la_ssize_t>(got.value());
  }

  int fd_;
  std::vector<std::uint8_t> block_;
  std::uint64_t offset_ = 0;
  int os_errno_ = 0;
  struct archive* a_ = nullptr;
};

class CompressSink final : public ByteSink {
 public:
  explicit CompressSink(OutputFile& out) : out_(out) {}
  ~CompressSink() override {
    if (a_ != nullptr) archive_write_free(a_);  // after a failure: nothing more reaches out_
  }
  CompressSink(const CompressSink&) = delete;
  CompressSink& operator=(const CompressSink&) = delete;

  std::optional<ItemError> open(FilterCode filter) {
    a_ = archive_write_new();
    if (a_ == nullptr) return ItemError{ErrorCode::out_of_memory, "cannot create a writer"};
    if (archive_write_add_filter(a_, filter) != ARCHIVE_OK ||
        archive_write_set_format_raw(a_) != ARCHIVE_OK) {
      return ItemError{ErrorCode::unsupported,
                       "cannot compress with " + filter_name(filter) + ": " +
                           std::string(archive_error_string(a_) ? archive_error_string(a_) : "")};
    }
    // No padding after the compressed stream (libarchive pads to 10240 bytes by default).
    archive_write_set_bytes_in_last_block(a_, 1);
    if (archive_write_open(a_, this, nullptr, &CompressSink::on_write, nullptr) != ARCHIVE_OK) {
      return failure("cannot start the compressor");
    }
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    const int r = archive_write_header(a_, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) return failure("cannot start the compressor");
    return std::nullopt;
  }

  std::optional<ItemError> write(std::span<const std::uint8_t> bytes) override {
    while (!bytes.empty()) {
      const la_ssize_t n = archive_write_data(a_, bytes.data(), bytes.size());
      if (n <= 0) return failure("cannot compress");
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return std::nullopt;
  }

  std::optional<ItemError> close() override {
    if (archive_write_close(a_) != ARCHIVE_OK) return failure("cannot finish compressing");
    return std::nullopt;
  }

 private:
  ItemError failure(const std::string& what) {
    if (sink_error_) return *sink_error_;  // the OS reason from the output file
    return archive_failure(a_, what, 0);
  }

  static la_ssize_t on_write(struct archive* a, void* client, const void* buffer, size_t length) {
    auto* self = static_cast<CompressSink*>(client);
    auto err = self->out_.write({static_cast<const std::uint8_t*>(buffer), length});
    if (err) {
      self->sink_error_ = std::move(err);
      archive_set_error(a, EIO, "%s", self->sink_error_->message.c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(length);
  }

  OutputFile& out_;
  struct archive* a_ = nullptr;
  std::optional<ItemError> sink_error_;
};

}  // namespace

Outcome<std::unique_ptr<ByteSource>> open_source(int fd, bool decompress, FilterCode* filter) {
  if (!decompress) {
    if (filter != nullptr) *filter = ARCHIVE_FILTER_NONE;
    return std::unique_ptr<ByteSource>(std::make_unique<FdSource>(fd));
  }
  auto src = std::make_unique<DecompressSource>(fd);
  if (auto err = src->open(filter)) return *err;
  return std::unique_ptr<ByteSource>(std::move(src));
}

Outcome<std::unique_ptr<ByteSink>> open_sink(OutputFile& out, FilterCode filter) {
  if (filter == ARCHIVE_FILTER_NONE)
    return std::unique_ptr<ByteSink>(std::make_unique<FileSink>(out));
  auto sink = std::make_unique<CompressSink>(out);
  if (auto err = sink->open(filter)) return *err;
  return std::unique_ptr<ByteSink>(std::move(sink));
}

std::string filter_name(FilterCode filter) {
  switch (filter) {
    case ARCHIVE_FILTER_NONE:
      return "none";
    case ARCHIVE_FILTER_GZIP:
      return "gzip";
    case ARCHIVE_FILTER_BZIP2:
      return "bzip2";
    case ARCHIVE_FILTER_XZ:
      return "xz";
    case ARCHIVE_FILTER_ZSTD:
      return "zstd";
    default:
      return "filter " + std::to_string(filter);
  }
}

}  // namespace residue::detail
