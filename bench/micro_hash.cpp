// micro_hash: Google Benchmark micro-benches of the hash layer on synthetic luma rasters.
//
// residue::pdq_hash and pdq_hash_dihedral (reference and separable downscale), phash, and
// hash_image (PDQ + pHash, what the scan pipeline calls; fast and exact) on 64x64, 256x256 and
// 1024x1024 LumaImages; hash_image on reduced rasters as the JPEG fast path produces them
// (640x480 at 1/2, 1920x1080 at 1/8 and 1/4, with HashOptions::source); sha256 on 16 KiB and
// 256 KiB buffers. Items/s = images hashed per second (bytes/s for SHA-256). Before timing, every
// benchmark checks that its result equals a fresh call on the same input (determinism) and
// skips with an error otherwise, so a timing is never reported for a wrong result. Like the tool,
// main() calls residue::tune_allocator_for_batch_work() first.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "residue/hash.hpp"

namespace {

// A deterministic photo-like raster: smooth gradients + texture + LCG noise, values in 0..255.
residue::LumaImage synthetic(int width, int height) {
  residue::LumaImage img(width, height);
  std::uint32_t state = 12345U + static_cast<std::uint32_t>(width);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      state = state * 1664525U + 1013904223U;
      const double u = static_cast<double>(x) / width, v = static_cast<double>(y) / height;
      const double noise = static_cast<double>(state >> 24) / 255.0 - 0.5;
      const double val = 110 + 70 * u - 40 * v +
                         35 * std::sin(9.0 * u + 4.0 * v) * std::cos(13.0 * v) + 24 * noise;
      img.at(x, y) = static_cast<float>(std::fmin(255.0, std::fmax(0.0, val)));
    }
  }
  return img;
}
residue::LumaImage synthetic(int side) {
  return synthetic(side, side);
}

bool same(const residue::PdqResult& a, const residue::PdqResult& b) {
  return a.hash == b.hash && a.quality == b.quality;
}
bool same(const residue::PdqDihedralResult& a, const residue::PdqDihedralResult& b) {
  return a.hashes == b.hashes && a.quality == b.quality;
}
bool same(residue::Hash64 a, residue::Hash64 b) {
  return a == b;
}
bool same(const residue::ImageHashes& a, const residue::ImageHashes& b) {
  return same(a.pdq, b.pdq) && a.phash == b.phash;
}
bool same(const residue::Sha256& a, const residue::Sha256& b) {
  return a == b;
}

// Runs `fn` once as the reference, checks a fresh call agrees, then times it.
template <class Fn>
void run_checked(benchmark::State& state, Fn fn) {
  const auto reference = fn();
  if (!same(reference, fn())) {
    state.SkipWithError("result differs between two calls on the same input (not deterministic)");
    return;
  }
  for (auto _ : state) {
    auto r = fn();
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

// range(1): 0 = PdqDownscale::reference (bit-exact box filters), 1 = PdqDownscale::separable.
residue::PdqDownscale downscale_of(const benchmark::State& state) {
  return state.range(1) == 0 ? residue::PdqDownscale::reference : residue::PdqDownscale::separable;
}

void BM_pdq_hash(benchmark::State& state) {
  const auto img = synthetic(static_cast<int>(state.range(0)));
  const auto ds = downscale_of(state);
  run_checked(state, [&] { return residue::pdq_hash(img.view(), ds); });
}
void BM_pdq_hash_dihedral(benchmark::State& state) {
  const auto img = synthetic(static_cast<int>(state.range(0)));
  const auto ds = downscale_of(state);
  run_checked(state, [&] { return residue::pdq_hash_dihedral(img.view(), ds); });
}
void BM_phash(benchmark::State& state) {
  const auto img = synthetic(static_cast<int>(state.range(0)));
  run_checked(state, [&] { return residue::phash(img.view()); });
}
// range(1): HashOptions::exact (0 = the fast path's separable PDQ downscale, 1 = reference).
void BM_hash_image(benchmark::State& state) {
  const auto img = synthetic(static_cast<int>(state.range(0)));
  const residue::HashOptions opts{.dihedral = false, .exact = state.range(1) != 0};
  run_checked(state, [&] { return residue::hash_image(img.view(), opts); });
}
// The fast path on a reduced JPEG decode: PDQ folds the full-resolution filter onto the raster's
// blocks (HashOptions::source). range(0) = full width, range(1) = full height, range(2) = scale.
void BM_hash_image_reduced(benchmark::State& state) {
  const int w = static_cast<int>(state.range(0)), h = static_cast<int>(state.range(1));
  const int scale = static_cast<int>(state.range(2));
  const auto img = synthetic((w + scale - 1) / scale, (h + scale - 1) / scale);
  const residue::HashOptions opts{
      .dihedral = false, .exact = false, .source = {.width = w, .height = h, .scale = scale}};
  run_checked(state, [&] { return residue::hash_image(img.view(), opts); });
}
void BM_sha256(benchmark::State& state) {
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(state.range(0)));
  std::uint32_t s = 1;
  for (auto& b : bytes) {
    s = s * 1664525U + 1013904223U;
    b = static_cast<std::uint8_t>(s >> 24);
  }
  run_checked(state, [&] { return residue::sha256(bytes); });
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

BENCHMARK(BM_pdq_hash)->ArgNames({"side", "separable"})->ArgsProduct({{64, 256, 1024}, {0, 1}});
BENCHMARK(BM_pdq_hash_dihedral)
    ->ArgNames({"side", "separable"})
    ->ArgsProduct({{64, 256, 1024}, {0, 1}});
BENCHMARK(BM_phash)->ArgName("side")->Arg(64)->Arg(256)->Arg(1024);
BENCHMARK(BM_hash_image)->ArgNames({"side", "exact"})->ArgsProduct({{64, 256, 1024}, {0, 1}});
BENCHMARK(BM_hash_image_reduced)
    ->ArgNames({"full_w", "full_h", "scale"})
    ->Args({640, 480, 2})
    ->Args({1920, 1080, 8})
    ->Args({1920, 1080, 4});
BENCHMARK(BM_sha256)->ArgName("bytes")->Arg(16 << 10)->Arg(256 << 10);

}  // namespace

// BENCHMARK_MAIN, plus the allocator setup the residue tool does (per-image buffers stay in the
// heap instead of being mapped and faulted in afresh for every call).
int main(int argc, char** argv) {
  residue::tune_allocator_for_batch_work();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
