// The catalog: schema, versioning, batched writes, incremental state, bulk reads.
#include "residue/catalog.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>

#include "database.hpp"
#include "sqlite.hpp"

namespace residue {
namespace {

using detail::Db;
using detail::pdq_blob;
using detail::pdq_from_blob;
using detail::Stmt;

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

constexpr std::size_t kStripBytes = 32 + 8 + 2;

std::array<std::uint8_t, kStripViewCount * kStripBytes> strips_blob(const ItemRecord& r) {
  std::array<std::uint8_t, kStripViewCount * kStripBytes> b{};
  for (std::size_t k = 0; k < kStripViewCount; ++k) {
    std::uint8_t* p = b.data() + k * kStripBytes;
    const auto pdq = pdq_blob(r.strip_pdq[k]);
    std::copy(pdq.begin(), pdq.end(), p);
    for (std::size_t i = 0; i < 8; ++i)
      p[32 + i] = static_cast<std::uint8_t>(r.strip_phash[k].bits >> (56 - 8 * i));
    const auto q = static_cast<std::uint16_t>(r.strip_quality[k]);
    p[40] = static_cast<std::uint8_t>(q >> 8);
    p[41] = static_cast<std::uint8_t>(q & 0xff);
  }
  return b;
}

void strips_from_blob(std::span<const std::uint8_t> b, CatalogHash& h) {
  if (b.size() != kStripViewCount * kStripBytes) return;
  for (std::size_t k = 0; k < kStripViewCount; ++k) {
    const auto p = b.subspan(k * kStripBytes, kStripBytes);
    h.strip_pdq[k] = pdq_from_blob(p.first(32));
    std::uint64_t bits = 0;
    for (std::size_t i = 0; i < 8; ++i) bits = (bits << 8) | p[32 + i];
    h.strip_phash[k].bits = bits;
    h.strip_quality[k] = static_cast<std::int16_t>((p[40] << 8) | p[41]);
  }
  h.has_strips = true;
}

constexpr const char* kUpsertItem =
    "INSERT INTO items(locator, file, container, kind, size, mtime_ns, sha256, format, width, "
    "height, pdq, quality, phash, status, error, scanned_at, run_id, gone, pdq_trim, "
    "quality_trim, phash_trim, strips) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, 0, ?18, "
    "?19, ?20, ?21) "
    "ON CONFLICT(locator) DO UPDATE SET file=?2, container=?3, kind=?4, size=?5, mtime_ns=?6, "
    "sha256=?7, format=?8, width=?9, height=?10, pdq=?11, quality=?12, phash=?13, status=?14, "
    "error=?15, scanned_at=?16, run_id=?17, gone=0, pdq_trim=?18, quality_trim=?19, "
    "phash_trim=?20, strips=?21";
constexpr const char* kUpsertFile =
    "INSERT INTO files(path, kind, size, mtime_ns, complete, run_id) VALUES(?1, ?2, ?3, ?4, ?5, "
    "?6) "
    "ON CONFLICT(path) DO UPDATE SET kind=?2, size=?3, mtime_ns=?4, complete=?5, run_id=?6";

}  // namespace

struct Catalog::Impl {
  std::unique_ptr<Db> owned;
  Db& db;
  int schema_version;
  DatabaseRole role;
  bool read_only;
  bool in_transaction = false;
  int batch_size = 1000;
  int batch_items = 0;
  std::chrono::steady_clock::time_point batch_started;
  std::string now;                                 // timestamp for rows of the current batch
  std::unique_ptr<Stmt> upsert_item, upsert_file;  // prepared once, on first write

  Impl(detail::OpenedDb opened, bool ro, DatabaseRole r)
      : owned(std::move(opened.db)),
        db(*owned),
        schema_version(opened.schema_version),
        role(r),
        read_only(ro) {}

  void begin() {
    if (in_transaction) return;
    db.exec("BEGIN IMMEDIATE");
    in_transaction = true;
    batch_items = 0;
    batch_started = std::chrono::steady_clock::now();
    now = utc_timestamp();
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
  impl_ = std::make_unique<Impl>(detail::open_database(path, read_only, role), read_only, role);
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
  s.bind(1, utc_timestamp()).bind(2, roots_json).bind(3, options_json).run();
  return sqlite3_last_insert_rowid(impl_->db.get());
}

void Catalog::finish_run(std::int64_t run_id, const RunSummary& m, std::string_view status) {
  impl_->commit();
  Stmt s(impl_->db,
         "UPDATE runs SET finished_at=?, status=?, items=?, ok=?, failed=?, skipped=?, gone=?, "
         "bytes=? WHERE id=?");
  s.bind(1, utc_timestamp()).bind(2, status);
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
  s.bind(16, im.now).bind(17, run_id);
  if (r.ok() && r.has_trim) {
    s.bind_blob(18, bytes_of(pdq_blob(r.pdq_trim)))
        .bind(19, std::int64_t{r.quality_trim})
        .bind(20, static_cast<std::int64_t>(r.phash_trim.bits));
  } else {
    s.bind_null(18).bind_null(19).bind_null(20);
  }
  if (r.ok() && r.has_strips)
    s.bind_blob(21, bytes_of(strips_blob(r)));
  else
    s.bind_null(21);
  s.run();

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
  return load_hashes(std::numeric_limits<std::int64_t>::min(),
                     std::numeric_limits<std::int64_t>::max());
}

std::pair<std::int64_t, std::int64_t> Catalog::item_id_range() {
  impl_->commit();
  Stmt s(impl_->db, "SELECT min(id), max(id) FROM items");
  if (!s.step() || s.is_null(0)) return {1, 0};
  return {s.int64(0), s.int64(1)};
}

std::vector<CatalogHash> Catalog::load_hashes(std::int64_t first_id, std::int64_t last_id) {
  impl_->commit();
  std::vector<CatalogHash> out;
  Db& db = impl_->db;
  {
    Stmt n(db, "SELECT count(*) FROM items WHERE gone=0 AND status=0 AND id BETWEEN ? AND ?");
    n.bind(1, first_id);
    n.bind(2, last_id);
    if (n.step()) out.reserve(static_cast<std::size_t>(n.int64(0)));
  }
  // Schema 1 catalogs (opened read-only, so not migrated) have no trimmed hashes.
  const bool trims = impl_->schema_version >= 2;
  Stmt s(db, trims ? "SELECT id, pdq, phash, sha256, quality, pdq_trim, quality_trim, phash_trim, "
                     "strips FROM items WHERE gone=0 AND status=0 AND id BETWEEN ? AND ? "
                     "ORDER BY id"
                   : "SELECT id, pdq, phash, sha256, quality FROM items WHERE gone=0 AND status=0 "
                     "AND id BETWEEN ? AND ? ORDER BY id");
  s.bind(1, first_id);
  s.bind(2, last_id);
  while (s.step()) {
    CatalogHash h;
    h.item_id = s.int64(0);
    h.pdq = pdq_from_blob(s.blob(1));
    h.phash.bits = static_cast<std::uint64_t>(s.int64(2));
    const auto sha = s.blob(3);
    if (sha.size() == 32) std::memcpy(h.sha256.bytes.data(), sha.data(), 32);
    h.quality = static_cast<std::int16_t>(s.int64(4));
    if (trims && !s.is_null(5)) {
      h.has_trim = true;
      h.pdq_trim = pdq_from_blob(s.blob(5));
      h.quality_trim = static_cast<std::int16_t>(s.int64(6));
      h.phash_trim.bits = static_cast<std::uint64_t>(s.int64(7));
    }
    if (trims && !s.is_null(8)) strips_from_blob(s.blob(8), h);
    out.push_back(h);
  }
  return out;
}

std::vector<CatalogItem> Catalog::load_items(std::span<const std::int64_t> ids) {
  impl_->commit();
  std::vector<CatalogItem> out;
  out.reserve(ids.size());
  Stmt s(impl_->db,
         "SELECT id, locator, file, container, kind, size, sha256, format, width, height, quality "
         "FROM items WHERE id=?");
  for (const std::int64_t id : ids) {
    s.bind(1, id);
    if (s.step()) {
      CatalogItem it;
      it.id = s.int64(0);
      it.locator = s.text(1);
      it.file = s.text(2);
      it.container = s.text(3);
      it.kind = s.text(4);
      it.size = static_cast<std::uint64_t>(s.int64(5));
      const auto sha = s.blob(6);
      if (sha.size() == 32) {
        it.has_sha256 = true;
        std::memcpy(it.sha256.bytes.data(), sha.data(), 32);
      }
      it.format = s.text(7);
      it.width = static_cast<int>(s.int64(8));
      it.height = static_cast<int>(s.int64(9));
      it.quality = static_cast<int>(s.int64(10));
      out.push_back(std::move(it));
    }
    s.reset();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Purge support

std::optional<CatalogItem> Catalog::find_item(std::string_view locator) {
  impl_->commit();
  Stmt s(impl_->db, "SELECT id FROM items WHERE locator=? AND gone=0");
  s.bind_blob(1, locator);
  if (!s.step()) return std::nullopt;
  const std::int64_t id = s.int64(0);
  auto items = load_items(std::span(&id, 1));
  if (items.empty()) return std::nullopt;
  return std::move(items.front());
}

std::optional<FileState> Catalog::file_state(std::string_view path) {
  impl_->commit();
  Stmt s(impl_->db, "SELECT kind, size, mtime_ns, complete FROM files WHERE path=?");
  s.bind_blob(1, path);
  if (!s.step()) return std::nullopt;
  return FileState{s.text(0), static_cast<std::uint64_t>(s.int64(1)), s.int64(2), s.int64(3) != 0};
}

std::vector<std::string> Catalog::run_roots() {
  impl_->commit();
  std::vector<std::string> out;
  Stmt s(impl_->db, "SELECT roots FROM runs ORDER BY id");
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::optional<std::string> Catalog::meta_value(std::string_view key) {
  impl_->commit();
  Stmt s(impl_->db, "SELECT value FROM residue_meta WHERE key=?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

bool Catalog::mark_item_gone(std::string_view locator, const Sha256& sha256) {
  impl_->commit();
  Stmt s(impl_->db, "UPDATE items SET gone=1 WHERE locator=? AND sha256=? AND gone=0");
  s.bind_blob(1, locator).bind_blob(2, bytes_of(sha256.bytes)).run();
  return sqlite3_changes(impl_->db.get()) > 0;
}

bool Catalog::mark_item_present(std::string_view locator, const Sha256& sha256) {
  impl_->commit();
  Stmt s(impl_->db, "UPDATE items SET gone=0 WHERE locator=? AND sha256=? AND gone=1");
  s.bind_blob(1, locator).bind_blob(2, bytes_of(sha256.bytes)).run();
  return sqlite3_changes(impl_->db.get()) > 0;
}

void Catalog::mark_for_rescan(std::string_view path) {
  impl_->commit();
  Stmt s(impl_->db, "UPDATE files SET size=-1, complete=0 WHERE path=?");
  s.bind_blob(1, path).run();
}

}  // namespace residue
