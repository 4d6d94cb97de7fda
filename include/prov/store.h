#pragma once
// The state store: one SQLite file (WAL) holding the inbox, worker records,
// accounts, the outbox of operations, the schedule, reservations, entitlements and the audit log.
// Each step of the pipeline is one transaction that consumes a row and produces the next, so a
// crash anywhere replays from the last commit.
//
// A Store is one connection; it is not thread-safe. The engine thread owns one for writing, the
// ingest writer owns another, the CLI opens its own. Methods throw StoreError on SQLite failure
// (disk full, corruption): those are not expected outcomes and the caller cannot fix them.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "prov/config.h"
#include "prov/ingest.h"
#include "prov/model.h"

namespace prov {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class EventStatus { Pending, Applied, Stale, Scheduled };
std::string_view to_string(EventStatus s);

struct InboxRow {
  std::int64_t id = 0;
  HrEvent event;
  EventStatus status = EventStatus::Pending;
  std::string note;  // why stale, etc.
};

// Account as known to the store: `planned` is the state once every queued operation has run
// (what the planner diffs against); `applied` is what the directory confirmed.
struct AccountRow {
  Account planned;
  Account applied;
};

enum class OpStatus { Pending, Held, Done, Failed, Rejected };
std::string_view to_string(OpStatus s);
std::optional<OpStatus> parse_op_status(std::string_view s);

struct OutboxRow {
  Operation op;  // op.id is the row id
  OpStatus status = OpStatus::Pending;
  int attempts = 0;
  TimePoint created_at{};
  TimePoint next_attempt_at{};
  std::string last_error;
  std::string event_id;  // the event that caused it, for tracing
};

struct AuditRecord {
  std::int64_t id = 0;
  TimePoint at{};
  std::string worker_id;
  std::string event_id;
  std::int64_t op_id = 0;
  std::string action;  // event.stored, event.stale, op.planned, op.applied, op.failed, ...
  Json detail = Json::object();
  // The hash chain (audit rows only; "" for receipts read from the inbox and for rows written
  // before the chain began): SHA-256 over prev_hash and the row's content.
  std::string prev_hash, hash;
};

// The newest audit row: what an anchor records outside the state database.
struct AuditHead {
  std::int64_t id = 0;
  std::string hash;
};

// What `provisionctl audit verify` reports.
struct AuditCheck {
  bool intact = true;
  std::int64_t rows = 0;       // chained rows whose hash and link were checked
  std::int64_t unchained = 0;  // rows written before the chain began (an older schema)
  std::string anchor;          // prev_hash of the first chained row: "" where the chain began
  AuditHead head;              // the last row checked
  std::int64_t broken_id = 0;  // the first row that does not verify
  std::string problem;         // why it does not
};

struct ScheduleRow {
  std::int64_t id = 0;
  std::string worker_id;
  TimePoint due_at{};
  std::string reason;
};

struct EntitlementRow {
  std::string worker_id;
  std::string entitlement;
  TimePoint allocated_at{};
  std::optional<TimePoint> released_at;
};

// What one compaction deleted (and exported first).
struct CompactReport {
  std::int64_t events_deleted = 0;      // applied or stale inbox rows (their receipts kept)
  std::int64_t operations_deleted = 0;  // done outbox rows
  std::int64_t audit_exported = 0, audit_deleted = 0;
  int transactions = 0;  // each looked at no more than batch_rows rows
};

struct StoreCounts {
  std::int64_t inbox_pending = 0, workers = 0, accounts = 0, ops_pending = 0, ops_held = 0,
               ops_failed = 0, ops_done = 0, audit = 0, schedule_pending = 0;
};

// When a connection's commits reach the disk.
enum class CommitSync {
  // Every commit is durable when it returns (synchronous=FULL): the CLI, tools, tests.
  EachCommit,
  // A commit is written to the log (so it survives the process being killed) and made durable by
  // sync(), which runs without the write lock: the ingest writer syncs before it acknowledges,
  // and meanwhile the engine commits. What the engine commits between two syncs can be lost to
  // a power cut, never to a crash of the process; it is then redone from the inbox, as after a
  // crash before that commit (directory operations are idempotent).
  OnRequest,
};

class Store {
 public:
  virtual ~Store() = default;

  // Opens (creating when missing) and migrates the schema to the current version.
  static std::unique_ptr<Store> open(const std::filesystem::path& path,
                                     CommitSync sync = CommitSync::EachCommit);
  // Opens an existing database read-only (CLI inspection); no migration.
  static std::unique_ptr<Store> open_read_only(const std::filesystem::path& path);

  // Runs f inside BEGIN IMMEDIATE … COMMIT; rolls back and rethrows if f throws. Nested calls
  // join the outer transaction.
  virtual void transaction(const std::function<void()>& f) = 0;
  // True inside transaction(): this connection holds the database's write lock.
  virtual bool in_transaction() const = 0;
  // Makes every commit so far durable (a no-op cost with CommitSync::EachCommit: already synced).
  // Outside a transaction. Throws StoreError when the disk refuses.
  virtual void sync() = 0;
  // True when another writer of this process is waiting for the write lock: a long run of
  // small transactions commits early so the waiting one (a webhook's 202) is not kept waiting.
  virtual bool writer_waiting() const = 0;
  virtual int schema_version() = 0;
  virtual std::string integrity_check() = 0;  // "ok" when healthy

  // --- inbox
  // Inserts the event unless its event_id exists. Must run inside a transaction when batching.
  // `body` is inbox_body(event), made beforehand so a batching writer need not hold the worker
  // record at all.
  virtual IngestResult insert_event(const HrEvent& event, const std::string& body) = 0;
  IngestResult insert_event(const HrEvent& event) { return insert_event(event, inbox_body(event)); }
  // The whole event as the inbox keeps it (JSON). Throws StoreError when it cannot be serialised.
  static std::string inbox_body(const HrEvent& event);
  // Pending events, oldest first.
  virtual std::vector<InboxRow> pending_events(int limit) = 0;
  // Leavers first: the oldest pending events that take access away (TERMINATION, LEAVE,
  // RESCIND), at most `limit` of them, each preceded by its worker's older pending events, so
  // that planning them ahead of the queue never reorders one worker's own events.
  virtual std::vector<InboxRow> pending_leaver_events(int limit) = 0;
  virtual std::optional<InboxRow> event(const std::string& event_id) = 0;
  // When the event was received, without reading its body: the executor's latency metric asks
  // this for every operation it records.
  virtual std::optional<TimePoint> event_received_at(const std::string& event_id) = 0;
  virtual void set_event_status(std::int64_t inbox_id, EventStatus status,
                                const std::string& note) = 0;
  // Scheduled (future-effective) events of one worker whose time has come, oldest effective first.
  virtual std::vector<InboxRow> due_events(TimePoint now, int limit) = 0;
  virtual std::int64_t inbox_depth() = 0;  // Pending rows

  // --- workers
  virtual std::optional<Worker> worker(const std::string& worker_id) = 0;
  virtual void put_worker(const Worker& worker) = 0;
  virtual std::vector<Worker> workers() = 0;
  // Every worker by worker id, read a page at a time: memory stays flat at any population, and
  // since each page is its own short read, the daemon's writers never wait for a long reader.
  // `visit` may use the store (each page is read before any worker of it is visited).
  virtual void for_each_worker(const std::function<void(const Worker&)>& visit) = 0;
  // Workers whose record names `manager_id` as managerId.
  virtual std::vector<std::string> reports_of(const std::string& manager_id) = 0;

  // --- accounts: one row per (target, worker); Account::target says which
  virtual std::optional<AccountRow> account(const std::string& target,
                                            const std::string& worker_id) = 0;
  // An account holding `username` in any target (a worker has one name in every target).
  virtual std::optional<AccountRow> account_by_username(const std::string& username) = 0;
  virtual void put_planned(const Account& planned) = 0;  // creates the row when missing
  virtual void put_applied(const Account& applied) = 0;
  virtual std::vector<AccountRow> accounts() = 0;  // every target's, by worker then target
  // Every account of `target` (of every target when empty), by target then worker id, a page at
  // a time as for_each_worker.
  virtual void for_each_account(const std::string& target,
                                const std::function<void(const AccountRow&)>& visit) = 0;

  // --- outbox
  virtual std::int64_t enqueue(const Operation& op, OpStatus status, const std::string& event_id,
                               TimePoint now) = 0;
  // For each worker, its oldest unfinished operation if that one is Pending and due: the
  // executor's next batch (at most one per worker keeps per-worker order). Oldest first.
  virtual std::vector<OutboxRow> next_operations(TimePoint now, int limit) = 0;
  // What the streaming executor may send now, oldest first, for one of its lanes:
  //  Locks:  due pending locks (disable) whose worker has no older unfinished create, move,
  //          delete, enable or lock — a lock overtakes the worker's own attribute and group
  //          changes (they commute with it) but never the operations that make or move the
  //          entry it locks.
  //  Writes: everything else that is due: a worker's oldest unfinished operation, and after it
  //          the run of membership changes (of different groups) that follows it, so a
  //          leaver's group removals or a hire's group additions travel together. Locks are
  //          left to their lane.
  // Only `target`'s operations: per-worker order holds within a target, so a target that is
  // down never holds back the worker's operations in another.
  enum class Lane { Locks, Writes };
  virtual std::vector<OutboxRow> ready_operations(const std::string& target, TimePoint now,
                                                  int limit, Lane lane) = 0;
  virtual std::optional<OutboxRow> operation(std::int64_t id) = 0;
  virtual std::vector<OutboxRow> operations(OpStatus status, int limit) = 0;
  virtual std::vector<OutboxRow> operations_of(const std::string& worker_id) = 0;
  // Whether this worker has a pending or held operation in `target` (one index probe).
  virtual bool has_unfinished_operations(const std::string& target,
                                         const std::string& worker_id) = 0;
  virtual void set_op_status(std::int64_t id, OpStatus status, const std::string& error) = 0;
  virtual void schedule_retry(std::int64_t id, TimePoint next_attempt_at,
                              const std::string& error) = 0;  // attempts + 1
  // Earliest next_attempt_at after `after` among Pending operations: when the engine must wake
  // for a retry. Operations already due are not reported — the executor takes them as soon as
  // a lane is free, and a lane that finishes wakes the engine — so a long queue never turns the
  // engine's sleep into a busy loop.
  virtual std::optional<TimePoint> next_retry_at(TimePoint after) = 0;
  // People with destructive operations in `target` created since `since`, held and rejected
  // ones excluded: the safety brake counts people, not steps, and has a window per target.
  virtual std::int64_t destructive_workers_since(const std::string& target, TimePoint since) = 0;
  // Whether this worker is already among them.
  virtual bool destructive_worker_since(const std::string& target, const std::string& worker_id,
                                        TimePoint since) = 0;

  // --- schedule
  virtual void add_schedule(const std::string& worker_id, TimePoint due_at,
                            const std::string& reason) = 0;
  virtual std::vector<ScheduleRow> due_schedules(TimePoint now) = 0;
  virtual void remove_schedule(std::int64_t id) = 0;
  virtual std::optional<TimePoint> next_schedule_at() = 0;

  // --- username reservations (released names are not reused for reserve_days)
  virtual void reserve_username(const std::string& username, const std::string& worker_id,
                                TimePoint until) = 0;
  // Reserved for someone other than `worker_id` at `now`.
  virtual bool username_reserved(const std::string& username, const std::string& worker_id,
                                 TimePoint now) = 0;

  // --- entitlements
  virtual void allocate_entitlement(const std::string& worker_id, const std::string& ent,
                                    TimePoint at) = 0;
  virtual void release_entitlement(const std::string& worker_id, const std::string& ent,
                                   TimePoint at) = 0;
  virtual std::vector<EntitlementRow> entitlements(const std::string& worker_id) = 0;
  // Released since `since` across every worker, oldest release first: what to retrieve from
  // leavers (hardware) or reclaim (licences).
  virtual std::vector<EntitlementRow> released_entitlements(TimePoint since) = 0;

  // --- audit
  // Appends a row to the hash chain: its prev_hash is the newest row's hash, read under the
  // write lock (call inside a transaction when other writes must commit with it).
  virtual std::int64_t audit(const AuditRecord& record) = 0;
  virtual std::optional<AuditHead> audit_head() = 0;
  // Walks the chain oldest first: each row's hash must match its content and its prev_hash the
  // row before it. Stops at the first row that does not.
  virtual AuditCheck verify_audit() = 0;
  // Newest last. Empty worker_id = all. Besides the audit rows, each stored event appears as an
  // `event.stored` record built from its inbox row (its receipt), in time order.
  virtual std::vector<AuditRecord> audit_log(const std::string& worker_id, int limit) = 0;

  // Every count, for people (provisionctl status, /v1/status). Rows of tables that only grow
  // or grow with the workforce (audit, done operations, workers, accounts) are counted as they
  // are written (the counters table, kept by triggers), never scanned; the queues are walks over
  // rows that come and go.
  virtual StoreCounts counts() = 0;
  // What the engine needs often: the queues (inbox pending; outbox pending, held, failed) and
  // the managed accounts; the other fields of StoreCounts stay 0.
  virtual StoreCounts queue_counts() = 0;
  // The outbox's queues per target (ops_pending, ops_held, ops_failed; the rest 0), counted in
  // the database (/v1/queues): targets with nothing queued are absent.
  virtual std::map<std::string, StoreCounts> queue_counts_by_target() = 0;

  // --- retention
  // Deletes what `retention` lets go, as of `now`, in transactions that each look at no more than
  // retention.batch_rows rows of one table, so no other writer waits long:
  //  - applied and stale inbox rows received more than `days` ago, except each worker's last
  //    event (snapshot sources and re-deliveries read it); each leaves its receipt in the audit
  //    (`event.stored`, as audit_log() showed it before);
  //  - done operations last changed more than `days` ago;
  //  - with audit_days > 0 only: audit rows older than that, appended to audit_export_file
  //    (JSON lines, synced) before they are deleted. The database refuses to delete audit rows
  //    that were not exported.
  // days == 0 keeps inbox and outbox rows; audit_days == 0 keeps the audit. Throws StoreError
  // (and StoreError for an export file that cannot be written: nothing is deleted then).
  virtual CompactReport compact(const RetentionConfig& retention, TimePoint now) = 0;
};

// How much the ingest writer lets in, and how much one of its transactions may hold.
struct InboxLimits {
  // submit(): above this many unprocessed (pending) inbox rows an event is refused (Overloaded).
  std::size_t high_water = 100000;
  // submit_bulk(): events wait while the inbox holds half the high-water mark or more, so a
  // snapshot never fills the room webhooks need; they are stored as the engine drains it.
  // One transaction holds at most this many events and this many bytes of event bodies (at least
  // one event however large), so no commit keeps the write lock for long.
  std::size_t commit_max_events = 1000;
  std::size_t commit_max_bytes = 4u << 20;
};

// Group-commit ingest: events from many requests are committed in one transaction on a writer
// thread, and each request is answered after that commit. `on_stored` runs after every commit
// that stored at least one event (the engine's wake-up). Webhook events (submit) go before bulk
// ones (submit_bulk) in every transaction.
class InboxWriter : public IngestSink {
 public:
  static std::unique_ptr<InboxWriter> start(const std::filesystem::path& db_path,
                                            InboxLimits limits, std::function<void()> on_stored);
  static std::unique_ptr<InboxWriter> start(const std::filesystem::path& db_path,
                                            std::size_t high_water,
                                            std::function<void()> on_stored) {
    InboxLimits limits;
    limits.high_water = high_water;
    return start(db_path, limits, std::move(on_stored));
  }
  // Stops accepting, commits what is queued, joins the thread.
  virtual void stop() = 0;
};

// Retention inside the daemon: compact() on its own connection and thread, once at start and
// then every retention.interval. A failed pass is logged and tried again at the next interval.
// `on_pass` (tests, metrics) runs on that thread after each pass. Keeps no thread when the
// retention keeps everything.
class RetentionRunner {
 public:
  static std::unique_ptr<RetentionRunner> start(const std::filesystem::path& db_path,
                                                const RetentionConfig& retention,
                                                std::function<void(const CompactReport&)> on_pass);
  virtual ~RetentionRunner() = default;
  // Wakes the thread and joins it; a batch in flight finishes first. Idempotent.
  virtual void stop() = 0;
};

}  // namespace prov
