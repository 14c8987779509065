// Every index kind against an oracle written here (a bit-by-bit loop, independent of the
// library's popcount kernels), on random codes with planted copies at the radius boundary,
// clustered codes, and empty inputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "hamming_scan.hpp"
#include "index_kinds.hpp"
#include "residue/index.hpp"

using namespace residue;

namespace {

int naive_distance(const Hash256& a, const Hash256& b) {
  int d = 0;
  for (int k = 0; k < 256; ++k) d += a.bit(k) != b.bit(k) ? 1 : 0;
  return d;
}

std::vector<IndexHit> oracle(std::span<const Hash256> codes, std::span<const Hash256> queries,
                             int max_distance) {
  std::vector<IndexHit> hits;
  for (std::size_t q = 0; q < queries.size(); ++q)
    for (std::size_t i = 0; i < codes.size(); ++i)
      if (const int d = naive_distance(queries[q], codes[i]); d <= max_distance)
        hits.push_back({static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(i), d});
  return hits;
}

Hash256 random_code(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

// `code` with exactly k distinct bits flipped.
Hash256 flip_bits(Hash256 code, int k, std::mt19937_64& rng) {
  std::vector<int> bits(256);
  for (int i = 0; i < 256; ++i) bits[static_cast<std::size_t>(i)] = i;
  std::shuffle(bits.begin(), bits.end(), rng);
  for (int i = 0; i < k; ++i) {
    const int b = bits[static_cast<std::size_t>(i)];
    code.words[static_cast<std::size_t>(b >> 6)] ^= std::uint64_t{1} << (b & 63);
  }
  return code;
}

struct DataSet {
  std::vector<Hash256> codes;
  std::vector<Hash256> queries;
};

// Random codes, and queries that are copies of codes at distances exactly 0, r and r+1 (plus a few
// random queries with no neighbour).
DataSet planted(std::size_t n, int r, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  DataSet s;
  for (std::size_t i = 0; i < n; ++i) s.codes.push_back(random_code(rng));
  for (std::size_t i = 0; i < n / 8; ++i) {
    const Hash256& base = s.codes[rng() % n];
    s.queries.push_back(flip_bits(base, 0, rng));
    s.queries.push_back(flip_bits(base, r, rng));
    s.queries.push_back(flip_bits(base, std::min(r + 1, 256), rng));
    s.queries.push_back(random_code(rng));
  }
  return s;
}

// Many codes within a few bits of a few centres: dense buckets, many hits per query, many pairs
// found from several substrings at once.
DataSet clustered(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Hash256> centres;
  for (int i = 0; i < 6; ++i) centres.push_back(random_code(rng));
  DataSet s;
  for (std::size_t i = 0; i < n; ++i)
    s.codes.push_back(
        flip_bits(centres[rng() % centres.size()], static_cast<int>(rng() % 12), rng));
  for (std::size_t i = 0; i < n / 10; ++i)
    s.queries.push_back(
        flip_bits(centres[rng() % centres.size()], static_cast<int>(rng() % 40), rng));
  return s;
}

std::vector<IndexHit> sorted(std::vector<IndexHit> v) {
  std::sort(v.begin(), v.end());
  return v;
}

const IndexKind kAllKinds[] = {IndexKind::automatic,   IndexKind::brute_force,
                               IndexKind::multi_index, IndexKind::faiss_flat,
                               IndexKind::faiss_hash,  IndexKind::faiss_multihash};

int max_radius_of(IndexKind k) {
  switch (k) {
    case IndexKind::faiss_hash:
      return detail::kMaxFaissHashRadius;
    case IndexKind::multi_index:
    case IndexKind::faiss_multihash:
      return detail::kMaxMultiIndexRadius;
    default:
      return 256;
  }
}

// Oracle answers for one data set at max_radius and at a smaller max_distance (an index answers
// any distance up to the radius it was made for).
struct Expected {
  int max_radius;
  std::vector<std::pair<int, std::vector<IndexHit>>> by_distance;
};
Expected expected_for(const DataSet& s, int max_radius) {
  Expected e{max_radius, {}};
  for (int r : {max_radius, std::max(0, max_radius - 3)})
    e.by_distance.emplace_back(r, oracle(s.codes, s.queries, r));
  return e;
}

// Builds `kind` for the radius, adding the codes in two calls (ids must continue), and checks
// range_search and range_search_batched (several thread counts, odd batch size) against `e`.
void check_kind(IndexKind kind, const DataSet& s, const Expected& e, std::size_t expected_size) {
  CAPTURE(to_string(kind));
  CAPTURE(e.max_radius);
  auto index = make_index(kind, expected_size, e.max_radius);
  const std::size_t third = s.codes.size() / 3;
  index->add(std::span(s.codes).first(third));
  index->add(std::span(s.codes).subspan(third));
  REQUIRE(index->size() == s.codes.size());
  CHECK(index->memory_bytes() >= s.codes.size() * sizeof(Hash256));

  for (const auto& [r, expect] : e.by_distance) {
    CAPTURE(r);
    std::vector<IndexHit> once;
    index->range_search(s.queries, r, once);
    CHECK(sorted(once) == expect);
    for (int threads : {1, 2, 3}) {
      CAPTURE(threads);
      CHECK(range_search_batched(*index, s.queries, r, threads, 37) == expect);
    }
    CHECK(range_search_batched(*index, s.queries, r, 0) == expect);
  }
}

}  // namespace

TEST_CASE("index kinds have stable names that parse back") {
  for (IndexKind k : kAllKinds) CHECK(parse_index_kind(to_string(k)) == k);
  CHECK(to_string(IndexKind::multi_index) == "mih");
  CHECK_FALSE(parse_index_kind("faiss").has_value());
  CHECK_FALSE(parse_index_kind("").has_value());
}

TEST_CASE("the test's oracle sees the planted copies: distance 0 and r in, r+1 out") {
  const DataSet s = planted(400, 31, 7);
  const auto hits = oracle(s.codes, s.queries, 31);
  std::size_t at_zero = 0, at_r = 0, beyond = 0;
  for (const auto& h : hits) {
    at_zero += h.distance == 0 ? 1U : 0U;
    at_r += h.distance == 31 ? 1U : 0U;
    beyond += h.distance > 31 ? 1U : 0U;
  }
  CHECK(at_zero >= s.queries.size() / 4);
  CHECK(at_r >= s.queries.size() / 4);
  CHECK(beyond == 0);
}

TEST_CASE(
    "max_distance is inclusive: a pair at exactly max_distance is found, one bit more is not") {
  std::mt19937_64 rng(11);
  const Hash256 base = random_code(rng);
  const std::vector<Hash256> codes{base};
  for (IndexKind kind : kAllKinds) {
    const int r = std::min(max_radius_of(kind), 31);
    CAPTURE(to_string(kind));
    auto index = make_index(kind, 1, r);
    index->add(codes);
    const std::vector<Hash256> queries{flip_bits(base, r, rng), flip_bits(base, r + 1, rng)};
    std::vector<IndexHit> hits;
    index->range_search(queries, r, hits);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0] == IndexHit{0, 0, r});
  }
}

TEST_CASE("every kind returns exactly the oracle's pairs on random codes with planted copies") {
  for (int r : {0, 5, 8, 16, 31, 47, 63}) {
    const DataSet s = planted(1000, r, 100 + static_cast<std::uint64_t>(r));
    const Expected e = expected_for(s, r);
    for (IndexKind kind : kAllKinds)
      if (r <= max_radius_of(kind)) check_kind(kind, s, e, s.codes.size());
  }
}

TEST_CASE("every kind returns exactly the oracle's pairs on clustered codes") {
  const DataSet s = clustered(1500, 5);
  for (int r : {4, 8, 31}) {
    const Expected e = expected_for(s, r);
    for (IndexKind kind : kAllKinds)
      if (r <= max_radius_of(kind)) check_kind(kind, s, e, s.codes.size());
  }
}

TEST_CASE("automatic is exact on both sides of its size threshold") {
  const DataSet s = planted(1000, 31, 21);
  const Expected e = expected_for(s, 31);
  check_kind(IndexKind::automatic, s, e, 10);           // small: scans
  check_kind(IndexKind::automatic, s, e, 100'000'000);  // large: multi-index hashing
}

TEST_CASE("multi-index hashing is exact for any substring count") {
  const DataSet random_set = planted(800, 31, 3);
  const DataSet dense = clustered(800, 4);
  for (const DataSet* s : {&random_set, &dense}) {
    for (int r : {0, 15, 16, 31, 47}) {
      const auto expect = oracle(s->codes, s->queries, r);
      // 11 substrings are 24 bits wide: 11 tables of 2^24 starts, so only once.
      for (int m : {11, 13, 16, 20, 32, 64}) {
        if (m == 11 && (r != 31 || s != &random_set)) continue;
        CAPTURE(m);
        CAPTURE(r);
        auto index = detail::make_multi_index(r, m);
        index->add(s->codes);
        std::vector<IndexHit> hits;
        index->range_search(s->queries, r, hits);
        CHECK(sorted(hits) == expect);
      }
    }
  }
}

TEST_CASE("each supported scan kernel matches the oracle, including a partial last block") {
  for (std::size_t n : {1U, 7U, 8U, 9U, 1031U}) {
    const DataSet s = planted(n < 8 ? 8 : n, 20, n);
    const std::span<const Hash256> codes = std::span(s.codes).first(n);
    const auto expect = oracle(codes, s.queries, 20);
    for (auto kernel :
         {detail::ScanKernel::portable, detail::ScanKernel::popcnt, detail::ScanKernel::avx512}) {
      if (!detail::scan_kernel_supported(kernel)) continue;
      CAPTURE(detail::to_string(kernel));
      CAPTURE(n);
      auto index = detail::make_brute_force_index(20, kernel);
      index->add(codes);
      std::vector<IndexHit> hits;
      index->range_search(s.queries, 20, hits);
      CHECK(sorted(hits) == expect);
    }
  }
}

TEST_CASE("empty index and empty queries give no hits") {
  const DataSet s = planted(64, 8, 9);
  for (IndexKind kind : kAllKinds) {
    CAPTURE(to_string(kind));
    auto empty = make_index(kind, 0, 8);
    CHECK(empty->size() == 0);
    CHECK(range_search_batched(*empty, s.queries, 8, 2).empty());
    empty->add({});
    CHECK(empty->size() == 0);
    std::vector<IndexHit> hits;
    empty->range_search(s.queries, 8, hits);
    CHECK(hits.empty());

    auto full = make_index(kind, s.codes.size(), 8);
    full->add(s.codes);
    CHECK(range_search_batched(*full, {}, 8, 2).empty());
    full->range_search({}, 8, hits);
    CHECK(hits.empty());
  }
}

TEST_CASE("make_index refuses radii a kind cannot answer exactly") {
  CHECK_THROWS_AS((void)make_index(IndexKind::brute_force, 10, -1), Error);
  CHECK_THROWS_AS((void)make_index(IndexKind::brute_force, 10, 257), Error);
  CHECK_NOTHROW((void)make_index(IndexKind::brute_force, 10, 256));
  CHECK_NOTHROW((void)make_index(IndexKind::faiss_flat, 10, 256));
  CHECK_NOTHROW((void)make_index(IndexKind::automatic, 100'000'000, 256));
  CHECK_THROWS_AS((void)make_index(IndexKind::multi_index, 10, detail::kMaxMultiIndexRadius + 1),
                  Error);
  CHECK_THROWS_AS(
      (void)make_index(IndexKind::faiss_multihash, 10, detail::kMaxMultiIndexRadius + 1), Error);
  CHECK_THROWS_AS((void)make_index(IndexKind::faiss_hash, 10, detail::kMaxFaissHashRadius + 1),
                  Error);
}

TEST_CASE("range_search refuses a max_distance above the radius the index was made for") {
  for (IndexKind kind : kAllKinds) {
    CAPTURE(to_string(kind));
    auto index = make_index(kind, 10, 8);
    const std::vector<Hash256> one(1);
    index->add(one);
    std::vector<IndexHit> hits;
    CHECK_THROWS_AS(index->range_search(one, 9, hits), Error);
    CHECK_THROWS_AS(index->range_search(one, -1, hits), Error);
    CHECK_THROWS_AS((void)range_search_batched(*index, one, 9, 2), Error);
  }
}
