// residue/report.hpp: renders records as text for people and machines. Read-only, no I/O of its
// own: every function returns a string (without a trailing newline) for the caller to write.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

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

}  // namespace residue
