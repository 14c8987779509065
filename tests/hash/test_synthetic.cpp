// Golden tier (a): synthetic rasters whose expected bits are derived by hand in the comments,
// plus the dihedral derivations checked against physically transformed pixels.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "residue/hash.hpp"

using namespace residue;

namespace {

// A raster of n x n pixels whose DCT-II (orthonormal, frequencies first_freq..first_freq+k-1 in
// each direction) is coeff(u, v), plus a constant offset: pixel = offset + sum c(u,v) b_u(y)
// b_v(x).
template <class Coeff>
LumaImage from_dct(int n, int k, int first_freq, double offset, Coeff coeff) {
  LumaImage img(n, n);
  auto basis = [n](int f, int t) {
    const double scale = f == 0 ? std::sqrt(1.0 / n) : std::sqrt(2.0 / n);
    return scale * std::cos(std::numbers::pi / n * (t + 0.5) * f);
  };
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      double v = offset;
      for (int u = 0; u < k; ++u)
        for (int w = 0; w < k; ++w)
          v += coeff(u, w) * basis(u + first_freq, y) * basis(w + first_freq, x);
      img.at(x, y) = static_cast<float>(v);
    }
  }
  return img;
}

// Physical dihedral transforms, with the PDQ reference's names (rot90 is counter-clockwise).
LumaImage transform(const LumaImage& in, Dihedral d) {
  const int n = in.width;  // square only
  LumaImage out(n, n);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      int si = i, sj = j;
      switch (d) {
        case Dihedral::original:
          break;
        case Dihedral::rot90:
          si = j;
          sj = n - 1 - i;
          break;
        case Dihedral::rot180:
          si = n - 1 - i;
          sj = n - 1 - j;
          break;
        case Dihedral::rot270:
          si = n - 1 - j;
          sj = i;
          break;
        case Dihedral::flip_x:
          si = n - 1 - i;
          break;
        case Dihedral::flip_y:
          sj = n - 1 - j;
          break;
        case Dihedral::flip_plus1:
          si = j;
          sj = i;
          break;
        case Dihedral::flip_minus1:
          si = n - 1 - j;
          sj = n - 1 - i;
          break;
      }
      out.at(j, i) = in.pixels[static_cast<std::size_t>(si * n + sj)];
    }
  }
  return out;
}

LumaImage noise(int w, int h, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.0f, 255.0f);
  LumaImage img(w, h);
  for (auto& p : img.pixels) p = std::round(dist(rng));
  return img;
}

}  // namespace

TEST_CASE(
    "pdq of a 64x64 raster built from 256 distinct DCT coefficients sets exactly the upper half") {
  // Coefficient for PDQ bit k = i*16+j (frequencies i+1, j+1) is k - 127.5. The lower median of
  // 256 values is the 128th smallest, k = 127 (-0.5); bits with value > -0.5 are k = 128..255, so
  // the upper 128 bits are set: the hex (most significant first) is 32 'f' then 32 '0'.
  const auto img = from_dct(64, 16, 1, 128.0, [](int i, int j) { return (i * 16 + j) - 127.5; });
  const PdqResult r = pdq_hash(img.view());
  CHECK(to_hex(r.hash) == std::string(32, 'f') + std::string(32, '0'));
  CHECK(r.hash.popcount() == 128);
}

TEST_CASE("pdq of an image smaller than 5 pixels on a side is all zeros with quality 0") {
  for (auto [w, h] : {std::pair{1, 1}, std::pair{4, 4}, std::pair{5, 4}, std::pair{4, 300}}) {
    LumaImage img = noise(w, h, 7);
    const PdqResult r = pdq_hash(img.view());
    CHECK(r.hash == Hash256{});
    CHECK(r.quality == 0);
    const PdqDihedralResult d = pdq_hash_dihedral(img.view());
    for (const auto& variant : d.hashes) CHECK(variant == Hash256{});
  }
}

TEST_CASE("pdq of a constant image has quality 0") {
  LumaImage img(100, 80);
  std::fill(img.pixels.begin(), img.pixels.end(), 77.0f);
  CHECK(pdq_hash(img.view()).quality == 0);
}

TEST_CASE("pdq dihedral hashes of a 64x64 raster equal the hashes of the transformed pixels") {
  // At 64x64 the blur window is 1 and decimation is the identity, so the DCT-domain derivation
  // must agree exactly with hashing physically transformed pixels.
  const auto img = noise(64, 64, 42);
  const PdqDihedralResult d = pdq_hash_dihedral(img.view());
  for (int t = 0; t < kDihedralCount; ++t) {
    CAPTURE(t);
    const auto moved = transform(img, static_cast<Dihedral>(t));
    CHECK(d.hashes[static_cast<std::size_t>(t)] == pdq_hash_dihedral(moved.view()).hashes[0]);
  }
}

TEST_CASE("pdq is deterministic and views with a stride hash like packed rasters") {
  const auto img = noise(300, 200, 3);
  LumaImage padded(320, 200);
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 300; ++x)
      padded.at(x, y) = img.pixels[static_cast<std::size_t>(y * 300 + x)];
  const LumaView strided{padded.pixels.data(), 300, 200, 320};
  CHECK(pdq_hash(img.view()).hash == pdq_hash(strided).hash);
  CHECK(pdq_hash(img.view()).hash == pdq_hash(img.view()).hash);
  CHECK(phash(img.view()) == phash(strided));
}

TEST_CASE("phash of a 32x32 raster built from 64 distinct low DCT coefficients") {
  // Coefficient (u, v) is u*8+v for all but DC, which is 4096 (a mean of 128). Sorted: 1..63,
  // 4096; the lower median (32nd smallest) is 32. Set bits: value > 32, i.e. k = 33..63 and the
  // DC bit 0: 0xfffffffe00000001.
  const auto img =
      from_dct(32, 8, 0, 0.0, [](int u, int v) { return u + v == 0 ? 4096.0 : u * 8 + v; });
  CHECK(to_hex(phash(img.view())) == "fffffffe00000001");
}

TEST_CASE("phash dihedral variants equal the pHash of the transformed pixels") {
  // 32x32 input: the area resize is the identity, so only the DCT sign rules are under test.
  const auto img = noise(32, 32, 5);
  const auto variants = phash_dihedral(img.view());
  for (int t = 0; t < kDihedralCount; ++t) {
    CAPTURE(t);
    CHECK(variants[static_cast<std::size_t>(t)] ==
          phash(transform(img, static_cast<Dihedral>(t)).view()));
  }
}

TEST_CASE("phash of a mirrored larger image equals the flip_y variant (area resize is symmetric)") {
  const auto img = noise(96, 96, 11);
  const auto variants = phash_dihedral(img.view());
  CHECK(hamming(variants[static_cast<std::size_t>(Dihedral::flip_y)],
                phash(transform(img, Dihedral::flip_y).view())) <= 2);
  CHECK(hamming(variants[static_cast<std::size_t>(Dihedral::rot90)],
                phash(transform(img, Dihedral::rot90).view())) <= 2);
}

TEST_CASE("phash of an empty raster is zero and tiny rasters still hash") {
  CHECK(phash(LumaView{}) == Hash64{});
  const auto tiny = noise(3, 2, 1);
  (void)phash(tiny.view());  // must not crash or read out of bounds (ASan build checks)
}

TEST_CASE("hash_image with dihedral agrees with the single-hash entry points") {
  const auto img = noise(200, 150, 9);
  const ImageHashes plain = hash_image(img.view(), {.dihedral = false, .exact = true});
  const ImageHashes all = hash_image(img.view(), {.dihedral = true, .exact = true});
  CHECK(all.has_dihedral);
  CHECK_FALSE(plain.has_dihedral);
  CHECK(plain.pdq.hash == all.pdq.hash);
  CHECK(plain.pdq.quality == all.pdq.quality);
  CHECK(plain.phash == all.phash);
  CHECK(all.pdq_dihedral[0] == all.pdq.hash);
}
