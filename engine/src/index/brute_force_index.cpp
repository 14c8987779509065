// The reference oracle: every query against every code, with the fastest popcount kernel the CPU
// has. Codes are kept in word-major blocks of 8 (see hamming_scan.hpp).
#include <algorithm>
#include <vector>

#include "index_kinds.hpp"

namespace residue::detail {
namespace {

class BruteForceIndex final : public HashIndex {
 public:
  BruteForceIndex(int max_radius, ScanKernel kernel) : max_radius_(max_radius), kernel_(kernel) {}

  void add(std::span<const Hash256> codes) override {
    RESIDUE_THROW_IF_NOT(size_ + codes.size() <= std::size_t{UINT32_MAX},
                         "index: more than 2^32 - 1 codes");
    const std::size_t blocks = (size_ + codes.size() + kCodesPerBlock - 1) / kCodesPerBlock;
    if (blocks > blocks_.capacity())
      blocks_.reserve(std::max(blocks, blocks_.capacity() + blocks_.capacity() / 2));
    for (const Hash256& c : codes) {
      const std::size_t lane = size_ % kCodesPerBlock;
      if (lane == 0) blocks_.push_back(CodeBlock{});
      CodeBlock& blk = blocks_.back();
      for (std::size_t k = 0; k < 4; ++k) blk.w[k][lane] = c.words[k];
      ++size_;
    }
  }
  [[nodiscard]] std::size_t size() const noexcept override { return size_; }
  [[nodiscard]] IndexKind kind() const noexcept override { return IndexKind::brute_force; }
  void range_search(std::span<const Hash256> queries, int max_distance,
                    std::vector<IndexHit>& out) const override {
    RESIDUE_THROW_IF_NOT(max_distance >= 0 && max_distance <= max_radius_,
                         "index: max_distance outside 0..max_radius");
    scan_blocks(kernel_, queries, blocks_, size_, max_distance, out);
  }
  [[nodiscard]] std::size_t memory_bytes() const noexcept override {
    return blocks_.capacity() * sizeof(CodeBlock);
  }

 private:
  int max_radius_;
  ScanKernel kernel_;
  std::size_t size_ = 0;
  std::vector<CodeBlock> blocks_;
};

}  // namespace

std::unique_ptr<HashIndex> make_brute_force_index(int max_radius, ScanKernel kernel) {
  RESIDUE_THROW_IF_NOT(scan_kernel_supported(kernel), "index: scan kernel not supported here");
  return std::make_unique<BruteForceIndex>(max_radius, kernel);
}

std::unique_ptr<HashIndex> make_brute_force_index(int max_radius) {
  return make_brute_force_index(max_radius, best_scan_kernel());
}

std::string_view brute_force_kernel_name() noexcept {
  return to_string(best_scan_kernel());
}

}  // namespace residue::detail
