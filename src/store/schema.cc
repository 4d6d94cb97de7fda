#include "store/schema.h"

#include <chrono>
#include <string>

#include "prov/store.h"

namespace prov::schema {
namespace {

// Times are Unix milliseconds (INTEGER); JSON columns hold text written by nlohmann::json.
// Usernames compare case-insensitively: directories (AD especially) treat "JDoe" and "jdoe" as
// the same name.
const std::vector<Migration> kMigrations = {
    {1,
     {
         R"sql(CREATE TABLE inbox (
           id INTEGER PRIMARY KEY,
           event_id TEXT NOT NULL UNIQUE,
           body_sha256 TEXT NOT NULL,
           event_type TEXT NOT NULL,
           worker_id TEXT NOT NULL,
           effective_at INTEGER NOT NULL,
           received_at INTEGER NOT NULL,
           source TEXT NOT NULL,
           body TEXT NOT NULL,
           status TEXT NOT NULL DEFAULT 'pending',
           note TEXT NOT NULL DEFAULT ''
         ))sql",
         // pending_events / inbox_depth walk (status, id); due_events walks (status, effective_at).
         "CREATE INDEX inbox_status_id ON inbox(status, id)",
         "CREATE INDEX inbox_status_effective ON inbox(status, effective_at, id)",

         R"sql(CREATE TABLE workers (
           worker_id TEXT PRIMARY KEY,
           record TEXT NOT NULL,
           state TEXT NOT NULL,
           last_effective_at INTEGER NOT NULL,
           last_event_id TEXT NOT NULL DEFAULT ''
         ))sql",
         // reports_of: the cast makes numeric and string managerIds compare alike.
         "CREATE INDEX workers_manager ON workers("
         "CAST(json_extract(record, '$.managerId') AS TEXT))",

         R"sql(CREATE TABLE accounts (
           worker_id TEXT PRIMARY KEY,
           username TEXT COLLATE NOCASE,
           planned TEXT NOT NULL,
           applied TEXT
         ))sql",
         // One planned account per username; rows without a name yet do not compete.
         "CREATE UNIQUE INDEX accounts_username ON accounts(username) "
         "WHERE username IS NOT NULL AND username <> ''",

         R"sql(CREATE TABLE outbox (
           id INTEGER PRIMARY KEY,
           worker_id TEXT NOT NULL,
           kind TEXT NOT NULL,
           destructive INTEGER NOT NULL,
           payload TEXT NOT NULL,
           status TEXT NOT NULL,
           attempts INTEGER NOT NULL DEFAULT 0,
           next_attempt_at INTEGER NOT NULL,
           last_error TEXT NOT NULL DEFAULT '',
           event_id TEXT NOT NULL DEFAULT '',
           created_at INTEGER NOT NULL,
           updated_at INTEGER NOT NULL
         ))sql",
         // next_operations: "is there an older unfinished op of this worker?" is one seek here.
         "CREATE INDEX outbox_status_worker ON outbox(status, worker_id, id)",
         // next_operations / operations(status): pending rows in id order without a sort.
         "CREATE INDEX outbox_status_id ON outbox(status, id)",
         "CREATE INDEX outbox_worker ON outbox(worker_id, id)",
         "CREATE INDEX outbox_destructive ON outbox(created_at) WHERE destructive = 1",

         R"sql(CREATE TABLE schedule (
           id INTEGER PRIMARY KEY,
           worker_id TEXT NOT NULL,
           due_at INTEGER NOT NULL,
           reason TEXT NOT NULL,
           UNIQUE (worker_id, due_at, reason)
         ))sql",
         "CREATE INDEX schedule_due ON schedule(due_at, id)",

         R"sql(CREATE TABLE reservations (
           username TEXT PRIMARY KEY COLLATE NOCASE,
           worker_id TEXT NOT NULL,
           until INTEGER NOT NULL
         ))sql",

         R"sql(CREATE TABLE entitlements (
           id INTEGER PRIMARY KEY,
           worker_id TEXT NOT NULL,
           entitlement TEXT NOT NULL,
           allocated_at INTEGER NOT NULL,
           released_at INTEGER
         ))sql",
         // At most one open allocation per (worker, entitlement); history rows stay.
         "CREATE UNIQUE INDEX entitlements_open ON entitlements(worker_id, entitlement) "
         "WHERE released_at IS NULL",
         "CREATE INDEX entitlements_worker ON entitlements(worker_id, id)",

         R"sql(CREATE TABLE audit (
           id INTEGER PRIMARY KEY,
           at INTEGER NOT NULL,
           worker_id TEXT NOT NULL DEFAULT '',
           event_id TEXT NOT NULL DEFAULT '',
           op_id INTEGER NOT NULL DEFAULT 0,
           action TEXT NOT NULL,
           detail TEXT NOT NULL DEFAULT '{}'
         ))sql",
         "CREATE INDEX audit_worker ON audit(worker_id, id)",
         // The audit log is evidence: rows are never changed or removed through the store.
         "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
         "BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END",
         "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
         "BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END",
     }},
    // The inbox's status indexes hold only the rows a query looks for: pending rows (the engine's
    // queue) and scheduled ones (waiting for their date). An applied or stale event, the vast
    // majority, then costs no index entry, and an event passing through the inbox updates two
    // small indexes instead of moving entries around two indexes over every event ever received.
    {2,
     {
         "DROP INDEX inbox_status_id",
         "DROP INDEX inbox_status_effective",
         "CREATE INDEX inbox_pending ON inbox(id) WHERE status = 'pending'",
         "CREATE INDEX inbox_scheduled ON inbox(effective_at, id) WHERE status = 'scheduled'",
     }},
    // The executor's lock lane asks for pending locks after every planning transaction: this
    // index holds only those, so the question costs a few rows however long the queue is.
    {3,
     {
         "CREATE INDEX outbox_pending_locks ON outbox(id) "
         "WHERE status = 'pending' AND kind = 'disable'",
     }},
    // The engine asks when the next retry is due each time it goes to sleep: this index holds
    // pending operations by their next attempt, so the answer is one seek, not a queue scan.
    {4,
     {
         "CREATE INDEX outbox_pending_retry ON outbox(next_attempt_at) WHERE status = 'pending'",
     }},
    // Accounts record the groups provisiond granted (`granted`), so access is revoked when no
    // role grants it any more, even when the role is gone from the policy. For accounts from
    // before: the groups an account has that one of its add_member operations put it in (queued
    // ones for the planned account, done ones for the applied). Groups someone else added stay
    // out, so provisiond never removes them.
    {5,
     {
         R"sql(UPDATE accounts SET planned = json_set(planned, '$.granted', json((
           SELECT json_group_array(g.value) FROM json_each(accounts.planned, '$.groups') AS g
           WHERE EXISTS (SELECT 1 FROM outbox o
                         WHERE o.worker_id = accounts.worker_id AND o.kind = 'add_member'
                           AND o.status IN ('pending', 'held', 'done')
                           AND json_extract(o.payload, '$.group') = g.value)))))sql",
         R"sql(UPDATE accounts SET applied = json_set(applied, '$.granted', json((
           SELECT json_group_array(g.value) FROM json_each(accounts.applied, '$.groups') AS g
           WHERE EXISTS (SELECT 1 FROM outbox o
                         WHERE o.worker_id = accounts.worker_id AND o.kind = 'add_member'
                           AND o.status = 'done'
                           AND json_extract(o.payload, '$.group') = g.value))))
           WHERE applied IS NOT NULL)sql",
     }},
    // Counts of tables that only grow (the audit, done operations) or grow with the workforce
    // (workers, accounts) are kept as rows are written, so status pages, /v1/status and the brake's
    // share of managed accounts cost one row read instead of a scan of millions. The ingest path
    // (inbox inserts) fires none of these triggers. Retention: audit rows may be deleted only once
    // exported (audit_export records how far), so the append-only rule still holds for the rest.
    {6,
     {
         "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
         "INSERT INTO counters(name, value) "
         "SELECT 'audit', COUNT(*) FROM audit "
         "UNION ALL SELECT 'ops_done', COUNT(*) FROM outbox WHERE status = 'done' "
         "UNION ALL SELECT 'workers', COUNT(*) FROM workers "
         "UNION ALL SELECT 'accounts', COUNT(*) FROM accounts",
         "CREATE TRIGGER count_audit_insert AFTER INSERT ON audit "
         "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'audit'; END",
         "CREATE TRIGGER count_audit_delete AFTER DELETE ON audit "
         "BEGIN UPDATE counters SET value = value - 1 WHERE name = 'audit'; END",
         "CREATE TRIGGER count_workers_insert AFTER INSERT ON workers "
         "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'workers'; END",
         "CREATE TRIGGER count_workers_delete AFTER DELETE ON workers "
         "BEGIN UPDATE counters SET value = value - 1 WHERE name = 'workers'; END",
         "CREATE TRIGGER count_accounts_insert AFTER INSERT ON accounts "
         "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'accounts'; END",
         "CREATE TRIGGER count_accounts_delete AFTER DELETE ON accounts "
         "BEGIN UPDATE counters SET value = value - 1 WHERE name = 'accounts'; END",
         "CREATE TRIGGER count_done_insert AFTER INSERT ON outbox WHEN new.status = 'done' "
         "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'ops_done'; END",
         "CREATE TRIGGER count_done_update AFTER UPDATE OF status ON outbox "
         "WHEN (old.status = 'done') <> (new.status = 'done') "
         "BEGIN UPDATE counters SET value = value + "
         "CASE WHEN new.status = 'done' THEN 1 ELSE -1 END WHERE name = 'ops_done'; END",
         "CREATE TRIGGER count_done_delete AFTER DELETE ON outbox WHEN old.status = 'done' "
         "BEGIN UPDATE counters SET value = value - 1 WHERE name = 'ops_done'; END",
         // One row per exported batch: audit rows up to through_id are in `file`.
         R"sql(CREATE TABLE audit_export (
           through_id INTEGER PRIMARY KEY,
           at INTEGER NOT NULL,
           file TEXT NOT NULL,
           rows INTEGER NOT NULL
         ))sql",
         "DROP TRIGGER audit_no_delete",
         "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
         "WHEN old.id > (SELECT COALESCE(MAX(through_id), 0) FROM audit_export) "
         "BEGIN SELECT RAISE(ABORT, 'audit rows are append-only; only rows exported by "
         "provisionctl compact may be deleted'); END",
     }},
    // Per-worker order asks "has this worker an older unfinished operation?" for every candidate.
    // The index that answered held every operation ever done as well, so on a database of
    // millions each status change moved an entry around a tree of millions: this one holds only
    // the unfinished (pending and held) operations and stays as small as the queue.
    {7,
     {
         "DROP INDEX outbox_status_worker",
         "CREATE INDEX outbox_unfinished_worker ON outbox(worker_id, id) "
         "WHERE status IN ('pending', 'held')",
     }},
    // Targets: a worker has an account in each configured target, and every operation names the
    // target whose executor applies it. What a database already holds belonged to its one
    // directory, which configs name `directory`. Accounts are rebuilt keyed by (target,
    // worker_id); a username stays unique per target, and one worker keeps one name in all of
    // them (the planner checks names across targets). The accounts count and its triggers go
    // with the old table and are set up again; the count itself carries over unchanged.
    {8,
     {
         R"sql(CREATE TABLE accounts_v8 (
           target TEXT NOT NULL,
           worker_id TEXT NOT NULL,
           username TEXT COLLATE NOCASE,
           planned TEXT NOT NULL,
           applied TEXT,
           PRIMARY KEY (target, worker_id)
         ))sql",
         "INSERT INTO accounts_v8(target, worker_id, username, planned, applied) "
         "SELECT 'directory', worker_id, username, planned, applied FROM accounts",
         "DROP TABLE accounts",
         "ALTER TABLE accounts_v8 RENAME TO accounts",
         "CREATE UNIQUE INDEX accounts_username ON accounts(target, username) "
         "WHERE username IS NOT NULL AND username <> ''",
         // account_by_username asks across targets.
         "CREATE INDEX accounts_any_username ON accounts(username) "
         "WHERE username IS NOT NULL AND username <> ''",
         "CREATE TRIGGER count_accounts_insert AFTER INSERT ON accounts "
         "BEGIN UPDATE counters SET value = value + 1 WHERE name = 'accounts'; END",
         "CREATE TRIGGER count_accounts_delete AFTER DELETE ON accounts "
         "BEGIN UPDATE counters SET value = value - 1 WHERE name = 'accounts'; END",
         "ALTER TABLE outbox ADD COLUMN target TEXT NOT NULL DEFAULT 'directory'",
     }},
    // The audit becomes a hash chain: each new row carries the newest row's hash and its own,
    // SHA-256 over that and its content (see audit.cc), so an edited, removed or inserted row
    // breaks the chain at that row. Rows from before keep NULL: the chain begins after them.
    {9,
     {
         "ALTER TABLE audit ADD COLUMN prev_hash TEXT",
         "ALTER TABLE audit ADD COLUMN hash TEXT",
     }},
    // Leavers first in the inbox: the engine plans pending events that take access away ahead of
    // the queue, with their worker's older pending events before them. Both indexes hold pending
    // rows only, and the first only those of leavers, so a burst of hires costs one small index
    // entry per event while it waits.
    {10,
     {
         "CREATE INDEX inbox_pending_leavers ON inbox(id) WHERE status = 'pending' "
         "AND event_type IN ('TERMINATION', 'LEAVE', 'RESCIND')",
         "CREATE INDEX inbox_pending_worker ON inbox(worker_id, id) WHERE status = 'pending'",
     }},
    // Notifications (src/notify): the notifier reads the audit after its cursor and, in one
    // transaction, writes what the policy's rules make of it into this outbox and moves the
    // cursor. A database that already has an audit starts at its end: turning notifications on
    // tells about what happens from then on, not about years of history.
    {11,
     {
         R"sql(CREATE TABLE notifications (
           id INTEGER PRIMARY KEY,
           audit_id INTEGER NOT NULL,
           rule TEXT NOT NULL,
           channel TEXT NOT NULL,
           destination TEXT NOT NULL,
           worker_id TEXT NOT NULL DEFAULT '',
           trigger TEXT NOT NULL,
           subject TEXT NOT NULL DEFAULT '',
           body TEXT NOT NULL,
           status TEXT NOT NULL,
           attempts INTEGER NOT NULL DEFAULT 0,
           next_attempt_at INTEGER NOT NULL,
           last_error TEXT NOT NULL DEFAULT '',
           created_at INTEGER NOT NULL,
           sent_at INTEGER,
           UNIQUE (audit_id, rule, channel, destination)
         ))sql",
         "CREATE INDEX notifications_pending ON notifications(next_attempt_at, id) "
         "WHERE status = 'pending'",
         "CREATE TABLE notify_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), "
         "audit_id INTEGER NOT NULL)",
         "INSERT INTO notify_cursor(id, audit_id) SELECT 1, COALESCE(MAX(id), 0) FROM audit",
     }},
};

bool has_version_table(sql::Database& db) {
  auto q = db.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'");
  return q.step();
}

void rollback_quietly(sql::Database& db) {
  if (!db.in_transaction()) return;
  try {
    db.exec("ROLLBACK");
  } catch (const StoreError&) {
    // The original error is the one worth reporting.
  }
}

}  // namespace

const std::vector<Migration>& migrations() { return kMigrations; }

int latest_version() { return kMigrations.back().version; }

int read_version(sql::Database& db) {
  if (!has_version_table(db)) return 0;
  auto q = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  q.step();
  return static_cast<int>(q.int64(0));
}

namespace {

[[noreturn]] void refuse_newer(sql::Database& db, int version, int target) {
  throw StoreError("state database " + db.path().string() + " has schema version " +
                   std::to_string(version) + ", newer than this build supports (" +
                   std::to_string(target) +
                   "); run a newer provisiond or restore a backup taken before the upgrade");
}

}  // namespace

void migrate(sql::Database& db, const std::vector<Migration>& list) {
  const int target = list.empty() ? 0 : list.back().version;
  // Fast path for the usual open of an up-to-date file: no write lock needed.
  const int found = read_version(db);
  if (found > target) refuse_newer(db, found, target);
  if (found == target) return;

  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_version ("
      "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  for (const Migration& m : list) {
    // Another connection may be migrating too: BEGIN IMMEDIATE serialises us, and the version
    // is read again under the write lock.
    db.exec("BEGIN IMMEDIATE");
    try {
      const int version = read_version(db);
      if (version > target) refuse_newer(db, version, target);
      if (version >= m.version) {
        db.exec("COMMIT");
        continue;
      }
      if (version != m.version - 1) {
        throw StoreError("state database " + db.path().string() + " is at schema version " +
                         std::to_string(version) + " but the next known migration is " +
                         std::to_string(m.version));
      }
      for (std::size_t i = 0; i < m.statements.size(); ++i) {
        try {
          db.exec(m.statements[i]);
        } catch (const StoreError& e) {
          throw StoreError("migration " + std::to_string(m.version) + " statement " +
                           std::to_string(i + 1) + " failed: " + e.what());
        }
      }
      const auto now =
          std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
      db.query("INSERT INTO schema_version(version, applied_at) VALUES (?1, ?2)")
          .bind_all(m.version, TimePoint(now.time_since_epoch()))
          .run();
      db.exec("COMMIT");
    } catch (...) {
      rollback_quietly(db);
      throw;
    }
  }
}

}  // namespace prov::schema
