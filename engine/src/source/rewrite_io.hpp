// Private to source/: the byte plumbing of container rewrites. OutputFile is the one file a
// rewrite creates (O_EXCL; unlinked on destruction unless kept, so a failed rewrite leaves
// nothing behind). ByteSource/ByteSink are sequential streams: plain descriptors, or a
// compressed tar stream decompressed/recompressed through libarchive's raw format and filters
// (gzip, bzip2, xz, zstd: whatever libarchive was built with).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "file_io.hpp"

namespace residue::detail {

/// A new file created with O_EXCL, written through a 1 MiB buffer. Move-only. Unless keep() was
/// called, the destructor unlinks it. Errors carry the OS reason (ENOSPC, EFBIG, EIO...).
class OutputFile {
 public:
  /// Errors: io_error "cannot create PATH: File exists" (and every other open failure).
  [[nodiscard]] static Outcome<OutputFile> create(const std::string& path, mode_t mode);
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  [[nodiscard]] std::optional<ItemError> write(std::span<const std::uint8_t> bytes);
  /// Flushes the buffer, fsyncs, and checks the size on disk equals the bytes written.
  [[nodiscard]] std::optional<ItemError> finish();
  /// The file stays after destruction.
  void keep() noexcept { keep_ = true; }
  [[nodiscard]] std::uint64_t written() const noexcept { return written_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  OutputFile(std::string path, UniqueFd fd);
  [[nodiscard]] std::optional<ItemError> flush();

  std::string path_;
  UniqueFd fd_;
  std::vector<std::uint8_t> buf_;
  std::uint64_t written_ = 0;  // bytes accepted by write(), buffered or not
  bool keep_ = false;
};

/// A sequential byte stream.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  /// Fills `out` completely unless the stream ends first; returns the count.
  [[nodiscard]] virtual Outcome<std::size_t> read(std::span<std::uint8_t> out) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  [[nodiscard]] virtual std::optional<ItemError> write(std::span<const std::uint8_t> bytes) = 0;
  /// Ends the stream (flushes a compressor). No write after it.
  [[nodiscard]] virtual std::optional<ItemError> close() = 0;
};

/// libarchive's code for the compression of a stream (ARCHIVE_FILTER_NONE = 0 for none).
using FilterCode = int;

/// The file from its start, as it is (filter 0) or decompressed. Errors of the constructor come
/// out of the first read. `filter` receives the compression found (0 = none) when not null.
[[nodiscard]] Outcome<std::unique_ptr<ByteSource>> open_source(int fd, bool decompress,
                                                               FilterCode* filter);

/// Writes to `out` as it is (filter 0) or through the compressor `filter`.
[[nodiscard]] Outcome<std::unique_ptr<ByteSink>> open_sink(OutputFile& out, FilterCode filter);

/// Name of a filter for messages ("gzip", "zstd", ...).
[[nodiscard]] std::string filter_name(FilterCode filter);

}  // namespace residue::detail
