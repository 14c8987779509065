// Border detection and centre crops: rasters built with known borders, so the expected content
// rectangle is known by construction.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "residue/decode.hpp"
#include "residue/hash.hpp"
#include "support/fixtures.hpp"

using namespace residue;

namespace {

/// A textured picture (random noise plus a gradient) of w x h inside borders of the given widths
/// and colour.
LumaImage bordered(int w, int h, int top, int right, int bottom, int left, float colour,
                   unsigned seed = 1) {
  LumaImage img(w + left + right, h + top + bottom);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(0.0f, 255.0f);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const bool inside = x >= left && x < left + w && y >= top && y < top + h;
      img.at(x, y) =
          inside ? 0.5f * noise(rng) + 0.5f * static_cast<float>((x * 3 + y) % 256) : colour;
    }
  return img;
}

}  // namespace

TEST_CASE("a flat border of any colour is found exactly") {
  for (const float colour : {0.0f, 255.0f, 128.0f}) {
    CAPTURE(colour);
    const LumaImage img = bordered(200, 150, 15, 20, 15, 20, colour);
    const auto r = find_border_content(img.view());
    REQUIRE(r.has_value());
    CHECK(*r == PixelRect{20, 15, 200, 150});
  }
}

TEST_CASE("letterboxing (top and bottom only) and a one-sided border are found") {
  const LumaImage letterbox = bordered(300, 160, 40, 0, 40, 0, 0.0f);
  const auto r = find_border_content(letterbox.view());
  REQUIRE(r.has_value());
  CHECK(*r == PixelRect{0, 40, 300, 160});
  const LumaImage one = bordered(300, 200, 0, 0, 0, 30, 255.0f);
  const auto r1 = find_border_content(one.view());
  REQUIRE(r1.has_value());
  CHECK(*r1 == PixelRect{30, 0, 300, 200});
}

TEST_CASE("no border, a border too thin, texture, or a flat image: nothing to trim") {
  CHECK_FALSE(find_border_content(bordered(200, 200, 0, 0, 0, 0, 0.0f).view()).has_value());
  // 1 px is below the 2 px / 2% minimum
  CHECK_FALSE(find_border_content(bordered(200, 200, 1, 1, 1, 1, 0.0f).view()).has_value());
  LumaImage flat(100, 100);
  for (float& p : flat.pixels) p = 90.0f;
  CHECK_FALSE(find_border_content(flat.view()).has_value());
  LumaImage tiny(10, 10);
  CHECK_FALSE(find_border_content(tiny.view()).has_value());
}

TEST_CASE(
    "mild noise in the border (JPEG-like) is tolerated; a sky-like gradient is not a border") {
  LumaImage img = bordered(200, 150, 20, 20, 20, 20, 10.0f);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> jitter(-4.0f, 4.0f);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      if (x < 20 || y < 20 || x >= 220 || y >= 170) img.at(x, y) += jitter(rng);
  const auto r = find_border_content(img.view());
  REQUIRE(r.has_value());
  CHECK(*r == PixelRect{20, 20, 200, 150});

  LumaImage gradient(200, 200);  // every row differs from the next by 1.5 levels per row
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 200; ++x) gradient.at(x, y) = static_cast<float>(y) * 1.2f;
  const auto g = find_border_content(gradient.view());
  // Rows near the top are flat, but each row drifts from the first: the walk stops within
  // kTolerance / 1.2 rows, never eating into the picture.
  if (g) CHECK(g->y <= 17);
}

TEST_CASE("hashes of the trimmed view equal the hashes of the picture alone") {
  LumaImage pic = bordered(180, 120, 0, 0, 0, 0, 0.0f, 9);
  const LumaImage img = [&] {
    LumaImage out(180 + 40, 120 + 24);
    for (float& p : out.pixels) p = 255.0f;
    for (int y = 0; y < 120; ++y)
      for (int x = 0; x < 180; ++x) out.at(x + 20, y + 12) = pic.at(x, y);
    return out;
  }();
  const auto r = find_border_content(img.view());
  REQUIRE(r.has_value());
  const LumaView inner = sub_view(img.view(), *r);
  CHECK(pdq_hash(inner).hash == pdq_hash(pic.view()).hash);
  CHECK(phash(inner) == phash(pic.view()));
}

TEST_CASE("centre crops") {
  CHECK(centre_crop(100, 80, 1.0) == PixelRect{0, 0, 100, 80});
  CHECK(centre_crop(100, 80, 0.8) == PixelRect{10, 8, 80, 64});
  CHECK(centre_crop(101, 81, 0.9) == PixelRect{5, 4, 91, 73});
  CHECK(centre_crop(3, 3, 0.1) == PixelRect{1, 1, 1, 1});
}

TEST_CASE("transform_luma moves pixels as the dihedral names say, on non-square rasters too") {
  LumaImage img(3, 2);  // row-major values 0..5:  0 1 2 / 3 4 5
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<float>(i);
  const auto rows = [](const LumaImage& m) {
    std::vector<float> v(m.pixels.begin(), m.pixels.end());
    return std::tuple(m.width, m.height, v);
  };
  using V = std::vector<float>;
  CHECK(rows(transform_luma(img.view(), Dihedral::original)) ==
        std::tuple(3, 2, V{0, 1, 2, 3, 4, 5}));
  // counter-clockwise: the right column (2, 5) becomes the top row
  CHECK(rows(transform_luma(img.view(), Dihedral::rot90)) == std::tuple(2, 3, V{2, 5, 1, 4, 0, 3}));
  CHECK(rows(transform_luma(img.view(), Dihedral::rot180)) ==
        std::tuple(3, 2, V{5, 4, 3, 2, 1, 0}));
  CHECK(rows(transform_luma(img.view(), Dihedral::rot270)) ==
        std::tuple(2, 3, V{3, 0, 4, 1, 5, 2}));
  CHECK(rows(transform_luma(img.view(), Dihedral::flip_x)) ==
        std::tuple(3, 2, V{3, 4, 5, 0, 1, 2}));
  CHECK(rows(transform_luma(img.view(), Dihedral::flip_y)) ==
        std::tuple(3, 2, V{2, 1, 0, 5, 4, 3}));
  CHECK(rows(transform_luma(img.view(), Dihedral::flip_plus1)) ==
        std::tuple(2, 3, V{0, 3, 1, 4, 2, 5}));
  CHECK(rows(transform_luma(img.view(), Dihedral::flip_minus1)) ==
        std::tuple(2, 3, V{5, 2, 4, 1, 3, 0}));
}

TEST_CASE("at 64x64, hashes of transformed pixels equal PDQ's DCT-domain dihedral hashes") {
  LumaImage img = bordered(64, 64, 0, 0, 0, 0, 0.0f, 21);
  const PdqDihedralResult d = pdq_hash_dihedral(img.view());
  for (int t = 0; t < kDihedralCount; ++t) {
    CAPTURE(t);
    CHECK(
        pdq_hash_dihedral(transform_luma(img.view(), static_cast<Dihedral>(t)).view()).hashes[0] ==
        d.hashes[static_cast<std::size_t>(t)]);
  }
}

TEST_CASE("strip rectangles are the top, bottom, left and right 55%") {
  CHECK(strip_rect(200, 100, Strip::top) == PixelRect{0, 0, 200, 55});
  CHECK(strip_rect(200, 100, Strip::bottom) == PixelRect{0, 45, 200, 55});
  CHECK(strip_rect(200, 100, Strip::left) == PixelRect{0, 0, 110, 100});
  CHECK(strip_rect(200, 100, Strip::right) == PixelRect{90, 0, 110, 100});
}

TEST_CASE("strip hashes agree across resolutions, and a corner logo spares the opposite strips") {
  // A real photograph, decoded at full resolution and as the fast path decodes it.
  const auto bytes = residue::test::read_bytes(residue::test::data_dir() / "samples" /
                                               "gnome-control-center-data__mountain.jpg");
  auto full = decode_luma(bytes, DecodeOptions{.exact = true});
  auto reduced = decode_luma(bytes, DecodeOptions{});  // the fast path scan uses
  REQUIRE(full);
  REQUIRE(reduced);
  REQUIRE(reduced.value().scale_denom > 1);
  const LumaImage& big = full.value().luma;
  const StripHashes a = strip_hashes(big.view());
  const StripHashes b = strip_hashes(reduced.value().luma.view());
  REQUIRE(a.valid);
  REQUIRE(b.valid);
  // Strips of sky are flat: PDQ's quality gate (50) keeps them out of `near`, so only strips
  // with detail must agree closely.
  int detailed = 0;
  for (int k = 0; k < kStripCount; ++k) {
    CAPTURE(k);
    const auto i = static_cast<std::size_t>(k);
    CAPTURE(a.quality[i]);
    if (a.quality[i] < 50) continue;
    ++detailed;
    CHECK(hamming(a.pdq[i], b.pdq[i]) <= 10);
    CHECK(hamming(a.phash[i], b.phash[i]) <= 6);
    CHECK(std::abs(a.quality[i] - b.quality[i]) <= 10);
  }
  CHECK(detailed >= 2);
  // An opaque checkered logo in the bottom-right corner, 38% of each side.
  LumaImage logo = big;
  const int lw = big.width * 38 / 100, lh = big.height * 38 / 100;
  for (int y = big.height - lh - 8; y < big.height - 8; ++y)
    for (int x = big.width - lw - 8; x < big.width - 8; ++x)
      logo.at(x, y) = (x / 16 + y / 16) % 2 != 0 ? 250.0f : 5.0f;
  const StripHashes c = strip_hashes(logo.view());
  CHECK(hamming(pdq_hash(big.view()).hash, pdq_hash(logo.view()).hash) > 31);  // whole: lost
  CHECK(hamming(a.pdq[0], c.pdq[0]) <= 4);  // top strip: untouched
  CHECK(hamming(a.pdq[2], c.pdq[2]) <= 4);  // left strip: untouched
  CHECK(hamming(a.pdq[1], c.pdq[1]) > 31);  // the bottom strip holds the logo
  CHECK_FALSE(strip_hashes(LumaImage(4, 4).view()).valid);
}
