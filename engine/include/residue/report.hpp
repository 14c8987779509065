// residue/report.hpp: renders records as text for people and machines. Read-only, no I/O of its
// own: every function returns a string (without a trailing newline) for the caller to write.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "residue/core.hpp"

namespace residue {

/// A JSON string literal (with quotes) for arbitrary bytes: valid UTF-8 is kept, control
/// characters are escaped, and bytes that are not valid UTF-8 become \u00XX escapes of their
/// Latin-1 reading, so any file name yields valid JSON.
[[nodiscard]] std::string json_quote(std::string_view bytes);

/// `pdq_hex,quality,locator`: the shape the PDQ reference CLI prints. Only for ok records.
[[nodiscard]] std::string hash_csv_line(const ItemRecord& r);

/// One JSON object: locator, size, format, width, height, decode_scale, sha256, pdq, quality,
/// phash, pdq_dihedral / phash_dihedral (objects keyed by transform name) when computed, and
/// error {code, message} for failed items.
[[nodiscard]] std::string hash_json_line(const ItemRecord& r);

/// `truncated: 2, corrupt: 1`: failure counts by code, for run summaries.
[[nodiscard]] std::string error_counts(const std::map<ErrorCode, std::uint64_t>& by_code);

/// `locator: code: message`, the one-line error report on stderr.
[[nodiscard]] std::string error_line(const ItemRecord& r);

// ---------------------------------------------------------------------------------------------
// Match reports (`residue match --out`). Column names are a public interface: scripts read them.

/// One residual copy: a catalog item that matched one bank entry (an item matching several
/// entries gives several rows).
struct MatchRow {
  std::string locator;       // the copy, as the catalog spells it
  std::string container;     // "file", "tar", "zip", "tsv", "recordio"
  std::string bank_locator;  // the bank entry's locator as added, or "hash:<pdq hex>" if imported
  std::string bank_label;
  Tier tier = Tier::review;
  int pdq_distance = -1;    // -1: not compared (e.g. an exact match of a SHA-256-only entry)
  int phash_distance = -1;  // -1: not compared (the entry has no pHash)
  Dihedral dihedral = Dihedral::original;  // the bank variant that matched
  int quality = 0;                         // PDQ quality of the copy
  std::string sha256;                      // hex, of the copy's bytes
  std::uint64_t size = 0;                  // bytes of the copy
  BankView view = BankView::full;          // the bank view that matched
  bool trimmed = false;                    // the copy matched after its uniform border was trimmed
};

/// `locator,container,bank_locator,bank_label,tier,pdq_distance,phash_distance,dihedral,quality,
/// sha256,size,view,trimmed`
[[nodiscard]] std::string match_csv_header();
/// One CSV row (RFC 4180 quoting where needed; -1 distances are written as empty fields).
[[nodiscard]] std::string match_csv_line(const MatchRow& row);
/// One JSON object with the same names (null for distances not compared).
[[nodiscard]] std::string match_json_line(const MatchRow& row);

/// One near-duplicate cluster member (`residue dedup --out`).
struct DedupRow {
  std::uint64_t cluster = 0;  // 1, 2, ... in output order
  Tier tier = Tier::near;     // the weakest link that joined the cluster
  std::string locator;
  std::string container;
  bool keeper = false;    // the suggested copy to keep (largest, then highest quality)
  int pdq_distance = -1;  // to the keeper (-1 for the keeper itself)
  int phash_distance = -1;
  int width = 0, height = 0, quality = 0;
  std::uint64_t size = 0;
  std::string sha256;
};
/// `cluster,tier,locator,container,keeper,pdq_distance,phash_distance,width,height,quality,size,sha256`
[[nodiscard]] std::string dedup_csv_header();
[[nodiscard]] std::string dedup_csv_line(const DedupRow& row);
[[nodiscard]] std::string dedup_json_line(const DedupRow& row);

/// A report row with what the HTML gallery shows beside it. Thumbnails are JPEG bytes (from
/// decode::make_thumbnail); empty when the image could not be read, in which case the page
/// shows why (`*_note`). A bank entry imported from a hash list has no image: its hash is shown.
struct HtmlMatch {
  MatchRow row;
  std::string copy_thumbnail;  // JPEG bytes
  std::string copy_note;       // e.g. "could not read: io_error: ..."
  std::string bank_thumbnail;  // JPEG bytes; empty for hash-list entries
  std::string bank_pdq;        // hex, shown when there is no bank thumbnail
};
struct HtmlDedupMember {
  DedupRow row;
  std::string thumbnail;
  std::string note;
};
struct HtmlReportInfo {
  std::string title;                                       // "residue match report"
  std::string generated_at;                                // UTC, ISO 8601
  std::vector<std::pair<std::string, std::string>> facts;  // ("catalog", path), ("bank", ...)
};
/// One self-contained HTML page (inline CSS, JS and data: URI thumbnails; no network): counts by
/// tier and container, then every match with the withdrawn image beside the copy, sortable by
/// distance.
[[nodiscard]] std::string match_html(std::span<const HtmlMatch> matches,
                                     const HtmlReportInfo& info);
/// The same for dedup clusters: one block per cluster, keeper first.
[[nodiscard]] std::string dedup_html(std::span<const HtmlDedupMember> members,
                                     const HtmlReportInfo& info);

}  // namespace residue
