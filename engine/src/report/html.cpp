// The HTML gallery reports: one self-contained page per report (inline CSS and JS, thumbnails as
// data: URIs, a Content-Security-Policy that forbids every network fetch).
//
// Why the page looks the way it does:
//  - Every string is escaped by one function (append_escaped): locators are arbitrary bytes, so
//    bytes that are not UTF-8 and control characters are shown as \xNN rather than dropped.
//  - Identical thumbnails are written once. An exact copy has the same bytes as the withdrawn
//  image,
//    so the same thumbnail recurs on many rows; repeats carry data-thumb="<id of the first>" and
//    the inline script copies the src at load (the first occurrence works without script).
//  - The inline script is the only per-row work: one pass to copy repeated thumbnails, a sort on
//    header click (keys read from data-* attributes, rows moved in one DocumentFragment), and the
//    status written to <html data-residue-check> once every image has loaded or failed, which
//    tests/cli/check_html.py reads from a headless browser.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "residue/report.hpp"
#include "utf8.hpp"

namespace residue {
namespace {

// ---------------------------------------------------------------------------------------------
// Text

/// Text that is safe both as element content and inside a double- or single-quoted attribute.
void append_escaped(std::string& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* entity = c == '&'    ? "&amp;"
                         : c == '<'  ? "&lt;"
                         : c == '>'  ? "&gt;"
                         : c == '"'  ? "&quot;"
                         : c == '\'' ? "&#39;"
                                     : nullptr;
    if (entity != nullptr) {
      out += entity;
      ++i;
      continue;
    }
    const std::size_t n = (c < 0x20 || c == 0x7F) ? 0 : detail::utf8_sequence(s, i);
    if (n == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
}

std::string esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_escaped(out, s);
  return out;
}

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto at = [&](std::size_t k) {
    return std::uint32_t{static_cast<unsigned char>(bytes[k])};
  };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63U];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const std::uint32_t v = (at(i) << 16) | (rest == 2 ? at(i + 1) << 8 : 0U);
    out += kAlphabet[(v >> 18) & 63U];
    out += kAlphabet[(v >> 12) & 63U];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63U] : '=';
    out += '=';
  }
}

/// "59.3 KiB" for people; the exact byte count goes in a title attribute.
std::string human_size(std::uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  const std::array<const char*, 4> units = {"KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes) / 1024.0;
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < units.size()) v /= 1024.0, ++u;
  return fmt::format("{:.1f} {}", v, units[u]);
}

/// A distance cell's text and its sort key: "-" and "" when not compared.
std::string distance_text(int d) {
  return d < 0 ? std::string("-") : fmt::format("{}", d);
}
std::string distance_key(int d) {
  return d < 0 ? std::string() : fmt::format("{}", d);
}

/// First 12 hex digits, the whole digest in the title.
std::string short_sha(const std::string& sha) {
  if (sha.empty()) return "-";
  return fmt::format("<code title=\"{}\">{}{}</code>", esc(sha), esc(sha.substr(0, 12)),
                     sha.size() > 12 ? "&hellip;" : "");
}

std::string tier_badge(Tier t) {
  return fmt::format("<span class=\"tier tier-{0}\">{0}</span>", to_string(t));
}

// ---------------------------------------------------------------------------------------------
// Page frame

constexpr std::string_view kStyle = R"css(
:root{--fg:#1d2228;--muted:#5b6570;--line:#d9dee3;--bg:#fff;--head:#f3f5f7}
*{box-sizing:border-box}
body{margin:24px;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:16px;margin:24px 0 8px}
.generated{color:var(--muted);margin:0 0 12px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0 0 16px}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;word-break:break-all}
.counts{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
table{border-collapse:collapse}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
thead th{background:var(--head);position:sticky;top:0;z-index:1}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th[data-sort]{cursor:pointer;user-select:none;white-space:nowrap}
th[data-sort]::after{content:" \2195";color:var(--muted)}
th[aria-sort=ascending]::after{content:" \25B2";color:var(--fg)}
th[aria-sort=descending]::after{content:" \25BC";color:var(--fg)}
td.img{width:172px;text-align:center}
td.img img{max-width:160px;max-height:160px;display:block;margin:0 auto}
.loc{word-break:break-all;max-width:28em}
.hash{font-family:ui-monospace,monospace;font-size:11px;word-break:break-all;display:block;max-width:160px}
.note{color:#8a4b00;font-size:12px}
.muted{color:var(--muted);font-size:12px}
code{font-family:ui-monospace,monospace}
.tier{display:inline-block;padding:1px 7px;border-radius:9px;font-weight:600;font-size:12px;color:#fff}
.tier-exact{background:#b3261e}.tier-near{background:#c25e00}.tier-review{background:#49657a}
.keep{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;background:#1f7a3a;color:#fff}
tr.keeper td{background:#eef8f0}
section.cluster{margin-bottom:20px}
)css";

// Runs at the end of <body>: every element it touches is already parsed.
constexpr std::string_view kScript = R"js(
(function () {
  "use strict";
  document.querySelectorAll("img[data-thumb]").forEach(function (img) {
    var first = document.getElementById(img.dataset.thumb);
    if (first) img.src = first.src;
  });

  var tierRank = {exact: 0, near: 1, review: 2};
  function key(tr, name, type) {
    var v = tr.dataset[name];
    if (type === "text") return v || "";
    if (type === "tier") return v in tierRank ? tierRank[v] : 9;
    return v === undefined || v === "" ? null : Number(v);  // null: not compared
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.tHead.addEventListener("click", function (ev) {
      var th = ev.target.closest("th[data-sort]");
      if (!th) return;
      var name = th.dataset.sort, type = th.dataset.type || "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      table.tHead.querySelectorAll("th[aria-sort]").forEach(function (h) {
        h.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.map.call(body.rows, function (tr, i) {
        return {tr: tr, i: i, k: key(tr, name, type)};
      });
      rows.sort(function (a, b) {  // stable; rows without a value last in both directions
        if (a.k === b.k) return a.i - b.i;
        if (a.k === null) return 1;
        if (b.k === null) return -1;
        return a.k < b.k ? -dir : dir;
      });
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) { frag.appendChild(r.tr); });
      body.appendChild(frag);
    });
  });

  // Machine-readable status for tests (tests/cli/check_html.py): written once every image has
  // loaded or failed.
  function status() {
    var images = Array.prototype.slice.call(document.images), decoded = 0, broken = [];
    images.forEach(function (img) {
      if (img.complete && img.naturalWidth > 0) { decoded++; return; }
      var tr = img.closest("tr");
      broken.push((tr ? tr.dataset.locator : "") + " (" + img.alt + ")");
    });
    document.documentElement.dataset.residueCheck = JSON.stringify({
      rows: document.querySelectorAll("tr.match, tr.member").length,
      expected_rows: Number(document.body.dataset.rows),
      images: images.length, decoded: decoded, broken: broken,
      load_ms: Math.round(performance.now())});
  }
  if (document.readyState === "complete") status(); else window.addEventListener("load", status);
})();
)js";

void open_page(std::string& out, const HtmlReportInfo& info, std::string_view kind,
               std::size_t rows) {
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // No fetch of any kind: the page is everything. Inline style and script, data: images only.
  out +=
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>{}</title>\n<style>{}</style>\n</head>\n", esc(info.title), kStyle);
  out += fmt::format("<body data-report=\"{}\" data-rows=\"{}\">\n", kind, rows);
  out += fmt::format("<h1>{}</h1>\n<p class=\"generated\">Generated {}</p>\n", esc(info.title),
                     esc(info.generated_at));
  if (!info.facts.empty()) {
    out += "<dl class=\"facts\">\n";
    for (const auto& [name, value] : info.facts)
      out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", esc(name), esc(value));
    out += "</dl>\n";
  }
}

void close_page(std::string& out) {
  out += "<script>";
  out += kScript;
  out += "</script>\n</body>\n</html>\n";
}

using Counts = std::vector<std::pair<std::string, std::uint64_t>>;

void append_count_table(std::string& out, std::string_view caption, std::string_view key_name,
                        std::string_view count_name, const Counts& counts) {
  out += fmt::format("<table class=\"count\"><caption>{}</caption>\n", esc(caption));
  out += fmt::format("<thead><tr><th>{}</th><th class=\"num\">{}</th></tr></thead><tbody>\n",
                     esc(key_name), esc(count_name));
  std::uint64_t total = 0;
  for (const auto& [name, n] : counts) {
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td></tr>\n", esc(name), n);
    total += n;
  }
  out +=
      fmt::format("</tbody><tfoot><tr><th>total</th><th class=\"num\">{}</th></tr></tfoot>", total);
  out += "</table>\n";
}

Counts by_tier(const std::vector<Tier>& tiers) {
  std::array<std::uint64_t, 3> n{};
  for (Tier t : tiers) ++n[static_cast<std::size_t>(t)];
  Counts out;
  for (Tier t : {Tier::exact, Tier::near, Tier::review})
    out.emplace_back(to_string(t), n[static_cast<std::size_t>(t)]);
  return out;
}

Counts by_name(const std::vector<std::string>& names) {
  std::map<std::string, std::uint64_t> n;
  for (const auto& s : names) ++n[s.empty() ? std::string("(none)") : s];
  return {n.begin(), n.end()};
}

/// Writes each distinct thumbnail once: the first <img> carries the data and an id, repeats
/// name that id in data-thumb (see the script).
class Thumbnails {
 public:
  std::string img(const std::string& jpeg, std::string_view alt) {
    const auto [it, first] = ids_.try_emplace(jpeg, ids_.size());
    if (!first) return fmt::format("<img alt=\"{}\" data-thumb=\"t{}\">", esc(alt), it->second);
    std::string out = fmt::format("<img alt=\"{}\" id=\"t{}\" src=\"data:image/jpeg;base64,",
                                  esc(alt), it->second);
    append_base64(out, jpeg);
    out += "\">";
    return out;
  }

 private:
  std::unordered_map<std::string, std::size_t> ids_;
};

// ---------------------------------------------------------------------------------------------
// Match report

void append_match_row(std::string& out, const HtmlMatch& m, Thumbnails& thumbs) {
  const MatchRow& r = m.row;
  out += fmt::format(
      "<tr class=\"match\" data-tier=\"{}\" data-pdq=\"{}\" data-phash=\"{}\" data-locator=\"{}\" "
      "data-container=\"{}\" data-bank=\"{}\" data-quality=\"{}\" data-size=\"{}\">",
      to_string(r.tier), distance_key(r.pdq_distance), distance_key(r.phash_distance),
      esc(r.locator), esc(r.container), esc(r.bank_locator), r.quality, r.size);

  out += "<td class=\"img\">";
  if (!m.copy_thumbnail.empty())
    out += thumbs.img(m.copy_thumbnail, "copy");
  else
    out += fmt::format("<span class=\"note\">{}</span>",
                       esc(m.copy_note.empty() ? std::string("no thumbnail") : m.copy_note));
  out += "</td><td class=\"img\">";
  if (!m.bank_thumbnail.empty())
    out += thumbs.img(m.bank_thumbnail, "withdrawn");
  else if (!m.bank_pdq.empty())
    out += fmt::format(
        "<span class=\"muted\">hash-list entry, PDQ</span><code class=\"hash\">{}</code>",
        esc(m.bank_pdq));
  else
    out += "<span class=\"muted\">no image</span>";
  out += "</td>";

  out += fmt::format("<td class=\"loc\">{}</td><td>{}</td>", esc(r.locator), esc(r.container));
  out += fmt::format("<td class=\"loc\">{}", esc(r.bank_locator));
  if (!r.bank_label.empty())
    out += fmt::format("<br><span class=\"muted\">{}</span>", esc(r.bank_label));
  out += "</td>";
  out += fmt::format("<td>{}</td>", tier_badge(r.tier));
  out += fmt::format("<td class=\"num\">{}</td><td class=\"num\">{}</td>",
                     distance_text(r.pdq_distance), distance_text(r.phash_distance));
  out += fmt::format("<td>{}</td><td>{}</td><td>{}</td>", to_string(r.dihedral), to_string(r.view),
                     r.trimmed ? "yes" : "no");
  out += fmt::format("<td class=\"num\">{}</td><td class=\"num\" title=\"{} bytes\">{}</td>",
                     r.quality, r.size, human_size(r.size));
  out += fmt::format("<td>{}</td></tr>\n", short_sha(r.sha256));
}

constexpr std::string_view kMatchHead =
    "<thead><tr><th>Copy</th><th>Withdrawn</th>"
    "<th data-sort=\"locator\" data-type=\"text\">Locator</th>"
    "<th data-sort=\"container\" data-type=\"text\">Container</th>"
    "<th data-sort=\"bank\" data-type=\"text\">Withdrawn entry</th>"
    "<th data-sort=\"tier\" data-type=\"tier\">Tier</th>"
    "<th class=\"num\" data-sort=\"pdq\">PDQ</th>"
    "<th class=\"num\" data-sort=\"phash\">pHash</th>"
    "<th>Dihedral</th><th>View</th><th>Trimmed</th>"
    "<th class=\"num\" data-sort=\"quality\">Quality</th>"
    "<th class=\"num\" data-sort=\"size\">Size</th>"
    "<th>SHA-256</th></tr></thead>\n";

// ---------------------------------------------------------------------------------------------
// Dedup report

void append_member_row(std::string& out, const HtmlDedupMember& m, Thumbnails& thumbs) {
  const DedupRow& r = m.row;
  out += fmt::format(
      "<tr class=\"member{}\" data-cluster=\"{}\" data-keeper=\"{}\" data-tier=\"{}\" "
      "data-pdq=\"{}\" data-phash=\"{}\" data-locator=\"{}\" data-size=\"{}\">",
      r.keeper ? " keeper" : "", r.cluster, r.keeper ? "true" : "false", to_string(r.tier),
      distance_key(r.pdq_distance), distance_key(r.phash_distance), esc(r.locator), r.size);
  out += "<td class=\"img\">";
  if (!m.thumbnail.empty())
    out += thumbs.img(m.thumbnail, r.keeper ? "keeper" : "copy");
  else
    out += fmt::format("<span class=\"note\">{}</span>",
                       esc(m.note.empty() ? std::string("no thumbnail") : m.note));
  out += "</td>";
  out += fmt::format("<td>{}</td>", r.keeper ? "<span class=\"keep\">keep</span>" : "");
  out += fmt::format("<td class=\"loc\">{}</td><td>{}</td>", esc(r.locator), esc(r.container));
  out += fmt::format("<td class=\"num\">{}</td><td class=\"num\">{}</td>",
                     distance_text(r.pdq_distance), distance_text(r.phash_distance));
  out += fmt::format("<td class=\"num\">{}&times;{}</td><td class=\"num\">{}</td>", r.width,
                     r.height, r.quality);
  out += fmt::format("<td class=\"num\" title=\"{} bytes\">{}</td><td>{}</td></tr>\n", r.size,
                     human_size(r.size), short_sha(r.sha256));
}

constexpr std::string_view kDedupHead =
    "<thead><tr><th>Image</th><th>Keep</th>"
    "<th data-sort=\"locator\" data-type=\"text\">Locator</th><th>Container</th>"
    "<th class=\"num\" data-sort=\"pdq\">PDQ to keeper</th>"
    "<th class=\"num\" data-sort=\"phash\">pHash to keeper</th>"
    "<th class=\"num\">Pixels</th><th class=\"num\">Quality</th>"
    "<th class=\"num\" data-sort=\"size\">Size</th><th>SHA-256</th></tr></thead>\n";

}  // namespace

std::string match_html(std::span<const HtmlMatch> matches, const HtmlReportInfo& info) {
  std::string out;
  open_page(out, info, "match", matches.size());

  std::vector<Tier> tiers;
  std::vector<std::string> containers;
  for (const auto& m : matches) {
    tiers.push_back(m.row.tier);
    containers.push_back(m.row.container);
  }
  out += "<section class=\"counts\">\n";
  append_count_table(out, "Matches by tier", "tier", "matches", by_tier(tiers));
  append_count_table(out, "Matches by container", "container", "matches", by_name(containers));
  out += "</section>\n";

  out += fmt::format("<h2>{} match{}</h2>\n", matches.size(), matches.size() == 1 ? "" : "es");
  out += "<table class=\"sortable\" id=\"matches\">\n";
  out += kMatchHead;
  out += "<tbody>\n";
  Thumbnails thumbs;
  for (const auto& m : matches) append_match_row(out, m, thumbs);
  out += "</tbody></table>\n";
  close_page(out);
  return out;
}

std::string dedup_html(std::span<const HtmlDedupMember> members, const HtmlReportInfo& info) {
  std::string out;
  open_page(out, info, "dedup", members.size());

  // Clusters in their number order; in each, the keeper first, then the members as given.
  std::map<std::uint64_t, std::vector<const HtmlDedupMember*>> clusters;
  for (const auto& m : members) clusters[m.row.cluster].push_back(&m);
  std::vector<Tier> tiers;
  std::vector<std::string> containers;
  for (auto& [id, list] : clusters) {
    std::stable_partition(list.begin(), list.end(), [](auto* m) { return m->row.keeper; });
    tiers.push_back(list.front()->row.tier);
  }
  for (const auto& m : members) containers.push_back(m.row.container);

  out += "<section class=\"counts\">\n";
  append_count_table(out, "Clusters by tier", "tier", "clusters", by_tier(tiers));
  append_count_table(out, "Members by container", "container", "members", by_name(containers));
  out += "</section>\n";

  Thumbnails thumbs;
  for (const auto& [id, list] : clusters) {
    const Tier tier = list.front()->row.tier;
    out += fmt::format("<section class=\"cluster\" data-cluster=\"{}\" data-tier=\"{}\">\n", id,
                       to_string(tier));
    out += fmt::format("<h2>Cluster {} {} &middot; {} image{}</h2>\n", id, tier_badge(tier),
                       list.size(), list.size() == 1 ? "" : "s");
    out += "<table class=\"sortable\">\n";
    out += kDedupHead;
    out += "<tbody>\n";
    for (const auto* m : list) append_member_row(out, *m, thumbs);
    out += "</tbody></table>\n</section>\n";
  }
  close_page(out);
  return out;
}

}  // namespace residue
