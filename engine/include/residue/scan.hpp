// residue/scan.hpp: the parallel pipeline read -> decode -> hash, over the items of some roots.
//
// oneTBB parallel_pipeline: a serial source walks the roots, parallel filters read, decode and hash
// each item, and a serial in-order sink hands each ItemRecord to the caller, in the order the
// walk produced them. Memory is bounded by the tokens in flight. No exception leaves a filter:
// every per-item failure becomes a record with an error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

#include "residue/core.hpp"
#include "residue/decode.hpp"
#include "residue/source.hpp"

namespace residue {

struct HashJobOptions {
  int threads = 0;            // 0 = all hardware threads
  int tokens_per_thread = 4;  // items in flight per thread
  bool dihedral = false;      // also compute the 8 dihedral variants
  DecodeOptions decode{};
  WalkOptions walk{};
};

struct HashJobStats {
  std::uint64_t items = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::uint64_t bytes = 0;
  std::map<ErrorCode, std::uint64_t> errors_by_code;
};

/// Hashes one item's bytes (decode + PDQ + pHash + SHA-256). Never throws.
[[nodiscard]] ItemRecord hash_bytes(std::string locator, std::span<const std::uint8_t> bytes,
                                    const DecodeOptions& decode, bool dihedral) noexcept;

/// Runs the pipeline over the roots; `sink` is called serially, in walk order, once per item.
/// Throws residue::Error only for run-level problems (bad options).
HashJobStats hash_roots(std::span<const std::string> roots, const HashJobOptions& options,
                        const std::function<void(const ItemRecord&)>& sink);

}  // namespace residue
