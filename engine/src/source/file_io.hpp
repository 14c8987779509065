// Private to source/: owned file descriptors, OS error messages, whole-file reads and a buffered
// sequential reader for the line- and record-oriented containers (TSV, RecordIO).
// All reads use pread at an explicit offset, so one descriptor can be shared by a detector and a
// reader without anyone depending on the kernel's file position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "residue/core.hpp"

namespace residue::detail {

/// Owns one file descriptor (closed on destruction). Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// io_error "<what>: <strerror(err)>".
[[nodiscard]] ItemError os_error(std::string_view what, int err);

/// Opens a file read-only (O_CLOEXEC | O_NONBLOCK). Errors: io_error with the OS reason.
[[nodiscard]] Outcome<UniqueFd> open_read(const std::string& path);

/// Reads up to out.size() bytes at `offset`, retrying short reads and EINTR; fewer bytes only at
/// end of file. Errors: io_error "read failed: ...".
[[nodiscard]] Outcome<std::size_t> pread_full(int fd, std::span<std::uint8_t> out,
                                              std::uint64_t offset);

/// Reads a whole regular file of at most max_bytes. When expected_size is set (the size the walk
/// saw), a different size is io_error "changed during scan". Errors: io_error, unsupported (not a
/// regular file), too_large, out_of_memory, empty (zero bytes).
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_whole_file(
    const std::string& path, std::uint64_t max_bytes, std::optional<std::uint64_t> expected_size);

/// Sequential buffered reader over a descriptor it does not own, starting at `offset`. Every byte
/// read or skipped is added to *consumed (when not null), for progress. Memory: one buffer of
/// `buffer_size` bytes plus whatever the caller asks to keep.
class FdReader {
 public:
  explicit FdReader(int fd, std::uint64_t offset = 0, std::uint64_t* consumed = nullptr,
                    std::size_t buffer_size = std::size_t{1} << 16);

  /// Fills `out` completely unless the file ends first; returns the count read.
  [[nodiscard]] Outcome<std::size_t> read(std::span<std::uint8_t> out);
  /// Moves forward n bytes without reading them (past the end is allowed; reads then hit EOF).
  void skip(std::uint64_t n);
  /// Moves to an absolute offset and drops the buffer.
  void seek(std::uint64_t offset);
  [[nodiscard]] std::uint64_t position() const noexcept { return pos_; }
  /// True when no byte is left (fills the buffer to find out).
  [[nodiscard]] Outcome<bool> at_end();

  enum class Line : std::uint8_t { ok, eof, too_long };
  /// Reads one line without its '\n' into `line` (replacing its contents). A line longer than
  /// max_len is consumed and dropped without being held (returns too_long, `line` is cleared);
  /// with keep = false the line is consumed without being stored at all. eof: no bytes left (a
  /// last line without '\n' is still a line).
  [[nodiscard]] Outcome<Line> read_line(std::string& line, std::size_t max_len, bool keep = true);

 private:
  [[nodiscard]] Outcome<bool> fill();  // false at end of file

  int fd_;
  std::uint64_t pos_;  // file offset of the next byte the caller sees
  std::uint64_t* consumed_;
  std::vector<std::uint8_t> buf_;
  std::size_t begin_ = 0;  // unread bytes are buf_[begin_, end_), starting at file offset pos_
  std::size_t end_ = 0;
};

}  // namespace residue::detail
