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

std::vector<AuditRecord> SqliteStore::audit_log(const std::string& worker_id, int limit) {
  // The newest `limit` rows, returned oldest first. A negative limit means all.
  // Two statements rather than "?1 = '' OR worker_id = ?1" so the per-worker one seeks
  // audit_worker instead of scanning the whole log.
  auto q = worker_id.empty()
               ? db_.query(R"sql(SELECT id, at, worker_id, event_id, op_id, action, detail FROM (
                     SELECT * FROM audit ORDER BY id DESC LIMIT ?1) ORDER BY id)sql")
               : db_.query(R"sql(SELECT id, at, worker_id, event_id, op_id, action, detail FROM (
                     SELECT * FROM audit WHERE worker_id = ?2 ORDER BY id DESC LIMIT ?1)
                   ORDER BY id)sql");
  q.bind(1, limit);
  if (!worker_id.empty()) q.bind(2, worker_id);
  std::vector<AuditRecord> rows;
  while (q.step()) {
    AuditRecord r;
    r.id = q.int64(0);
    r.at = q.time(1);
    r.worker_id = q.text(2);
    r.event_id = q.text(3);
    r.op_id = q.int64(4);
    r.action = q.text(5);
    r.detail = parse_json_column(q.text(6), "audit row " + std::to_string(r.id));
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace prov
