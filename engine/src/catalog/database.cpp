// Opening, creating, validating and migrating residue databases (catalogs and banks).
#include "database.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace residue::detail {
namespace {

constexpr const char* kApplication = "residue";

constexpr const char* kSchemaCommon = R"sql(
CREATE TABLE residue_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  roots TEXT NOT NULL,
  options TEXT NOT NULL,
  items INTEGER, ok INTEGER, failed INTEGER, skipped INTEGER, gone INTEGER, bytes INTEGER);
)sql";

// Schema 2 added the border-trimmed hashes (pdq_trim, quality_trim, phash_trim) and the strip
// hashes (strips: 4 x [PDQ 32 bytes in hex order, pHash 8 bytes big-endian, quality 2 bytes]).
constexpr const char* kSchemaCatalog = R"sql(
CREATE TABLE files(
  path BLOB PRIMARY KEY,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  complete INTEGER NOT NULL,
  run_id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE items(
  id INTEGER PRIMARY KEY,
  locator BLOB NOT NULL UNIQUE,
  file BLOB NOT NULL,
  container BLOB NOT NULL,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  sha256 BLOB,
  format TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  pdq BLOB,
  quality INTEGER NOT NULL,
  phash INTEGER,
  status INTEGER NOT NULL,
  error TEXT,
  scanned_at TEXT NOT NULL,
  run_id INTEGER NOT NULL,
  gone INTEGER NOT NULL DEFAULT 0,
  pdq_trim BLOB,
  quality_trim INTEGER,
  phash_trim INTEGER,
  strips BLOB);
CREATE INDEX items_file ON items(file);
)sql";

// A bank: one entry per withdrawn image (or imported hash), and its hashes: every view of the
// image under every transform that was hashed. `origin` is "image" or "list".
constexpr const char* kSchemaBank = R"sql(
CREATE TABLE IF NOT EXISTS entries(
  id INTEGER PRIMARY KEY,
  locator BLOB NOT NULL,
  label TEXT NOT NULL,
  origin TEXT NOT NULL,
  added_at TEXT NOT NULL,
  run_id INTEGER,
  sha256 BLOB,
  size INTEGER NOT NULL DEFAULT 0,
  format TEXT NOT NULL DEFAULT '',
  width INTEGER NOT NULL DEFAULT 0,
  height INTEGER NOT NULL DEFAULT 0,
  thumbnail BLOB);
CREATE INDEX IF NOT EXISTS entries_locator ON entries(locator);
CREATE INDEX IF NOT EXISTS entries_label ON entries(label);
CREATE TABLE IF NOT EXISTS entry_hashes(
  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
  view INTEGER NOT NULL,
  dihedral INTEGER NOT NULL,
  pdq BLOB,
  quality INTEGER NOT NULL DEFAULT 0,
  phash INTEGER);
CREATE INDEX IF NOT EXISTS entry_hashes_entry ON entry_hashes(entry_id);
)sql";

// Creates a database with the schema under a temporary name and links it into place, so a
// process killed during creation never leaves a half-made file that later opens would refuse.
void create_database(const std::string& path, DatabaseRole role) {
  const std::string tmp = path + ".creating-" + std::to_string(::getpid());
  std::remove(tmp.c_str());
  try {
    Db db(tmp, /*read_only=*/false, /*create=*/true);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("BEGIN");
    db.exec(kSchemaCommon);
    db.exec(role == DatabaseRole::bank ? kSchemaBank : kSchemaCatalog);
    Stmt put(db, "INSERT INTO residue_meta(key, value) VALUES(?, ?)");
    put.bind(1, std::string_view("application")).bind(2, std::string_view(kApplication)).run();
    put.bind(1, std::string_view("role")).bind(2, std::string_view(role_name(role))).run();
    put.bind(1, std::string_view("schema_version"))
        .bind(2, std::to_string(kCatalogSchemaVersion))
        .run();
    put.bind(1, std::string_view("created_at")).bind(2, utc_timestamp()).run();
    db.exec("COMMIT");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");  // everything in the main file before the link
  } catch (...) {
    std::remove(tmp.c_str());
    std::remove((tmp + "-wal").c_str());
    std::remove((tmp + "-shm").c_str());
    throw;
  }
  std::remove((tmp + "-wal").c_str());
  std::remove((tmp + "-shm").c_str());
  // link() fails if someone created `path` meanwhile: never replace a file we did not make.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    RESIDUE_THROW("cannot create " + path + ": " + std::strerror(err));
  }
  std::remove(tmp.c_str());
}

// Validates residue_meta; returns the schema version. Nothing is written.
int validate(Db& db, const std::string& path, DatabaseRole role) {
  const std::string not_ours = path + ": not a residue " + role_name(role);
  std::string application, file_role;
  int version = 0;
  try {
    Stmt has(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='residue_meta'");
    if (!has.step() || has.int64(0) != 1) RESIDUE_THROW(not_ours + " (no residue_meta table)");
    Stmt meta(db, "SELECT key, value FROM residue_meta");
    while (meta.step()) {
      const std::string key = meta.text(0);
      if (key == "application")
        application = meta.text(1);
      else if (key == "role")
        file_role = meta.text(1);
      else if (key == "schema_version")
        version = std::atoi(meta.text(1).c_str());
    }
  } catch (const Error& e) {
    if (std::string_view(e.what()).find("residue_meta") != std::string_view::npos) throw;
    RESIDUE_THROW(not_ours + " (" + e.what() + ")");
  }
  if (application != kApplication) RESIDUE_THROW(not_ours);
  if (file_role != role_name(role))
    RESIDUE_THROW(path + ": is a residue " + file_role + ", not a " + role_name(role));
  if (version > kCatalogSchemaVersion)
    RESIDUE_THROW(path + ": schema version " + std::to_string(version) +
                  " is newer than this residue supports (" + std::to_string(kCatalogSchemaVersion) +
                  "); upgrade residue");
  if (version < 1) RESIDUE_THROW(not_ours + " (bad schema version)");
  return version;
}

// Schema 1 -> 2: catalogs gain the trimmed hashes; banks (which had no tables of their own in
// schema 1) gain entries and entry_hashes.
void migrate(Db& db, DatabaseRole role, int from) {
  if (from >= kCatalogSchemaVersion) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    if (role == DatabaseRole::catalog) {
      db.exec("ALTER TABLE items ADD COLUMN pdq_trim BLOB");
      db.exec("ALTER TABLE items ADD COLUMN quality_trim INTEGER");
      db.exec("ALTER TABLE items ADD COLUMN phash_trim INTEGER");
      db.exec("ALTER TABLE items ADD COLUMN strips BLOB");
    } else {
      db.exec(kSchemaBank);
    }
    Stmt v(db, "UPDATE residue_meta SET value=? WHERE key='schema_version'");
    v.bind(1, std::to_string(kCatalogSchemaVersion)).run();
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
}

}  // namespace

const char* role_name(DatabaseRole r) noexcept {
  return r == DatabaseRole::bank ? "bank" : "catalog";
}

std::array<std::uint8_t, 32> pdq_blob(const Hash256& h) noexcept {
  std::array<std::uint8_t, 32> b{};
  for (std::size_t i = 0; i < 32; ++i)
    b[i] = static_cast<std::uint8_t>(h.words[3 - i / 8] >> (56 - 8 * (i % 8)));
  return b;
}

Hash256 pdq_from_blob(std::span<const std::uint8_t> b) noexcept {
  Hash256 h;
  if (b.size() != 32) return h;
  for (std::size_t i = 0; i < 32; ++i)
    h.words[3 - i / 8] |= std::uint64_t{b[i]} << (56 - 8 * (i % 8));
  return h;
}

OpenedDb open_database(const std::string& path, bool read_only, DatabaseRole role) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (!exists && read_only)
    RESIDUE_THROW(path + ": no such " + role_name(role) + " (" + std::strerror(errno) + ")");
  if (exists && !S_ISREG(st.st_mode)) RESIDUE_THROW(path + ": not a regular file");
  if (!exists) create_database(path, role);
  OpenedDb out;
  out.db = std::make_unique<Db>(path, read_only, /*create=*/false);
  out.schema_version = validate(*out.db, path, role);
  if (!read_only) {
    migrate(*out.db, role, out.schema_version);
    out.schema_version = kCatalogSchemaVersion;
    out.db->exec("PRAGMA synchronous=NORMAL");
    out.db->exec("PRAGMA foreign_keys=ON");
  }
  return out;
}

}  // namespace residue::detail
