// make_sample_html SAMPLES_DIR OUT_DIR: writes the HTML reports that the browser test
// (html_browser_test.sh, CTest report_html_browser) opens in headless Chromium:
//   match.html        18 rows, 34 images: each bundled sample as an exact and a near match, a
//                     hash-list bank entry (PDQ shown, no image), a copy whose thumbnail failed
//                     (note shown, no image), a locator with <script>, quotes, a newline and bytes
//                     that are not UTF-8, and a bank locator that is an https URL (text only).
//   dedup.html        3 clusters, 7 members, 6 images (one member without a thumbnail); the
//                     keeper of cluster 1 is given second and must be shown first.
//   match_large.html  3000 rows, 6000 images, 287 distinct thumbnails: the size the page must stay
//                     usable at.
//   broken.html       2 rows, one of whose "thumbnails" is not an image: the checker must fail it.
// The expected counts are written out in html_browser_test.sh, not read from here.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "residue/decode.hpp"
#include "residue/report.hpp"

namespace fs = std::filesystem;
using namespace residue;

namespace {

std::vector<std::uint8_t> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  if (!out.flush()) throw std::runtime_error("cannot write " + p.string());
}

std::string thumbnail(const std::vector<std::uint8_t>& bytes, int max_side) {
  auto t = make_thumbnail(bytes, max_side);
  if (!t) throw std::runtime_error("thumbnail failed: " + t.error().message);
  return {t.value().begin(), t.value().end()};
}

struct Sample {
  std::string name;
  std::vector<std::uint8_t> bytes;
  std::string thumb;
};

MatchRow row(std::string locator, const Sample& bank, Tier tier, int pdq, int phash) {
  MatchRow r;
  r.locator = std::move(locator);
  r.container = "file";
  r.bank_locator = "withdrawn/" + bank.name;
  r.bank_label = "takedown 2024-117";
  r.tier = tier;
  r.pdq_distance = pdq;
  r.phash_distance = phash;
  r.quality = 100;
  r.sha256 = std::string(64, 'a');
  r.size = bank.bytes.size();
  return r;
}

HtmlReportInfo info(std::string title) {
  return {.title = std::move(title),
          .generated_at = "2024-05-01T12:00:00Z",
          .facts = {{"catalog", "/data/mirror.catalog"}, {"bank", "/data/withdrawn.bank"}}};
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_sample_html SAMPLES_DIR OUT_DIR\n");
    return 2;
  }
  const fs::path samples_dir = argv[1], out_dir = argv[2];
  fs::create_directories(out_dir);
  std::vector<Sample> samples;
  for (const auto& e : fs::directory_iterator(samples_dir))
    samples.push_back({e.path().filename().string(), read_file(e.path()), {}});
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.name < b.name; });
  if (samples.size() != 7) throw std::runtime_error("expected the 7 bundled samples");
  for (auto& s : samples) s.thumb = thumbnail(s.bytes, 160);

  // match.html
  std::vector<HtmlMatch> matches;
  for (const auto& s : samples)
    matches.push_back(
        {row("mirror/a/" + s.name, s, Tier::exact, -1, -1), s.thumb, "", s.thumb, ""});
  for (const auto& s : samples)
    matches.push_back({row("mirror/shard-0001.tar/" + s.name, s, Tier::near, 6, 4),
                       thumbnail(s.bytes, 120), "", s.thumb, ""});
  const Sample& cat = samples[0];
  HtmlMatch hash_only{row("mirror/b/cat-copy.jpg", cat, Tier::near, 10, -1), cat.thumb, "", "", ""};
  hash_only.row.bank_locator = "hash:" + std::string(64, 'f');
  hash_only.bank_pdq = std::string(64, 'f');
  matches.push_back(hash_only);
  const std::vector<std::uint8_t> truncated(cat.bytes.begin(), cat.bytes.begin() + 1000);
  auto failed = make_thumbnail(truncated);
  if (failed) throw std::runtime_error("a truncated JPEG made a thumbnail");
  matches.push_back({row("mirror/c/cut.jpg", cat, Tier::review, 30, 20), "",
                     "could not read: " + std::string(to_string(failed.error().code)) + ": " +
                         failed.error().message,
                     cat.thumb, ""});
  matches.push_back(
      {row("mirror/<script>alert(\"x\")</script>/it's \xff\xfe\n\"q\".jpg", cat, Tier::near, 2, 0),
       cat.thumb, "", cat.thumb, ""});
  HtmlMatch url_bank{row("mirror/d/url.jpg", cat, Tier::exact, 0, 0), cat.thumb, "", cat.thumb, ""};
  url_bank.row.bank_locator = "https://example.org/withdrawn/cat.jpg";
  matches.push_back(url_bank);
  write_file(out_dir / "match.html", match_html(matches, info("residue match report")));

  // dedup.html
  auto member = [](std::uint64_t cluster, const Sample& s, bool keeper, int pdq, std::string thumb,
                   std::string note) {
    DedupRow r;
    r.cluster = cluster;
    r.tier = Tier::near;
    r.locator = "mirror/" + std::to_string(cluster) + "/" + s.name;
    r.container = "file";
    r.keeper = keeper;
    r.pdq_distance = pdq;
    r.phash_distance = pdq < 0 ? -1 : pdq / 2;
    r.width = r.height = 512;
    r.quality = 100;
    r.size = s.bytes.size();
    r.sha256 = std::string(64, 'b');
    return HtmlDedupMember{r, std::move(thumb), std::move(note)};
  };
  std::vector<HtmlDedupMember> members = {
      member(1, cat, false, 4, thumbnail(cat.bytes, 100), ""),
      member(1, cat, true, -1, cat.thumb, ""),
      member(1, cat, false, 6, thumbnail(cat.bytes, 120), ""),
      member(2, samples[6], true, -1, samples[6].thumb, ""),
      member(2, samples[6], false, 8, "", "could not read: io_error: permission denied"),
      member(3, samples[4], true, -1, samples[4].thumb, ""),
      member(3, samples[5], false, 12, samples[5].thumb, ""),
  };
  write_file(out_dir / "dedup.html", dedup_html(members, info("residue dedup report")));

  // match_large.html: 3000 rows; copies cycle through 7 samples x 41 sizes (287 distinct
  // thumbnails, the 160-pixel ones identical to the bank thumbnails).
  std::vector<std::string> sized;
  for (const auto& s : samples)
    for (int side = 120; side <= 160; ++side) sized.push_back(thumbnail(s.bytes, side));
  std::vector<HtmlMatch> large;
  for (std::size_t i = 0; i < 3000; ++i) {
    const Sample& s = samples[i % samples.size()];
    const int pdq = static_cast<int>((i * 7) % 32);
    large.push_back({row("mirror/large/" + std::to_string(i) + "/" + s.name, s,
                         pdq == 0 ? Tier::exact : Tier::near, pdq, pdq / 2),
                     sized[(i * 13) % sized.size()], "", s.thumb, ""});
  }
  write_file(out_dir / "match_large.html", match_html(large, info("residue match report")));

  // broken.html: a "thumbnail" that is not an image.
  std::vector<HtmlMatch> broken = {
      {row("mirror/ok.jpg", cat, Tier::exact, 0, 0), cat.thumb, "", cat.thumb, ""},
      {row("mirror/broken.jpg", cat, Tier::exact, 0, 0), "not a jpeg", "", cat.thumb, ""}};
  write_file(out_dir / "broken.html", match_html(broken, info("broken on purpose")));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "make_sample_html: %s\n", e.what());
  return 1;
}
