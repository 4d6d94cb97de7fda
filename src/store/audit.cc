// The audit log: append-only (enforced by triggers), one row per decision and effect.
#include "store/sqlite_store.h"

#include "prov/crypto.h"

namespace prov {

namespace {

// A row's hash: SHA-256 over the previous row's hash and every column, each field prefixed by its
// length so that no two different rows hash the same text.
std::string chain_hash(const std::string& prev_hash, std::int64_t id, std::int64_t at_ms,
                       const std::string& worker_id, const std::string& event_id,
                       std::int64_t op_id, const std::string& action, const std::string& detail) {
  std::string text;
  for (const std::string& field :
       {prev_hash, std::to_string(id), std::to_string(at_ms), worker_id, event_id,
        std::to_string(op_id), action, detail}) {
    text += std::to_string(field.size());
    text += ':';
    text += field;
  }
  return sha256_hex(text);
}

// As the `at` column stores it (Query::bind of a TimePoint).
std::int64_t stored_time(TimePoint t) {
  return static_cast<std::int64_t>(t.time_since_epoch().count());
}

}  // namespace

std::int64_t SqliteStore::audit(const AuditRecord& record) {
  std::string detail;
  try {
    detail = record.detail.dump();
  } catch (const Json::exception& e) {
    throw StoreError("audit detail for " + record.action +
                     " cannot be stored as JSON: " + e.what());
  }
  // The newest row, read in the same transaction as the insert (the write lock makes it the
  // newest still when we commit). Its id + 1 is ours: the id is part of what the hash covers.
  std::int64_t id = 1;
  std::string prev;
  {
    auto q = db_.query("SELECT id, COALESCE(hash, '') FROM audit ORDER BY id DESC LIMIT 1");
    if (q.step()) {
      id = q.int64(0) + 1;
      prev = q.text(1);
    }
  }
  const std::string hash = chain_hash(prev, id, stored_time(record.at), record.worker_id,
                                      record.event_id, record.op_id, record.action, detail);
  db_.query(
         "INSERT INTO audit(id, at, worker_id, event_id, op_id, action, detail, prev_hash, hash) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
      .bind_all(id, record.at, record.worker_id, record.event_id, record.op_id, record.action,
                detail, prev, hash)
      .run();
  return id;
}

std::optional<AuditHead> SqliteStore::audit_head() {
  auto q = db_.query("SELECT id, COALESCE(hash, '') FROM audit ORDER BY id DESC LIMIT 1");
  if (!q.step()) return std::nullopt;
  return AuditHead{q.int64(0), q.text(1)};
}

AuditCheck SqliteStore::verify_audit() {
  AuditCheck c;
  auto q = db_.query(
      "SELECT id, at, worker_id, event_id, op_id, action, detail, prev_hash, hash FROM audit "
      "ORDER BY id");
  bool chained = false;  // a chained row was seen: every later row must be chained too
  std::string last_hash;
  while (q.step()) {
    const std::int64_t id = q.int64(0);
    const auto fail = [&](std::string problem) {
      c.intact = false;
      c.broken_id = id;
      c.problem = std::move(problem);
    };
    if (q.is_null(8)) {
      if (chained) {
        fail("has no hash, but rows before it do: it was written past the store");
        break;
      }
      ++c.unchained;
      continue;
    }
    const std::string prev = q.is_null(7) ? std::string() : q.text(7);
    const std::string hash = q.text(8);
    if (!chained) {
      chained = true;
      c.anchor = prev;
    } else if (prev != last_hash) {
      fail("does not follow row " + std::to_string(c.head.id) +
           ": a row between them was removed or replaced");
      break;
    }
    if (chain_hash(prev, id, q.int64(1), q.text(2), q.text(3), q.int64(4), q.text(5),
                   q.text(6)) != hash) {
      fail("its content does not match its hash: the row was changed");
      break;
    }
    last_hash = hash;
    c.head = AuditHead{id, hash};
    ++c.rows;
  }
  return c;
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
             CASE action WHEN 'event.stored' THEN 0 ELSE 1 END AS ord,
             COALESCE(prev_hash, '') AS prev_hash, COALESCE(hash, '') AS hash
        FROM audit )sql" +
           where + R"sql(
      UNION ALL
      SELECT 0, id, received_at, worker_id, event_id, 0, 'event.stored', '',
             event_type, effective_at, source, 0, '', ''
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
      r.prev_hash = q.text(12);
      r.hash = q.text(13);
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace prov
