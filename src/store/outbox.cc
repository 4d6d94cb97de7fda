// The outbox: planned directory operations, executed per worker in id order.
#include <chrono>

#include "store/sqlite_store.h"

namespace prov {
namespace {

constexpr std::string_view kOpColumns =
    "o.id, o.payload, o.status, o.attempts, o.created_at, o.next_attempt_at, o.last_error, "
    "o.event_id, o.target";

std::string select_ops(std::string_view rest) {
  return "SELECT " + std::string(kOpColumns) + " FROM outbox AS o " + std::string(rest);
}

// True for a row that has an older unfinished (pending or held) operation of the same worker in
// the same target: per-worker order means it must wait. One seek on outbox_unfinished_worker.
constexpr std::string_view kBlocked =
    "EXISTS (SELECT 1 FROM outbox AS p WHERE p.status IN ('pending', 'held') "
    "AND p.worker_id = o.worker_id AND p.target = o.target AND p.id < o.id)";

OutboxRow read_op(const sql::Query& q) {
  OutboxRow row;
  const std::int64_t id = q.int64(0);
  const std::string where = "outbox row " + std::to_string(id);
  const Json payload = parse_json_column(q.text(1), where);
  try {
    row.op = operation_from_json(payload);
  } catch (const Json::exception& e) {
    throw StoreError("unreadable operation in " + where + ": " + e.what());
  }
  row.op.id = id;
  const std::string status = q.text(2);
  const auto parsed = parse_op_status(status);
  if (!parsed) throw StoreError(where + " has unknown status '" + status + "'");
  row.status = *parsed;
  row.attempts = static_cast<int>(q.int64(3));
  row.created_at = q.time(4);
  row.next_attempt_at = q.time(5);
  row.last_error = q.text(6);
  row.event_id = q.text(7);
  row.op.target = q.text(8);  // the column: payloads from before targets carry none
  return row;
}

std::vector<OutboxRow> read_ops(sql::Query& q) {
  std::vector<OutboxRow> rows;
  while (q.step()) rows.push_back(read_op(q));
  return rows;
}

// updated_at is for people reading the table, not for scheduling, so wall-clock time is fine.
TimePoint wall_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace

std::int64_t SqliteStore::enqueue(const Operation& op, OpStatus status, const std::string& event_id,
                                  TimePoint now) {
  Operation stored = op;
  stored.id = 0;  // the row id is the operation's id; never trust one carried in the payload
  std::string payload;
  try {
    payload = to_json(stored).dump();
  } catch (const Json::exception& e) {
    throw StoreError("operation for worker " + op.worker_id +
                     " cannot be stored as JSON: " + e.what());
  }
  db_.query(R"sql(INSERT INTO outbox(worker_id, kind, destructive, payload, status,
        next_attempt_at, event_id, created_at, updated_at, target)
      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?6, ?8))sql")
      .bind_all(op.worker_id, to_string(op.kind), is_destructive(op.kind) ? 1 : 0, payload,
                to_string(status), now, event_id, op.target)
      .run();
  return db_.last_insert_rowid();
}

std::vector<OutboxRow> SqliteStore::next_operations(TimePoint now, int limit) {
  // Walks pending rows in id order (outbox_status_id) and stops after `limit` hits. The globally
  // oldest pending rows are nearly always the heads of their workers' queues, so this touches
  // about `limit` rows plus those blocked behind held or backing-off operations.
  static const std::string sql =
      select_ops("WHERE o.status = 'pending' AND o.next_attempt_at <= ?1 AND NOT " +
                 std::string(kBlocked) + " ORDER BY o.id LIMIT ?2");
  auto q = db_.query(sql);
  q.bind_all(now, limit);
  return read_ops(q);
}

std::vector<OutboxRow> SqliteStore::ready_operations(const std::string& target, TimePoint now,
                                                     int limit, Lane lane) {
  // Locks walk outbox_pending_locks (pending locks only). Writes walk every pending row in id
  // order like next_operations, but a membership change is not blocked by older membership
  // changes of other groups of the same event: those commute, so they go out together. Two
  // changes of the same group never do (an add then a remove must reach the directory in that
  // order), and neither do changes of different events: a worker's events reach the directory in
  // the order HR sent them (a termination's removals never overtake the change before it).
  static const std::string locks = select_ops(
      "INDEXED BY outbox_pending_locks "
      "WHERE o.status = 'pending' AND o.kind = 'disable' AND o.next_attempt_at <= ?1 "
      "AND o.target = ?3 "
      "AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.status IN ('pending', 'held') "
      "AND p.worker_id = o.worker_id AND p.target = o.target AND p.id < o.id "
      "AND p.kind IN ('create', 'move', 'delete', 'enable', 'disable')) "
      "ORDER BY o.id LIMIT ?2");
  static const std::string writes = select_ops(
      "WHERE o.status = 'pending' AND o.kind <> 'disable' AND o.next_attempt_at <= ?1 "
      "AND o.target = ?3 "
      "AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.status IN ('pending', 'held') "
      "AND p.worker_id = o.worker_id AND p.target = o.target AND p.id < o.id "
      "AND (p.status = 'held' OR p.kind NOT IN ('add_member', 'remove_member') "
      "OR o.kind NOT IN ('add_member', 'remove_member') OR p.event_id <> o.event_id "
      "OR json_extract(p.payload, '$.group') = json_extract(o.payload, '$.group'))) "
      "ORDER BY o.id LIMIT ?2");
  auto q = db_.query(lane == Lane::Locks ? locks : writes);
  q.bind_all(now, limit, target);
  return read_ops(q);
}

std::optional<OutboxRow> SqliteStore::operation(std::int64_t id) {
  static const std::string sql = select_ops("WHERE o.id = ?1");
  auto q = db_.query(sql);
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_op(q);
}

std::vector<OutboxRow> SqliteStore::operations(OpStatus status, int limit) {
  static const std::string sql = select_ops("WHERE o.status = ?1 ORDER BY o.id LIMIT ?2");
  auto q = db_.query(sql);
  q.bind_all(to_string(status), limit);
  return read_ops(q);
}

std::vector<OutboxRow> SqliteStore::operations_of(const std::string& worker_id) {
  static const std::string sql = select_ops("WHERE o.worker_id = ?1 ORDER BY o.id");
  auto q = db_.query(sql);
  q.bind(1, worker_id);
  return read_ops(q);
}

bool SqliteStore::has_unfinished_operations(const std::string& target,
                                            const std::string& worker_id) {
  // The terms repeat the partial index's condition, so SQLite can use it.
  auto q = db_.query(
      "SELECT 1 FROM outbox WHERE worker_id = ?1 AND status IN ('pending', 'held') "
      "AND target = ?2 LIMIT 1");
  q.bind_all(worker_id, target);
  return q.step();
}

void SqliteStore::set_op_status(std::int64_t id, OpStatus status, const std::string& error) {
  db_.query("UPDATE outbox SET status = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1")
      .bind_all(id, to_string(status), error, wall_now())
      .run();
  if (db_.changes() == 0) throw StoreError("set_op_status: no outbox row " + std::to_string(id));
}

void SqliteStore::schedule_retry(std::int64_t id, TimePoint next_attempt_at,
                                 const std::string& error) {
  db_.query(
         "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3, "
         "updated_at = ?4 WHERE id = ?1")
      .bind_all(id, next_attempt_at, error, wall_now())
      .run();
  if (db_.changes() == 0) {
    throw StoreError("schedule_retry: no outbox row " + std::to_string(id));
  }
}

std::optional<TimePoint> SqliteStore::next_retry_at(TimePoint after) {
  // One seek on outbox_pending_retry, however long the queue. Whether the row is blocked does
  // not matter: a blocked row in the future costs one early wake-up, and once its time has
  // passed it is no longer reported.
  auto q = db_.query(
      "SELECT MIN(next_attempt_at) FROM outbox INDEXED BY outbox_pending_retry "
      "WHERE status = 'pending' AND next_attempt_at > ?1");
  q.bind(1, after);
  q.step();
  if (q.is_null(0)) return std::nullopt;
  return q.time(0);
}

std::int64_t SqliteStore::destructive_workers_since(const std::string& target, TimePoint since) {
  // Held operations wait for approval and rejected ones never run: neither has touched the
  // directory, so neither counts against the brake.
  auto q = db_.query(
      "SELECT COUNT(DISTINCT worker_id) FROM outbox WHERE destructive = 1 AND created_at >= ?1 "
      "AND target = ?2 AND status NOT IN ('held', 'rejected')");
  q.bind_all(since, target);
  q.step();
  return q.int64(0);
}

bool SqliteStore::destructive_worker_since(const std::string& target,
                                           const std::string& worker_id, TimePoint since) {
  // One seek on outbox_worker: a worker has few operations.
  auto q = db_.query(
      "SELECT 1 FROM outbox WHERE worker_id = ?1 AND destructive = 1 AND created_at >= ?2 "
      "AND target = ?3 AND status NOT IN ('held', 'rejected') LIMIT 1");
  q.bind_all(worker_id, since, target);
  return q.step();
}

}  // namespace prov
