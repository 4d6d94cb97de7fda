#include "reliability/state_db.h"

#include <sqlite3.h>

#include <functional>
#include <stdexcept>
#include <vector>

namespace prov::testing {
namespace {

// One read-only connection for the duration of a query.
class Connection {
 public:
  explicit Connection(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 10000);  // the daemon may hold the write lock for a moment
  }
  ~Connection() { sqlite3_close(db_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs `sql` with text parameters; calls `row` for every result row.
  void query(const std::string& sql, const std::vector<std::string>& params,
             const std::function<void(sqlite3_stmt*)>& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error("prepare failed: " + std::string(sqlite3_errmsg(db_)) + ": " + sql);
    for (std::size_t i = 0; i < params.size(); ++i)
      sqlite3_bind_text(st, static_cast<int>(i + 1), params[i].c_str(), -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
      throw std::runtime_error("query failed: " + std::string(sqlite3_errmsg(db_)) + ": " + sql);
  }

  std::int64_t count(const std::string& sql, const std::vector<std::string>& params = {}) {
    std::int64_t n = 0;
    query(sql, params, [&](sqlite3_stmt* st) { n = sqlite3_column_int64(st, 0); });
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string text(sqlite3_stmt* st, int col) {
  const unsigned char* t = sqlite3_column_text(st, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

std::string StateDb::integrity_check() const {
  Connection c(path_);
  std::string report;
  c.query("PRAGMA integrity_check", {}, [&](sqlite3_stmt* st) {
    if (!report.empty()) report += "\n";
    report += text(st, 0);
  });
  return report;
}

std::map<std::string, std::int64_t> StateDb::operations_by_status() const {
  Connection c(path_);
  std::map<std::string, std::int64_t> out;
  c.query("SELECT status, count(*) FROM outbox GROUP BY status", {},
          [&](sqlite3_stmt* st) { out[text(st, 0)] = sqlite3_column_int64(st, 1); });
  return out;
}

std::int64_t StateDb::inbox_pending() const {
  Connection c(path_);
  return c.count("SELECT count(*) FROM inbox WHERE status = 'pending'");
}

std::map<std::string, std::string> StateDb::event_statuses() const {
  Connection c(path_);
  std::map<std::string, std::string> out;
  c.query("SELECT event_id, status FROM inbox", {},
          [&](sqlite3_stmt* st) { out[text(st, 0)] = text(st, 1); });
  return out;
}

std::map<std::string, std::int64_t> StateDb::applied_per_worker(const std::string& kind) const {
  Connection c(path_);
  std::map<std::string, std::int64_t> out;
  c.query(
      "SELECT worker_id, count(*) FROM audit WHERE action = 'op.applied' "
      "AND json_extract(detail, '$.op.kind') = ?1 GROUP BY worker_id",
      {kind}, [&](sqlite3_stmt* st) { out[text(st, 0)] = sqlite3_column_int64(st, 1); });
  return out;
}

std::int64_t StateDb::audit_count(const std::string& action, const std::string& worker_id) const {
  Connection c(path_);
  if (worker_id.empty()) return c.count("SELECT count(*) FROM audit WHERE action = ?1", {action});
  return c.count("SELECT count(*) FROM audit WHERE action = ?1 AND worker_id = ?2",
                 {action, worker_id});
}

std::int64_t StateDb::already_done_count(const std::string& worker_id) const {
  Connection c(path_);
  return c.count(
      "SELECT count(*) FROM audit WHERE action = 'op.applied' AND worker_id = ?1 "
      "AND json_extract(detail, '$.already_done') = 1",
      {worker_id});
}

std::string StateDb::applied_account(const std::string& worker_id) const {
  Connection c(path_);
  std::string out;
  c.query("SELECT coalesce(applied, '') FROM accounts WHERE worker_id = ?1", {worker_id},
          [&](sqlite3_stmt* st) { out = text(st, 0); });
  return out;
}

std::vector<StateDb::AppliedLatency> StateDb::applied_latencies() const {
  Connection c(path_);
  std::vector<AppliedLatency> out;
  c.query(
      "SELECT a.event_id, json_extract(a.detail, '$.op.kind'), a.at - i.received_at "
      "FROM audit a JOIN inbox i ON i.event_id = a.event_id WHERE a.action = 'op.applied'",
      {}, [&](sqlite3_stmt* st) {
        out.push_back(AppliedLatency{text(st, 0), text(st, 1), sqlite3_column_int64(st, 2)});
      });
  return out;
}

std::vector<StateDb::AuditedOperation> StateDb::operation_audit() const {
  Connection c(path_);
  std::vector<AuditedOperation> out;
  c.query(
      "SELECT action, worker_id, event_id, json_extract(detail, '$.op.kind'), op_id FROM audit "
      "WHERE action IN ('op.planned', 'op.applied') ORDER BY id",
      {}, [&](sqlite3_stmt* st) {
        out.push_back(AuditedOperation{text(st, 0), text(st, 1), text(st, 2), text(st, 3),
                                       sqlite3_column_int64(st, 4)});
      });
  return out;
}

bool StateDb::idle() const {
  Connection c(path_);
  return c.count("SELECT count(*) FROM inbox WHERE status = 'pending'") == 0 &&
         c.count("SELECT count(*) FROM outbox WHERE status IN ('pending', 'held')") == 0;
}

bool StateDb::idle(const std::string& target) const {
  Connection c(path_);
  return c.count("SELECT count(*) FROM inbox WHERE status = 'pending'") == 0 &&
         c.count("SELECT count(*) FROM outbox WHERE status IN ('pending', 'held') AND target = ?1",
                 {target}) == 0;
}

}  // namespace prov::testing
