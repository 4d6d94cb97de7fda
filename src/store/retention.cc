// Retention: what the state database lets go of. Every pass walks a table in id order (ids grow
// with time) a batch at a time, each batch its own transaction, so the ingest writer and the
// engine — who take the write turn in the order they asked — wait at most one batch behind it.

#include <algorithm>
#include <string>
#include <vector>

#include "prov/durable_file.h"
#include "store/sqlite_store.h"

namespace prov {
namespace {

TimePoint cutoff_of(TimePoint now, int days) {
  return now - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::days(days));
}

// Applied and stale inbox rows received before `cutoff`, except each worker's last event: a
// snapshot source learns from it whether a worker is its own, and a re-delivery of it must stay
// a duplicate. Each deleted row leaves its receipt in the audit.
void compact_inbox(SqliteStore& store, TimePoint cutoff, int batch, CompactReport& report) {
  struct Row {
    std::int64_t id = 0;
    std::string event_id, worker_id, event_type, source, status;
    TimePoint effective_at{}, received_at{};
  };
  sql::Database& db = store.database();
  std::int64_t after = 0;
  for (bool done = false; !done;) {
    std::int64_t deleted = 0;
    store.transaction([&] {
      std::vector<Row> rows;
      {
        auto q = db.query(
            "SELECT id, event_id, worker_id, event_type, source, status, effective_at, "
            "received_at FROM inbox WHERE id > ?1 ORDER BY id LIMIT ?2");
        q.bind_all(after, batch);
        while (q.step()) {
          rows.push_back(Row{q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5),
                             q.time(6), q.time(7)});
        }
      }
      done = static_cast<int>(rows.size()) < batch;
      for (const Row& row : rows) {
        if (row.received_at >= cutoff) {
          done = true;  // everything after it came later still
          break;
        }
        after = row.id;
        if (row.status != "applied" && row.status != "stale") continue;
        {
          auto last = db.query("SELECT 1 FROM workers WHERE worker_id = ?1 AND last_event_id = ?2");
          last.bind_all(row.worker_id, row.event_id);
          if (last.step()) continue;
        }
        AuditRecord receipt;
        receipt.at = row.received_at;
        receipt.worker_id = row.worker_id;
        receipt.event_id = row.event_id;
        receipt.action = "event.stored";
        receipt.detail = receipt_detail(row.id, row.event_type, row.effective_at, row.source);
        store.audit(receipt);  // into the hash chain like every other row
        db.query("DELETE FROM inbox WHERE id = ?1").bind_all(row.id).run();
        ++deleted;
      }
    });
    ++report.transactions;
    report.events_deleted += deleted;
  }
}

// Done operations last changed before `cutoff`. Pending, held and failed ones stay whatever
// their age: they are work or evidence of work not done.
void compact_outbox(SqliteStore& store, TimePoint cutoff, int batch, CompactReport& report) {
  sql::Database& db = store.database();
  std::int64_t after = 0;
  for (bool done = false; !done;) {
    std::int64_t deleted = 0;
    store.transaction([&] {
      struct Row {
        std::int64_t id = 0;
        bool is_done = false;
        TimePoint created_at{}, updated_at{};
      };
      std::vector<Row> rows;
      {
        auto q = db.query(
            "SELECT id, status = 'done', created_at, updated_at FROM outbox WHERE id > ?1 "
            "ORDER BY id LIMIT ?2");
        q.bind_all(after, batch);
        while (q.step()) rows.push_back(Row{q.int64(0), q.int64(1) != 0, q.time(2), q.time(3)});
      }
      done = static_cast<int>(rows.size()) < batch;
      for (const Row& row : rows) {
        // Changed no earlier than it was created: nothing from here on is old enough.
        if (row.created_at >= cutoff) {
          done = true;
          break;
        }
        after = row.id;
        if (!row.is_done || row.updated_at >= cutoff) continue;
        db.query("DELETE FROM outbox WHERE id = ?1").bind_all(row.id).run();
        ++deleted;
      }
    });
    ++report.transactions;
    report.operations_deleted += deleted;
  }
}


// Audit rows older than `cutoff`, oldest first: appended to the export file and synced, then
// deleted in one transaction with the mark that allows it (audit_export.through_id; the
// database's trigger refuses to delete any row above the mark). A crash between the two leaves
// the rows in the database and in the file; the next pass exports them again, so a reader of the
// file keeps the last line of each audit id.
void compact_audit(SqliteStore& store, TimePoint cutoff, TimePoint now,
                   const std::filesystem::path& file, int batch, CompactReport& report) {
  sql::Database& db = store.database();
  for (;;) {
    std::int64_t mark = 0;
    {
      auto q = db.query("SELECT COALESCE(MAX(through_id), 0) FROM audit_export");
      q.step();
      mark = q.int64(0);
    }
    std::string lines;
    std::int64_t through = mark, count = 0;
    bool more = true;
    {
      auto q = db.query(
          "SELECT id, at, worker_id, event_id, op_id, action, detail FROM audit WHERE id > ?1 "
          "ORDER BY id LIMIT ?2");
      q.bind_all(mark, batch);
      int seen = 0;
      while (q.step()) {
        ++seen;
        if (q.time(1) >= cutoff) {
          more = false;
          break;
        }
        through = q.int64(0);
        const Json line = {{"id", through},
                           {"at", format_time(q.time(1))},
                           {"worker_id", q.text(2)},
                           {"event_id", q.text(3)},
                           {"op_id", q.int64(4)},
                           {"action", q.text(5)},
                           {"detail", parse_json_column(q.text(6), "audit row " +
                                                                       std::to_string(through))}};
        lines += line.dump();
        lines += '\n';
        ++count;
      }
      if (seen < batch) more = false;
    }
    if (count == 0) return;
    if (const Status st = append_synced(file, lines); !st.ok())
      throw StoreError("audit export " + st.error().message);
    report.audit_exported += count;
    std::int64_t deleted = 0;
    store.transaction([&] {
      db.query("INSERT INTO audit_export(through_id, at, file, rows) VALUES (?1, ?2, ?3, ?4)")
          .bind_all(through, now, file.string(), count)
          .run();
      db.query("DELETE FROM audit WHERE id > ?1 AND id <= ?2").bind_all(mark, through).run();
      deleted = db.changes();
    });
    ++report.transactions;
    report.audit_deleted += deleted;
    if (!more) return;
  }
}

}  // namespace

CompactReport SqliteStore::compact(const RetentionConfig& retention, TimePoint now) {
  CompactReport report;
  const int batch = std::max(1, retention.batch_rows);
  if (retention.days > 0) {
    const TimePoint cutoff = cutoff_of(now, retention.days);
    compact_inbox(*this, cutoff, batch, report);
    compact_outbox(*this, cutoff, batch, report);
  }
  if (retention.audit_days > 0) {
    if (retention.audit_export_file.empty()) {
      throw StoreError("audit retention needs an export file (state.retention.audit_export_file)");
    }
    compact_audit(*this, cutoff_of(now, retention.audit_days), now, retention.audit_export_file,
                  batch, report);
  }
  return report;
}

}  // namespace prov
