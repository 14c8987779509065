// Descriptor ownership, whole-file reads and the buffered reader used by TSV and RecordIO.
#include "file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "residue/source.hpp"

namespace residue::detail {

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

ItemError os_error(std::string_view what, int err) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  return {ErrorCode::io_error, std::move(msg)};
}

Outcome<UniqueFd> open_read(const std::string& path) {
  // O_NONBLOCK: a regular file swapped for a FIFO after the walk's lstat must not hang the
  // stream in open(); it has no effect on reads of regular files.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return os_error("cannot open", errno);
  return UniqueFd(fd);
}

Outcome<std::size_t> pread_full(int fd, std::span<std::uint8_t> out, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("read failed", errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Outcome<std::vector<std::uint8_t>> read_whole_file(const std::string& path, std::uint64_t max_bytes,
                                                   std::optional<std::uint64_t> expected_size) {
  auto fd = open_read(path);
  if (!fd) return fd.error();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return os_error("cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return ItemError{ErrorCode::unsupported, "not a regular file"};
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const auto changed = [&](std::uint64_t now) {
    return ItemError{ErrorCode::io_error, "changed during scan (size was " +
                                              std::to_string(*expected_size) + " bytes, now " +
                                              std::to_string(now) + ")"};
  };
  if (expected_size && size != *expected_size) return changed(size);
  if (size > max_bytes) {
    return ItemError{ErrorCode::too_large, "file is " + std::to_string(size) +
                                               " bytes, above the " + std::to_string(max_bytes) +
                                               "-byte limit"};
  }
  if (size == 0) return ItemError{ErrorCode::empty, "file is empty (0 bytes)"};
  std::vector<std::uint8_t> bytes;
  try {
    bytes.resize(static_cast<std::size_t>(size));
  } catch (const std::bad_alloc&) {
    return ItemError{ErrorCode::out_of_memory,
                     "cannot allocate " + std::to_string(size) + " bytes"};
  }
  auto got = pread_full(fd->get(), bytes, 0);
  if (!got) return got.error();
  if (got.value() != bytes.size()) {
    // Shrank between fstat and the last read: the bytes we have are not the file.
    if (expected_size) return changed(got.value());
    return ItemError{ErrorCode::io_error, "file changed size while being read (" +
                                              std::to_string(got.value()) + " of " +
                                              std::to_string(bytes.size()) + " bytes)"};
  }
  return bytes;
}

FdReader::FdReader(int fd, std::uint64_t offset, std::uint64_t* consumed, std::size_t buffer_size)
    : fd_(fd), pos_(offset), consumed_(consumed), buf_(buffer_size) {}

Outcome<bool> FdReader::fill() {
  begin_ = 0;
  end_ = 0;
  auto got = pread_full(fd_, buf_, pos_);
  if (!got) return got.error();
  end_ = got.value();
  if (consumed_ != nullptr) *consumed_ += got.value();
  return end_ > 0;
}

Outcome<std::size_t> FdReader::read(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  // Serve from the buffer first; large remainders go straight into `out` (no double copy for
  // multi-megabyte records).
  const std::size_t buffered = std::min(out.size(), end_ - begin_);
  std::memcpy(out.data(), buf_.data() + begin_, buffered);
  begin_ += buffered;
  pos_ += buffered;
  done += buffered;
  if (done == out.size()) return done;
  if (out.size() - done >= buf_.size()) {
    auto got = pread_full(fd_, out.subspan(done), pos_);
    if (!got) return got.error();
    if (consumed_ != nullptr) *consumed_ += got.value();
    pos_ += got.value();
    return done + got.value();
  }
  while (done < out.size()) {
    auto more = fill();
    if (!more) return more.error();
    if (!more.value()) break;
    const std::size_t n = std::min(out.size() - done, end_ - begin_);
    std::memcpy(out.data() + done, buf_.data() + begin_, n);
    begin_ += n;
    pos_ += n;
    done += n;
  }
  return done;
}

Outcome<bool> FdReader::at_end() {
  if (begin_ != end_) return false;
  auto more = fill();
  if (!more) return more.error();
  return !more.value();
}

void FdReader::skip(std::uint64_t n) {
  const std::uint64_t buffered = end_ - begin_;
  if (n <= buffered) {
    begin_ += static_cast<std::size_t>(n);
    pos_ += n;
    return;
  }
  if (consumed_ != nullptr) *consumed_ += n - buffered;
  pos_ += n;
  begin_ = end_ = 0;
}

void FdReader::seek(std::uint64_t offset) {
  pos_ = offset;
  begin_ = end_ = 0;
}

Outcome<FdReader::Line> FdReader::read_line(std::string& line, std::size_t max_len, bool keep) {
  line.clear();
  std::size_t length = 0;
  bool any = false;
  for (;;) {
    if (begin_ == end_) {
      auto more = fill();
      if (!more) return more.error();
      if (!more.value()) break;
    }
    any = true;
    const auto* start = buf_.data() + begin_;
    const std::size_t avail = end_ - begin_;
    const auto* nl = static_cast<const std::uint8_t*>(std::memchr(start, '\n', avail));
    const std::size_t take = nl != nullptr ? static_cast<std::size_t>(nl - start) : avail;
    length += take;
    if (keep && length <= max_len) {
      line.append(reinterpret_cast<const char*>(start), take);
    } else if (keep) {
      line.clear();
      line.shrink_to_fit();  // a too-long line must not stay resident
      keep = false;
    }
    const std::size_t step = take + (nl != nullptr ? 1 : 0);
    begin_ += step;
    pos_ += step;
    if (nl != nullptr) break;
  }
  if (!any) return Line::eof;
  return length > max_len ? Line::too_long : Line::ok;
}

}  // namespace residue::detail

namespace residue {

Outcome<std::vector<std::uint8_t>> read_file_bytes(const std::string& path,
                                                   std::uint64_t max_bytes) {
  return detail::read_whole_file(path, max_bytes, std::nullopt);
}

}  // namespace residue
