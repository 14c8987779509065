// The catalog: schema, versioning, batched writes, incremental state, bulk reads.
#include "residue/catalog.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <chrono>
#include <cstring>

#include "sqlite.hpp"

namespace residue {
namespace {

using detail::Db;
using detail::Stmt;

constexpr const char* kApplication = "residue";

const char* role_name(DatabaseRole r) {
  return r == DatabaseRole::bank ? "bank" : "catalog";
}

constexpr const char* kSchema = R"sql(
CREATE TABLE residue_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  roots TEXT NOT NULL,
  options TEXT NOT NULL,
  items INTEGER, ok INTEGER, failed INTEGER, skipped INTEGER, gone INTEGER, bytes INTEGER);
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
  gone INTEGER NOT NULL DEFAULT 0);
CREATE INDEX items_file ON items(file);
)sql";

std::string now_utc() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string error_code_name(std::int64_t status) {
  return std::string(to_string(static_cast<ErrorCode>(status)));
}

bool under_root(const std::string& path, const std::string& root) {
  if (path == root) return true;
  if (root.empty()) return false;
  if (root.back() == '/') return path.starts_with(root);
  return path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/';
}

std::span<const std::uint8_t> bytes_of(const auto& array) {
  return {array.data(), array.size()};
}

// PDQ hashes are stored as 32 bytes in the order of their hex form (most significant first), so
// the blob reads the same as the text on any platform.
std::array<std::uint8_t, 32> pdq_blob(const Hash256& h) {
  std::array<std::uint8_t, 32> b{};
  for (std::size_t i = 0; i < 32; ++i)
    b[i] = static_cast<std::uint8_t>(h.words[3 - i / 8] >> (56 - 8 * (i % 8)));
  return b;
}
Hash256 pdq_from_blob(std::span<const std::uint8_t> b) {
  Hash256 h;
  if (b.size() != 32) return h;
  for (std::size_t i = 0; i < 32; ++i)
    h.words[3 - i / 8] |= std::uint64_t{b[i]} << (56 - 8 * (i % 8));
  return h;
}

constexpr const char* kUpsertItem =
    "INSERT INTO items(locator, file, container, kind, size, mtime_ns, sha256, format, width, "
    "height, pdq, "
    "quality, phash, status, error, scanned_at, run_id, gone) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0) "
    "ON CONFLICT(locator) DO UPDATE SET file=?2, container=?3, kind=?4, size=?5, mtime_ns=?6, "
    "sha256=?7, "
    "format=?8, width=?9, height=?10, pdq=?11, quality=?12, phash=?13, status=?14, error=?15, "
    "scanned_at=?16, "
    "run_id=?17, gone=0";
constexpr const char* kUpsertFile =
    "INSERT INTO files(path, kind, size, mtime_ns, complete, run_id) VALUES(?1, ?2, ?3, ?4, ?5, "
    "?6) "
    "ON CONFLICT(path) DO UPDATE SET kind=?2, size=?3, mtime_ns=?4, complete=?5, run_id=?6";

// Creates a database with the schema under a temporary name and renames it into place, so a
// process killed during creation never leaves a half-made file that later opens would refuse.
void create_database(const std::string& path, DatabaseRole role) {
  const std::string tmp = path + ".creating-" + std::to_string(::getpid());
  std::remove(tmp.c_str());
  try {
    Db db(tmp, /*read_only=*/false, /*create=*/true);
    db.exec("PRAGMA journal_mode=WAL");
    db.exec("BEGIN");
    db.exec(kSchema);
    Stmt put(db, "INSERT INTO residue_meta(key, value) VALUES(?, ?)");
    put.bind(1, std::string_view("application")).bind(2, std::string_view(kApplication)).run();
    put.bind(1, std::string_view("role")).bind(2, std::string_view(role_name(role))).run();
    put.bind(1, std::string_view("schema_version"))
        .bind(2, std::to_string(kCatalogSchemaVersion))
        .run();
    put.bind(1, std::string_view("created_at")).bind(2, now_utc()).run();
    db.exec("COMMIT");
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");  // everything in the main file before the rename
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

}  // namespace

struct Catalog::Impl {
  Db db;
  DatabaseRole role;
  bool read_only;
  bool in_transaction = false;
  int batch_size = 1000;
  int batch_items = 0;
  std::chrono::steady_clock::time_point batch_started;
  std::string now;                                 // timestamp for rows of the current batch
  std::unique_ptr<Stmt> upsert_item, upsert_file;  // prepared once, on first write

  Impl(const std::string& path, bool ro, bool create, DatabaseRole r)
      : db(path, ro, create), role(r), read_only(ro) {}

  void begin() {
    if (in_transaction) return;
    db.exec("BEGIN IMMEDIATE");
    in_transaction = true;
    batch_items = 0;
    batch_started = std::chrono::steady_clock::now();
    now = now_utc();
  }
  void commit() {
    if (!in_transaction) return;
    db.exec("COMMIT");
    in_transaction = false;
  }
  void maybe_commit() {
    ++batch_items;
    // Commit by count, and at least every second so a kill loses little work.
    if (batch_items >= batch_size ||
        std::chrono::steady_clock::now() - batch_started > std::chrono::seconds(1))
      commit();
  }
};

Catalog::Catalog(const std::string& path, Mode mode, DatabaseRole role) {
  const bool read_only = mode == Mode::read_only;
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (!exists && read_only)
    RESIDUE_THROW(path + ": no such " + role_name(role) + " (" + std::strerror(errno) + ")");
  if (exists && !S_ISREG(st.st_mode)) RESIDUE_THROW(path + ": not a regular file");
  if (!exists) create_database(path, role);
  impl_ = std::make_unique<Impl>(path, read_only, /*create=*/false, role);
  Db& db = impl_->db;

  {
    // Validate before writing anything: a file that is not ours must be left untouched.
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
                    " is newer than this residue supports (" +
                    std::to_string(kCatalogSchemaVersion) + "); upgrade residue");
    if (version < 1) RESIDUE_THROW(not_ours + " (bad schema version)");
  }
  if (!read_only) db.exec("PRAGMA synchronous=NORMAL");
}

Catalog::~Catalog() {
  if (impl_ && impl_->in_transaction) {
    try {
      impl_->commit();
    } catch (...) {
      // Destructors must not throw; the batch is lost, the database stays valid.
    }
  }
}

const std::string& Catalog::path() const noexcept {
  return impl_->db.path();
}

std::int64_t Catalog::begin_run(std::string_view roots_json, std::string_view options_json) {
  impl_->commit();
  Stmt s(impl_->db,
         "INSERT INTO runs(started_at, status, roots, options) VALUES(?, 'running', ?, ?)");
  s.bind(1, now_utc()).bind(2, roots_json).bind(3, options_json).run();
  return sqlite3_last_insert_rowid(impl_->db.get());
}

void Catalog::finish_run(std::int64_t run_id, const RunSummary& m, std::string_view status) {
  impl_->commit();
  Stmt s(impl_->db,
         "UPDATE runs SET finished_at=?, status=?, items=?, ok=?, failed=?, skipped=?, gone=?, "
         "bytes=? WHERE id=?");
  s.bind(1, now_utc()).bind(2, status);
  s.bind(3, static_cast<std::int64_t>(m.items)).bind(4, static_cast<std::int64_t>(m.ok));
  s.bind(5, static_cast<std::int64_t>(m.failed)).bind(6, static_cast<std::int64_t>(m.skipped));
  s.bind(7, static_cast<std::int64_t>(m.gone))
      .bind(8, static_cast<std::int64_t>(m.bytes))
      .bind(9, run_id)
      .run();
}

std::unordered_map<std::string, FileState> Catalog::load_file_states() {
  impl_->commit();
  std::unordered_map<std::string, FileState> out;
  Stmt s(impl_->db, "SELECT path, kind, size, mtime_ns, complete FROM files");
  while (s.step()) {
    out.emplace(s.text(0), FileState{s.text(1), static_cast<std::uint64_t>(s.int64(2)), s.int64(3),
                                     s.int64(4) != 0});
  }
  return out;
}

std::unordered_set<std::string> Catalog::load_locators(std::string_view file_path) {
  impl_->commit();
  std::unordered_set<std::string> out;
  Stmt s(impl_->db, "SELECT locator FROM items WHERE file=? AND gone=0");
  s.bind_blob(1, file_path);
  while (s.step()) out.insert(s.text(0));
  return out;
}

void Catalog::put_item(const ItemRecord& r, std::string_view file_path, std::string_view container,
                       std::string_view kind, std::int64_t file_mtime_ns, std::uint64_t file_size,
                       std::int64_t run_id) {
  Impl& im = *impl_;
  im.begin();
  if (!im.upsert_item) {
    im.upsert_item = std::make_unique<Stmt>(im.db, kUpsertItem);
    im.upsert_file = std::make_unique<Stmt>(im.db, kUpsertFile);
  }
  Stmt& s = *im.upsert_item;
  s.bind_blob(1, r.locator).bind_blob(2, file_path).bind_blob(3, container).bind(4, kind);
  s.bind(5, static_cast<std::int64_t>(r.size)).bind(6, file_mtime_ns);
  if (r.has_sha256)
    s.bind_blob(7, bytes_of(r.sha256.bytes));
  else
    s.bind_null(7);
  s.bind(8, to_string(r.format)).bind(9, std::int64_t{r.width}).bind(10, std::int64_t{r.height});
  if (r.ok()) {
    s.bind_blob(11, bytes_of(pdq_blob(r.pdq))).bind(13, static_cast<std::int64_t>(r.phash.bits));
  } else {
    s.bind_null(11).bind_null(13);
  }
  s.bind(12, std::int64_t{r.quality});
  s.bind(14, static_cast<std::int64_t>(r.ok() ? ErrorCode::ok : r.error->code));
  if (r.ok())
    s.bind_null(15);
  else
    s.bind(15, r.error->message);
  s.bind(16, im.now).bind(17, run_id).run();

  if (container.empty()) {
    Stmt& f = *im.upsert_file;
    f.bind_blob(1, file_path)
        .bind(2, std::string_view("file"))
        .bind(3, static_cast<std::int64_t>(file_size));
    f.bind(4, file_mtime_ns).bind(5, std::int64_t{1}).bind(6, run_id).run();
  }
  im.maybe_commit();
}

void Catalog::put_container(std::string_view path, std::string_view kind, std::uint64_t size,
                            std::int64_t mtime_ns, bool complete, std::int64_t run_id) {
  Impl& im = *impl_;
  im.begin();
  if (!complete) {
    // Resuming the same bytes (a scan killed inside this container): the members committed then
    // are still valid, so they count as seen by this run.
    Stmt prev(im.db, "SELECT size, mtime_ns FROM files WHERE path=?");
    prev.bind_blob(1, path);
    if (prev.step() && static_cast<std::uint64_t>(prev.int64(0)) == size &&
        prev.int64(1) == mtime_ns) {
      Stmt bump(im.db, "UPDATE items SET run_id=? WHERE file=? AND gone=0");
      bump.bind(1, run_id).bind_blob(2, path).run();
    }
  } else {
    Stmt gone(im.db, "UPDATE items SET gone=1 WHERE file=? AND run_id<>? AND gone=0");
    gone.bind_blob(1, path).bind(2, run_id).run();
  }
  Stmt f(im.db, kUpsertFile);
  f.bind_blob(1, path).bind(2, kind).bind(3, static_cast<std::int64_t>(size)).bind(4, mtime_ns);
  f.bind(5, std::int64_t{complete ? 1 : 0}).bind(6, run_id).run();
  if (complete) im.commit();  // a finished container is a natural checkpoint
}

std::uint64_t Catalog::mark_unseen_gone(const std::vector<std::string>& roots,
                                        const std::unordered_set<std::string>& seen) {
  Impl& im = *impl_;
  im.commit();
  std::vector<std::string> vanished;
  {
    Stmt s(im.db, "SELECT path FROM files");
    while (s.step()) {
      std::string p = s.text(0);
      if (seen.contains(p)) continue;
      for (const auto& root : roots) {
        if (under_root(p, root)) {
          vanished.push_back(std::move(p));
          break;
        }
      }
    }
  }
  std::uint64_t gone = 0;
  im.begin();
  Stmt mark(im.db, "UPDATE items SET gone=1 WHERE file=? AND gone=0");
  Stmt forget(im.db, "DELETE FROM files WHERE path=?");
  for (const auto& p : vanished) {
    mark.bind_blob(1, p).run();
    gone += static_cast<std::uint64_t>(sqlite3_changes(im.db.get()));
    forget.bind_blob(1, p).run();
  }
  im.commit();
  return gone;
}

void Catalog::commit() {
  impl_->commit();
}
void Catalog::set_batch_size(int items) noexcept {
  impl_->batch_size = items < 1 ? 1 : items;
}

CatalogStats Catalog::stats() {
  impl_->commit();
  CatalogStats st;
  Db& db = impl_->db;
  {
    Stmt s(db, "SELECT gone, count(*) FROM items GROUP BY gone");
    while (s.step()) (s.int64(0) ? st.gone : st.items) = static_cast<std::uint64_t>(s.int64(1));
  }
  {
    Stmt s(db, "SELECT status, count(*) FROM items WHERE gone=0 GROUP BY status");
    while (s.step())
      st.by_status[error_code_name(s.int64(0))] = static_cast<std::uint64_t>(s.int64(1));
  }
  {
    Stmt s(db, "SELECT format, count(*) FROM items WHERE gone=0 AND status=0 GROUP BY format");
    while (s.step()) st.by_format[s.text(0)] = static_cast<std::uint64_t>(s.int64(1));
  }
  {
    Stmt s(db, "SELECT kind, count(*) FROM items WHERE gone=0 GROUP BY kind");
    while (s.step()) st.by_container[s.text(0)] = static_cast<std::uint64_t>(s.int64(1));
  }
  {
    Stmt s(db, "SELECT count(*), max(started_at), max(finished_at) FROM runs");
    if (s.step()) {
      st.runs = static_cast<std::uint64_t>(s.int64(0));
      st.last_run_started = s.text(1);
      st.last_run_finished = s.text(2);
    }
  }
  return st;
}

std::vector<CatalogHash> Catalog::load_hashes() {
  impl_->commit();
  std::vector<CatalogHash> out;
  Db& db = impl_->db;
  {
    Stmt n(db, "SELECT count(*) FROM items WHERE gone=0 AND status=0");
    if (n.step()) out.reserve(static_cast<std::size_t>(n.int64(0)));
  }
  Stmt s(db, "SELECT id, pdq, phash, sha256, quality FROM items WHERE gone=0 AND status=0");
  while (s.step()) {
    CatalogHash h;
    h.item_id = s.int64(0);
    h.pdq = pdq_from_blob(s.blob(1));
    h.phash.bits = static_cast<std::uint64_t>(s.int64(2));
    const auto sha = s.blob(3);
    if (sha.size() == 32) std::memcpy(h.sha256.bytes.data(), sha.data(), 32);
    h.quality = static_cast<std::int16_t>(s.int64(4));
    out.push_back(h);
  }
  return out;
}

}  // namespace residue
