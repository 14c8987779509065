// residue/source.hpp: where images live. Turns the roots a user names into a stream of items
// (plain files, members of tar/zip archives, lines of TSV files with base64 images, records of
// MXNet RecordIO files) and reads one item back by its locator. The only layer that touches the
// user's directory trees and parses container formats (libarchive is private to it).
//
// Locators name every item the same way everywhere, built from the root as the user gave it (as
// find and ripgrep print paths):
//   plain file        dir/a/b.jpg
//   archive member    dir/shard-0001.tar!/000123.jpg
//   TSV line          dir/FaceImageCroppedWithOffset.tsv!/line/17      (1-based)
//   RecordIO record   dir/train.rec!/record/5                           (0-based)
// Distributed scans plan with list_files, detect_kind and count_slice_items, then give each rank
// an ItemStream over FileSlices (whole files, or byte ranges of TSV and RecordIO files) whose
// locators are exactly those of a single-process scan.
// Thread-safety: ItemStream is single-threaded (one per pipeline source filter); the free
// functions keep no state and are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "residue/core.hpp"

namespace residue {

enum class ContainerKind : std::uint8_t { none = 0, tar, zip, tsv, recordio };
[[nodiscard]] std::string_view to_string(ContainerKind k) noexcept;

struct WalkOptions {
  bool follow_symlinks = false;         // when true, directory loops are detected and skipped
  std::vector<std::string> excludes{};  // fnmatch globs, matched against the path and the base name
};

/// A file found by the walk (plain image candidate or container), with what incremental scans
/// compare: size and modification time.
struct FileInfo {
  std::string path;  // built from the root as given
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
};

/// What a SourceItem is. Containers are bracketed by begin/end markers (in stream order) so the
/// consumer can record a container's state before and after its members.
enum class SourceEvent : std::uint8_t { item, container_begin, container_end };

/// One item for the pipeline. `bytes` holds the item's bytes, except for TSV lines, where `text`
/// holds the base64 field, and plain files, which are read later (`needs_read`), both turned
/// into bytes by item_bytes() in a parallel stage. An item whose bytes could not be obtained
/// carries `error`. Markers carry only `event`, `container`, `container_kind` and `file`. An error
/// about a whole container (unreadable, truncated between members, changed during scan) has the
/// container's path as its locator and comes before the container's end marker.
struct SourceItem {
  SourceEvent event = SourceEvent::item;
  std::string locator;
  std::string container;  // container path, empty for plain files
  ContainerKind container_kind = ContainerKind::none;
  FileInfo file;  // the plain file or the container holding the item
  std::vector<std::uint8_t> bytes;
  std::string text;         // TSV: the base64 field
  bool needs_read = false;  // plain file: bytes not read yet (read in the parallel stage)
  std::optional<ItemError> error;
};

/// Turns a SourceItem into its bytes: reads a plain file, decodes a TSV base64 field, or passes
/// container bytes through. Errors: io_error, empty, too_large, corrupt (bad base64).
[[nodiscard]] Outcome<std::vector<std::uint8_t>> item_bytes(SourceItem& item,
                                                            std::uint64_t max_bytes);

struct SourceOptions {
  WalkOptions walk{};
  /// TSV: the 0-based column holding the base64 image; empty = detect per file.
  std::optional<int> tsv_column{};
  /// Items larger than this become too_large errors without being read into memory.
  std::uint64_t max_item_bytes = std::uint64_t{1} << 30;
  /// Whether a plain file or member is an item (an image candidate). Called with the name (the
  /// path for a plain file, the member name for a tar/zip member) and the first bytes (up to
  /// 16); TSV lines and RecordIO records are always items. Non-items (metadata files, .json beside
  /// .jpg in WebDataset shards) are skipped and counted. Default: every file is an item.
  std::function<bool(std::string_view name, std::span<const std::uint8_t> head)> is_item{};
  /// The same question for tar/zip members only; when unset, `is_item` answers for members too.
  /// (`residue hash` reports every plain file it is given but only image members of archives.)
  std::function<bool(std::string_view name, std::span<const std::uint8_t> head)> is_member_item{};
  /// Incremental scans: return true to skip a plain file or a whole container whose size and mtime
  /// the catalog already has. Called once per file, before any of its items. Default: nothing is
  /// skipped.
  std::function<bool(const FileInfo& file, ContainerKind kind)> unchanged{};
  /// Resuming: return true for a container member already committed by an interrupted run over
  /// the same container bytes; it is skipped. Default: nothing is skipped.
  std::function<bool(std::string_view locator)> member_done{};
};

struct StreamCounts {
  std::uint64_t files = 0;              // regular files seen by the walk
  std::uint64_t containers = 0;         // containers opened
  std::uint64_t skipped_unchanged = 0;  // files and containers skipped by `unchanged`
  std::uint64_t skipped_not_items = 0;  // by `is_item`, TSV header/blank lines, image-less records
  std::uint64_t skipped_done = 0;       // members skipped by `member_done`
  std::uint64_t bytes_consumed = 0;  // bytes of plain files emitted and of containers read so far
};

/// Total size of the regular files under the roots (a quick walk with the same options, no
/// reading), for progress and ETA. Errors are ignored here; the real walk reports them.
[[nodiscard]] std::uint64_t total_bytes(std::span<const std::string> roots,
                                        const WalkOptions& options);

/// A file the walk found, or an error at file.path (unreadable directory, missing root, symlink
/// loop, dangling link, vanished entry), as ItemStream's walk sees it. Errors carry no size or
/// mtime.
struct WalkedFile {
  FileInfo file{};
  std::optional<ItemError> error{};
};

/// The regular files under `roots` in ItemStream's walk order, with the walk's errors in place
/// (what ItemStream(roots, ...) would visit; nothing is opened or read, only lstat'ed).
/// Memory: one entry per file (plus the walk's one listing per directory on the current path).
[[nodiscard]] std::vector<WalkedFile> list_files(std::span<const std::string> roots,
                                                 const WalkOptions& options);

/// What a file is, by content, as ItemStream detects it (ContainerKind::none = a plain file).
/// Cost: what detection reads (4 KiB; 64 KiB for text; a compressed stream up to its first tar
/// header). Errors: io_error (cannot open/read), unsupported (not a regular file).
[[nodiscard]] Outcome<ContainerKind> detect_kind(const std::string& path);

/// One file, or one byte range of a TSV or RecordIO file, for an ItemStream built from an
/// explicit list (distributed scans).
struct FileSlice {
  FileInfo file{};
  /// true: the whole file, any kind (plain file or container), exactly as the walk would stream
  /// it. false: only the items of a TSV or RecordIO file whose first byte lies in [begin, end):
  /// a TSV line starts at offset 0 or right after a '\n'; a RecordIO record starts at a part
  /// header (4-byte aligned magic 0xced7230a) whose cflag is 0 (whole) or 1 (first part). A line
  /// or record that starts before `end` is read to its end even past `end`. begin >= end is an
  /// empty range.
  bool whole = true;
  std::uint64_t begin = 0, end = 0;
  /// Items of the file that start before `begin` (lines for TSV, records for RecordIO), as
  /// count_slice_items counts them. Numbering continues from it, so locators are exactly what a
  /// whole-file stream spells (TSV line numbers are 1-based: the first line of the slice is
  /// items_before + 1; RecordIO records 0-based: the first is record items_before).
  std::uint64_t items_before = 0;
  /// A walk error at file.path: the stream emits it as one error item (locator file.path).
  std::optional<ItemError> error{};
};

/// Counts the items of a TSV or RecordIO file that start in [begin, end) by FileSlice's rule.
/// TSV: lines (every line counts: header and blank lines too, as line numbers do; a final line
/// without '\n' counts); reads the bytes [begin - 1, end) and nothing else (memchr speed).
/// RecordIO: records (a multi-part record counts once; InsightFace's image-less header record 0
/// counts, as record numbers do; a record cut short by the end of the file counts, as the stream
/// reports it as one truncated item); scans 4-byte words from begin to the first record start
/// (at most one record's length), then walks the part headers to `end`, skipping record data
/// (records under 64 KiB are read anyway, in 64 KiB blocks). Uses the file's current size, not
/// file.size. Cost for either kind is about one sequential read of the range: count each slice's
/// own range and take prefix sums (counts over a partition add up exactly) rather than counting
/// [0, begin) per slice. Errors: io_error, corrupt (RecordIO framing: a part header without the
/// magic or with an out-of-order cflag), unsupported (kind is not tsv or recordio).
[[nodiscard]] Outcome<std::uint64_t> count_slice_items(const FileInfo& file, ContainerKind kind,
                                                       std::uint64_t begin, std::uint64_t end);

/// A lazy, bounded-memory stream of the items under some roots: directories are walked in byte
/// order of names, containers are streamed member by member (never extracted to disk). next()
/// returns nullopt at the end. Walk errors (unreadable directory, symlink loop, missing root,
/// corrupt container) come out as items with an error, and the stream goes on.
class ItemStream {
 public:
  /// Walks `roots`. Throws residue::Error for invalid options (max_item_bytes 0, tsv_column < 0).
  ItemStream(std::vector<std::string> roots, SourceOptions options);
  /// A stream over explicit slices, in order, instead of a walk. Each slice is opened, detected
  /// and streamed as the walk's files are (options.is_item, unchanged -- asked once per slice --
  /// member_done, container markers per slice, the end-of-container change check per slice
  /// against slice.file's size and mtime). A TSV slice takes its layout (image column, header
  /// lines) from the file head, as a whole file does. A non-whole slice of a file that is not
  /// TSV or RecordIO becomes one unsupported error item. counts(): `files` counts slices without
  /// an error, `containers` one per container slice, `bytes_consumed` end - begin (clamped to
  /// file.size) for a range slice. Throws like the walking constructor.
  ItemStream(std::vector<FileSlice> slices, SourceOptions options);
  ~ItemStream();
  ItemStream(const ItemStream&) = delete;
  ItemStream& operator=(const ItemStream&) = delete;

  [[nodiscard]] std::optional<SourceItem> next();
  [[nodiscard]] const StreamCounts& counts() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Reads one item back by its locator (for `residue cat`, reports and purge). Errors: io_error
/// (no such file or member), corrupt, and unsupported for a malformed locator.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_item(std::string_view locator);
/// The same, honouring the scan's options.tsv_column (a TSV line's image column) and
/// options.max_item_bytes (too_large above it); the other fields are ignored.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_item(std::string_view locator,
                                                           const SourceOptions& options);

/// Reads a whole regular file. Errors: io_error (with the OS reason), empty (zero bytes), and
/// too_large when it exceeds max_bytes.
[[nodiscard]] Outcome<std::vector<std::uint8_t>> read_file_bytes(
    const std::string& path, std::uint64_t max_bytes = std::uint64_t{1} << 32);

// ---------------------------------------------------------------------------------------------
// Container rewrites: a verified copy of a container without some of its items (what purge
// puts in place of the original). Only the source layer parses container formats, so this is
// where they are rewritten; replacing the original is the caller's business.

/// What rewrite_container did. Counts are of items as the source layer numbers them: regular
/// file members for tar/zip (directories, links and pax global headers are kept and not
/// counted), lines for TSV (every line, header and blank ones included), records for RecordIO
/// (the header record 0 included).
struct RewriteReport {
  std::uint64_t members_before = 0;  // items in the original
  std::uint64_t kept = 0, removed = 0;
  std::uint64_t bytes_before = 0, bytes_after = 0;  // sizes of the original and of out_path
  std::vector<std::string> removed_locators;        // found and removed (sorted, distinct)
  std::vector<std::string> missing_locators;        // asked for but not in the container (sorted)
};

/// Writes to `out_path` (which must not exist; created with O_EXCL, with the original's
/// permission bits) a copy of the container at `path` without the items whose locators are in
/// `remove` (spelled from `path` exactly as ItemStream builds them: `path!/member`,
/// `path!/line/N`, `path!/record/N`), then reads `out_path` back and verifies it: every kept
/// item present, in the same order, with the same name and bytes as in the original (compared
/// byte for byte, by the rewrite's own parser and by the readers ItemStream uses); no removed
/// item present; item count = before - removed. Lines and records after a removed one are
/// renumbered (line 17 becomes line 16). fsyncs `out_path` (not its directory) before returning.
/// Never modifies `path`; fails if `path` changes while it is read.
///
/// Per kind (`kind` must be what detection finds in `path`):
///   tar   plain or compressed with gzip/bzip2/xz/zstd (recompressed with the same compressor).
///         Every kept entry's blocks are copied verbatim (pax 'x' and GNU 'L'/'K' extended
///         headers, header, data, padding); a removed entry goes with its extended headers. pax
///         global headers, directories and links are kept. Every member with the removed
///         member's name is removed (a tar may repeat a name). Refused (unsupported): sparse
///         files, multi-volume or unknown entry types, data after the end-of-archive marker, a
///         kept hard link to a removed member. Bad header checksums are corrupt.
///   zip   each kept entry's local header, data and data descriptor are copied verbatim; the
///         central directory keeps the kept entries' records with new offsets; the end record
///         (and zip64 records when the original has them) is rewritten; the comment is kept.
///         Refused: encrypted entries, multi-disk archives, data before the first entry or
///         between entries, entries whose order differs from the central directory's.
///   tsv   exactly the removed lines go; every other byte stays (line endings, a missing final
///         newline). Removing a header line (before the first image line) is refused.
///   recordio  removed records go with their whole framing (all parts of a multi-part record);
///         removing a record without an image (InsightFace's header record 0) is refused. When
///         `path`'s .idx exists (train.rec -> train.idx), a new index is written to
///         `out_idx_path` (default: the same convention applied to `out_path`; created with
///         O_EXCL, fsynced): each kept record keeps its key, with its new offset, as
///         "key\toffset\n". The .idx must list every record in file order, else unsupported.
///
/// On any failure (I/O, ENOSPC/EFBIG, corrupt or truncated input, unsupported content,
/// verification mismatch) the outputs are removed and an ItemError says what and where:
/// io_error (with the OS reason), corrupt, truncated, unsupported, internal ("verification
/// failed: ..." naming the member). Never throws. Memory: streams, except that a zip's central
/// directory is held (about 100 bytes per entry); the scanner check holds at most two items of
/// up to 256 MiB (larger items are compared by the raw check only).
[[nodiscard]] Outcome<RewriteReport> rewrite_container(
    const std::string& path, ContainerKind kind, const std::unordered_set<std::string>& remove,
    const std::string& out_path, const std::string& out_idx_path = {});

}  // namespace residue
