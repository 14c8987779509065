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
#include <vector>

#include "residue/core.hpp"
#include "residue/decode.hpp"
#include "residue/source.hpp"

namespace residue {

struct ScanOptions {
  int threads = 0;            // 0 = all hardware threads
  int tokens_per_thread = 4;  // items in flight per thread
  bool dihedral = false;      // also compute the 8 dihedral variants
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

/// Hashes one item's bytes (SHA-256, decode, PDQ + pHash). Never throws.
[[nodiscard]] ItemRecord hash_bytes(std::string locator, std::span<const std::uint8_t> bytes,
                                    const DecodeOptions& decode, bool dihedral) noexcept;

/// Whether a name and first bytes look like an image: known magic bytes or an image extension.
[[nodiscard]] bool looks_like_image(std::string_view name,
                                    std::span<const std::uint8_t> head) noexcept;

/// Runs the pipeline over the roots; `sink` is called serially, in stream order, once per item and
/// container marker. Throws residue::Error only for run-level problems (bad options), or rethrows
/// what the sink throws (after stopping the pipeline).
ScanStats scan_roots(std::span<const std::string> roots, const ScanOptions& options,
                     const std::function<void(const ScanResult&)>& sink);

}  // namespace residue
