// Private to catalog/: opening a residue database of one role — creation under a temporary name,
// validation of residue_meta (application, role, schema version) before anything is written, and
// migrations of older schemas. Shared by the catalog and the bank.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "residue/catalog.hpp"
#include "sqlite.hpp"

namespace residue::detail {

struct OpenedDb {
  std::unique_ptr<Db> db;
  int schema_version = 0;  // after migration (read-only opens keep the file's version)
};

/// Opens `path` as a residue database of `role` (read_write creates it when absent). Throws
/// residue::Error, leaving the file untouched, when it is not one. A read_write open migrates an
/// older schema in one transaction.
[[nodiscard]] OpenedDb open_database(const std::string& path, bool read_only, DatabaseRole role);

[[nodiscard]] const char* role_name(DatabaseRole r) noexcept;

// PDQ hashes are stored as 32 bytes in the order of their hex form (most significant first), so
// the blob reads the same as the text on any platform.
[[nodiscard]] std::array<std::uint8_t, 32> pdq_blob(const Hash256& h) noexcept;
[[nodiscard]] Hash256 pdq_from_blob(std::span<const std::uint8_t> b) noexcept;

}  // namespace residue::detail
