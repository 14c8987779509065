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
  // Id ranges (a distributed match's shares): items 1 (ok), 2 (truncated, never loaded), 3 (ok).
  const auto [first, last] = c.item_id_range();
  CHECK(first == 1);
  CHECK(last == 3);
  CHECK(c.load_hashes(1, 1).size() == 1);
  CHECK(c.load_hashes(2, 2).empty());
  const auto tail = c.load_hashes(2, 3);
  REQUIRE(tail.size() == 1);
  CHECK(tail[0].item_id == 3);
  CHECK(tail[0].pdq == ok_record("m/s.tar!/1.jpg", 2).pdq);
  CHECK(c.load_hashes(4, 100).empty());
  CHECK(c.load_hashes(1, 3).size() + c.load_hashes(4, 3).size() == hashes.size());
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

TEST_CASE("trimmed hashes round-trip; a schema 1 catalog is read as is and migrated on write") {
  TempDir t;
  const auto path = (t / "c.db").string();
  ItemRecord r = ok_record("m/a.jpg", 3);
  r.has_trim = true;
  r.pdq_trim.set_bit(7);
  r.quality_trim = 61;
  r.phash_trim.bits = 0xfeed;
  {
    Catalog c(path, Catalog::Mode::read_write);
    const auto run = c.begin_run("[]", "{}");
    c.put_item(r, "m/a.jpg", "", "file", 1, 1, run);
    c.put_item(ok_record("m/b.jpg", 4), "m/b.jpg", "", "file", 1, 1, run);
  }
  {
    Catalog c(path, Catalog::Mode::read_only);
    const auto hashes = c.load_hashes();
    REQUIRE(hashes.size() == 2);
    CHECK(hashes[0].has_trim);
    CHECK(hashes[0].pdq_trim == r.pdq_trim);
    CHECK(hashes[0].quality_trim == 61);
    CHECK(hashes[0].phash_trim.bits == 0xfeed);
    CHECK_FALSE(hashes[1].has_trim);
  }
  // Make it look like schema 1: the trimmed columns did not exist then.
  sql(path,
      "ALTER TABLE items DROP COLUMN pdq_trim; ALTER TABLE items DROP COLUMN quality_trim; "
      "ALTER TABLE items DROP COLUMN phash_trim; ALTER TABLE items DROP COLUMN strips; "
      "UPDATE residue_meta SET value='1' WHERE key='schema_version'");
  {
    Catalog c(path, Catalog::Mode::read_only);  // read-only: not migrated, still readable
    const auto hashes = c.load_hashes();
    REQUIRE(hashes.size() == 2);
    CHECK_FALSE(hashes[0].has_trim);
    CHECK(hashes[0].pdq == r.pdq);
  }
  {
    Catalog c(path, Catalog::Mode::read_write);  // migrated in place
    const auto run = c.begin_run("[]", "{}");
    c.put_item(r, "m/a.jpg", "", "file", 1, 1, run);
  }
  Catalog c(path, Catalog::Mode::read_only);
  const auto hashes = c.load_hashes();
  REQUIRE(hashes.size() == 2);
  CHECK(hashes[0].has_trim);
  CHECK(hashes[0].quality_trim == 61);
}

TEST_CASE("a bank stores entries with their hashes, finds duplicates and removes by selector") {
  TempDir t;
  const auto path = (t / "bank.db").string();
  BankEntry img;
  img.locator = "withdrawn/a.jpg";
  img.label = "request-1";
  img.origin = "image";
  img.has_sha256 = true;
  img.sha256.bytes.fill(0xab);
  img.size = 1234;
  img.format = "jpeg";
  img.width = 40;
  img.height = 30;
  img.thumbnail = std::string("\xff\xd8jpeg", 6);
  std::vector<BankHash> hashes(3);
  for (int i = 0; i < 3; ++i) {
    hashes[static_cast<std::size_t>(i)].has_pdq = true;
    hashes[static_cast<std::size_t>(i)].pdq.set_bit(i);
    hashes[static_cast<std::size_t>(i)].has_phash = true;
    hashes[static_cast<std::size_t>(i)].phash.bits = static_cast<std::uint64_t>(i + 1);
    hashes[static_cast<std::size_t>(i)].quality = 88;
    hashes[static_cast<std::size_t>(i)].dihedral = static_cast<Dihedral>(i);
  }
  hashes[2].view = BankView::crop80;
  BankEntry listed;
  listed.locator = "hash:00ff";
  listed.label = "list";
  listed.origin = "list";
  BankHash only_pdq;
  only_pdq.has_pdq = true;
  only_pdq.pdq.set_bit(200);
  only_pdq.quality = -1;
  {
    Bank b(path, Catalog::Mode::read_write);
    b.begin();
    const auto id = b.add(img, hashes);
    b.add(listed, std::vector<BankHash>{only_pdq});
    b.commit();
    CHECK(b.find("withdrawn/a.jpg", img.sha256) == id);
    Sha256 other;
    CHECK_FALSE(b.find("withdrawn/a.jpg", other).has_value());
    CHECK(b.find("hash:00ff", std::nullopt).has_value());
  }
  {
    Bank b(path, Catalog::Mode::read_only);
    const auto st = b.stats();
    CHECK(st.entries == 2);
    CHECK(st.from_images == 1);
    CHECK(st.from_lists == 1);
    CHECK(st.hashes == 4);
    CHECK(st.labels.at("request-1") == 1);
    const auto all = b.load_hashes();
    REQUIRE(all.hashes.size() == 4);
    REQUIRE(all.digests.size() == 1);
    CHECK(all.digests[0].sha256 == img.sha256);
    CHECK(all.hashes[2].view == BankView::crop80);
    CHECK(all.hashes[1].dihedral == Dihedral::rot90);
    CHECK(all.hashes[3].quality == -1);
    CHECK_FALSE(all.hashes[3].has_phash);
    const auto e = b.entry(all.digests[0].entry_id, true);
    REQUIRE(e.has_value());
    CHECK(e->thumbnail == img.thumbnail);
    CHECK(e->width == 40);
    CHECK(b.entries(false)[0].thumbnail.empty());
  }
  {
    Bank b(path, Catalog::Mode::read_write);
    b.begin();
    CHECK(b.remove(BankSelector{.label = std::string("request-1")}) == 1);
    b.commit();
    b.begin();
    CHECK(b.remove(BankSelector{.label = std::string("nothing")}) == 0);
    b.rollback();
  }
  Bank b(path, Catalog::Mode::read_only);
  const auto all = b.load_hashes();
  CHECK(all.hashes.size() == 1);  // the removed entry's hashes went with it
  CHECK(all.digests.empty());
}

TEST_CASE("an uncommitted bank transaction leaves nothing behind") {
  TempDir t;
  const auto path = (t / "bank.db").string();
  {
    Bank b(path, Catalog::Mode::read_write);
    b.begin();
    BankEntry e;
    e.locator = "x";
    e.origin = "list";
    b.add(e, {});
  }  // destroyed without commit
  Bank b(path, Catalog::Mode::read_only);
  CHECK(b.stats().entries == 0);
}

TEST_CASE("banks and catalogs refuse each other") {
  TempDir t;
  const auto cat = (t / "c.db").string();
  const auto bank = (t / "b.db").string();
  { Catalog c(cat, Catalog::Mode::read_write); }
  { Bank b(bank, Catalog::Mode::read_write); }
  CHECK_THROWS_WITH_AS(Bank(cat, Catalog::Mode::read_only),
                       doctest::Contains("is a residue catalog"), residue::Error);
  CHECK_THROWS_WITH_AS(Catalog(bank, Catalog::Mode::read_only),
                       doctest::Contains("is a residue bank"), residue::Error);
}
