// catalog_load: how fast a catalog takes rows, and how fast matching can load every hash of it.
//
// Usage: catalog_load [--rows 1000000] [--db PATH] [--batch N] [--per-container 1000] [--loads 5]
//          [--reuse] [--out DIR]
// Creates a catalog (residue::Catalog) with N synthetic ok rows written as a scan writes them:
// WebDataset-like tar members (locators `mirror/shards/shard-000012.tar!/000012345.jpg`), each
// container bracketed by put_container begin/end, items through put_item in the catalog's batched
// transactions (--batch: the catalog's default unless given). Hashes are pseudo-random from the row
// index, so the load can be checked. Then times Catalog::load_hashes() --loads times on one
// read-only handle (the first load is reported apart; the median is over all) and checks that it
// returns every row with the hashes written. Prints insert rows/s, load rows/s, the result's MB
// (rows * sizeof(CatalogHash)) and the database's size on disk. The requirement this measures:
// "loading every hash of a catalog into memory for matching is fast: measure it at 1M rows".
// --db PATH keeps the database (refused if it exists, unless --reuse, which skips the inserts and
// only loads); without --db a temporary file is used and removed. --out DIR appends the result to
// DIR/catalog_load.md (with the run context).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.hpp"
#include "residue/catalog.hpp"

namespace {

namespace fs = std::filesystem;
using namespace residue::bench;
using Clock = std::chrono::steady_clock;

struct Options {
  std::uint64_t rows = 1000000;
  std::string db;
  int batch = 0;  // 0 = the catalog's default
  std::uint64_t per_container = 1000;
  int loads = 5;
  bool reuse = false;
  std::string out;
};

std::string usage() {
  return "usage: catalog_load [--rows 1000000] [--db PATH] [--batch N] [--per-container 1000] "
         "[--loads 5]\n"
         "         [--reuse] [--out DIR]\n";
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--rows")
      o.rows = std::stoull(value());
    else if (a == "--db")
      o.db = value();
    else if (a == "--batch")
      o.batch = std::stoi(value());
    else if (a == "--per-container")
      o.per_container = std::stoull(value());
    else if (a == "--loads")
      o.loads = std::stoi(value());
    else if (a == "--reuse")
      o.reuse = true;
    else if (a == "--out")
      o.out = value();
    else if (a == "-h" || a == "--help") {
      std::cout << usage();
      std::exit(0);
    } else
      throw std::invalid_argument("unknown argument " + a);
  }
  if (o.rows < 1 || o.per_container < 1 || o.loads < 1 || o.batch < 0)
    throw std::invalid_argument("bad numbers");
  return o;
}

// splitmix64: the synthetic hashes of row i, reproducible for the check after loading.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

residue::ItemRecord synthetic(std::uint64_t i, const std::string& container) {
  residue::ItemRecord r;
  char name[32];
  std::snprintf(name, sizeof name, "!/%09llu.jpg", static_cast<unsigned long long>(i));
  r.locator = container + name;
  r.size = 8000 + mix(i) % 30000;
  r.format = residue::ImageFormat::jpeg;
  r.width = r.height = 250;
  r.scale_denom = 1;
  for (std::size_t w = 0; w < 4; ++w) {
    const std::uint64_t v = mix(i * 8 + w);
    for (std::size_t b = 0; b < 8; ++b)
      r.sha256.bytes[w * 8 + b] = static_cast<std::uint8_t>(v >> (8 * b));
    r.pdq.words[w] = mix(i * 8 + 4 + w);
  }
  r.has_sha256 = true;
  r.quality = static_cast<int>(50 + mix(i) % 51);
  r.phash.bits = mix(~i);
  return r;
}

std::string container_of(std::uint64_t i, std::uint64_t per) {
  char name[64];
  std::snprintf(name, sizeof name, "mirror/shards/shard-%06llu.tar",
                static_cast<unsigned long long>(i / per));
  return name;
}

std::uint64_t file_size(const std::string& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

std::string fmt(double v, int prec = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "catalog_load: " << e.what() << "\n" << usage();
    return 2;
  }
  const bool temporary = o.db.empty();
  if (temporary)
    o.db =
        (fs::temp_directory_path() / ("residue-catalog-load-" + std::to_string(::getpid()) + ".db"))
            .string();
  auto remove_db = [&] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(o.db + suffix);
  };
  try {
    const bool exists = fs::exists(o.db);
    if (exists && !o.reuse)
      throw std::runtime_error(o.db + " exists: remove it, pick another --db, or pass --reuse");
    const RunContext ctx = run_context();
    std::ostringstream report;
    report << "# catalog_load\n\n"
           << format_context(ctx) << "- command: `" << command_line(argc, argv) << "`\n"
           << "- database: " << o.db << (temporary ? " (temporary)" : "") << "\n\n";
    std::cout << report.str() << std::flush;

    double insert_s = 0;
    if (!exists) {
      residue::Catalog cat(o.db, residue::Catalog::Mode::read_write);
      if (o.batch > 0) cat.set_batch_size(o.batch);
      const std::int64_t run = cat.begin_run("[\"mirror\"]", "{\"synthetic\":true}");
      const auto start = Clock::now();
      std::string container;
      for (std::uint64_t i = 0; i < o.rows; ++i) {
        if (i % o.per_container == 0) {
          if (!container.empty())
            cat.put_container(container, "tar", o.per_container * 16000, 1767225600000000000, true,
                              run);
          container = container_of(i, o.per_container);
          cat.put_container(container, "tar", o.per_container * 16000, 1767225600000000000, false,
                            run);
        }
        const auto r = synthetic(i, container);
        cat.put_item(r, container, container, "tar", 1767225600000000000, o.per_container * 16000,
                     run);
        if ((i + 1) % 200000 == 0) std::cout << "  inserted " << (i + 1) << " rows\n" << std::flush;
      }
      cat.put_container(container, "tar", o.per_container * 16000, 1767225600000000000, true, run);
      cat.commit();
      insert_s = std::chrono::duration<double>(Clock::now() - start).count();
      residue::RunSummary summary{.items = o.rows, .ok = o.rows};
      cat.finish_run(run, summary, "complete");
    }
    const std::uint64_t db_bytes = file_size(o.db) + file_size(o.db + "-wal");

    residue::Catalog cat(o.db, residue::Catalog::Mode::read_only);
    std::vector<double> times;
    std::size_t rows = 0;
    bool valid = true;
    for (int k = 0; k < o.loads; ++k) {
      const auto start = Clock::now();
      const std::vector<residue::CatalogHash> hashes = cat.load_hashes();
      times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      rows = hashes.size();
      if (k == 0) {
        // Check: every row came back with the hashes written (xor over all rows, order-free).
        std::uint64_t want = 0, got = 0;
        for (std::uint64_t i = 0; i < o.rows; ++i) want ^= mix(i * 8 + 4) ^ mix(~i);
        for (const auto& h : hashes) got ^= h.pdq.words[0] ^ h.phash.bits;
        valid = rows == o.rows && want == got;
      }
    }
    const auto t = summarize(times);
    const double mb = static_cast<double>(rows * sizeof(residue::CatalogHash)) / 1e6;
    std::ostringstream res;
    res << "| measure | value |\n|---|---:|\n";
    if (!exists) {
      res << "| insert: rows, batch size | " << o.rows << ", "
          << (o.batch > 0 ? std::to_string(o.batch) : "default") << " |\n"
          << "| insert: seconds | " << fmt(insert_s, 2) << " |\n"
          << "| insert: rows/s | " << fmt(static_cast<double>(o.rows) / insert_s) << " |\n";
    }
    res << "| database on disk (db + wal), MB | " << fmt(static_cast<double>(db_bytes) / 1e6, 1)
        << " |\n"
        << "| load_hashes: rows returned | " << rows << (valid ? " (checked)" : " (CHECK FAILED)")
        << " |\n"
        << "| load_hashes: first load, s | " << fmt(times.front(), 3) << " |\n"
        << "| load_hashes: min / **median** / max of " << o.loads << ", s | " << fmt(t.min, 3)
        << " / **" << fmt(t.median, 3) << "** / " << fmt(t.max, 3) << " |\n"
        << "| load_hashes: rows/s (median) | " << fmt(static_cast<double>(rows) / t.median)
        << " |\n"
        << "| result in memory, MB (rows x " << sizeof(residue::CatalogHash) << " B) | "
        << fmt(mb, 1) << " |\n"
        << "| load_hashes: MB/s of result (median) | " << fmt(mb / t.median, 1) << " |\n"
        << "\nLoad average at the end: " << loadavg() << "\n";
    std::cout << res.str();
    if (!valid)
      std::cout << "INVALID: load_hashes returned " << rows << " rows or other hashes than the "
                << o.rows << " written\n";
    if (!o.out.empty()) write_text(fs::path(o.out) / "catalog_load.md", report.str() + res.str());
    if (temporary) remove_db();
    return valid ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "catalog_load: " << e.what() << "\n";
    if (temporary) remove_db();
    return 2;
  }
}
