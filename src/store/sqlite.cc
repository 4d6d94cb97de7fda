#include "store/sqlite.h"

#include <utility>

#include "prov/store.h"

namespace prov::sql {

// --- Statement

Statement::Statement(Database& db, std::string sql) : sql_(std::move(sql)) {
  const int rc = sqlite3_prepare_v3(db.handle(), sql_.data(), static_cast<int>(sql_.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
    db.fail(rc, "prepare: " + sql_);
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

// --- Query

Query::Query(Database& db, Statement* stmt, std::unique_ptr<Statement> owned)
    : db_(&db), stmt_(stmt), owned_(std::move(owned)) {
  stmt_->in_use_ = true;
}

Query::Query(Query&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), owned_(std::move(other.owned_)) {}

Query::~Query() {
  if (stmt_ == nullptr) return;
  // sqlite3_reset repeats the last step's error code; the step already reported it.
  sqlite3_reset(stmt_->stmt_);
  sqlite3_clear_bindings(stmt_->stmt_);
  stmt_->in_use_ = false;
}

Query& Query::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_->stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail(rc, "bind: " + stmt_->sql_);
  return *this;
}

Query& Query::bind(int index, std::string_view value) {
  const int rc = sqlite3_bind_text64(stmt_->stmt_, index, value.data(), value.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_->fail(rc, "bind: " + stmt_->sql_);
  return *this;
}

Query& Query::bind(int index, std::nullptr_t) {
  const int rc = sqlite3_bind_null(stmt_->stmt_, index);
  if (rc != SQLITE_OK) db_->fail(rc, "bind: " + stmt_->sql_);
  return *this;
}

Query& Query::bind(int index, TimePoint value) {
  return bind(index, static_cast<std::int64_t>(value.time_since_epoch().count()));
}

bool Query::step() {
  const int rc = sqlite3_step(stmt_->stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail(rc, stmt_->sql_);
}

void Query::run() {
  while (step()) {
  }
}

bool Query::is_null(int col) const { return sqlite3_column_type(stmt_->stmt_, col) == SQLITE_NULL; }

std::int64_t Query::int64(int col) const { return sqlite3_column_int64(stmt_->stmt_, col); }

std::string Query::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_->stmt_, col);
  if (p == nullptr) return {};
  const int n = sqlite3_column_bytes(stmt_->stmt_, col);
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

TimePoint Query::time(int col) const { return TimePoint(std::chrono::milliseconds(int64(col))); }

// --- Database

Database::Database(const std::filesystem::path& path, Mode mode, const char* vfs) : path_(path) {
  // One connection per thread, so SQLite's own mutexes would only cost time.
  const int flags =
      SQLITE_OPEN_NOMUTEX |
      (mode == Mode::ReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  // SQLite takes UTF-8 file names on every platform (Windows paths are wide strings).
  const std::u8string name = path.u8string();
  const int rc = sqlite3_open_v2(reinterpret_cast<const char*>(name.c_str()), &db_, flags, vfs);
  if (rc != SQLITE_OK) {
    std::string message = "cannot open state database " + path.string() + ": " +
                          (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw StoreError(message);
  }
  sqlite3_extended_result_codes(db_, 1);
}

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
  const std::string text(sql);
  char* raw_error = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &raw_error);
  sqlite3_free(raw_error);  // the same message is still available from sqlite3_errmsg
  if (rc != SQLITE_OK) fail(rc, text);
}

Query Database::query(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    auto stmt = std::make_unique<Statement>(*this, key);
    it = cache_.emplace(std::move(key), std::move(stmt)).first;
  }
  if (it->second->in_use_) {
    // Re-entered while an earlier use is still stepping: give this use its own statement.
    auto fresh = std::make_unique<Statement>(*this, it->first);
    Statement* raw = fresh.get();
    return Query(*this, raw, std::move(fresh));
  }
  return Query(*this, it->second.get(), nullptr);
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

int Database::changes() const { return sqlite3_changes(db_); }

bool Database::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

void Database::fail(int rc, std::string_view context) const {
  std::string message = "SQLite error ";
  message += sqlite3_errstr(rc);
  message += " (" + std::to_string(rc) + ")";
  if (db_ != nullptr) {
    const char* detail = sqlite3_errmsg(db_);
    if (detail != nullptr && std::string_view(detail) != sqlite3_errstr(rc)) {
      message += ": ";
      message += detail;
    }
  }
  message += " [" + path_.string() + "] in: ";
  message += context;
  throw StoreError(message);
}

}  // namespace prov::sql
