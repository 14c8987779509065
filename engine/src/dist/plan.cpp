// plan_scan: cut the walk's files into one contiguous share per rank, balanced by weight.
#include <algorithm>

#include "residue/dist.hpp"

namespace residue::dist {
namespace {

/// No range shorter than this: a cut that close to another, or to the file's ends, is dropped.
constexpr std::uint64_t kMinRange = std::uint64_t{64} << 10;

}  // namespace

std::vector<std::vector<PlannedSlice>> plan_scan(std::span<const PlanFile> files, int ranks) {
  RESIDUE_THROW_IF_NOT(ranks >= 1, "plan_scan: ranks must be >= 1");
  const auto n = static_cast<std::size_t>(ranks);
  std::vector<std::vector<PlannedSlice>> plan(n);
  long double total = 0;
  for (const auto& f : files)
    total += static_cast<long double>(std::max<std::uint64_t>(f.weight, 1));
  if (total == 0) return plan;
  // Rank r's share is the weight interval [r * total / n, (r + 1) * total / n).
  const long double per_rank = total / static_cast<long double>(n);
  const auto rank_at = [&](long double x) {
    return std::min(n - 1, static_cast<std::size_t>(std::max<long double>(0, x / per_rank)));
  };

  long double at = 0;  // cumulative weight before the current file
  for (std::size_t i = 0; i < files.size(); ++i) {
    const PlanFile& f = files[i];
    const auto w = static_cast<long double>(std::max<std::uint64_t>(f.weight, 1));
    const std::uint64_t size = f.walked.file.size;
    std::vector<std::uint64_t> cuts;  // byte offsets strictly inside the file
    if (f.splittable && !f.walked.error && size >= 2 * kMinRange) {
      for (std::size_t r = rank_at(at) + 1; r < n; ++r) {
        const long double boundary = per_rank * static_cast<long double>(r);
        if (boundary >= at + w) break;
        // Weight maps onto bytes in proportion (weight = size + a per-file constant).
        const auto off =
            static_cast<std::uint64_t>((boundary - at) / w * static_cast<long double>(size));
        const std::uint64_t prev = cuts.empty() ? 0 : cuts.back();
        if (off >= prev + kMinRange && off + kMinRange <= size) cuts.push_back(off);
      }
    }
    if (cuts.empty()) {
      PlannedSlice p;
      p.file_index = i;
      plan[rank_at(at + w / 2)].push_back(std::move(p));
    } else {
      const auto pieces = static_cast<std::uint32_t>(cuts.size() + 1);
      for (std::uint32_t k = 0; k < pieces; ++k) {
        PlannedSlice p;
        p.file_index = i;
        p.whole = false;
        p.begin = k == 0 ? 0 : cuts[k - 1];
        p.end = k + 1 == pieces ? size : cuts[k];
        p.piece = k;
        p.pieces = pieces;
        const long double mid = at + w * (static_cast<long double>(p.begin + p.end) /
                                          (2 * static_cast<long double>(size)));
        plan[rank_at(mid)].push_back(std::move(p));
      }
    }
    at += w;
  }
  return plan;
}

}  // namespace residue::dist
