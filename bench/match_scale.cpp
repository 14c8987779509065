// match_scale: matching at mirror scale on synthetic hashes (no images).
//
// Usage: match_scale [--bank 100000] [--queries 10000000] [--dedup 1000000] [--threads 0]
//          [--reps 3] [--sample 10000] [--faiss-sample 2000] [--seed 1] [--skip-match] [--out DIR]
// A bank of --bank entries x 18 hashes (8 dihedral variants of the full view, 6 centre crops and 4
// strips, as `residue bank add` stores them) and a catalog of --queries items, each with its whole
// hash and 4 strip hashes (as `residue scan` stores them). Every code is uniform random except the
// planted copies: 1% of the catalog is a (non-strip) bank code with k bits flipped, k uniform in
// 0..31 (must be found), 0.1% has k in 32..40 (must not be found); their pHash is the bank hash's
// pHash with 0..12 bits flipped (within match's default threshold). Real PDQ hashes cluster far
// more than uniform codes (similar images share bits, buckets are uneven), so these are best-case
// figures for the sub-linear indexes; the brute-force figures do not depend on the data.
//
// Phases (each printed and written to raw.csv):
//  1. index layer, bank indexed, catalog queries (match_catalog indexes the larger side, up to 32M
//  codes): multi-index
//     hashing on every query (--reps times, median), then our brute force on --sample queries and
//     FAISS IndexBinaryFlat / IndexBinaryMultiHash on --faiss-sample queries, extrapolated to the
//     full count; the sample's hits must equal the fast index's hits for the same queries.
//  2. index layer, catalog indexed, bank codes as queries: the other orientation, same pairs.
//  3. match_catalog on the whole catalog, and self_join on --dedup hashes (1% planted duplicates),
//     with recall of the planted copies.
// Figures: build and search seconds, queries/s, index MB, peak RSS (getrusage, process-wide and
// monotonic: it is the high-water mark so far), recall of planted copies, hits beyond the radius
// (must be 0), speed-ups. --out DIR writes SETUP.md, raw.csv, summary.md.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"
#include "residue/index.hpp"
#include "residue/match.hpp"

namespace {

namespace fs = std::filesystem;
using namespace residue;
using namespace residue::bench;
using Clock = std::chrono::steady_clock;

constexpr int kRadius = 31;
constexpr int kHashesPerEntry = 18;  // 8 transforms + 6 crops + 4 strips
constexpr int kWholeHashesPerEntry = 14;
constexpr BankView kCropViews[] = {BankView::crop95, BankView::crop90, BankView::crop85,
                                   BankView::crop80, BankView::crop75, BankView::crop70};

struct Options {
  std::size_t bank = 100000;
  std::size_t queries = 10000000;
  std::size_t dedup = 1000000;
  int threads = 0;
  int reps = 3;
  std::size_t sample = 10000;
  std::size_t faiss_sample = 2000;
  std::uint64_t seed = 1;
  bool skip_match = false;
  std::string out;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--bank")
      o.bank = std::stoull(value());
    else if (a == "--queries")
      o.queries = std::stoull(value());
    else if (a == "--dedup")
      o.dedup = std::stoull(value());
    else if (a == "--threads")
      o.threads = std::stoi(value());
    else if (a == "--reps")
      o.reps = std::max(1, std::stoi(value()));
    else if (a == "--sample")
      o.sample = std::stoull(value());
    else if (a == "--faiss-sample")
      o.faiss_sample = std::stoull(value());
    else if (a == "--seed")
      o.seed = std::stoull(value());
    else if (a == "--skip-match")
      o.skip_match = true;
    else if (a == "--out")
      o.out = value();
    else
      throw std::invalid_argument("unknown option " + a);
  }
  return o;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}
std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

Hash256 random_code(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}
template <class H>
H flip(H h, int k, int bits, std::mt19937_64& rng) {
  std::vector<int> chosen;
  while (static_cast<int>(chosen.size()) < k) {
    const int b = static_cast<int>(rng() % static_cast<std::uint64_t>(bits));
    if (std::find(chosen.begin(), chosen.end(), b) != chosen.end()) continue;
    chosen.push_back(b);
    if constexpr (std::is_same_v<H, Hash256>)
      h.words[static_cast<std::size_t>(b >> 6)] ^= std::uint64_t{1} << (b & 63);
    else
      h.bits ^= std::uint64_t{1} << b;
  }
  return h;
}

struct Planted {
  std::uint32_t query;  // catalog position
  std::uint32_t code;   // bank code position
  int k;                // bits flipped
};

struct Data {
  BankHashes bank;
  std::vector<Hash256> bank_codes;
  std::vector<CatalogHash> catalog;
  std::vector<Hash256> catalog_codes;
  std::vector<Planted> planted;  // k <= 31 and 32..40
};

Data make_data(const Options& o) {
  std::mt19937_64 rng(o.seed);
  Data d;
  const std::size_t ncodes = o.bank * kHashesPerEntry;
  d.bank.hashes.resize(ncodes);
  d.bank_codes.resize(ncodes);
  for (std::size_t e = 0; e < o.bank; ++e) {
    const Hash64 entry_phash{rng()};
    Sha256 sha;
    sha.bytes[0] = 0xBA;
    for (std::size_t b = 0; b < 8; ++b) sha.bytes[1 + b] = static_cast<std::uint8_t>(e >> (8 * b));
    d.bank.digests.push_back({static_cast<std::int64_t>(e + 1), sha});
    for (int v = 0; v < kHashesPerEntry; ++v) {
      BankHash& h = d.bank.hashes[e * kHashesPerEntry + static_cast<std::size_t>(v)];
      h.entry_id = static_cast<std::int64_t>(e + 1);
      h.view = v < kDihedralCount ? BankView::full
               : v < kWholeHashesPerEntry
                   ? kCropViews[v - kDihedralCount]
                   : static_cast<BankView>(static_cast<int>(BankView::strip_top) + v -
                                           kWholeHashesPerEntry);
      h.dihedral = v < kDihedralCount ? static_cast<Dihedral>(v) : Dihedral::original;
      h.has_pdq = h.has_phash = true;
      h.quality = 90;
      h.pdq = random_code(rng);
      h.phash = Hash64{v == 0 ? entry_phash.bits : rng()};
      d.bank_codes[e * kHashesPerEntry + static_cast<std::size_t>(v)] = h.pdq;
    }
  }
  d.catalog.resize(o.queries);
  d.catalog_codes.resize(o.queries);
  for (std::size_t i = 0; i < o.queries; ++i) {
    CatalogHash& c = d.catalog[i];
    c.item_id = static_cast<std::int64_t>(i + 1);
    c.quality = 90;
    for (std::size_t b = 0; b < 8; ++b) c.sha256.bytes[b] = static_cast<std::uint8_t>(i >> (8 * b));
    c.sha256.bytes[31] = 1;  // never a bank digest (those end in 0)
    const std::uint64_t roll = rng() % 1000;
    if (roll < 11 && ncodes > 0) {  // 1% near (k <= 31), 0.1% far (32..40)
      // A hash of the whole image or a crop: what a copy's own hash can match.
      const auto code = static_cast<std::uint32_t>((rng() % o.bank) * kHashesPerEntry +
                                                   rng() % kWholeHashesPerEntry);
      const int k = roll < 10 ? static_cast<int>(rng() % 32) : 32 + static_cast<int>(rng() % 9);
      c.pdq = flip(d.bank_codes[code], k, 256, rng);
      c.phash = flip(d.bank.hashes[code].phash, static_cast<int>(rng() % 13), 64, rng);
      d.planted.push_back({static_cast<std::uint32_t>(i), code, k});
    } else {
      c.pdq = random_code(rng);
      c.phash = Hash64{rng()};
    }
    c.has_strips = true;
    for (std::size_t k = 0; k < kStripViewCount; ++k) {
      c.strip_pdq[k] = random_code(rng);
      c.strip_phash[k] = Hash64{rng()};
      c.strip_quality[k] = 90;
    }
    d.catalog_codes[i] = c.pdq;
  }
  return d;
}

bool has_pair(const std::vector<IndexHit>& hits, std::uint32_t q, std::uint32_t id) {
  const auto it = std::lower_bound(hits.begin(), hits.end(), IndexHit{q, id, 0},
                                   [](const IndexHit& a, const IndexHit& b) {
                                     return a.query != b.query ? a.query < b.query : a.id < b.id;
                                   });
  return it != hits.end() && it->query == q && it->id == id;
}

struct Row {
  std::string phase, kind, orientation;
  std::size_t indexed = 0, queries = 0;
  int rep = 0;
  double build_s = 0, search_s = 0, qps = 0, index_mb = 0, rss_mb = 0;
  std::size_t hits = 0;
  std::string recall, beyond, equal;
  bool extrapolated = false;
};

struct Timed {
  double build_s = 0, search_s = 0, index_mb = 0;
  std::vector<IndexHit> hits;
};

Timed run_index(IndexKind kind, std::span<const Hash256> indexed, std::span<const Hash256> queries,
                int threads) {
  Timed t;
  auto t0 = Clock::now();
  auto index = make_index(kind, indexed.size(), kRadius);
  index->add(indexed);
  t.build_s = seconds_since(t0);
  t.index_mb = static_cast<double>(index->memory_bytes()) / 1e6;
  t0 = Clock::now();
  t.hits = range_search_batched(*index, queries, kRadius, threads);
  t.search_s = seconds_since(t0);
  return t;
}

std::size_t beyond_radius(const std::vector<IndexHit>& hits) {
  return static_cast<std::size_t>(std::count_if(
      hits.begin(), hits.end(), [](const IndexHit& h) { return h.distance > kRadius; }));
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  const RunContext ctx = run_context();
  const int threads = o.threads > 0 ? o.threads : static_cast<int>(ctx.nproc);
  std::ostringstream setup;
  setup << format_context(ctx) << "- command: `" << command_line(argc, argv) << "`\n"
        << "- threads: " << threads << ", radius " << kRadius << " (inclusive)\n"
        << "- data: uniform random 256-bit codes with planted copies; real PDQ hashes cluster "
           "more than random codes, so the sub-linear figures are best cases\n";
  std::cout << setup.str() << std::flush;

  auto t0 = Clock::now();
  const Data d = make_data(o);
  const std::size_t near_planted = static_cast<std::size_t>(std::count_if(
      d.planted.begin(), d.planted.end(), [](const Planted& p) { return p.k <= kRadius; }));
  std::cout << "generated " << d.bank_codes.size() << " bank codes (" << o.bank << " entries x "
            << kHashesPerEntry << "), " << d.catalog.size() << " catalog hashes (" << near_planted
            << " planted within " << kRadius << ", " << d.planted.size() - near_planted
            << " at 32..40) in " << fmt(seconds_since(t0), 1) << " s; catalog "
            << fmt(static_cast<double>(d.catalog.size() * sizeof(CatalogHash)) / 1e6, 0)
            << " MB as CatalogHash; peak RSS " << fmt(peak_rss_mb(), 0) << " MB\n\n";

  std::vector<Row> rows;
  std::ostringstream log;
  auto print = [&](const Row& r) {
    std::ostringstream line;
    line << r.phase << " " << r.kind << " [" << r.orientation << "] rep " << r.rep << ": build "
         << fmt(r.build_s, 2) << " s, search " << fmt(r.search_s, 2) << " s"
         << (r.extrapolated ? " (extrapolated)" : "") << ", " << fmt(r.qps, 0)
         << " queries/s, index " << fmt(r.index_mb, 0) << " MB, peak RSS " << fmt(r.rss_mb, 0)
         << " MB, hits " << r.hits << (r.recall.empty() ? "" : ", recall " + r.recall)
         << (r.beyond.empty() ? "" : ", beyond radius " + r.beyond)
         << (r.equal.empty() ? "" : ", equal to mih " + r.equal) << "\n";
    std::cout << line.str() << std::flush;
    log << line.str();
    rows.push_back(r);
  };

  // Phase 1: bank indexed, catalog codes as queries.
  const std::string orient_a = "bank indexed, catalog queries";
  std::vector<IndexHit> mih_hits;
  std::vector<double> mih_search;
  for (int rep = 1; rep <= o.reps; ++rep) {
    Timed t = run_index(IndexKind::multi_index, d.bank_codes, d.catalog_codes, threads);
    std::size_t found = 0, far_found = 0;
    for (const Planted& p : d.planted) {
      const bool hit = has_pair(t.hits, p.query, p.code);
      (p.k <= kRadius ? found : far_found) += hit ? 1 : 0;
    }
    mih_search.push_back(t.search_s);
    print({"index", "mih", orient_a, d.bank_codes.size(), d.catalog_codes.size(), rep, t.build_s,
           t.search_s, static_cast<double>(d.catalog_codes.size()) / t.search_s, t.index_mb,
           peak_rss_mb(), t.hits.size(),
           std::to_string(found) + "/" + std::to_string(near_planted) + " (far found " +
               std::to_string(far_found) + ")",
           std::to_string(beyond_radius(t.hits)), "", false});
    mih_hits = std::move(t.hits);
  }
  const double mih_median = summarize(mih_search).median;
  const double mih_qps = static_cast<double>(d.catalog_codes.size()) / mih_median;

  auto sample_run = [&](IndexKind kind, std::size_t n) {
    n = std::min(n, d.catalog_codes.size());
    const auto queries = std::span(d.catalog_codes).first(n);
    Timed t = run_index(kind, d.bank_codes, queries, threads);
    std::vector<IndexHit> expect;
    for (const IndexHit& h : mih_hits) {
      if (h.query >= n) break;
      expect.push_back(h);
    }
    const bool equal = t.hits == expect;
    const double qps = static_cast<double>(n) / t.search_s;
    Row r{"index",
          std::string(to_string(kind)),
          orient_a,
          d.bank_codes.size(),
          n,
          1,
          t.build_s,
          static_cast<double>(d.catalog_codes.size()) / qps,
          qps,
          t.index_mb,
          peak_rss_mb(),
          t.hits.size(),
          "",
          std::to_string(beyond_radius(t.hits)),
          equal ? "yes (" + std::to_string(n) + " queries)" : "NO",
          true};
    print(r);
    std::ostringstream line;
    line << "  mih is " << fmt(mih_qps / qps, 1) << "x faster than " << to_string(kind)
         << " (median mih search " << fmt(mih_median, 2) << " s vs " << fmt(r.search_s, 0)
         << " s extrapolated to " << d.catalog_codes.size() << " queries)\n";
    std::cout << line.str() << std::flush;
    log << line.str();
    return equal;
  };
  bool all_equal = true;
  all_equal &= sample_run(IndexKind::brute_force, o.sample);
  all_equal &= sample_run(IndexKind::faiss_flat, o.faiss_sample);
  all_equal &= sample_run(IndexKind::faiss_multihash, o.faiss_sample);

  // Phase 2: the catalog indexed, the bank's codes as queries: the same pairs, swapped.
  {
    std::vector<IndexHit> swapped;
    swapped.reserve(mih_hits.size());
    for (const IndexHit& h : mih_hits) swapped.push_back({h.id, h.query, h.distance});
    std::sort(swapped.begin(), swapped.end());
    const std::string orient_b = "catalog indexed, bank queries";
    for (int rep = 1; rep <= o.reps; ++rep) {
      Timed t = run_index(IndexKind::multi_index, d.catalog_codes, d.bank_codes, threads);
      const bool equal = t.hits == swapped;
      all_equal &= equal;
      print({"index", "mih", orient_b, d.catalog_codes.size(), d.bank_codes.size(), rep, t.build_s,
             t.search_s, static_cast<double>(d.bank_codes.size()) / t.search_s, t.index_mb,
             peak_rss_mb(), t.hits.size(), "", std::to_string(beyond_radius(t.hits)),
             equal ? "yes (all pairs)" : "NO", false});
    }
    // Our brute force in this orientation, on a sample of bank queries.
    const std::size_t n = std::min(o.sample / 10, d.bank_codes.size());
    Timed t = run_index(IndexKind::brute_force, d.catalog_codes, std::span(d.bank_codes).first(n),
                        threads);
    std::vector<IndexHit> expect;
    for (const IndexHit& h : swapped) {
      if (h.query >= n) break;
      expect.push_back(h);
    }
    const bool equal = t.hits == expect;
    all_equal &= equal;
    const double qps = static_cast<double>(n) / t.search_s;
    print({"index", "brute", orient_b, d.catalog_codes.size(), n, 1, t.build_s,
           static_cast<double>(d.bank_codes.size()) / qps, qps, t.index_mb, peak_rss_mb(),
           t.hits.size(), "", std::to_string(beyond_radius(t.hits)),
           equal ? "yes (" + std::to_string(n) + " queries)" : "NO", true});
  }
  mih_hits.clear();
  mih_hits.shrink_to_fit();

  // Phase 3: the whole match and dedup.
  if (!o.skip_match) {
    const MatchOptions mo{.threads = threads};
    for (int rep = 1; rep <= std::min(o.reps, 1); ++rep) {
      t0 = Clock::now();
      const MatchSet ms = match_catalog(d.catalog, d.bank, BankHashes{}, mo);
      const double s = seconds_since(t0);
      std::vector<std::pair<std::int64_t, std::int64_t>> got;
      std::size_t beyond = 0;
      for (const Match& m : ms.matches) {
        if (m.tier != Tier::exact) got.emplace_back(m.item_id, m.entry_id);
        beyond += m.pdq_distance > kRadius ? 1 : 0;
      }
      std::sort(got.begin(), got.end());
      std::size_t found = 0, far_found = 0;
      for (const Planted& p : d.planted) {
        const std::pair<std::int64_t, std::int64_t> key{static_cast<std::int64_t>(p.query + 1),
                                                        d.bank.hashes[p.code].entry_id};
        const bool hit = std::binary_search(got.begin(), got.end(), key);
        (p.k <= kRadius ? found : far_found) += hit ? 1 : 0;
      }
      print({"match_catalog", std::string(to_string(ms.stats.index)), "larger side indexed",
             d.bank_codes.size(), d.catalog.size(), rep, ms.stats.index_seconds, s,
             static_cast<double>(d.catalog.size()) / s, 0, peak_rss_mb(), ms.matches.size(),
             std::to_string(found) + "/" + std::to_string(near_planted) + " (far found " +
                 std::to_string(far_found) + ")",
             std::to_string(beyond), "", false});
    }
    // dedup: the first --dedup catalog hashes, 1% of them replaced by copies of earlier ones.
    std::mt19937_64 rng(o.seed + 7);
    std::vector<CatalogHash> items(
        d.catalog.begin(),
        d.catalog.begin() + static_cast<std::ptrdiff_t>(std::min(o.dedup, d.catalog.size())));
    std::vector<std::pair<std::uint32_t, std::uint32_t>> dup;
    for (std::size_t i = 1; i < items.size(); ++i) {
      if (rng() % 100 != 0) continue;
      const auto src = static_cast<std::uint32_t>(rng() % i);
      items[i].pdq = flip(items[src].pdq, static_cast<int>(rng() % 32), 256, rng);
      items[i].phash = flip(items[src].phash, static_cast<int>(rng() % 17), 64, rng);
      dup.emplace_back(src, static_cast<std::uint32_t>(i));
    }
    for (int rep = 1; rep <= o.reps; ++rep) {
      t0 = Clock::now();
      const DedupSet ds = self_join(items, mo);
      const double s = seconds_since(t0);
      std::vector<std::pair<std::uint32_t, std::uint32_t>> got;
      std::size_t beyond = 0;
      for (const PairMatch& p : ds.pairs) {
        got.emplace_back(p.a, p.b);
        beyond += p.pdq_distance > kRadius && p.tier != Tier::exact ? 1 : 0;
      }
      std::sort(got.begin(), got.end());
      std::size_t found = 0;
      for (const auto& pr : dup) found += std::binary_search(got.begin(), got.end(), pr) ? 1 : 0;
      print({"self_join", "auto", "catalog indexed", items.size(), items.size(), rep, 0, s,
             static_cast<double>(items.size()) / s, 0, peak_rss_mb(), ds.pairs.size(),
             std::to_string(found) + "/" + std::to_string(dup.size()), std::to_string(beyond), "",
             false});
    }
  }

  std::cout << "\nall sampled and swapped results equal to mih: " << (all_equal ? "yes" : "NO")
            << "\n";
  if (!o.out.empty()) {
    const fs::path out(o.out);
    write_text(out / "SETUP.md", "# match_scale\n\n" + setup.str());
    std::ostringstream csv;
    csv << "phase,kind,orientation,indexed,queries,threads,rep,build_s,search_s,extrapolated,"
           "queries_per_s,index_mb,peak_rss_mb,hits,recall,beyond_radius,equal_to_mih\n";
    for (const Row& r : rows) {
      csv << r.phase << "," << r.kind << ",\"" << r.orientation << "\"," << r.indexed << ","
          << r.queries << "," << threads << "," << r.rep << "," << fmt(r.build_s, 3) << ","
          << fmt(r.search_s, 3) << "," << (r.extrapolated ? "yes" : "no") << "," << fmt(r.qps, 1)
          << "," << fmt(r.index_mb, 1) << "," << fmt(r.rss_mb, 1) << "," << r.hits << ",\""
          << r.recall << "\"," << r.beyond << ",\"" << r.equal << "\"\n";
    }
    write_text(out / "raw.csv", csv.str());
    write_text(out / "summary.md", "# match_scale\n\n" + setup.str() + "\n```\n" + log.str() +
                                       "```\n\nall sampled and swapped results equal to mih: " +
                                       (all_equal ? "yes" : "NO") + "\n");
    std::cout << "wrote " << (out / "raw.csv").string() << "\n";
  }
  return all_equal ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "match_scale: " << e.what() << "\n";
  return 2;
}
