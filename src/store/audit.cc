// The audit log: append-only (enforced by triggers), one row per decision and effect.
#include "store/sqlite_store.h"

namespace prov {

std::int64_t SqliteStore::audit(const AuditRecord& record) {
  std::string detail;
  try {
    detail = record.detail.dump();
  } catch (const Json::exception& e) {
    throw StoreError("audit detail for " + record.action +
                     " cannot be stored as JSON: " + e.what());
  }
  db_.query(
         "INSERT INTO audit(at, worker_id, event_id, op_id, action, detail) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
      .bind_all(record.at, record.worker_id, record.event_id, record.op_id, record.action, detail)
      .run();
  return db_.last_insert_rowid();
}

Json receipt_detail(std::int64_t inbox_id, const std::string& event_type, TimePoint effective_at,
                    const std::string& source) {
  return {{"inboxId", inbox_id},
          {"eventType", event_type},
          {"effectiveAt", format_time(effective_at)},
          {"source", source}};
}

// The log as operators read it: the audit rows, and the receipt of every stored event as an
// `event.stored` record. A receipt is the event's inbox row itself (received_at, eventId, type,
// source): a second, audit-table copy written in the same commit would add nothing but a random
// index page to every ingest commit (a fifth of the durable ingest rate). Only when retention
// deletes an old inbox row is its receipt copied into the audit (compact()), where it sorts as
// the inbox row did.
std::vector<AuditRecord> SqliteStore::audit_log(const std::string& worker_id, int limit) {
  // The newest `limit` records, returned oldest first, a receipt before what its event caused in
  // the same millisecond. A negative limit means all.
  // Per worker, the audit rows seek audit_worker; the inbox has no worker index (it would cost
  // every ingest commit a random page) and is scanned, which only this command pays for.
  const auto log_sql = [](const std::string& where) {
    return R"sql(
    WITH log AS (
      SELECT 1 AS src, id, at, worker_id, event_id, op_id, action, detail,
             '' AS event_type, 0 AS effective_at, '' AS source,
             CASE action WHEN 'event.stored' THEN 0 ELSE 1 END AS ord
        FROM audit )sql" +
           where + R"sql(
      UNION ALL
      SELECT 0, id, received_at, worker_id, event_id, 0, 'event.stored', '',
             event_type, effective_at, source, 0
        FROM inbox )sql" +
           where + R"sql()
    SELECT * FROM (SELECT * FROM log ORDER BY at DESC, ord DESC, id DESC LIMIT ?1)
    ORDER BY at, ord, id)sql";
  };
  static const std::string kAll = log_sql("");
  static const std::string kWorker = log_sql("WHERE worker_id = ?2");
  auto q = db_.query(worker_id.empty() ? kAll : kWorker);
  q.bind(1, limit);
  if (!worker_id.empty()) q.bind(2, worker_id);
  std::vector<AuditRecord> rows;
  while (q.step()) {
    AuditRecord r;
    const bool receipt = q.int64(0) == 0;
    r.at = q.time(2);
    r.worker_id = q.text(3);
    r.event_id = q.text(4);
    r.action = q.text(6);
    if (receipt) {
      r.detail = receipt_detail(q.int64(1), q.text(8), q.time(9), q.text(10));
    } else {
      r.id = q.int64(1);
      r.op_id = q.int64(5);
      r.detail = parse_json_column(q.text(7), "audit row " + std::to_string(r.id));
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace prov
