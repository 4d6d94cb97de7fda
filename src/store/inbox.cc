// The inbox: every HR event as received, stored before it is acknowledged.
#include <set>
#include <string>

#include "store/sqlite_store.h"

namespace prov {
namespace {

constexpr std::string_view kInboxColumns =
    "id, event_id, body_sha256, event_type, worker_id, effective_at, received_at, source, body, "
    "status, note";

std::string select_inbox(std::string_view rest) {
  return "SELECT " + std::string(kInboxColumns) + " FROM inbox " + std::string(rest);
}

}  // namespace

// The whole event, so the row alone explains what HR sent even if the columns are later reshaped.
std::string Store::inbox_body(const HrEvent& e) {
  const Json body = {{"eventId", e.event_id},
                     {"eventType", std::string(to_string(e.type))},
                     {"effectiveAt", format_time(e.effective_at)},
                     {"workerId", e.worker_id},
                     {"worker", e.worker},
                     {"bodySha256", e.body_sha256},
                     {"receivedAt", format_time(e.received_at)},
                     {"source", e.source}};
  try {
    return body.dump();
  } catch (const Json::exception& e2) {
    throw StoreError("event " + e.event_id + " cannot be stored as JSON: " + e2.what());
  }
}

namespace {

std::optional<EventStatus> parse_event_status(std::string_view s) {
  for (auto st :
       {EventStatus::Pending, EventStatus::Applied, EventStatus::Stale, EventStatus::Scheduled}) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

// Reads one row in kInboxColumns order.
InboxRow read_inbox_row(const sql::Query& q) {
  InboxRow row;
  row.id = q.int64(0);
  HrEvent& e = row.event;
  e.event_id = q.text(1);
  e.body_sha256 = q.text(2);
  const std::string type = q.text(3);
  const auto parsed_type = parse_event_type(type);
  if (!parsed_type) {
    throw StoreError("inbox row " + std::to_string(row.id) + " has unknown event type '" + type +
                     "'");
  }
  e.type = *parsed_type;
  e.worker_id = q.text(4);
  e.effective_at = q.time(5);
  e.received_at = q.time(6);
  e.source = q.text(7);
  const Json body = parse_json_column(q.text(8), "inbox row " + std::to_string(row.id));
  if (body.contains("worker")) e.worker = body.at("worker");
  const std::string status = q.text(9);
  const auto parsed_status = parse_event_status(status);
  if (!parsed_status) {
    throw StoreError("inbox row " + std::to_string(row.id) + " has unknown status '" + status +
                     "'");
  }
  row.status = *parsed_status;
  row.note = q.text(10);
  return row;
}

}  // namespace

IngestResult SqliteStore::insert_event(const HrEvent& event, const std::string& body) {
  IngestResult result;
  // One statement, so the event is stored whole or not at all without a savepoint of its own;
  // insert first and look only on a clash: the common case costs one statement. The row is also
  // the event's receipt: audit_log() shows it as `event.stored`.
  db_.query(
         "INSERT INTO inbox(event_id, body_sha256, event_type, worker_id, effective_at, "
         "received_at, source, body, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending') "
         "ON CONFLICT(event_id) DO NOTHING")
      .bind_all(event.event_id, event.body_sha256, to_string(event.type), event.worker_id,
                event.effective_at, event.received_at, event.source, body)
      .run();
  if (db_.changes() == 0) {
    auto q = db_.query("SELECT id, body_sha256 FROM inbox WHERE event_id = ?1");
    q.bind(1, event.event_id);
    if (!q.step()) {
      throw StoreError("event " + event.event_id + " was neither inserted nor found");
    }
    result.inbox_id = q.int64(0);
    if (q.text(1) == event.body_sha256) {
      result.status = IngestStatus::Duplicate;
      result.message = "event " + event.event_id + " was already stored";
    } else {
      result.status = IngestStatus::Conflict;
      result.message = "event " + event.event_id + " was already stored with a different body";
    }
    return result;
  }
  result.inbox_id = db_.last_insert_rowid();
  result.status = IngestStatus::Stored;
  result.message = "stored";
  return result;
}

std::vector<InboxRow> SqliteStore::pending_events(int limit) {
  static const std::string sql = select_inbox("WHERE status = 'pending' ORDER BY id LIMIT ?1");
  auto q = db_.query(sql);
  q.bind(1, limit);
  std::vector<InboxRow> rows;
  while (q.step()) rows.push_back(read_inbox_row(q));
  return rows;
}

std::vector<InboxRow> SqliteStore::pending_leaver_events(int limit) {
  // Both questions are answered by small partial indexes (schema v10): the pending events that
  // take access away, and the pending events by worker.
  static const std::string leavers =
      select_inbox("WHERE status = 'pending' AND event_type IN ('TERMINATION', 'LEAVE', 'RESCIND') "
                   "ORDER BY id LIMIT ?1");
  static const std::string older =
      select_inbox("WHERE status = 'pending' AND worker_id = ?1 AND id < ?2 ORDER BY id");
  std::vector<InboxRow> found;
  {
    auto q = db_.query(leavers);
    q.bind(1, limit);
    while (q.step()) found.push_back(read_inbox_row(q));
  }
  std::vector<InboxRow> rows;
  std::set<std::int64_t> taken;
  for (auto& leaver : found) {
    if (taken.count(leaver.id)) continue;  // an older event of a worker with two leaver events
    auto q = db_.query(older);
    q.bind(1, leaver.event.worker_id);
    q.bind(2, leaver.id);
    while (q.step()) {
      InboxRow r = read_inbox_row(q);
      if (taken.insert(r.id).second) rows.push_back(std::move(r));
    }
    taken.insert(leaver.id);
    rows.push_back(std::move(leaver));
  }
  return rows;
}

std::optional<InboxRow> SqliteStore::event(const std::string& event_id) {
  static const std::string sql = select_inbox("WHERE event_id = ?1");
  auto q = db_.query(sql);
  q.bind(1, event_id);
  if (!q.step()) return std::nullopt;
  return read_inbox_row(q);
}

std::optional<TimePoint> SqliteStore::event_received_at(const std::string& event_id) {
  auto q = db_.query("SELECT received_at FROM inbox WHERE event_id = ?1");
  q.bind(1, event_id);
  if (!q.step()) return std::nullopt;
  return q.time(0);
}

void SqliteStore::set_event_status(std::int64_t inbox_id, EventStatus status,
                                   const std::string& note) {
  db_.query("UPDATE inbox SET status = ?2, note = ?3 WHERE id = ?1")
      .bind_all(inbox_id, to_string(status), note)
      .run();
  if (db_.changes() == 0) {
    throw StoreError("set_event_status: no inbox row " + std::to_string(inbox_id));
  }
}

std::vector<InboxRow> SqliteStore::due_events(TimePoint now, int limit) {
  static const std::string sql = select_inbox(
      "WHERE status = 'scheduled' AND effective_at <= ?1 ORDER BY effective_at, id LIMIT ?2");
  auto q = db_.query(sql);
  q.bind_all(now, limit);
  std::vector<InboxRow> rows;
  while (q.step()) rows.push_back(read_inbox_row(q));
  return rows;
}

std::int64_t SqliteStore::inbox_depth() {
  auto q = db_.query("SELECT COUNT(*) FROM inbox WHERE status = 'pending'");
  q.step();
  return q.int64(0);
}

}  // namespace prov
