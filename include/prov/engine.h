#pragma once
// The engine: applies stored events to worker records, plans each affected worker (policy +
// lifecycle + time → desired account → operations), passes plans through the safety brake into
// the outbox, and executes the outbox against the directory. Every step is one store transaction,
// so a crash anywhere replays from the last commit.
//
// Threading: one Engine runs on one thread (it owns its Store connection). With start_executor,
// directory writes run on the executor's lanes (a lock lane and `executor.connections` write
// lanes, each a thread with its own connection) while the engine thread plans the next events;
// the Store is only ever touched by the engine thread. wake() and set_policy() may be called
// from any thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "prov/clock.h"
#include "prov/config.h"
#include "prov/connector.h"
#include "prov/log.h"
#include "prov/plan.h"
#include "prov/policy.h"
#include "prov/store.h"

namespace prov {

// The brake's share rule (safety.max_destructive_percent) applies from this many people on: a
// share of a handful of people means nothing.
inline constexpr int kBrakePercentFloor = 10;

struct WorkerPlan {
  std::string worker_id;
  LifecycleState state = LifecycleState::Active;
  std::vector<Operation> operations;
  std::optional<std::string> hold_reason;  // e.g. no free username
};

enum class ExecutorHealth { Ok, DirectoryUnavailable, CredentialsRejected };

class Executor;

class Engine {
 public:
  Engine(Store& store, DirectoryConnector* connector, const Clock& clock, Config config,
         std::shared_ptr<const Policy> policy);
  ~Engine();

  // Replaces the policy and re-plans every worker through the normal path (the brake applies).
  void set_policy(std::shared_ptr<const Policy> policy);
  std::shared_ptr<const Policy> policy() const;

  // One pass of everything that is due now. Returns true when it did any work.
  bool step();
  // Runs step() until stopped, sleeping until woken or the next due instant.
  void run(std::stop_token stop);
  void wake();

  // Plans one worker. dry_run: nothing is written (preview for `provisionctl plan`).
  WorkerPlan plan_worker(const std::string& worker_id, bool dry_run,
                         const std::string& event_id = {});
  // Preview for every known worker.
  std::vector<WorkerPlan> plan_all();

  ExecutorHealth health() const;

  // A connection to the directory for the planner's questions (is this username free?), apart
  // from the executor's. Call before run().
  void set_lookup_connector(DirectoryConnector* lookup) { lookup_connector_ = lookup; }
  // Directory writes go through the executor's own connections, made by `make` (a lock lane
  // and `executor.connections` write lanes), on threads of their own, so they overlap with
  // planning. Without this, the executor runs inline on the engine's connector. Call before
  // run().
  void start_executor(const std::function<std::unique_ptr<DirectoryConnector>()>& make);

  // Pieces of step(), exposed for tests.
  int apply_pending_events(int limit = 256);
  int apply_due(int limit = 256);
  // Sends what is due to the directory (locks first) and records the outcomes (waits for them).
  int execute_batch();

 private:
  void apply_event(const InboxRow& row);
  void replan_all();
  // Forgets, on every account, that provisiond granted the policy's `release_groups` (audited
  // per account): nobody is removed from them any more.
  void release_groups();
  // Asks the directory, before a transaction, who holds every username the plans of these
  // events' (or these) workers will consider (a query per round, for the whole group; no write
  // lock held while waiting); plan_worker reads holders_ and never asks inside a transaction.
  void prefetch_username_holders(const std::vector<InboxRow>& rows, size_t first, size_t last);
  void prefetch_usernames(const std::vector<Worker>& workers);
  bool waits_for_its_date(const InboxRow& row, TimePoint now);
  // A store transaction around apply_event calls, whose event log lines follow its commit.
  void event_transaction(const std::function<void()>& apply);
  void sync_store();
  // Logs the audit chain's head (and appends it to state.audit_anchor_file) when `force`, or
  // when the audit grew and state.audit_anchor_interval has passed since the last anchor.
  void anchor_audit(bool force);
  bool username_free_in_store(const std::string& name, const std::string& worker_id, TimePoint now);
  // What every policy evaluation of the planner shares (no explanations, manager look-up).
  EvalContext planner_context(TimePoint now);
  std::optional<TimePoint> next_wakeup();
  // Whether the brake lets this worker's destructive operations through now.
  bool safety_allows(const std::string& worker_id);
  // Records what the executor's lanes finished and hands them what is ready now.
  int pump_executor();

  Store& store_;
  DirectoryConnector* connector_;  // may be null: plan-only use
  DirectoryConnector* lookup_connector_ = nullptr;
  DirectoryConnector::Holders holders_;  // prefetched for the events being applied
  // Log lines of the events in the open transaction, written by event_transaction().
  std::vector<std::pair<std::string, log::Fields>> event_logs_;
  const Clock& clock_;
  Config config_;
  mutable std::mutex policy_mu_;
  std::shared_ptr<const Policy> policy_;
  std::atomic<bool> replan_requested_{false};
  // The policy's release_groups are applied before anything is planned: at start and after
  // every policy change.
  std::atomic<bool> release_requested_{true};
  std::chrono::steady_clock::time_point last_gauges_{};
  // The last audit anchor (see anchor_audit): when, and the head row it named.
  std::optional<std::chrono::steady_clock::time_point> anchored_at_;
  std::int64_t anchored_id_ = -1;
  std::int64_t managed_accounts_ = 0;  // for the brake's share rule, see safety_allows
  std::optional<std::chrono::steady_clock::time_point> managed_counted_;
  std::mutex wake_mu_;
  std::condition_variable_any wake_cv_;
  bool woken_ = false;
  // Last: its lanes call wake() and the hooks above until it is destroyed.
  std::unique_ptr<Executor> executor_;
};

}  // namespace prov

namespace prov {

// Operator decisions on the outbox (provisionctl held/approve/reject/failed/retry). Each runs in
// one transaction, is audited with `actor`, and keeps the planned account consistent.
struct OutboxDecision {
  int changed = 0;
  std::vector<std::int64_t> unknown;  // ids that were not in the expected state
};
// ids empty = every operation in the expected state.
OutboxDecision approve_held(Store& store, const std::vector<std::int64_t>& ids,
                            const std::string& actor, TimePoint now);
OutboxDecision reject_held(Store& store, const std::vector<std::int64_t>& ids,
                           const std::string& actor, TimePoint now);
OutboxDecision retry_failed(Store& store, const std::vector<std::int64_t>& ids,
                            const std::string& actor, TimePoint now);
// planned = applied + every unfinished operation, in order.
void rebuild_planned(Store& store, const std::string& worker_id);

}  // namespace prov
