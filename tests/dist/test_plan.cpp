// plan_scan: every file scanned exactly once (whole, or as ranges that partition it), shares
// contiguous in walk order and balanced by weight, on random file sets.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "residue/dist.hpp"

namespace {

using namespace residue;
using namespace residue::dist;

constexpr std::uint64_t kMinRange = std::uint64_t{64} << 10;  // the plan's documented minimum

PlanFile file(std::string path, std::uint64_t size, bool splittable) {
  PlanFile f;
  f.walked.file.path = std::move(path);
  f.walked.file.size = size;
  f.weight = size + 4096;
  f.splittable = splittable;
  f.kind = splittable ? ContainerKind::tsv : ContainerKind::none;
  return f;
}

/// Checks the plan's invariants and returns each rank's weight.
std::vector<long double> check_plan(const std::vector<PlanFile>& files,
                                    const std::vector<std::vector<PlannedSlice>>& plan, int ranks) {
  REQUIRE(plan.size() == static_cast<std::size_t>(ranks));
  std::vector<long double> weight(plan.size(), 0);
  std::size_t next_file = 0;    // the next file expected to start
  std::uint64_t next_byte = 0;  // within a cut file: where its next range must begin
  bool in_cut = false;
  for (std::size_t r = 0; r < plan.size(); ++r) {
    for (const PlannedSlice& p : plan[r]) {
      const PlanFile& f = files.at(p.file_index);
      if (p.whole) {
        CHECK_FALSE(in_cut);
        CHECK(p.file_index == next_file);
        ++next_file;
        weight[r] += static_cast<long double>(f.weight);
        continue;
      }
      CHECK(f.splittable);
      if (!in_cut) {
        CHECK(p.file_index == next_file);
        CHECK(p.begin == 0);
        CHECK(p.piece == 0);
        in_cut = true;
      } else {
        CHECK(p.file_index == next_file);
        CHECK(p.begin == next_byte);
      }
      CHECK(p.end > p.begin);
      CHECK(p.end - p.begin >= kMinRange);
      next_byte = p.end;
      weight[r] += static_cast<long double>(p.end - p.begin) * static_cast<long double>(f.weight) /
                   static_cast<long double>(f.walked.file.size);
      if (p.piece + 1 == p.pieces) {
        CHECK(p.end == f.walked.file.size);
        in_cut = false;
        next_byte = 0;
        ++next_file;
      }
    }
  }
  CHECK_FALSE(in_cut);
  CHECK(next_file == files.size());
  return weight;
}

}  // namespace

TEST_CASE("one rank gets every file whole, in walk order") {
  std::vector<PlanFile> files{file("a", 10, false), file("b.tsv", 1u << 30, true),
                              file("c", 5, false)};
  const auto plan = plan_scan(files, 1);
  check_plan(files, plan, 1);
  REQUIRE(plan[0].size() == 3);
  for (const auto& p : plan[0]) CHECK(p.whole);
}

TEST_CASE("a single large TSV is cut into one range per rank of about equal size") {
  const std::uint64_t size = 1000ull << 20;
  std::vector<PlanFile> files{file("big.tsv", size, true)};
  for (int ranks : {2, 3, 4, 7}) {
    const auto plan = plan_scan(files, ranks);
    check_plan(files, plan, ranks);
    for (int r = 0; r < ranks; ++r) {
      REQUIRE(plan[static_cast<std::size_t>(r)].size() == 1);
      const auto& s = plan[static_cast<std::size_t>(r)][0];
      const double share = static_cast<double>(s.end - s.begin) / static_cast<double>(size);
      CHECK(share == doctest::Approx(1.0 / ranks).epsilon(0.001));
    }
  }
}

TEST_CASE("a file that may not be cut goes whole to the rank holding its middle") {
  // Weights 100, 100, 100, 1000 (+4096 each) over 2 ranks: the large one is past the middle.
  std::vector<PlanFile> files{file("a", 100, false), file("b", 100, false), file("c", 100, false),
                              file("d.tar", 1'000'000, false)};
  const auto plan = plan_scan(files, 2);
  check_plan(files, plan, 2);
  CHECK(plan[0].size() == 3);
  REQUIRE(plan[1].size() == 1);
  CHECK(files[plan[1][0].file_index].walked.file.path == "d.tar");
}

TEST_CASE("walk errors are planned as whole slices") {
  std::vector<PlanFile> files{file("a", 100, false), file("missing", 0, false)};
  files[1].walked.error = ItemError{ErrorCode::io_error, "no such file"};
  files[1].weight = 1;
  const auto plan = plan_scan(files, 3);
  check_plan(files, plan, 3);
  bool found = false;
  for (const auto& share : plan)
    for (const auto& p : share)
      if (p.file_index == 1) {
        found = true;
        CHECK(p.whole);
      }
  CHECK(found);
}

TEST_CASE("random mirrors: invariants hold and shares are balanced") {
  std::mt19937_64 rng(20261126);
  for (int trial = 0; trial < 300; ++trial) {
    const int ranks = 1 + static_cast<int>(rng() % 9);
    const std::size_t n = rng() % 200;
    std::vector<PlanFile> files;
    long double total = 0, max_whole = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const bool big = rng() % 20 == 0;
      const std::uint64_t size = big ? (rng() % (4ull << 30)) : (rng() % (2u << 20));
      const bool splittable = big && rng() % 2 == 0;
      files.push_back(file("f" + std::to_string(i), size, splittable));
      total += static_cast<long double>(files.back().weight);
    }
    const auto plan = plan_scan(files, ranks);
    const auto weight = check_plan(files, plan, ranks);
    // The largest file that can only be planned whole bounds the imbalance (its half on either
    // side of a boundary), plus the minimum range a cut may leave.
    for (std::size_t i = 0; i < files.size(); ++i) {
      bool cut = false;
      for (const auto& share : plan)
        for (const auto& p : share) cut = cut || (p.file_index == i && !p.whole);
      if (!cut) max_whole = std::max(max_whole, static_cast<long double>(files[i].weight));
    }
    const long double bound = total / ranks + max_whole + 2 * kMinRange + 1;
    for (const long double w : weight) CHECK(w <= bound);
  }
}
