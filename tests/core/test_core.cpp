#include <doctest/doctest.h>

#include "residue/core.hpp"

using namespace residue;

TEST_CASE("pdq hex puts bit 0 in the last digit and bit 255 in the first") {
  Hash256 h;
  h.set_bit(0);
  CHECK(to_hex(h) == std::string(63, '0') + "1");
  Hash256 top;
  top.set_bit(255);
  CHECK(to_hex(top) == "8" + std::string(63, '0'));
  // Reference layout: bit k is bit k%16 of 16-bit word k/16, words printed w[15] first as %04hx.
  Hash256 w1;
  w1.set_bit(16 + 4);  // word 1, bit 4 -> value 0x0010 in the 15th group of 4 digits from the left
  CHECK(to_hex(w1) == std::string(56, '0') + "0010" + "0000");
}

TEST_CASE("hex parse and print round-trip and reject malformed strings") {
  const std::string s = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
  const auto h = parse_hash256(s);
  REQUIRE(h.has_value());
  CHECK(to_hex(*h) == s);
  CHECK(parse_hash256("F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22") == h);
  CHECK_FALSE(parse_hash256(s.substr(1)).has_value());
  CHECK_FALSE(parse_hash256(s + "0").has_value());
  CHECK_FALSE(parse_hash256("g" + s.substr(1)).has_value());
  CHECK_FALSE(parse_hash256("").has_value());
  const auto p = parse_hash64("00ff00ff12345678");
  REQUIRE(p.has_value());
  CHECK(p->bits == 0x00ff00ff12345678ULL);
  CHECK(to_hex(*p) == "00ff00ff12345678");
  CHECK_FALSE(parse_hash64("00ff00ff1234567").has_value());
  const auto sha = parse_sha256("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  REQUIRE(sha.has_value());
  CHECK(sha->bytes[0] == 0xba);
  CHECK(to_hex(*sha) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("hamming distance at 0, 1, 128 and 256 bits") {
  Hash256 zero;
  Hash256 all;
  for (auto& w : all.words) w = ~std::uint64_t{0};
  Hash256 one;
  one.set_bit(77);
  Hash256 half;
  for (int k = 0; k < 256; k += 2) half.set_bit(k);
  CHECK(hamming(zero, zero) == 0);
  CHECK(hamming(zero, one) == 1);
  CHECK(hamming(zero, half) == 128);
  CHECK(hamming(zero, all) == 256);
  CHECK(hamming(Hash64{0}, Hash64{~0ULL}) == 64);
}

TEST_CASE("Outcome carries either a value or an ItemError") {
  Outcome<int> good = 5;
  Outcome<int> bad = ItemError{ErrorCode::corrupt, "bad"};
  CHECK(good.has_value());
  CHECK(good.value() == 5);
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::corrupt);
  CHECK(to_string(ErrorCode::too_large) == "too_large");
}

TEST_CASE("tier lists parse in order and name an unknown tier") {
  using residue::Tier;
  CHECK(residue::parse_tiers("exact,near") == std::vector<Tier>{Tier::exact, Tier::near});
  CHECK(residue::parse_tiers("review") == std::vector<Tier>{Tier::review});
  CHECK(residue::parse_tiers("near,exact,review") ==
        std::vector<Tier>{Tier::near, Tier::exact, Tier::review});
  try {
    (void)residue::parse_tiers("exact,maybe");
    FAIL("an unknown tier must throw");
  } catch (const residue::Error& e) {
    CHECK(std::string(e.what()).find("'maybe'") != std::string::npos);
  }
  CHECK_THROWS_AS((void)residue::parse_tiers(""), residue::Error);
  CHECK_THROWS_AS((void)residue::parse_tiers("exact,"), residue::Error);
}

TEST_CASE("UTC timestamps have the ISO 8601 and compact shapes") {
  const std::string iso = residue::utc_timestamp();
  REQUIRE(iso.size() == 20);  // 2026-11-26T23:31:13Z
  CHECK(iso[4] == '-');
  CHECK(iso[7] == '-');
  CHECK(iso[10] == 'T');
  CHECK(iso[13] == ':');
  CHECK(iso[16] == ':');
  CHECK(iso[19] == 'Z');
  const std::string compact = residue::utc_timestamp(true);
  REQUIRE(compact.size() == 16);  // 20261126T233113Z
  CHECK(compact[8] == 'T');
  CHECK(compact[15] == 'Z');
  CHECK(compact.substr(0, 4) == iso.substr(0, 4));
}
