#include "notify/notify_db.h"

#include "prov/store.h"
#include "store/wal_vfs.h"

namespace prov {

std::string_view to_string(NotificationStatus s) { return notify::status_name(s); }

Json to_json(const NotificationRow& r) {
  Json j{{"id", r.id},
         {"status", std::string(to_string(r.status))},
         {"rule", r.rule},
         {"trigger", r.trigger},
         {"channel", r.channel},
         {"destination", r.destination},
         {"worker_id", r.worker_id},
         {"audit_id", r.audit_id},
         {"subject", r.subject},
         {"attempts", r.attempts},
         {"created_at", format_time(r.created_at)},
         {"next_attempt_at", format_time(r.next_attempt_at)},
         {"last_error", r.last_error}};
  if (r.sent_at) j["sent_at"] = format_time(*r.sent_at);
  return j;
}

namespace notify {
namespace {
constexpr std::string_view kStatusNames[] = {"pending", "sent", "failed"};

sql::Database opened(const std::filesystem::path& path) {
  Store::open(path);  // creates and migrates; closed again at once
  return sql::Database(path, sql::Database::Mode::ReadWrite, sql::coalescing_wal_vfs());
}
}  // namespace

std::string_view status_name(NotificationStatus s) { return kStatusNames[static_cast<int>(s)]; }

std::optional<NotificationStatus> parse_status(std::string_view s) {
  for (int i = 0; i < 3; ++i)
    if (kStatusNames[i] == s) return static_cast<NotificationStatus>(i);
  return std::nullopt;
}

NotifyDb::NotifyDb(const std::filesystem::path& path) : db_(opened(path)) {
  sqlite3_busy_timeout(db_.handle(), 5000);
  // A row marked sent must stay sent: every commit here is durable when it returns.
  db_.exec("PRAGMA synchronous=FULL");
  // Checkpoints are the engine's and the ingest writer's business (they checkpoint every ~80 MB
  // of log, sqlite_store.cc): with SQLite's default this small writer would copy the log back
  // after nearly every commit of its own under load.
  db_.exec("PRAGMA wal_autocheckpoint=0");
}

void NotifyDb::transaction(const std::function<void()>& f) {
  db_.query("BEGIN IMMEDIATE").run();
  try {
    f();
  } catch (...) {
    if (db_.in_transaction()) {
      try {
        db_.query("ROLLBACK").run();
      } catch (const StoreError&) {
        // The original error says why.
      }
    }
    throw;
  }
  db_.query("COMMIT").run();
}

NotificationRow NotifyDb::read_row(const sql::Query& q) {
  NotificationRow r;
  r.id = q.int64(0);
  r.audit_id = q.int64(1);
  r.rule = q.text(2);
  r.channel = q.text(3);
  r.destination = q.text(4);
  r.worker_id = q.text(5);
  r.trigger = q.text(6);
  r.subject = q.text(7);
  r.body = q.text(8);
  r.status = parse_status(q.text(9)).value_or(NotificationStatus::Pending);
  r.attempts = static_cast<int>(q.int64(10));
  r.next_attempt_at = q.time(11);
  r.created_at = q.time(12);
  if (!q.is_null(13)) r.sent_at = q.time(13);
  r.last_error = q.text(14);
  return r;
}

}  // namespace notify
}  // namespace prov
