// The match layer: the tier policy on hand-built hashes whose distances are known by
// construction (bits flipped on purpose), the allow bank, the best evidence per pair, dedup
// pairs and clusters, and identical results through every index kind.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "residue/match.hpp"

namespace {

using namespace residue;

Hash256 random256(std::mt19937_64& rng) {
  return Hash256{{rng(), rng(), rng(), rng()}};
}

/// `h` with exactly `k` distinct bits flipped (chosen at random).
Hash256 flip256(Hash256 h, int k, std::mt19937_64& rng) {
  std::vector<int> bits(256);
  for (int i = 0; i < 256; ++i) bits[static_cast<std::size_t>(i)] = i;
  std::shuffle(bits.begin(), bits.end(), rng);
  for (int i = 0; i < k; ++i) {
    const int b = bits[static_cast<std::size_t>(i)];
    h.words[static_cast<std::size_t>(b / 64)] ^= std::uint64_t{1} << (b % 64);
  }
  return h;
}
Hash64 flip64(Hash64 h, int k) {
  for (int i = 0; i < k; ++i) h.bits ^= std::uint64_t{1} << (i * 7 % 64);
  return h;
}

Sha256 sha_of(std::uint8_t tag) {
  Sha256 s;
  s.bytes.fill(tag);
  return s;
}

BankHash bank_hash(std::int64_t entry, Hash256 pdq, Hash64 phash, int quality = 100,
                   BankView view = BankView::full, Dihedral d = Dihedral::original) {
  return BankHash{.entry_id = entry,
                  .view = view,
                  .dihedral = d,
                  .has_pdq = true,
                  .has_phash = true,
                  .quality = static_cast<std::int16_t>(quality),
                  .pdq = pdq,
                  .phash = phash};
}

CatalogHash item(std::int64_t id, Hash256 pdq, Hash64 phash, int quality = 100,
                 std::uint8_t sha_tag = 0) {
  CatalogHash c;
  c.item_id = id;
  c.pdq = pdq;
  c.phash = phash;
  c.quality = static_cast<std::int16_t>(quality);
  // Distinct bytes per item unless a tag says two items are the same file.
  c.sha256 = sha_of(sha_tag);
  if (sha_tag == 0)
    for (std::size_t i = 0; i < 8; ++i)
      c.sha256.bytes[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(id) >> (8 * i));
  return c;
}

const Match* find(const MatchSet& s, std::int64_t item, std::int64_t entry) {
  for (const Match& m : s.matches)
    if (m.item_id == item && m.entry_id == entry) return &m;
  return nullptr;
}

}  // namespace

TEST_CASE("tiers follow the policy at and beyond each threshold") {
  std::mt19937_64 rng(7);
  const Hash256 base = random256(rng);
  const Hash64 ph{0x0123456789abcdefULL};
  BankHashes bank;
  bank.hashes.push_back(bank_hash(1, base, ph));
  bank.digests.push_back({1, sha_of(0xAA)});
  const MatchOptions o;  // the defaults

  std::vector<CatalogHash> items{
      item(10, base, ph, 100, 0xAA),  // same bytes: exact
      item(11, flip256(base, o.max_distance, rng),
           flip64(ph, o.phash_distance)),  // both at the limit: near
      item(12, flip256(base, o.max_distance, rng),
           flip64(ph, o.phash_distance + 1)),                           // pHash one over: review
      item(13, flip256(base, o.max_distance + 1, rng), flip64(ph, 0)),  // PDQ one over: nothing
      item(14, flip256(base, 3, rng), flip64(ph, 2), o.min_quality),    // quality at the gate: near
      item(15, flip256(base, 3, rng), flip64(ph, 2), o.min_quality - 1),  // below: review
  };
  const MatchSet s = match_catalog(items, bank, {}, o);
  REQUIRE(find(s, 10, 1) != nullptr);
  CHECK(find(s, 10, 1)->tier == Tier::exact);
  CHECK(find(s, 10, 1)->pdq_distance == 0);
  REQUIRE(find(s, 11, 1) != nullptr);
  CHECK(find(s, 11, 1)->tier == Tier::near);
  CHECK(find(s, 11, 1)->pdq_distance == o.max_distance);
  CHECK(find(s, 11, 1)->phash_distance == o.phash_distance);
  REQUIRE(find(s, 12, 1) != nullptr);
  CHECK(find(s, 12, 1)->tier == Tier::review);
  CHECK(find(s, 13, 1) == nullptr);
  REQUIRE(find(s, 14, 1) != nullptr);
  CHECK(find(s, 14, 1)->tier == Tier::near);
  REQUIRE(find(s, 15, 1) != nullptr);
  CHECK(find(s, 15, 1)->tier == Tier::review);
  CHECK(s.matches.size() == 5);

  SUBCASE("a low-quality bank hash also fails the gate") {
    BankHashes weak;
    weak.hashes.push_back(bank_hash(2, base, ph, o.min_quality - 1));
    const MatchSet w = match_catalog(std::vector{item(20, base, ph)}, weak, {}, o);
    REQUIRE(w.matches.size() == 1);
    CHECK(w.matches[0].tier == Tier::review);
  }
}

TEST_CASE("each pair keeps its best evidence: view, transform and trimmed hashes") {
  std::mt19937_64 rng(11);
  const Hash256 full = random256(rng), crop = random256(rng), rot = random256(rng);
  const Hash64 ph_full{1}, ph_crop{0xff00ff00ff00ff00ULL}, ph_rot{0x5555};
  BankHashes bank;
  bank.hashes.push_back(bank_hash(1, full, ph_full));
  bank.hashes.push_back(bank_hash(1, crop, ph_crop, 90, BankView::crop80));
  bank.hashes.push_back(bank_hash(1, rot, ph_rot, 100, BankView::full, Dihedral::rot90));

  CatalogHash cropped = item(1, flip256(crop, 5, rng), ph_crop);
  CatalogHash rotated = item(2, flip256(rot, 9, rng), flip64(ph_rot, 3));
  // A copy with a border: its own hashes are far, the trimmed ones match the full view.
  CatalogHash bordered = item(3, random256(rng), Hash64{~0ULL});
  bordered.has_trim = true;
  bordered.pdq_trim = flip256(full, 12, rng);
  bordered.phash_trim = flip64(ph_full, 4);
  bordered.quality_trim = 77;
  const MatchSet s = match_catalog(std::vector{cropped, rotated, bordered}, bank, {}, {});
  REQUIRE(s.matches.size() == 3);
  const Match* c = find(s, 1, 1);
  REQUIRE(c != nullptr);
  CHECK(c->view == BankView::crop80);
  CHECK(c->pdq_distance == 5);
  CHECK(c->tier == Tier::near);
  const Match* r = find(s, 2, 1);
  REQUIRE(r != nullptr);
  CHECK(r->dihedral == Dihedral::rot90);
  CHECK(r->phash_distance == 3);
  const Match* b = find(s, 3, 1);
  REQUIRE(b != nullptr);
  CHECK(b->trimmed);
  CHECK(b->pdq_distance == 12);
  CHECK(b->quality == 77);
  CHECK(b->tier == Tier::near);
}

TEST_CASE("imported hashes: PDQ-only near within hash_only_distance; pHash-only review only") {
  std::mt19937_64 rng(3);
  const Hash256 a = random256(rng);
  BankHashes bank;
  BankHash pdq_only;
  pdq_only.entry_id = 1;
  pdq_only.has_pdq = true;
  pdq_only.quality = -1;
  pdq_only.pdq = a;
  BankHash phash_only;
  phash_only.entry_id = 2;
  phash_only.has_phash = true;
  phash_only.quality = -1;
  phash_only.phash = Hash64{0xabcdef};
  bank.hashes = {pdq_only, phash_only};
  MatchOptions o;
  std::vector<CatalogHash> items{item(1, flip256(a, o.hash_only_distance, rng), Hash64{0}),
                                 item(2, flip256(a, o.hash_only_distance + 1, rng), Hash64{0}),
                                 item(3, random256(rng), flip64(Hash64{0xabcdef}, 5))};
  const MatchSet s = match_catalog(items, bank, {}, o);
  REQUIRE(find(s, 1, 1) != nullptr);
  CHECK(find(s, 1, 1)->tier == Tier::near);
  CHECK(find(s, 1, 1)->phash_distance == -1);
  REQUIRE(find(s, 2, 1) != nullptr);
  CHECK(find(s, 2, 1)->tier == Tier::review);
  REQUIRE(find(s, 3, 2) != nullptr);
  CHECK(find(s, 3, 2)->tier == Tier::review);
  CHECK(find(s, 3, 2)->pdq_distance == -1);
  CHECK(find(s, 3, 2)->phash_distance == 5);
}

TEST_CASE("the allow bank suppresses items it matches in exact or near, not in review") {
  std::mt19937_64 rng(5);
  const Hash256 w = random256(rng);
  const Hash64 ph{0x77};
  BankHashes bank, allow;
  bank.hashes.push_back(bank_hash(1, w, ph));
  allow.hashes.push_back(bank_hash(9, flip256(w, 4, rng), ph));          // near the first copy
  allow.hashes.push_back(bank_hash(9, random256(rng), Hash64{0x1234}));  // unrelated
  const CatalogHash legit = item(1, flip256(w, 2, rng), ph);
  const MatchSet s = match_catalog(std::vector{legit}, bank, allow, {});
  CHECK(s.matches.empty());
  CHECK(s.stats.allowed == 1);

  BankHashes weak_allow;  // matches only in review (pHash far): no suppression
  weak_allow.hashes.push_back(bank_hash(9, flip256(w, 4, rng), Hash64{~0x77ULL}));
  const MatchSet s2 = match_catalog(std::vector{legit}, bank, weak_allow, {});
  CHECK(s2.matches.size() == 1);
  CHECK(s2.stats.allowed == 0);
}

TEST_CASE("options out of range are refused") {
  const auto bad = [](MatchOptions o) {
    CHECK_THROWS_AS(match_catalog(std::span<const CatalogHash>{}, BankHashes{}, BankHashes{}, o),
                    Error);
  };
  bad(MatchOptions{.max_distance = -1});
  bad(MatchOptions{.max_distance = 129});
  bad(MatchOptions{.min_quality = 101});
  bad(MatchOptions{.phash_distance = 33});
  bad(MatchOptions{.max_distance = 10, .hash_only_distance = 11});
}

TEST_CASE("every index kind gives the same matches and dedup pairs as brute force") {
  std::mt19937_64 rng(42);
  BankHashes bank;
  std::vector<CatalogHash> items;
  for (std::int64_t e = 0; e < 300; ++e) {
    const Hash256 h = random256(rng);
    const Hash64 ph{rng()};
    for (int v = 0; v < 3; ++v) bank.hashes.push_back(bank_hash(e, flip256(h, v * 40, rng), ph));
    // planted copies at distances spread over the threshold
    items.push_back(item(e * 2, flip256(h, static_cast<int>(rng() % 40), rng),
                         flip64(ph, static_cast<int>(rng() % 20))));
  }
  for (std::int64_t i = 0; i < 3000; ++i)
    items.push_back(item(100000 + i, random256(rng), Hash64{rng()}));
  // clustered items for dedup
  const Hash256 centre = random256(rng);
  for (int i = 0; i < 20; ++i)
    items.push_back(
        item(200000 + i, flip256(centre, static_cast<int>(rng() % 20), rng), Hash64{5}));

  const auto key = [](const MatchSet& s) {
    std::vector<std::tuple<std::int64_t, std::int64_t, int, int, int>> k;
    for (const Match& m : s.matches)
      k.emplace_back(m.item_id, m.entry_id, static_cast<int>(m.tier), m.pdq_distance,
                     m.phash_distance);
    return k;
  };
  MatchOptions ref{.threads = 1, .index = IndexKind::brute_force};
  const MatchSet expected = match_catalog(items, bank, {}, ref);
  const DedupSet expected_pairs = self_join(items, ref);
  CHECK(expected.matches.size() >= 200);  // about 32/40 of the 300 planted copies
  CHECK(expected_pairs.pairs.size() >= 100);
  for (const IndexKind k : {IndexKind::multi_index, IndexKind::faiss_flat,
                            IndexKind::faiss_multihash, IndexKind::automatic}) {
    CAPTURE(to_string(k));
    MatchOptions o{.threads = 2, .index = k, .batch = 97};
    CHECK(key(match_catalog(items, bank, {}, o)) == key(expected));  // catalog side indexed
    // Fewer items than bank codes: the bank side is indexed.
    const std::span<const CatalogHash> few(items.data(), 150);
    CHECK(key(match_catalog(few, bank, {}, o)) == key(match_catalog(few, bank, {}, ref)));
    const DedupSet pairs = self_join(items, o);
    REQUIRE(pairs.pairs.size() == expected_pairs.pairs.size());
    for (std::size_t i = 0; i < pairs.pairs.size(); ++i) {
      CHECK(pairs.pairs[i].a == expected_pairs.pairs[i].a);
      CHECK(pairs.pairs[i].b == expected_pairs.pairs[i].b);
      CHECK(pairs.pairs[i].pdq_distance == expected_pairs.pairs[i].pdq_distance);
    }
  }
}

TEST_CASE("dedup pairs and clusters") {
  std::mt19937_64 rng(9);
  const Hash256 a = random256(rng), b = random256(rng);
  const Hash64 pa{0x1111}, pb{0x2222000000000000ULL};
  std::vector<CatalogHash> items{
      item(1, a, pa, 100, 1),
      item(2, a, pa, 100, 1),                        // same bytes as 1: exact
      item(3, flip256(a, 20, rng), flip64(pa, 3)),   // near 1
      item(4, b, pb),                                // alone
      item(5, flip256(b, 25, rng), flip64(pb, 30)),  // review with 4 (pHash far)
  };
  const DedupSet d = self_join(items, {});
  const auto pair_tier = [&](std::uint32_t x, std::uint32_t y) -> int {
    for (const PairMatch& p : d.pairs)
      if (p.a == x && p.b == y) return static_cast<int>(p.tier);
    return -1;
  };
  CHECK(pair_tier(0, 1) == static_cast<int>(Tier::exact));
  CHECK(pair_tier(0, 2) == static_cast<int>(Tier::near));
  CHECK(pair_tier(3, 4) == static_cast<int>(Tier::review));

  const std::vector<Tier> strong{Tier::exact, Tier::near};
  const auto cs = clusters(d.pairs, items.size(), strong);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].members == std::vector<std::uint32_t>{0, 1, 2});
  CHECK(cs[0].tier == Tier::near);

  const std::vector<Tier> exact_only{Tier::exact};
  const auto ce = clusters(d.pairs, items.size(), exact_only);
  REQUIRE(ce.size() == 1);
  CHECK(ce[0].members == std::vector<std::uint32_t>{0, 1});
  CHECK(ce[0].tier == Tier::exact);

  const std::vector<Tier> all{Tier::exact, Tier::near, Tier::review};
  const auto ca = clusters(d.pairs, items.size(), all);
  REQUIRE(ca.size() == 2);
  CHECK(ca[1].members == std::vector<std::uint32_t>{3, 4});
  CHECK(ca[1].tier == Tier::review);
}

TEST_CASE("a strip of a copy matches only the same strip of a withdrawn image") {
  std::mt19937_64 rng(17);
  const Hash256 top = random256(rng), other = random256(rng);
  const Hash64 ph{0x0f0f};
  BankHashes bank;
  bank.hashes.push_back(bank_hash(1, random256(rng), Hash64{1}));  // the whole image
  bank.hashes.push_back(bank_hash(1, top, ph, 90, BankView::strip_top));
  bank.hashes.push_back(bank_hash(1, other, ph, 90, BankView::strip_bottom));

  CatalogHash good = item(1, random256(rng), Hash64{~0ULL});  // whole hash far: an overlay
  good.has_strips = true;
  good.strip_pdq = {flip256(top, 6, rng), random256(rng), random256(rng), random256(rng)};
  good.strip_phash = {flip64(ph, 2), Hash64{0}, Hash64{0}, Hash64{0}};
  good.strip_quality = {80, 80, 80, 80};
  CatalogHash swapped = item(2, random256(rng), Hash64{~0ULL});  // top strip equals the bank's
  swapped.has_strips = true;                                     // *bottom* strip: no match
  swapped.strip_pdq = {other, top, random256(rng), random256(rng)};
  swapped.strip_phash = {ph, ph, ph, ph};
  swapped.strip_quality = {80, 80, 80, 80};
  const MatchSet s = match_catalog(std::vector{good, swapped}, bank, {}, {});
  REQUIRE(s.matches.size() == 1);
  CHECK(s.matches[0].item_id == 1);
  CHECK(s.matches[0].view == BankView::strip_top);
  CHECK(s.matches[0].pdq_distance == 6);
  CHECK(s.matches[0].tier == Tier::near);
  CHECK(s.matches[0].quality == 80);
}
