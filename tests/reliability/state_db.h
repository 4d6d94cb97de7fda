#pragma once
// Read-only look into provisiond's state database, used as evidence by the reliability tests:
// SQLite's own integrity check, outbox counts by status and what the audit log says was applied.
// Each call opens its own connection (the daemon may be running: WAL lets us read while it
// writes) and throws std::runtime_error when the file cannot be read.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace prov::testing {

class StateDb {
 public:
  explicit StateDb(std::string path) : path_(std::move(path)) {}

  // PRAGMA integrity_check: "ok" when healthy, otherwise SQLite's report.
  std::string integrity_check() const;
  // Outbox rows by status ("pending", "held", "done", "failed", "rejected").
  std::map<std::string, std::int64_t> operations_by_status() const;
  std::int64_t inbox_pending() const;
  // Every stored event: eventId → inbox status (pending, applied, stale, scheduled).
  std::map<std::string, std::string> event_statuses() const;
  // Number of op.applied audit rows per worker for operations of `kind` (e.g. "create").
  std::map<std::string, std::int64_t> applied_per_worker(const std::string& kind) const;
  // Audit rows with this action and, when not empty, this worker.
  std::int64_t audit_count(const std::string& action, const std::string& worker_id = {}) const;
  // op.applied audit rows of one worker that the directory already matched (idempotent replays).
  std::int64_t already_done_count(const std::string& worker_id) const;
  // The accounts row's `applied` JSON for one worker ("" when there is none).
  std::string applied_account(const std::string& worker_id) const;

  // For every applied operation: its event, its kind and the time from the event's arrival at
  // the webhook to the commit of the operation's result (milliseconds).
  struct AppliedLatency {
    std::string event_id, kind;
    std::int64_t ms = 0;
  };
  std::vector<AppliedLatency> applied_latencies() const;

  // The audit of every operation, in the order it was written: op.planned when the planner
  // queued it, op.applied when its result was committed (for one worker that is the order the
  // directory confirmed them, since a worker's next operation is sent only after the one it
  // depends on completed).
  struct AuditedOperation {
    std::string action;  // op.planned, op.applied
    std::string worker_id, event_id, kind;
    std::int64_t op_id = 0;  // the outbox row
  };
  std::vector<AuditedOperation> operation_audit() const;

  // True when nothing is left to do: no pending inbox row, no pending or held operation.
  bool idle() const;
  // The same for one target's operations (the inbox is shared).
  bool idle(const std::string& target) const;

 private:
  std::string path_;
};

}  // namespace prov::testing
