// tests/purge: the JSON and journal formats, plan checks and plain-file purge / resume / restore
// on a catalog built inline (containers and crash injection are covered end to end by
// tests/cli/purge_test.sh).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "journal.hpp"
#include "json.hpp"
#include "residue/catalog.hpp"
#include "residue/hash.hpp"
#include "residue/purge.hpp"
#include "support/fixtures.hpp"

namespace fs = std::filesystem;
using namespace residue;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

// A mirror folder with plain files, and a catalog that scanned it (rows written directly).
struct Mirror {
  test::TempDir dir;
  fs::path root = dir / "m";
  std::string catalog_path = (dir / "c.db").string();

  Mirror() {
    fs::create_directories(root / "a");
    put("a/x.jpg", "withdrawn bytes x");
    put("a/y.jpg", "withdrawn bytes y");
    put("keep.jpg", "keep me");
    Catalog c(catalog_path, Catalog::Mode::read_write);
    const auto run = c.begin_run("[" + detail::json_string(root.string()) + "]", "{}");
    for (const char* rel : {"a/x.jpg", "a/y.jpg", "keep.jpg"}) {
      const fs::path p = root / rel;
      ItemRecord r;
      r.locator = p.string();
      const auto b = test::read_bytes(p);
      r.size = b.size();
      r.sha256 = sha256(b);
      r.has_sha256 = true;
      c.put_item(r, r.locator, "", "file", 0, r.size, run);
    }
    c.commit();
  }
  void put(const std::string& rel, const std::string& text) const {
    test::write_bytes(root / rel, bytes_of(text));
  }
  [[nodiscard]] std::string loc(const std::string& rel) const { return (root / rel).string(); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("json_string round-trips any bytes, invalid UTF-8 and control characters included") {
  using namespace std::string_literals;
  const std::string weird = "a\"b\\c\n\x01\xff\xc3\xa9 \xe2\x82"s + "\t/\xc3\xa9";
  const auto parsed = detail::parse_json(detail::json_string(weird));
  REQUIRE(parsed);
  CHECK(parsed->s == weird);
  const auto obj = detail::parse_json(
      detail::JsonLine().add("k", "v").add("n", std::int64_t{-7}).add("b", true).str());
  REQUIRE(obj);
  CHECK(obj->str("k") == "v");
  CHECK(obj->num("n") == -7);
  CHECK(obj->flag("b"));
  CHECK_FALSE(detail::parse_json("{\"a\":"));
  CHECK_FALSE(detail::parse_json("[1,]"));
}

TEST_CASE("a journal's torn last line is ignored when read and cut off when reopened") {
  test::TempDir d;
  const std::string p = (d / "j.jsonl").string();
  {
    auto w = detail::JournalWriter::create(p);
    w.append(R"({"rec":"header","tool":"residue purge","version":1})");
    w.append(R"({"rec":"intent","id":1,"op":"file"})");
  }
  { std::ofstream(p, std::ios::app) << R"({"rec":"done","id":1)"; }  // torn by a power cut
  auto st = detail::read_journal(p);
  REQUIRE(st.actions.size() == 1);
  CHECK_FALSE(st.actions[0].done);
  {
    auto w = detail::JournalWriter::reopen(p);
    w.append(R"({"rec":"done","id":1})");
  }
  st = detail::read_journal(p);
  CHECK(st.actions[0].done);
  CHECK_THROWS_AS(detail::JournalWriter::create(p), Error);  // never overwritten
  test::write_bytes(d / "other.jsonl", bytes_of("{\"rec\":\"intent\"}\n"));
  CHECK_THROWS_AS(detail::read_journal((d / "other.jsonl").string()), Error);
}

TEST_CASE("build_plan refuses unknown, changed, vanished and symlinked items and plans the rest") {
  Mirror m;
  m.put("a/y.jpg", "someone changed y");
  fs::create_directories(m.root / "b");
  Catalog c(m.catalog_path, Catalog::Mode::read_write);
  const std::vector<PurgeTarget> targets{{m.loc("a/x.jpg"), Tier::exact, "bank/x"},
                                         {m.loc("a/y.jpg"), Tier::near, "bank/y"},
                                         {"/etc/hostname", Tier::exact, "bank/z"}};
  const PurgePlan plan = build_plan(c, targets);
  REQUIRE(plan.groups.size() == 1);
  CHECK(plan.groups[0].items[0].locator == m.loc("a/x.jpg"));
  REQUIRE(plan.refused.size() == 2);
  CHECK(plan.refused[0].reason == RefuseReason::changed);
  CHECK(plan.refused[1].reason == RefuseReason::not_in_catalog);

  SUBCASE("a symbolic link in the path is refused") {
    fs::rename(m.root / "a", m.root / "real");
    fs::create_directory_symlink(m.root / "real", m.root / "a");
    const PurgePlan p2 = build_plan(c, std::span(targets).first(1));
    REQUIRE(p2.refused.size() == 1);
    CHECK(p2.refused[0].reason == RefuseReason::symlink);
  }
  SUBCASE("a vanished file is refused") {
    fs::remove(m.root / "a/x.jpg");
    const PurgePlan p2 = build_plan(c, std::span(targets).first(1));
    REQUIRE(p2.refused.size() == 1);
    CHECK(p2.refused[0].reason == RefuseReason::vanished);
  }
}

TEST_CASE(
    "quarantine purge moves only the planned files, marks the catalog, and restore undoes it") {
  Mirror m;
  const std::string keep_before = slurp(m.root / "keep.jpg");
  const std::string q = (m.dir / "q").string(), j = (m.dir / "j.jsonl").string();
  {
    Catalog c(m.catalog_path, Catalog::Mode::read_write);
    const std::vector<PurgeTarget> t{{m.loc("a/x.jpg"), Tier::exact, "bank/x"},
                                     {m.loc("a/y.jpg"), Tier::near, "bank/y"}};
    const PurgePlan plan = build_plan(c, t);
    REQUIRE(plan.item_count() == 2);
    const PurgeSummary s = execute_plan(
        c, plan,
        PurgeOptions{.mode = PurgeMode::quarantine, .quarantine_dir = q, .journal_path = j});
    CHECK(s.skipped.empty());
    CHECK(s.removed.at("file").items == 2);
    CHECK_FALSE(c.find_item(m.loc("a/x.jpg")));  // gone in the catalog
    CHECK(c.find_item(m.loc("keep.jpg")));
  }
  CHECK_FALSE(fs::exists(m.root / "a/x.jpg"));
  CHECK(slurp(fs::path(q) / "m/a/x.jpg") == "withdrawn bytes x");
  CHECK(slurp(m.root / "keep.jpg") == keep_before);
  CHECK(slurp(fs::path(q) / "MANIFEST.jsonl").find("bank/y") != std::string::npos);

  const PurgeSummary again = resume_journal(j);  // nothing left to do
  CHECK(again.actions_completed == 0);
  CHECK(again.skipped.empty());

  const PurgeSummary r = restore_journal(j);
  CHECK(r.skipped.empty());
  CHECK(slurp(m.root / "a/x.jpg") == "withdrawn bytes x");
  CHECK(slurp(m.root / "a/y.jpg") == "withdrawn bytes y");
  Catalog c(m.catalog_path, Catalog::Mode::read_only);
  CHECK(c.find_item(m.loc("a/x.jpg")));
}

TEST_CASE("resume completes a file move whose journal has the intent but no done record") {
  Mirror m;
  const std::string q = (m.dir / "q").string(), j = (m.dir / "j.jsonl").string();
  {
    Catalog c(m.catalog_path, Catalog::Mode::read_write);
    const std::vector<PurgeTarget> t{{m.loc("a/x.jpg"), Tier::exact, "bank/x"}};
    (void)execute_plan(
        c, build_plan(c, t),
        PurgeOptions{.mode = PurgeMode::quarantine, .quarantine_dir = q, .journal_path = j});
  }
  // Rewind to "crashed after the intent": drop every record after "planned", put the file back.
  std::string text = slurp(j);
  text = text.substr(0, text.find("\n", text.find("\"planned\"")) + 1);
  fs::remove(j);
  test::write_bytes(j, bytes_of(text));
  fs::rename(fs::path(q) / "m/a/x.jpg", m.root / "a/x.jpg");
  const PurgeSummary s = resume_journal(j);
  CHECK(s.actions_completed == 1);
  CHECK_FALSE(fs::exists(m.root / "a/x.jpg"));
  CHECK(fs::exists(fs::path(q) / "m/a/x.jpg"));
  CHECK(resume_journal(j).actions_completed == 0);  // twice: nothing changes
}

TEST_CASE("a journal is refused with another mirror's catalog") {
  Mirror m, other;
  const std::string q = (m.dir / "q").string(), j = (m.dir / "j.jsonl").string();
  {
    Catalog c(m.catalog_path, Catalog::Mode::read_write);
    const std::vector<PurgeTarget> t{{m.loc("a/x.jpg"), Tier::exact, "bank/x"}};
    (void)execute_plan(
        c, build_plan(c, t),
        PurgeOptions{.mode = PurgeMode::quarantine, .quarantine_dir = q, .journal_path = j});
  }
  CHECK_THROWS_AS((void)resume_journal(j, other.catalog_path), Error);
  CHECK_THROWS_AS((void)restore_journal(j, other.catalog_path), Error);
  CHECK(fs::exists(fs::path(q) / "m/a/x.jpg"));  // nothing restored
}

TEST_CASE("the quarantine folder may not be inside a scanned root") {
  Mirror m;
  Catalog c(m.catalog_path, Catalog::Mode::read_write);
  const std::vector<PurgeTarget> t{{m.loc("a/x.jpg"), Tier::exact, "bank/x"}};
  CHECK_THROWS_AS((void)execute_plan(c, build_plan(c, t),
                                     PurgeOptions{.mode = PurgeMode::quarantine,
                                                  .quarantine_dir = (m.root / "q").string(),
                                                  .journal_path = (m.dir / "j.jsonl").string()}),
                  Error);
  CHECK(fs::exists(m.root / "a/x.jpg"));
}
