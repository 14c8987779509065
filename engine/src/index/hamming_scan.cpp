#include "hamming_scan.hpp"

#include <immintrin.h>

#include <algorithm>
#include <bit>

namespace residue::detail {
namespace {

// 128 blocks = 1024 codes = 32 KiB: a tile stays in L1 (32-48 KiB on current x86) while every
// query of the batch passes over it, so the scan is bound by popcount, not by memory.
constexpr std::size_t kTileBlocks = 128;

std::uint8_t valid_lanes_mask(std::size_t block, std::size_t nblocks, std::size_t ncodes) {
  if (block + 1 < nblocks) return 0xFF;
  const std::size_t lanes = ncodes - block * kCodesPerBlock;  // 1..8
  return static_cast<std::uint8_t>((1U << lanes) - 1U);
}

// The scalar body, inlined into a baseline and a POPCNT-targeted caller: the same source gives
// software popcount in one and the instruction in the other.
[[gnu::always_inline]] inline void scan_scalar_body(std::span<const Hash256> queries,
                                                    std::span<const CodeBlock> blocks,
                                                    std::size_t ncodes, int max_distance,
                                                    std::vector<IndexHit>& out) {
  const std::size_t nblocks = blocks.size();
  for (std::size_t t0 = 0; t0 < nblocks; t0 += kTileBlocks) {
    const std::size_t t1 = std::min(nblocks, t0 + kTileBlocks);
    for (std::size_t qi = 0; qi < queries.size(); ++qi) {
      const auto& q = queries[qi].words;
      for (std::size_t b = t0; b < t1; ++b) {
        const CodeBlock& blk = blocks[b];
        int d[8];
        for (std::size_t l = 0; l < 8; ++l) {
          d[l] = std::popcount(q[0] ^ blk.w[0][l]) + std::popcount(q[1] ^ blk.w[1][l]) +
                 std::popcount(q[2] ^ blk.w[2][l]) + std::popcount(q[3] ^ blk.w[3][l]);
        }
        unsigned hit = 0;
        for (unsigned l = 0; l < 8; ++l) hit |= static_cast<unsigned>(d[l] <= max_distance) << l;
        hit &= valid_lanes_mask(b, nblocks, ncodes);
        while (hit != 0) {
          const int l = std::countr_zero(hit);
          hit &= hit - 1;
          out.push_back({static_cast<std::uint32_t>(qi),
                         static_cast<std::uint32_t>(b * kCodesPerBlock + static_cast<unsigned>(l)),
                         d[l]});
        }
      }
    }
  }
}

void scan_portable(std::span<const Hash256> queries, std::span<const CodeBlock> blocks,
                   std::size_t ncodes, int max_distance, std::vector<IndexHit>& out) {
  scan_scalar_body(queries, blocks, ncodes, max_distance, out);
}

__attribute__((target("popcnt"))) void scan_popcnt(std::span<const Hash256> queries,
                                                   std::span<const CodeBlock> blocks,
                                                   std::size_t ncodes, int max_distance,
                                                   std::vector<IndexHit>& out) {
  scan_scalar_body(queries, blocks, ncodes, max_distance, out);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) void scan_avx512(
    std::span<const Hash256> queries, std::span<const CodeBlock> blocks, std::size_t ncodes,
    int max_distance, std::vector<IndexHit>& out) {
  const std::size_t nblocks = blocks.size();
  const __m512i radius = _mm512_set1_epi64(max_distance);
  for (std::size_t t0 = 0; t0 < nblocks; t0 += kTileBlocks) {
    const std::size_t t1 = std::min(nblocks, t0 + kTileBlocks);
    for (std::size_t qi = 0; qi < queries.size(); ++qi) {
      const auto& q = queries[qi].words;
      const __m512i q0 = _mm512_set1_epi64(static_cast<long long>(q[0]));
      const __m512i q1 = _mm512_set1_epi64(static_cast<long long>(q[1]));
      const __m512i q2 = _mm512_set1_epi64(static_cast<long long>(q[2]));
      const __m512i q3 = _mm512_set1_epi64(static_cast<long long>(q[3]));
      for (std::size_t b = t0; b < t1; ++b) {
        const CodeBlock& blk = blocks[b];
        const __m512i d01 = _mm512_add_epi64(
            _mm512_popcnt_epi64(_mm512_xor_si512(q0, _mm512_load_si512(blk.w[0]))),
            _mm512_popcnt_epi64(_mm512_xor_si512(q1, _mm512_load_si512(blk.w[1]))));
        const __m512i d23 = _mm512_add_epi64(
            _mm512_popcnt_epi64(_mm512_xor_si512(q2, _mm512_load_si512(blk.w[2]))),
            _mm512_popcnt_epi64(_mm512_xor_si512(q3, _mm512_load_si512(blk.w[3]))));
        const __m512i d = _mm512_add_epi64(d01, d23);
        unsigned hit = _mm512_cmple_epu64_mask(d, radius);
        if (hit == 0) continue;
        hit &= valid_lanes_mask(b, nblocks, ncodes);
        alignas(64) std::uint64_t dist[8];
        _mm512_store_si512(dist, d);
        while (hit != 0) {
          const int l = std::countr_zero(hit);
          hit &= hit - 1;
          out.push_back({static_cast<std::uint32_t>(qi),
                         static_cast<std::uint32_t>(b * kCodesPerBlock + static_cast<unsigned>(l)),
                         static_cast<std::int32_t>(dist[l])});
        }
      }
    }
  }
}

}  // namespace

std::string_view to_string(ScanKernel k) noexcept {
  switch (k) {
    case ScanKernel::portable:
      return "portable";
    case ScanKernel::popcnt:
      return "popcnt";
    case ScanKernel::avx512:
      return "avx512-vpopcntdq";
  }
  return "?";
}

bool scan_kernel_supported(ScanKernel k) noexcept {
  switch (k) {
    case ScanKernel::portable:
      return true;
    case ScanKernel::popcnt:
      return __builtin_cpu_supports("popcnt") != 0;
    case ScanKernel::avx512:
      return __builtin_cpu_supports("avx512f") != 0 &&
             __builtin_cpu_supports("avx512vpopcntdq") != 0;
  }
  return false;
}

ScanKernel best_scan_kernel() noexcept {
  static const ScanKernel best = [] {
    if (scan_kernel_supported(ScanKernel::avx512)) return ScanKernel::avx512;
    if (scan_kernel_supported(ScanKernel::popcnt)) return ScanKernel::popcnt;
    return ScanKernel::portable;
  }();
  return best;
}

void scan_blocks(ScanKernel kernel, std::span<const Hash256> queries,
                 std::span<const CodeBlock> blocks, std::size_t ncodes, int max_distance,
                 std::vector<IndexHit>& out) {
  if (ncodes == 0 || queries.empty()) return;
  switch (kernel) {
    case ScanKernel::portable:
      scan_portable(queries, blocks, ncodes, max_distance, out);
      return;
    case ScanKernel::popcnt:
      scan_popcnt(queries, blocks, ncodes, max_distance, out);
      return;
    case ScanKernel::avx512:
      scan_avx512(queries, blocks, ncodes, max_distance, out);
      return;
  }
}

}  // namespace residue::detail
