// The scan results that travel from the ranks to rank 0 survive the trip field for field; a
// truncated message is an error, never a short read.
#include <doctest/doctest.h>

#include <random>

#include "residue/dist.hpp"

namespace {

using namespace residue;

ScanResult random_result(std::mt19937_64& rng, int i) {
  ScanResult r;
  r.event = static_cast<SourceEvent>(i % 3);
  r.container_kind = static_cast<ContainerKind>(i % 5);
  r.file.path = "mirror/shard-" + std::to_string(i) + ".tar";
  r.file.size = rng();
  r.file.mtime_ns = static_cast<std::int64_t>(rng() >> 1);
  ItemRecord& x = r.record;
  x.locator = r.file.path + "!/" + std::string(static_cast<std::size_t>(i % 7), 'x') + ".jpg";
  x.size = rng();
  x.format = static_cast<ImageFormat>(i % 8);
  x.width = static_cast<int>(rng() % 10000);
  x.height = static_cast<int>(rng() % 10000);
  x.scale_denom = 1 << (i % 4);
  for (auto& b : x.sha256.bytes) b = static_cast<std::uint8_t>(rng());
  x.has_sha256 = i % 2 == 0;
  x.pdq = Hash256{{rng(), rng(), rng(), rng()}};
  x.quality = static_cast<int>(rng() % 101);
  x.phash = Hash64{rng()};
  x.has_dihedral = i % 3 == 0;
  if (x.has_dihedral)
    for (std::size_t k = 0; k < x.pdq_dihedral.size(); ++k) {
      x.pdq_dihedral[k] = Hash256{{rng(), rng(), rng(), rng()}};
      x.phash_dihedral[k] = Hash64{rng()};
    }
  x.has_trim = i % 4 == 1;
  x.pdq_trim = Hash256{{rng(), rng(), rng(), rng()}};
  x.quality_trim = static_cast<int>(rng() % 101);
  x.phash_trim = Hash64{rng()};
  x.has_strips = i % 2 == 1;
  if (x.has_strips)
    for (std::size_t k = 0; k < x.strip_pdq.size(); ++k) {
      x.strip_pdq[k] = Hash256{{rng(), rng(), rng(), rng()}};
      x.strip_quality[k] = static_cast<int>(rng() % 101);
      x.strip_phash[k] = Hash64{rng()};
    }
  if (i % 5 == 2)
    x.error = ItemError{ErrorCode::truncated, "cut short at byte " + std::to_string(i)};
  if (i % 6 == 0) r.thumbnail.assign(static_cast<std::size_t>(i), static_cast<std::uint8_t>(i));
  return r;
}

void check_same(const ScanResult& a, const ScanResult& b) {
  CHECK(a.event == b.event);
  CHECK(a.container_kind == b.container_kind);
  CHECK(a.file.path == b.file.path);
  CHECK(a.file.size == b.file.size);
  CHECK(a.file.mtime_ns == b.file.mtime_ns);
  const ItemRecord &x = a.record, &y = b.record;
  CHECK(x.locator == y.locator);
  CHECK(x.size == y.size);
  CHECK(x.format == y.format);
  CHECK(x.width == y.width);
  CHECK(x.height == y.height);
  CHECK(x.scale_denom == y.scale_denom);
  CHECK(x.sha256.bytes == y.sha256.bytes);
  CHECK(x.has_sha256 == y.has_sha256);
  CHECK(x.pdq.words == y.pdq.words);
  CHECK(x.quality == y.quality);
  CHECK(x.phash.bits == y.phash.bits);
  CHECK(x.has_dihedral == y.has_dihedral);
  for (std::size_t k = 0; k < x.pdq_dihedral.size(); ++k) {
    CHECK(x.pdq_dihedral[k].words == y.pdq_dihedral[k].words);
    CHECK(x.phash_dihedral[k].bits == y.phash_dihedral[k].bits);
  }
  CHECK(x.has_trim == y.has_trim);
  CHECK(x.pdq_trim.words == y.pdq_trim.words);
  CHECK(x.quality_trim == y.quality_trim);
  CHECK(x.phash_trim.bits == y.phash_trim.bits);
  CHECK(x.has_strips == y.has_strips);
  for (std::size_t k = 0; k < x.strip_pdq.size(); ++k) {
    CHECK(x.strip_pdq[k].words == y.strip_pdq[k].words);
    CHECK(x.strip_quality[k] == y.strip_quality[k]);
    CHECK(x.strip_phash[k].bits == y.strip_phash[k].bits);
  }
  REQUIRE(x.error.has_value() == y.error.has_value());
  if (x.error) {
    CHECK(x.error->code == y.error->code);
    CHECK(x.error->message == y.error->message);
  }
  CHECK(a.thumbnail == b.thumbnail);
}

}  // namespace

TEST_CASE("scan results round-trip through a batch") {
  std::mt19937_64 rng(7);
  std::vector<ScanResult> in;
  std::vector<std::uint8_t> batch;
  for (int i = 0; i < 60; ++i) {
    in.push_back(random_result(rng, i));
    dist::append_bytes(batch, in.back());
  }
  const auto out = dist::scan_results_from_bytes(batch);
  REQUIRE(out.size() == in.size());
  for (std::size_t i = 0; i < in.size(); ++i) check_same(in[i], out[i]);
  CHECK(dist::scan_results_from_bytes({}).empty());
}

TEST_CASE("a truncated batch is an error") {
  std::mt19937_64 rng(8);
  std::vector<std::uint8_t> batch;
  dist::append_bytes(batch, random_result(rng, 3));
  for (std::size_t cut = 1; cut < batch.size(); cut += 7) {
    const auto part = std::span<const std::uint8_t>(batch).first(cut);
    CHECK_THROWS_AS((void)dist::scan_results_from_bytes(part), Error);
  }
}
