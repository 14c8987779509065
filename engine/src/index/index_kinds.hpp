// index_kinds.hpp: the concrete HashIndex implementations and their limits (internal).
//
// make_index (index.cpp) validates the radius and picks among these; the tests of this layer build
// them directly to force a kernel or a substring count. Every factory returns an empty index.
#pragma once

#include <memory>

#include "hamming_scan.hpp"
#include "residue/index.hpp"

namespace residue::detail {

/// Largest Hamming distance on 256 bits.
inline constexpr int kMaxHammingDistance = 256;
/// multi_index and faiss_multihash: beyond this the bit-flip enumeration does more work than a
/// scan of any set worth indexing (radius 63 on 16 substrings of 16 bits is 697 probes per table).
inline constexpr int kMaxMultiIndexRadius = 63;
/// faiss_hash: IndexBinaryHash keys on the first b bits only, so exactness needs nflip >=
/// min(radius, b), i.e. sum_{k<=radius} C(b, k) probes per query; beyond radius 8 that is more
/// work than scanning (see faiss_indexes.cpp).
inline constexpr int kMaxFaissHashRadius = 8;

/// Exhaustive scan with `kernel` (default: the fastest this CPU supports).
[[nodiscard]] std::unique_ptr<HashIndex> make_brute_force_index(int max_radius, ScanKernel kernel);
[[nodiscard]] std::unique_ptr<HashIndex> make_brute_force_index(int max_radius);

/// Multi-index hashing with `substrings` tables (0 = chosen from the size at each add()).
[[nodiscard]] std::unique_ptr<HashIndex> make_multi_index(int max_radius, int substrings = 0);

[[nodiscard]] std::unique_ptr<HashIndex> make_faiss_flat_index(int max_radius);
[[nodiscard]] std::unique_ptr<HashIndex> make_faiss_hash_index(int max_radius,
                                                               std::size_t expected_size);
[[nodiscard]] std::unique_ptr<HashIndex> make_faiss_multihash_index(int max_radius);

/// The kernel the brute-force index uses on this CPU (for benchmark reports).
[[nodiscard]] std::string_view brute_force_kernel_name() noexcept;

}  // namespace residue::detail
