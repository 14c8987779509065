#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>

#include "residue/catalog.hpp"
#include "support/fixtures.hpp"

using namespace residue;
namespace fs = std::filesystem;
using residue::test::TempDir;

namespace {

ItemRecord ok_record(const std::string& locator, int seed) {
  ItemRecord r;
  r.locator = locator;
  r.size = 1000 + static_cast<std::uint64_t>(seed);
  r.format = ImageFormat::jpeg;
  r.width = 640;
  r.height = 480;
  r.has_sha256 = true;
  r.sha256.bytes[0] = static_cast<std::uint8_t>(seed);
  r.pdq.set_bit(seed % 256);
  r.pdq.set_bit(255);
  r.quality = 90;
  r.phash.bits = 0x8000000000000001ULL ^ static_cast<std::uint64_t>(seed);
  return r;
}

void sql(const fs::path& db, const char* statement) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  REQUIRE(sqlite3_exec(h, statement, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(h);
}

}  // namespace

TEST_CASE("a new catalog round-trips items, hashes and stats") {
  TempDir t;
  const auto path = (t / "c.db").string();
  {
    Catalog c(path, Catalog::Mode::read_write);
    const auto run = c.begin_run("[\"m\"]", "{}");
    c.put_item(ok_record("m/a.jpg", 1), "m/a.jpg", "", "file", 111, 1001, run);
    ItemRecord bad;
    bad.locator = "m/b.jpg";
    bad.error = ItemError{ErrorCode::truncated, "ends early"};
    c.put_item(bad, "m/b.jpg", "", "file", 222, 10, run);
    c.put_container("m/s.tar", "tar", 5000, 333, false, run);
    c.put_item(ok_record("m/s.tar!/1.jpg", 2), "m/s.tar", "m/s.tar", "tar", 333, 5000, run);
    c.put_container("m/s.tar", "tar", 5000, 333, true, run);
    c.finish_run(run, RunSummary{.items = 3, .ok = 2, .failed = 1}, "complete");
  }
  Catalog c(path, Catalog::Mode::read_only);
  const auto st = c.stats();
  CHECK(st.items == 3);
  CHECK(st.gone == 0);
  CHECK(st.by_status.at("ok") == 2);
  CHECK(st.by_status.at("truncated") == 1);
  CHECK(st.by_container.at("file") == 2);
  CHECK(st.by_container.at("tar") == 1);
  CHECK(st.runs == 1);
  const auto hashes = c.load_hashes();
  REQUIRE(hashes.size() == 2);
  CHECK(hashes[0].pdq == ok_record("m/a.jpg", 1).pdq);
  CHECK(hashes[0].phash == ok_record("m/a.jpg", 1).phash);
  CHECK(hashes[0].sha256 == ok_record("m/a.jpg", 1).sha256);
  CHECK(hashes[0].quality == 90);
  const auto files = c.load_file_states();
  REQUIRE(files.count("m/a.jpg") == 1);
  CHECK(files.at("m/a.jpg").size == 1001);
  CHECK(files.at("m/a.jpg").mtime_ns == 111);
  CHECK(files.at("m/a.jpg").complete);
  CHECK(files.at("m/s.tar").kind == "tar");
  CHECK(files.at("m/s.tar").complete);
}

TEST_CASE("pdq hashes are stored as 32 bytes in hex order") {
  TempDir t;
  const auto path = (t / "c.db").string();
  ItemRecord r = ok_record("x.jpg", 0);
  r.pdq = *parse_hash256("0123456789abcdef" + std::string(48, '0'));
  {
    Catalog c(path, Catalog::Mode::read_write);
    c.put_item(r, "x.jpg", "", "file", 1, 1, c.begin_run("[]", "{}"));
  }
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT hex(pdq) FROM items", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) ==
        "0123456789ABCDEF" + std::string(48, '0'));
  sqlite3_finalize(s);
  sqlite3_close(h);
}

TEST_CASE("files that are not residue catalogs are refused and left untouched") {
  TempDir t;
  SUBCASE("a text file") {
    const auto p = t / "notes.db";
    residue::test::write_bytes(p, {'h', 'e', 'l', 'l', 'o', '\n'});
    CHECK_THROWS_AS(Catalog(p.string(), Catalog::Mode::read_write), residue::Error);
    CHECK(residue::test::read_bytes(p) == std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o', '\n'});
  }
  SUBCASE("another application's SQLite database") {
    const auto p = t / "other.db";
    sql(p, "CREATE TABLE x(a); INSERT INTO x VALUES(1);");
    const auto before = residue::test::read_bytes(p);
    CHECK_THROWS_WITH_AS(Catalog(p.string(), Catalog::Mode::read_write),
                         doctest::Contains("not a residue catalog"), residue::Error);
    CHECK(residue::test::read_bytes(p) == before);
    CHECK_FALSE(fs::exists(t / "other.db-wal"));
  }
  SUBCASE("a catalog from a newer residue") {
    const auto p = t / "new.db";
    { Catalog c(p.string(), Catalog::Mode::read_write); }
    sql(p, "UPDATE residue_meta SET value='99' WHERE key='schema_version'");
    CHECK_THROWS_WITH_AS(Catalog(p.string(), Catalog::Mode::read_write), doctest::Contains("newer"),
                         residue::Error);
  }
  SUBCASE("a bank opened as a catalog") {
    const auto p = t / "bank.db";
    { Catalog c(p.string(), Catalog::Mode::read_write, DatabaseRole::bank); }
    CHECK_THROWS_WITH_AS(Catalog(p.string(), Catalog::Mode::read_write),
                         doctest::Contains("is a residue bank"), residue::Error);
  }
  SUBCASE("a missing file opened read-only") {
    CHECK_THROWS_AS(Catalog((t / "missing.db").string(), Catalog::Mode::read_only), residue::Error);
    CHECK_FALSE(fs::exists(t / "missing.db"));
  }
}

TEST_CASE("mark_unseen_gone marks only items of unseen files under the roots") {
  TempDir t;
  Catalog c((t / "c.db").string(), Catalog::Mode::read_write);
  const auto run = c.begin_run("[]", "{}");
  c.put_item(ok_record("m/a.jpg", 1), "m/a.jpg", "", "file", 1, 1, run);
  c.put_item(ok_record("m/sub/b.jpg", 2), "m/sub/b.jpg", "", "file", 1, 1, run);
  c.put_item(ok_record("mx/c.jpg", 3), "mx/c.jpg", "", "file", 1, 1,
             run);  // shares a prefix, not a root
  c.put_item(ok_record("other/d.jpg", 4), "other/d.jpg", "", "file", 1, 1, run);
  const auto gone = c.mark_unseen_gone({"m"}, {"m/a.jpg"});
  CHECK(gone == 1);
  const auto st = c.stats();
  CHECK(st.items == 3);
  CHECK(st.gone == 1);
  CHECK(c.load_file_states().count("m/sub/b.jpg") == 0);
}

TEST_CASE(
    "a rescanned container marks its vanished members gone; resuming the same bytes keeps them") {
  TempDir t;
  Catalog c((t / "c.db").string(), Catalog::Mode::read_write);
  const auto run1 = c.begin_run("[]", "{}");
  c.put_container("s.tar", "tar", 100, 7, false, run1);
  c.put_item(ok_record("s.tar!/1.jpg", 1), "s.tar", "s.tar", "tar", 7, 100, run1);
  c.put_item(ok_record("s.tar!/2.jpg", 2), "s.tar", "s.tar", "tar", 7, 100, run1);
  c.commit();  // killed here: container incomplete

  // Run 2 resumes the same bytes: member 1 and 2 were committed and are skipped by the source,
  // member 3 is new; nothing is gone.
  const auto run2 = c.begin_run("[]", "{}");
  CHECK_FALSE(c.load_file_states().at("s.tar").complete);
  c.put_container("s.tar", "tar", 100, 7, false, run2);
  c.put_item(ok_record("s.tar!/3.jpg", 3), "s.tar", "s.tar", "tar", 7, 100, run2);
  c.put_container("s.tar", "tar", 100, 7, true, run2);
  CHECK(c.stats().items == 3);
  CHECK(c.stats().gone == 0);

  // Run 3: the container changed and now holds only member 3.
  const auto run3 = c.begin_run("[]", "{}");
  c.put_container("s.tar", "tar", 60, 8, false, run3);
  c.put_item(ok_record("s.tar!/3.jpg", 3), "s.tar", "s.tar", "tar", 8, 60, run3);
  c.put_container("s.tar", "tar", 60, 8, true, run3);
  CHECK(c.stats().items == 1);
  CHECK(c.stats().gone == 2);
}

TEST_CASE("load_locators lists a file's present items") {
  TempDir t;
  Catalog c((t / "c.db").string(), Catalog::Mode::read_write);
  const auto run = c.begin_run("[]", "{}");
  c.put_item(ok_record("s.tar!/1.jpg", 1), "s.tar", "s.tar", "tar", 7, 100, run);
  c.put_item(ok_record("s.tar!/2.jpg", 2), "s.tar", "s.tar", "tar", 7, 100, run);
  const auto l = c.load_locators("s.tar");
  CHECK(l.size() == 2);
  CHECK(l.count("s.tar!/2.jpg") == 1);
}
