// Private to source/: tar (plain, gzip, bzip2, xz, zstd) and zip through libarchive, streamed
// member by member from a borrowed descriptor (our own pread callbacks, 64 KiB blocks), never
// extracted to disk. Member names are raw bytes: libarchive runs under a thread-local C.UTF-8
// locale so UTF-8 names convert losslessly and other bytes pass through unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "container.hpp"

struct archive;

namespace residue::detail {

/// One libarchive reader over a descriptor it does not own. Not copyable, single-threaded.
class ArchiveReader {
 public:
  /// kind is ContainerKind::tar or ContainerKind::zip. Bytes read or skipped are added to
  /// *consumed when it is not null.
  ArchiveReader(int fd, ContainerKind kind, std::uint64_t* consumed = nullptr);
  ~ArchiveReader();
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  /// Starts reading. Errors: corrupt/truncated (not a readable archive), io_error.
  [[nodiscard]] std::optional<ItemError> open();

  struct Entry {
    std::string name;                   // raw bytes, as stored
    std::optional<std::uint64_t> size;  // unknown for some streamed zip members
  };
  enum class Next : std::uint8_t {
    entry,        // `entry` is the next regular-file member (directories and links are skipped)
    end,          // no more members
    fatal,        // `error` says why; the archive cannot be read further
    recoverable,  // `error` says why; the next call continues after the damaged member
  };
  [[nodiscard]] Next next(Entry& entry, ItemError& error);

  /// Reads up to out.size() bytes of the current member; 0 at its end. Errors: truncated,
  /// corrupt, io_error (after which broken() may be true).
  [[nodiscard]] Outcome<std::size_t> read(std::span<std::uint8_t> out);
  /// Appends the rest of the current member to `bytes`. When it would exceed max_bytes the rest
  /// is skipped, `bytes` is cleared and too_large returned.
  [[nodiscard]] std::optional<ItemError> read_rest(std::vector<std::uint8_t>& bytes,
                                                   std::uint64_t max_bytes);
  /// Skips the rest of the current member without reading it into memory.
  void skip();
  /// True after a fatal libarchive error: nothing more can be read.
  [[nodiscard]] bool broken() const noexcept { return broken_; }
  /// Name of the last member header read ("" before the first), for error messages.
  [[nodiscard]] const std::string& last_member() const noexcept { return last_member_; }

 private:
  friend struct ArchiveCallbacks;
  [[nodiscard]] ItemError failure(const std::string& context) const;
  [[nodiscard]] ItemError header_failure() const;

  struct archive* a_ = nullptr;
  int fd_;
  ContainerKind kind_;
  std::uint64_t* consumed_;
  std::uint64_t offset_ = 0;
  std::uint64_t file_size_ = 0;
  std::vector<std::uint8_t> block_;
  int os_errno_ = 0;  // set by the read callback so OS failures become io_error
  bool broken_ = false;
  std::optional<Next> pending_;  // an outcome held back behind a reported damaged stretch
  Entry pending_entry_;
  ItemError pending_error_;
  std::string last_member_;
};

/// Whether a compressed stream (gzip/bzip2/xz/zstd magic already seen) holds a tar archive:
/// libarchive must read its first header (or a valid end of archive).
[[nodiscard]] bool probe_compressed_tar(int fd);

/// ItemStream's producer for one tar or zip container.
[[nodiscard]] std::unique_ptr<ContainerItems> make_archive_items(ContainerContext context);

/// read_item for an archive member (the first member with exactly this name). Errors: io_error
/// "no member named X in ARCHIVE", the archive's own errors, too_large, empty.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_archive_member(
    int fd, ContainerKind kind, const std::string& archive_path, const std::string& member,
    std::uint64_t max_bytes);

}  // namespace residue::detail
