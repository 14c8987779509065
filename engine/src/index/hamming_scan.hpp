// hamming_scan.hpp: exhaustive Hamming range scans over 256-bit codes, with runtime dispatch.
//
// Codes are stored 8 to a CodeBlock, word-major (all word 0s, then all word 1s, ...), so that a
// SIMD kernel computes 8 distances with 4 XORs, 4 popcounts and 3 adds and no horizontal sum.
// Three kernels answer identically: `portable` (std::popcount for the baseline x86-64 target,
// i.e. libgcc's software popcount), `popcnt` (same source compiled for the POPCNT instruction) and
// `avx512` (AVX-512 VPOPCNTDQ). best_scan_kernel() picks the fastest the CPU supports, once.
// Internal to the index layer; the tests of this layer compare every supported kernel against a
// naive loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "residue/index.hpp"

namespace residue::detail {

/// 8 codes, word-major: w[k][lane] is word k of code `lane`. Unused lanes of the last block are
/// zero and are masked off by the count of codes, never by their value.
struct alignas(64) CodeBlock {
  std::uint64_t w[4][8];
};
inline constexpr std::size_t kCodesPerBlock = 8;

enum class ScanKernel : std::uint8_t { portable, popcnt, avx512 };
[[nodiscard]] std::string_view to_string(ScanKernel k) noexcept;
[[nodiscard]] bool scan_kernel_supported(ScanKernel k) noexcept;
/// The fastest kernel this CPU runs (checked once per process).
[[nodiscard]] ScanKernel best_scan_kernel() noexcept;

/// Appends every (query, id) with hamming(queries[query], code id) <= max_distance, where code id
/// lives in blocks[id / 8] lane id % 8 and ids < ncodes. `kernel` must be supported.
/// Sizes: blocks.size() == ceil(ncodes / 8).
void scan_blocks(ScanKernel kernel, std::span<const Hash256> queries,
                 std::span<const CodeBlock> blocks, std::size_t ncodes, int max_distance,
                 std::vector<IndexHit>& out);

}  // namespace residue::detail
