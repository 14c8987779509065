// Private to catalog/: a thin RAII layer over the SQLite C API. Failures are run errors
// (residue::Error) naming the database and SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "residue/core.hpp"

namespace residue::detail {

class Db {
 public:
  Db(const std::string& path, bool read_only, bool create);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  void exec(const char* sql);
  [[nodiscard]] sqlite3* get() const noexcept { return db_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt(Db& db, const char* sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, std::string_view text);  // as TEXT
  Stmt& bind_blob(int i, std::span<const std::uint8_t> bytes);
  Stmt& bind_blob(int i, std::string_view bytes);
  Stmt& bind_null(int i);
  /// true while a row is available; false when done. Throws on error.
  bool step();
  void run();  // step to completion and reset
  void reset();

  [[nodiscard]] std::int64_t int64(int col) const;
  [[nodiscard]] std::string text(int col) const;  // TEXT or BLOB bytes
  [[nodiscard]] std::span<const std::uint8_t> blob(int col) const;
  [[nodiscard]] bool is_null(int col) const;

 private:
  Db& db_;
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace residue::detail
