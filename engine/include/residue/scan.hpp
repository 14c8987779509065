// residue/scan.hpp: the parallel pipeline source -> read + decode + hash -> sink.
//
// oneTBB parallel_pipeline: a serial filter pulls items from an ItemStream (folders walked lazily,
// containers streamed member by member), parallel filters turn each into bytes and hash them, and
// a serial in-order filter hands each result to the caller's sink, in stream order. Memory is
// bounded by the tokens in flight, not by the size of the mirror or of any container. No
// exception leaves a filter: every per-item failure becomes a record with an error. The sink
// (catalog writes, printing) runs on one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "residue/core.hpp"
#include "residue/decode.hpp"
#include "residue/source.hpp"

namespace residue {

struct ScanOptions {
  int threads = 0;            // 0 = all hardware threads
  int tokens_per_thread = 4;  // items in flight per thread
  bool dihedral = false;      // also compute the 8 dihedral variants
  bool strips = false;        // also the strip hashes (catalogs: overlay-robust matching)
  /// Hash for a removal bank (hash_bank_image: views x transforms) instead of hash_bytes.
  bool bank = false;
  /// Also make a report thumbnail of each image (ScanResult::thumbnail); 0 = none.
  int thumbnail_side = 0;
  /// true: only files and members that look like images (image magic bytes, or an image file
  /// extension such as .jpg even if the content is not an image) are items; others are skipped
  /// and counted. false: every plain file is an item (`residue hash FILE` reports non-images);
  /// archive members are items only when they look like images, either way.
  bool only_images = true;
  DecodeOptions decode{};
  SourceOptions source{};  // walk options, TSV column, incremental callbacks (is_item is set here)
  /// Called from the sink's thread about every `progress_interval` (and once at the end).
  std::function<void(const struct ScanStats&)> progress{};
  std::chrono::milliseconds progress_interval{200};
};

/// What the sink receives: an item's record, or a container begin/end marker (record empty).
struct ScanResult {
  SourceEvent event = SourceEvent::item;
  ItemRecord record;
  FileInfo file;  // the plain file, or the container holding the item
  ContainerKind container_kind = ContainerKind::none;
  std::vector<BankHash> bank_hashes;    // with ScanOptions::bank
  std::vector<std::uint8_t> thumbnail;  // JPEG, with ScanOptions::thumbnail_side (may stay empty)
};

struct ScanStats {
  std::uint64_t items = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;  // bytes of the items processed
  std::map<ErrorCode, std::uint64_t> errors_by_code;
  StreamCounts stream{};  // walk counters: skipped files, containers, bytes consumed
  double seconds = 0.0;
};

/// Hashes one item's bytes (SHA-256, decode, PDQ + pHash, the border-trimmed hashes when the
/// image has a flat border, and the strip hashes when `strips`). Never throws.
[[nodiscard]] ItemRecord hash_bytes(std::string locator, std::span<const std::uint8_t> bytes,
                                    const DecodeOptions& decode, bool dihedral,
                                    bool strips = false) noexcept;

/// A withdrawn image hashed for a removal bank: its record (SHA-256, format, size, full-view
/// hashes) and every bank hash: the whole image under the 8 dihedral transforms (hashed from the
/// transformed pixels), and centre crops to 95%, 90%, ..., 70% of each side (untransformed), each
/// with PDQ, quality and pHash: 14 hashes. Hashed at
/// full resolution with the reference PDQ (DecodeOptions::exact is forced): banks are small and
/// their hashes are compared with every copy. Never throws; on failure record.error is set.
struct BankImage {
  ItemRecord record;
  std::vector<BankHash> hashes;
};
[[nodiscard]] BankImage hash_bank_image(std::string locator, std::span<const std::uint8_t> bytes,
                                        DecodeOptions decode) noexcept;

/// Whether a name and first bytes look like an image: known magic bytes or an image extension.
[[nodiscard]] bool looks_like_image(std::string_view name,
                                    std::span<const std::uint8_t> head) noexcept;

/// Runs the pipeline over the roots; `sink` is called serially, in stream order, once per item and
/// container marker. Throws residue::Error only for run-level problems (bad options), or rethrows
/// what the sink throws (after stopping the pipeline).
ScanStats scan_roots(std::span<const std::string> roots, const ScanOptions& options,
                     const std::function<void(const ScanResult&)>& sink);

/// The same over explicit slices (files, or byte ranges of TSV/RecordIO files) instead of a walk:
/// a distributed scan's share of the work (see dist.hpp).
ScanStats scan_slices(std::vector<FileSlice> slices, const ScanOptions& options,
                      const std::function<void(const ScanResult&)>& sink);

/// What an earlier scan committed of one file (read from the catalog by the caller).
struct PriorFile {
  std::string kind;  // "file", "tar", "zip", "tsv", "recordio"
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool complete = false;                         // false: a container a killed run left half done
  std::unordered_set<std::string> done_members;  // its committed locators, when not complete
};

/// The incremental-scan policy, as SourceOptions callbacks: a file whose size, mtime and kind
/// match its PriorFile and that is complete is skipped (unless `rehash`); a half-done container
/// with unchanged bytes is resumed, skipping the members already committed. Every file the
/// stream asks about is recorded in seen() (files and containers that are images or containers;
/// the caller marks the rest of the catalog gone). install() points the callbacks at *this,
/// which must outlive the stream; seen() may be read once the stream is done.
class Incremental {
 public:
  Incremental(std::unordered_map<std::string, PriorFile> priors, bool rehash);
  void install(SourceOptions& source);
  [[nodiscard]] const std::unordered_set<std::string>& seen() const noexcept { return seen_; }
  /// Moves seen() out (once the stream is done).
  [[nodiscard]] std::unordered_set<std::string> take_seen() noexcept { return std::move(seen_); }
  [[nodiscard]] const std::unordered_map<std::string, PriorFile>& priors() const noexcept {
    return priors_;
  }

 private:
  std::unordered_map<std::string, PriorFile> priors_;
  bool rehash_ = false;
  std::unordered_set<std::string> seen_;
  const std::unordered_set<std::string>* resuming_ = nullptr;
};

}  // namespace residue
