// mpi_scale: `match --mpi` scaling on synthetic hashes (no images, no catalog file).
//
// Usage: mpirun -n R mpi_scale [--items 10000000] [--bank 10000] [--threads 0] [--seed 1]
// Every rank generates only its own contiguous share of a catalog of --items items (whole hash +
// 4 strip hashes each, uniform random codes; 1% are copies of a bank code with 0..31 bits flipped,
// which must all be found), rank 0 a bank of --bank entries x 18 hashes; then
// dist::match_share broadcasts the bank, matches every share and gathers on rank 0. Prints, on
// rank 0: ranks, items, bank, seconds of the distributed match (generation excluded), items/s,
// matches, recall of the planted copies, and the bytes each rank moved (received + sent).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "residue/dist.hpp"

namespace {

using namespace residue;

std::uint64_t splitmix(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
Hash256 code(std::uint64_t& s) {
  Hash256 h;
  for (auto& w : h.words) w = splitmix(s);
  return h;
}
constexpr int kHashesPerEntry = 18;

Hash256 bank_code(std::uint64_t seed, std::uint64_t code_no) {
  std::uint64_t s = seed * 0x100000001b3ull + code_no * 7919 + 1;
  return code(s);
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t items = 10'000'000, bank_entries = 10'000, seed = 1;
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const auto v = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--items")
      items = v;
    else if (k == "--bank")
      bank_entries = v;
    else if (k == "--threads")
      threads = static_cast<int>(v);
    else if (k == "--seed")
      seed = v;
    else {
      std::fprintf(stderr, "mpi_scale: unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (!dist::available()) {
    std::fprintf(stderr, "mpi_scale: this residue was built without MPI\n");
    return 2;
  }
  const dist::Session s;
  const std::uint64_t ncodes = bank_entries * kHashesPerEntry;
  BankHashes bank;
  if (s.rank() == 0) {
    bank.hashes.resize(ncodes);
    for (std::uint64_t c = 0; c < ncodes; ++c) {
      BankHash& h = bank.hashes[c];
      h.entry_id = static_cast<std::int64_t>(c / kHashesPerEntry + 1);
      h.has_pdq = h.has_phash = true;
      h.quality = 90;
      h.pdq = bank_code(seed, c);
      h.phash = Hash64{c};
    }
  }
  const dist::Share share = dist::share_of(items, s.rank(), s.size());
  std::vector<CatalogHash> mine(share.end - share.begin);
  std::uint64_t planted = 0;
  for (std::uint64_t i = share.begin; i < share.end; ++i) {
    std::uint64_t st = seed ^ (i * 0x9e3779b97f4a7c15ull);
    CatalogHash& c = mine[i - share.begin];
    c.item_id = static_cast<std::int64_t>(i + 1);
    c.quality = 90;
    std::memcpy(c.sha256.bytes.data(), &i, sizeof i);
    c.sha256.bytes[31] = 1;
    if (splitmix(st) % 100 == 0 && ncodes > 0) {
      const std::uint64_t cn = splitmix(st) % ncodes;
      c.pdq = bank_code(seed, cn);
      const int k = static_cast<int>(splitmix(st) % 32);
      for (int b = 0; b < k; ++b)
        c.pdq.words[static_cast<std::size_t>(b & 3)] ^= 1ull << (b * 7 % 64);
      c.phash = Hash64{cn};
      ++planted;
    } else {
      c.pdq = code(st);
      c.phash = Hash64{splitmix(st)};
    }
    c.has_strips = true;
    for (std::size_t k = 0; k < kStripViewCount; ++k) {
      c.strip_pdq[k] = code(st);
      c.strip_phash[k] = Hash64{splitmix(st)};
      c.strip_quality[k] = 90;
    }
  }
  MatchOptions o;
  o.threads = threads;
  std::uint64_t moved = 0;
  const auto t0 = std::chrono::steady_clock::now();
  const MatchSet set = dist::match_share(s, mine, bank, BankHashes{}, o, &moved);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::uint64_t facts[2] = {planted, moved};
  const auto all = dist::gather(
      s, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(facts), sizeof facts));
  if (s.rank() != 0) return 0;
  std::uint64_t planted_all = 0;
  std::string per_rank;
  for (const auto& b : all) {
    std::uint64_t f[2];
    std::memcpy(f, b.data(), sizeof f);
    planted_all += f[0];
    per_rank += (per_rank.empty() ? "" : " ") + std::to_string(f[1]);
  }
  std::uint64_t found = 0;
  for (const Match& m : set.matches) found += m.tier == Tier::near ? 1 : 0;
  std::printf(
      "ranks %d, threads/rank %d, items %llu, bank %llu entries (%llu hashes), match %.2f s, "
      "%.0f items/s, index %s, matches %zu (near %llu), planted %llu, bytes moved per rank [%s]\n",
      s.size(), s.threads(threads), static_cast<unsigned long long>(items),
      static_cast<unsigned long long>(bank_entries), static_cast<unsigned long long>(ncodes), secs,
      static_cast<double>(items) / secs, std::string(to_string(set.stats.index)).c_str(),
      set.matches.size(), static_cast<unsigned long long>(found),
      static_cast<unsigned long long>(planted_all), per_rank.c_str());
  return 0;
}
