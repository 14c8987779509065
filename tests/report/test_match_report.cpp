// Match and dedup reports: CSV (read back with the support RFC 4180 reader), JSON lines (read back
// with the small strict parser below, which knows nothing of the writer), and the HTML pages'
// escaping, counts and self-containment. The pages' behaviour in a browser is checked by the
// report_html_browser test (make_sample_html.cpp + tests/cli/check_html.py).
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "residue/report.hpp"
#include "support/fixtures.hpp"

using namespace residue;

namespace {

// ---------------------------------------------------------------------------------------------
// A strict parser for one flat JSON object (string, integer, true/false/null values), enough for
// the report lines. Keys keep their order. Throws std::runtime_error on anything else.

struct JsonValue {
  enum class Kind { string, number, boolean, null } kind = Kind::null;
  std::string text;  // decoded string, digits, or "true"/"false"
};
using JsonObject = std::vector<std::pair<std::string, JsonValue>>;

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  JsonObject object() {
    JsonObject out;
    expect('{');
    if (peek() == '}') {
      ++i_;
    } else {
      while (true) {
        std::string key = string();
        expect(':');
        out.emplace_back(std::move(key), value());
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}');
        break;
      }
    }
    if (i_ != s_.size()) fail("trailing characters");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw std::runtime_error(why + " at offset " + std::to_string(i_));
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected ") + c);
    ++i_;
  }
  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return out;
      if (c < 0x20) fail("raw control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      const char e = peek();
      ++i_;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) fail("short \\u escape");
          const auto cp =
              static_cast<std::uint32_t>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
          i_ += 4;
          put_utf8(out, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  JsonValue value() {
    const char c = peek();
    if (c == '"') return {JsonValue::Kind::string, string()};
    for (std::string_view word : {"true", "false", "null"})
      if (s_.substr(i_, word.size()) == word) {
        i_ += word.size();
        return {word == "null" ? JsonValue::Kind::null : JsonValue::Kind::boolean,
                std::string(word)};
      }
    const std::size_t start = i_;
    if (peek() == '-') ++i_;
    while (peek() >= '0' && peek() <= '9') ++i_;
    if (i_ == start || (i_ == start + 1 && s_[start] == '-')) fail("expected a value");
    return {JsonValue::Kind::number, std::string(s_.substr(start, i_ - start))};
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

JsonObject parse(const std::string& line) {
  return JsonReader(line).object();
}

std::vector<std::string> keys(const JsonObject& o) {
  std::vector<std::string> k;
  for (const auto& [key, v] : o) k.push_back(key);
  return k;
}

const JsonValue& get(const JsonObject& o, std::string_view key) {
  for (const auto& [k, v] : o)
    if (k == key) return v;
  throw std::runtime_error("no key " + std::string(key));
}

std::vector<std::string> split_header(const std::string& header) {
  std::vector<std::string> out(1);
  for (char c : header) {
    if (c == ',')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

/// The CSV text (header + lines) read back by the support reader, from a real file.
std::vector<std::vector<std::string>> read_back(const std::string& header,
                                                const std::vector<std::string>& lines) {
  test::TempDir dir;
  std::string text = header + "\r\n";
  for (const auto& l : lines) text += l + "\r\n";
  test::write_bytes(dir / "out.csv", std::vector<std::uint8_t>(text.begin(), text.end()));
  return test::read_csv(dir / "out.csv");
}

MatchRow sample_match() {
  MatchRow r;
  r.locator = "mirror/a.jpg";
  r.container = "tar";
  r.bank_locator = "withdrawn/a.jpg";
  r.bank_label = "case 17";
  r.tier = Tier::near;
  r.pdq_distance = 12;
  r.phash_distance = 3;
  r.dihedral = Dihedral::flip_y;
  r.quality = 87;
  r.sha256 = std::string(64, 'c');
  r.size = 123456789012ULL;
  r.view = BankView::crop80;
  r.trimmed = true;
  return r;
}

DedupRow sample_member() {
  DedupRow r;
  r.cluster = 4;
  r.tier = Tier::exact;
  r.locator = "mirror/b.png";
  r.container = "zip";
  r.keeper = false;
  r.pdq_distance = 0;
  r.phash_distance = 2;
  r.width = 640;
  r.height = 427;
  r.quality = 100;
  r.size = 52537;
  r.sha256 = std::string(64, 'd');
  return r;
}

// Hostile locators: every CSV special character, and bytes that are not UTF-8.
const std::vector<std::string> kHostile = {"plain.jpg",
                                           "a,b.jpg",
                                           "say \"cheese\".jpg",
                                           "two\nlines.jpg",
                                           "cr\rreturn.jpg",
                                           "\"",
                                           ",",
                                           "",
                                           "bad\xff\xfe.jpg",
                                           "caf\xc3\xa9.jpg",
                                           " lead and trail ",
                                           "<script>alert(1)</script>"};

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

/// Independent UTF-8 validity check (Unicode 15, table 3-7).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto in = [](unsigned char v, unsigned lo, unsigned hi) { return v >= lo && v <= hi; };
    const std::size_t left = s.size() - i;
    if (b(0) < 0x80) {
      i += 1;
    } else if (in(b(0), 0xC2, 0xDF) && left >= 2 && in(b(1), 0x80, 0xBF)) {
      i += 2;
    } else if (left >= 3 &&
               ((b(0) == 0xE0 && in(b(1), 0xA0, 0xBF)) ||
                (in(b(0), 0xE1, 0xEC) && in(b(1), 0x80, 0xBF)) ||
                (b(0) == 0xED && in(b(1), 0x80, 0x9F)) ||
                (in(b(0), 0xEE, 0xEF) && in(b(1), 0x80, 0xBF))) &&
               in(b(2), 0x80, 0xBF)) {
      i += 3;
    } else if (left >= 4 &&
               ((b(0) == 0xF0 && in(b(1), 0x90, 0xBF)) ||
                (in(b(0), 0xF1, 0xF3) && in(b(1), 0x80, 0xBF)) ||
                (b(0) == 0xF4 && in(b(1), 0x80, 0x8F))) &&
               in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

HtmlReportInfo report_info() {
  return {.title = "residue match report <test>",
          .generated_at = "2024-05-01T12:00:00Z",
          .facts = {{"catalog", "/data/\xff.catalog"}, {"bank", "/data/bank & co"}}};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// CSV and JSON lines

TEST_CASE("match and dedup CSV headers name the documented columns in order") {
  CHECK(match_csv_header() ==
        "locator,container,bank_locator,bank_label,tier,pdq_distance,phash_distance,dihedral,"
        "quality,sha256,size,view,trimmed");
  CHECK(dedup_csv_header() ==
        "cluster,tier,locator,container,keeper,pdq_distance,phash_distance,width,height,quality,"
        "size,sha256");
}

TEST_CASE("a match row in CSV: every field, true/false, -1 distances as empty fields") {
  MatchRow r = sample_match();
  CHECK(match_csv_line(r) == "mirror/a.jpg,tar,withdrawn/a.jpg,case 17,near,12,3,flipy,87," +
                                 std::string(64, 'c') + ",123456789012,crop80,true");
  r.pdq_distance = -1;
  r.phash_distance = -1;
  r.trimmed = false;
  r.tier = Tier::exact;
  CHECK(match_csv_line(r) == "mirror/a.jpg,tar,withdrawn/a.jpg,case 17,exact,,,flipy,87," +
                                 std::string(64, 'c') + ",123456789012,crop80,false");
}

TEST_CASE("CSV quoting: hostile locators survive a round trip through an RFC 4180 reader") {
  std::vector<std::string> lines;
  for (const auto& loc : kHostile) {
    MatchRow r = sample_match();
    r.locator = loc;
    r.bank_label = loc;
    lines.push_back(match_csv_line(r));
  }
  const auto rows = read_back(match_csv_header(), lines);
  REQUIRE(rows.size() == kHostile.size() + 1);
  CHECK(rows[0] == split_header(match_csv_header()));
  for (std::size_t i = 0; i < kHostile.size(); ++i) {
    CAPTURE(i);
    REQUIRE(rows[i + 1].size() == 13);
    CHECK(rows[i + 1][0] == kHostile[i]);  // the bytes as they are, invalid UTF-8 included
    CHECK(rows[i + 1][3] == kHostile[i]);
    CHECK(rows[i + 1][4] == "near");
  }
  // Quoted exactly when needed, with doubled quotes.
  MatchRow r = sample_match();
  r.locator = "say \"cheese\".jpg";
  CHECK(match_csv_line(r).rfind("\"say \"\"cheese\"\".jpg\",tar,", 0) == 0);
  r.locator = "bad\xff.jpg";
  CHECK(match_csv_line(r).rfind("bad\xff.jpg,tar,", 0) == 0);
  r.locator = "two\nlines";
  CHECK(match_csv_line(r).rfind("\"two\nlines\",tar,", 0) == 0);
}

TEST_CASE("a dedup row in CSV, keeper with empty distances, and hostile locators round-trip") {
  DedupRow keeper = sample_member();
  keeper.keeper = true;
  keeper.pdq_distance = keeper.phash_distance = -1;
  CHECK(dedup_csv_line(keeper) ==
        "4,exact,mirror/b.png,zip,true,,,640,427,100,52537," + std::string(64, 'd'));
  CHECK(dedup_csv_line(sample_member()) ==
        "4,exact,mirror/b.png,zip,false,0,2,640,427,100,52537," + std::string(64, 'd'));
  std::vector<std::string> lines;
  for (const auto& loc : kHostile) {
    DedupRow r = sample_member();
    r.locator = loc;
    lines.push_back(dedup_csv_line(r));
  }
  const auto rows = read_back(dedup_csv_header(), lines);
  REQUIRE(rows.size() == kHostile.size() + 1);
  for (std::size_t i = 0; i < kHostile.size(); ++i) {
    REQUIRE(rows[i + 1].size() == 12);
    CHECK(rows[i + 1][2] == kHostile[i]);
  }
}

TEST_CASE("match JSON lines parse, with the CSV names in the same order and typed values") {
  const JsonObject o = parse(match_json_line(sample_match()));
  CHECK(keys(o) == split_header(match_csv_header()));
  CHECK(get(o, "locator").text == "mirror/a.jpg");
  CHECK(get(o, "tier").text == "near");
  CHECK(get(o, "pdq_distance").kind == JsonValue::Kind::number);
  CHECK(get(o, "pdq_distance").text == "12");
  CHECK(get(o, "size").text == "123456789012");
  CHECK(get(o, "dihedral").text == "flipy");  // core to_string: the PDQ reference names
  CHECK(get(o, "view").text == "crop80");
  CHECK(get(o, "trimmed").kind == JsonValue::Kind::boolean);
  CHECK(get(o, "trimmed").text == "true");

  MatchRow r = sample_match();
  r.pdq_distance = -1;
  r.phash_distance = -1;
  r.trimmed = false;
  const JsonObject n = parse(match_json_line(r));
  CHECK(get(n, "pdq_distance").kind == JsonValue::Kind::null);
  CHECK(get(n, "phash_distance").kind == JsonValue::Kind::null);
  CHECK(get(n, "trimmed").text == "false");
}

TEST_CASE("JSON lines stay valid JSON for hostile locators; invalid bytes read as Latin-1") {
  for (const auto& loc : kHostile) {
    CAPTURE(loc);
    MatchRow r = sample_match();
    r.locator = loc;
    const std::string line = match_json_line(r);
    CHECK(line.find('\n') == std::string::npos);  // one line per row
    CHECK(valid_utf8(line));
    const JsonObject o = parse(line);
    if (valid_utf8(loc)) CHECK(get(o, "locator").text == loc);
  }
  MatchRow r = sample_match();
  r.locator = "bad\xff.jpg";
  CHECK(get(parse(match_json_line(r)), "locator").text == "bad\xc3\xbf.jpg");  // U+00FF
}

TEST_CASE("dedup JSON lines parse with the CSV names in order") {
  DedupRow keeper = sample_member();
  keeper.keeper = true;
  keeper.pdq_distance = keeper.phash_distance = -1;
  const JsonObject o = parse(dedup_json_line(keeper));
  CHECK(keys(o) == split_header(dedup_csv_header()));
  CHECK(get(o, "cluster").text == "4");
  CHECK(get(o, "keeper").text == "true");
  CHECK(get(o, "pdq_distance").kind == JsonValue::Kind::null);
  CHECK(get(o, "width").text == "640");
  CHECK(get(o, "sha256").text == std::string(64, 'd'));
  CHECK(get(parse(dedup_json_line(sample_member())), "keeper").text == "false");
}

// ---------------------------------------------------------------------------------------------
// HTML

TEST_CASE("match HTML escapes every string and keeps invalid UTF-8 visible and valid") {
  HtmlMatch m;
  m.row = sample_match();
  m.row.locator = "dir/<script>alert('x')</script>/\"q\"&\xff\x01.jpg";
  m.row.bank_label = "<b>label</b>";
  m.copy_note = "could not read: <oops>";
  const std::string page = match_html(std::span(&m, 1), report_info());
  CHECK(valid_utf8(page));
  CHECK(page.find("<script>alert") == std::string::npos);
  CHECK(page.find("<b>label") == std::string::npos);
  CHECK(page.find("<oops>") == std::string::npos);
  CHECK(page.find("dir/&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;/&quot;q&quot;&amp;\\xff\\x01"
                  ".jpg") != std::string::npos);
  CHECK(page.find("could not read: &lt;oops&gt;") != std::string::npos);
  CHECK(page.find("<title>residue match report &lt;test&gt;</title>") != std::string::npos);
  CHECK(page.find("/data/\\xff.catalog") != std::string::npos);
  CHECK(page.find("/data/bank &amp; co") != std::string::npos);
  // Exactly the page's own script element.
  CHECK(count(page, "<script") == 1);
}

TEST_CASE("match HTML: one tr.match per row with its machine-checkable attributes") {
  std::vector<HtmlMatch> ms(3);
  for (auto& m : ms) m.row = sample_match();
  ms[0].row.locator = "x/1.jpg";
  ms[1].row.tier = Tier::exact;
  ms[1].row.pdq_distance = -1;
  ms[2].row.tier = Tier::review;
  ms[2].row.container = "zip";
  const std::string page = match_html(ms, report_info());
  CHECK(count(page, "<tr class=\"match\"") == 3);
  CHECK(page.find("<tr class=\"match\" data-tier=\"near\" data-pdq=\"12\" data-phash=\"3\" "
                  "data-locator=\"x/1.jpg\"") != std::string::npos);
  CHECK(page.find("data-tier=\"exact\" data-pdq=\"\"") != std::string::npos);
  CHECK(page.find("data-rows=\"3\"") != std::string::npos);
  // Counts by tier (all three, zeros included) and by container.
  CHECK(page.find("<tr><td>exact</td><td class=\"num\">1</td></tr>") != std::string::npos);
  CHECK(page.find("<tr><td>near</td><td class=\"num\">1</td></tr>") != std::string::npos);
  CHECK(page.find("<tr><td>review</td><td class=\"num\">1</td></tr>") != std::string::npos);
  CHECK(page.find("<tr><td>tar</td><td class=\"num\">2</td></tr>") != std::string::npos);
  CHECK(page.find("<tr><td>zip</td><td class=\"num\">1</td></tr>") != std::string::npos);
  // Sortable by distance, tier and locator.
  for (const char* key : {"data-sort=\"pdq\"", "data-sort=\"tier\"", "data-sort=\"locator\""})
    CHECK(page.find(key) != std::string::npos);
}

TEST_CASE("match HTML: thumbnails as base64 data URIs, each distinct one written once") {
  std::vector<HtmlMatch> ms(3);
  for (auto& m : ms) m.row = sample_match();
  ms[0].copy_thumbnail = "ab";   // base64 "YWI="
  ms[0].bank_thumbnail = "abc";  // "YWJj"
  ms[1].copy_thumbnail = "a";    // "YQ=="
  ms[1].bank_thumbnail = "abc";  // repeat
  ms[2].copy_thumbnail = "abc";  // repeat
  ms[2].bank_pdq = std::string(64, 'e');
  const std::string page = match_html(ms, report_info());
  CHECK(count(page, "src=\"data:image/jpeg;base64,YWI=\"") == 1);
  CHECK(count(page, "src=\"data:image/jpeg;base64,YQ==\"") == 1);
  CHECK(count(page, "src=\"data:image/jpeg;base64,YWJj\"") == 1);
  CHECK(count(page, "data-thumb=") == 2);  // the two repeats
  CHECK(count(page, "<img ") == 5);
  // Hash-list entry: its PDQ instead of an image.
  CHECK(page.find(std::string(64, 'e')) != std::string::npos);
}

TEST_CASE("HTML pages are self-contained: no http(s) references, a CSP that forbids fetches") {
  HtmlMatch m;
  m.row = sample_match();
  m.row.bank_locator = "https://example.org/withdrawn.jpg";  // text, not a reference
  m.copy_thumbnail = "jpeg";
  const std::string page = match_html(std::span(&m, 1), report_info());
  for (const char* attr : {"src=\"http", "href=", "url(http", "@import", "<link"})
    CHECK(page.find(attr) == std::string::npos);
  CHECK(page.find("default-src 'none'; img-src data:") != std::string::npos);
  CHECK(page.find("https://example.org/withdrawn.jpg") != std::string::npos);
}

TEST_CASE("dedup HTML: one block per cluster in cluster order, keeper first and marked") {
  std::vector<HtmlDedupMember> ms;
  auto add = [&](std::uint64_t cluster, const char* loc, bool keeper) {
    HtmlDedupMember m;
    m.row = sample_member();
    m.row.cluster = cluster;
    m.row.locator = loc;
    m.row.keeper = keeper;
    ms.push_back(m);
  };
  add(2, "two-copy", false);
  add(1, "one-copy", false);
  add(1, "one-keeper", true);
  add(2, "two-keeper", true);
  add(1, "one-copy-2", false);
  ms.back().note = "could not read: <gone>";
  const std::string page = dedup_html(ms, report_info());
  CHECK(count(page, "<section class=\"cluster\"") == 2);
  CHECK(count(page, "<tr class=\"member") == 5);
  CHECK(count(page, "<tr class=\"member keeper\"") == 2);
  const auto pos = [&](const char* loc) {
    return page.find(std::string("data-locator=\"") + loc + "\"");
  };
  CHECK(pos("one-keeper") < pos("one-copy"));
  CHECK(pos("one-copy") < pos("one-copy-2"));
  CHECK(pos("one-copy-2") < pos("two-keeper"));
  CHECK(pos("two-keeper") < pos("two-copy"));
  CHECK(page.find("could not read: &lt;gone&gt;") != std::string::npos);
  CHECK(page.find("<tr><td>exact</td><td class=\"num\">2</td></tr>") != std::string::npos);
  CHECK(valid_utf8(page));
}
