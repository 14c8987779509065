// The removal bank: entries (withdrawn images or imported hashes) and their hashes.
#include <cstring>

#include "database.hpp"
#include "residue/catalog.hpp"

namespace residue {
namespace {

using detail::Db;
using detail::Stmt;

std::span<const std::uint8_t> bytes_of(const auto& array) {
  return {array.data(), array.size()};
}

BankEntry read_entry(const Stmt& s, bool with_thumbnail) {
  BankEntry e;
  e.id = s.int64(0);
  e.locator = s.text(1);
  e.label = s.text(2);
  e.origin = s.text(3);
  e.added_at = s.text(4);
  const auto sha = s.blob(5);
  if (sha.size() == 32) {
    e.has_sha256 = true;
    std::memcpy(e.sha256.bytes.data(), sha.data(), 32);
  }
  e.size = static_cast<std::uint64_t>(s.int64(6));
  e.format = s.text(7);
  e.width = static_cast<int>(s.int64(8));
  e.height = static_cast<int>(s.int64(9));
  if (with_thumbnail) e.thumbnail = s.text(10);
  return e;
}

constexpr const char* kEntryColumns =
    "SELECT id, locator, label, origin, added_at, sha256, size, format, width, height, "
    "thumbnail FROM entries";

}  // namespace

struct Bank::Impl {
  detail::OpenedDb opened;
  Db& db;
  bool in_transaction = false;
  explicit Impl(detail::OpenedDb o) : opened(std::move(o)), db(*opened.db) {}
};

Bank::Bank(const std::string& path, Catalog::Mode mode)
    : impl_(std::make_unique<Impl>(
          detail::open_database(path, mode == Catalog::Mode::read_only, DatabaseRole::bank))) {}

Bank::~Bank() {
  rollback();  // an uncommitted transaction is abandoned, never half-applied
}

const std::string& Bank::path() const noexcept {
  return impl_->db.path();
}

void Bank::begin() {
  if (impl_->in_transaction) return;
  impl_->db.exec("BEGIN IMMEDIATE");
  impl_->in_transaction = true;
}

void Bank::commit() {
  if (!impl_->in_transaction) return;
  impl_->db.exec("COMMIT");
  impl_->in_transaction = false;
}

void Bank::rollback() noexcept {
  if (!impl_ || !impl_->in_transaction) return;
  try {
    impl_->db.exec("ROLLBACK");
  } catch (...) {
    // SQLite rolls back by itself when the connection closes.
  }
  impl_->in_transaction = false;
}

std::optional<std::int64_t> Bank::find(std::string_view locator,
                                       const std::optional<Sha256>& sha256) {
  Stmt s(impl_->db, "SELECT id, sha256 FROM entries WHERE locator=?");
  s.bind_blob(1, locator);
  while (s.step()) {
    const auto sha = s.blob(1);
    if (!sha256) return s.int64(0);
    if (sha.size() == 32 && std::memcmp(sha.data(), sha256->bytes.data(), 32) == 0)
      return s.int64(0);
  }
  return std::nullopt;
}

std::int64_t Bank::add(const BankEntry& e, std::span<const BankHash> hashes) {
  RESIDUE_THROW_IF_NOT(impl_->in_transaction, "Bank::add outside a transaction");
  Db& db = impl_->db;
  Stmt s(db,
         "INSERT INTO entries(locator, label, origin, added_at, sha256, size, format, width, "
         "height, thumbnail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind_blob(1, e.locator).bind(2, e.label).bind(3, e.origin);
  s.bind(4, e.added_at.empty() ? utc_timestamp() : e.added_at);
  if (e.has_sha256)
    s.bind_blob(5, bytes_of(e.sha256.bytes));
  else
    s.bind_null(5);
  s.bind(6, static_cast<std::int64_t>(e.size)).bind(7, e.format);
  s.bind(8, std::int64_t{e.width}).bind(9, std::int64_t{e.height});
  if (e.thumbnail.empty())
    s.bind_null(10);
  else
    s.bind_blob(10, e.thumbnail);
  s.run();
  const std::int64_t id = sqlite3_last_insert_rowid(db.get());
  Stmt h(db,
         "INSERT INTO entry_hashes(entry_id, view, dihedral, pdq, quality, phash) "
         "VALUES(?, ?, ?, ?, ?, ?)");
  for (const BankHash& b : hashes) {
    h.bind(1, id)
        .bind(2, static_cast<std::int64_t>(b.view))
        .bind(3, static_cast<std::int64_t>(b.dihedral));
    if (b.has_pdq)
      h.bind_blob(4, bytes_of(detail::pdq_blob(b.pdq)));
    else
      h.bind_null(4);
    h.bind(5, std::int64_t{b.quality});
    if (b.has_phash)
      h.bind(6, static_cast<std::int64_t>(b.phash.bits));
    else
      h.bind_null(6);
    h.run();
  }
  return id;
}

std::uint64_t Bank::remove(const BankSelector& sel) {
  RESIDUE_THROW_IF_NOT(impl_->in_transaction, "Bank::remove outside a transaction");
  Db& db = impl_->db;
  const char* where = sel.id ? "id=?" : sel.label ? "label=?" : "locator=?";
  const std::string ids = std::string("SELECT id FROM entries WHERE ") + where;
  const auto bind = [&](Stmt& s) {
    if (sel.id)
      s.bind(1, *sel.id);
    else if (sel.label)
      s.bind(1, std::string_view(*sel.label));
    else if (sel.locator)
      s.bind_blob(1, std::string_view(*sel.locator));
    else
      RESIDUE_THROW("bank remove: nothing selected");
  };
  {
    const std::string sql = "DELETE FROM entry_hashes WHERE entry_id IN (" + ids + ")";
    Stmt s(db, sql.c_str());
    bind(s);
    s.run();
  }
  const std::string sql = std::string("DELETE FROM entries WHERE ") + where;
  Stmt s(db, sql.c_str());
  bind(s);
  s.run();
  return static_cast<std::uint64_t>(sqlite3_changes(db.get()));
}

std::vector<BankEntry> Bank::entries(bool with_thumbnails) {
  std::vector<BankEntry> out;
  const std::string sql = std::string(kEntryColumns) + " ORDER BY id";
  Stmt s(impl_->db, sql.c_str());
  while (s.step()) out.push_back(read_entry(s, with_thumbnails));
  return out;
}

std::optional<BankEntry> Bank::entry(std::int64_t id, bool with_thumbnail) {
  const std::string sql = std::string(kEntryColumns) + " WHERE id=?";
  Stmt s(impl_->db, sql.c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_entry(s, with_thumbnail);
}

BankHashes Bank::load_hashes() {
  BankHashes out;
  Db& db = impl_->db;
  {
    Stmt s(db, "SELECT entry_id, view, dihedral, pdq, quality, phash FROM entry_hashes");
    while (s.step()) {
      BankHash h;
      h.entry_id = s.int64(0);
      h.view = static_cast<BankView>(s.int64(1));
      h.dihedral = static_cast<Dihedral>(s.int64(2));
      h.has_pdq = !s.is_null(3);
      if (h.has_pdq) h.pdq = detail::pdq_from_blob(s.blob(3));
      h.quality = static_cast<std::int16_t>(s.int64(4));
      h.has_phash = !s.is_null(5);
      if (h.has_phash) h.phash.bits = static_cast<std::uint64_t>(s.int64(5));
      out.hashes.push_back(h);
    }
  }
  Stmt s(db, "SELECT id, sha256 FROM entries WHERE sha256 IS NOT NULL");
  while (s.step()) {
    BankDigest d;
    d.entry_id = s.int64(0);
    const auto sha = s.blob(1);
    if (sha.size() != 32) continue;
    std::memcpy(d.sha256.bytes.data(), sha.data(), 32);
    out.digests.push_back(d);
  }
  return out;
}

BankStats Bank::stats() {
  BankStats st;
  Db& db = impl_->db;
  {
    Stmt s(db, "SELECT origin, count(*) FROM entries GROUP BY origin");
    while (s.step()) {
      const auto n = static_cast<std::uint64_t>(s.int64(1));
      st.entries += n;
      (s.text(0) == "image" ? st.from_images : st.from_lists) += n;
    }
  }
  {
    Stmt s(db, "SELECT count(*) FROM entry_hashes");
    if (s.step()) st.hashes = static_cast<std::uint64_t>(s.int64(0));
  }
  {
    Stmt s(db, "SELECT label, count(*) FROM entries GROUP BY label");
    while (s.step()) st.labels[s.text(0)] = static_cast<std::uint64_t>(s.int64(1));
  }
  {
    Stmt s(db, "SELECT value FROM residue_meta WHERE key='created_at'");
    if (s.step()) st.created_at = s.text(0);
  }
  return st;
}

}  // namespace residue
