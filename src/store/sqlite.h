#pragma once
// A thin RAII layer over the SQLite C API: one Database per connection, prepared statements cached
// by their SQL text, and every failure turned into a StoreError that names the statement. Nothing
// here knows the provisiond schema.
//
// Not thread-safe: a Database belongs to one thread at a time, like the Store that owns it.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "prov/clock.h"

namespace prov::sql {

class Database;

// One prepared statement, owned by a Database's cache (or by a Query when the cached copy is
// already in use, e.g. a statement re-entered from inside its own result loop).
class Statement {
 public:
  Statement(Database& db, std::string sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  sqlite3_stmt* handle() const { return stmt_; }
  const std::string& sql() const { return sql_; }

 private:
  friend class Database;
  friend class Query;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
  bool in_use_ = false;
};

// One execution of a statement: bind parameters (1-based), step through rows, read columns
// (0-based). Destroying the Query resets the statement so the cache can hand it out again.
class Query {
 public:
  Query(Database& db, Statement* stmt, std::unique_ptr<Statement> owned);
  ~Query();
  Query(Query&& other) noexcept;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query& operator=(Query&&) = delete;

  Query& bind(int index, std::int64_t value);
  Query& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Query& bind(int index, std::string_view value);
  Query& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Query& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Query& bind(int index, std::nullptr_t);
  Query& bind(int index, TimePoint value);  // stored as Unix milliseconds
  // Binds the arguments to parameters 1..N in order.
  template <class... Args>
  Query& bind_all(const Args&... args) {
    int index = 0;
    (bind(++index, args), ...);
    return *this;
  }

  // True when a row is available; false when the statement has finished. Throws StoreError.
  bool step();
  // Runs a statement that returns no rows (or whose rows are not wanted) to completion.
  void run();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  std::string text(int col) const;
  TimePoint time(int col) const;  // from Unix milliseconds

 private:
  Database* db_;
  Statement* stmt_;
  std::unique_ptr<Statement> owned_;
};

class Database {
 public:
  enum class Mode { ReadWrite, ReadOnly };

  // Opens (ReadWrite: creating when missing) the file through `vfs` (nullptr: SQLite's
  // default). Throws StoreError when it cannot.
  Database(const std::filesystem::path& path, Mode mode, const char* vfs = nullptr);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows (schema, pragmas). Not cached.
  void exec(std::string_view sql);
  // A cached prepared statement, ready to bind.
  Query query(std::string_view sql);

  std::int64_t last_insert_rowid() const;
  int changes() const;
  // False between BEGIN and COMMIT/ROLLBACK; SQLite also leaves a transaction on its own after
  // some errors (disk full, I/O error), which callers must notice.
  bool in_transaction() const;

  // Throws StoreError describing `rc` and the connection's last error message, with `context`
  // (usually the SQL text) so the log says which statement failed.
  [[noreturn]] void fail(int rc, std::string_view context) const;

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace prov::sql
