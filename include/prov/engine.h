#pragma once
// The engine: applies stored events to worker records, plans each affected worker (policy +
// lifecycle + time → desired account → operations), passes plans through the safety brake into
// the outbox, and executes the outbox against the directory. Every step is one store transaction,
// so a crash anywhere replays from the last commit.
//
// Targets: every configured target (config.targets) has an account per worker and an executor
// of its own; a plan covers every target, and the brake counts each target's window apart.
//
// Threading: one Engine runs on one thread (it owns its Store connection). With start_executor,
// directory writes run on each target's executor lanes (a lock lane and `executor.connections`
// write lanes, each a thread with its own connection) while the engine thread plans the next events;
// the Store is only ever touched by the engine thread. wake() and set_policy() may be called
// from any thread.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
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
  std::vector<Operation> operations;  // every target's, each naming its target
  std::optional<std::string> hold_reason;  // e.g. no free username
};

enum class ExecutorHealth { Ok, DirectoryUnavailable, CredentialsRejected };

class Executor;

class Engine {
 public:
  // `connectors`: one per config.targets entry, in that order (null: plan only). A config
  // without targets gets the one target named `directory`.
  Engine(Store& store, std::vector<DirectoryConnector*> connectors, const Clock& clock,
         Config config, std::shared_ptr<const Policy> policy);
  // One connector for the first target (the only one in most configs and tests).
  Engine(Store& store, DirectoryConnector* connector, const Clock& clock, Config config,
         std::shared_ptr<const Policy> policy)
      : Engine(store, std::vector<DirectoryConnector*>{connector}, clock, std::move(config),
               std::move(policy)) {}
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
  // Preview for every known worker, one at a time as planned: memory stays flat at any
  // population.
  void plan_each(const std::function<void(WorkerPlan&&)>& visit);
  std::vector<WorkerPlan> plan_all();  // plan_each, collected (small populations, tests)

  // The worst of the targets' executors.
  ExecutorHealth health() const;

  // A connection to target number `target` for the planner's questions (is this username
  // free?), apart from the executor's. Call before run().
  void set_lookup_connector(AccountReader* lookup, std::size_t target = 0);
  // Directory writes go through each target's executor's own connections, made by `make` for
  // that target (a lock lane and `executor.connections` write lanes), on threads of their own,
  // so they overlap with planning. Without this, each executor runs inline on its target's
  // connector. Call before run().
  using ConnectorMaker = std::function<std::unique_ptr<DirectoryConnector>(const DirectoryConfig&)>;
  void start_executor(const ConnectorMaker& make);

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
  // Applies, in one transaction, the pending leavers' events (and their workers' older ones)
  // that are not in `applied`, and adds them there. Returns how many.
  int apply_arrived_leavers(std::set<std::int64_t>& applied, int limit);
  // Between the planner's questions to the targets: the leavers who arrived while a (slow)
  // target answered are planned at once, not after the group being asked about. Only within
  // apply_pending_events' round, never nested.
  void plan_leavers_between_questions();
  std::set<std::int64_t>* round_applied_ = nullptr;
  bool planning_leavers_ = false;
  // Asks a target's dedicated look-up connection on a helper thread; meanwhile this thread plans
  // the leavers who arrive and keeps the executors going, so a slow target holds up neither
  // locks nor outcomes. While a question is out, no other is asked (a leaver's own pending hire
  // is then planned again once the answer is in).
  Result<AccountReader::Holders> ask_meanwhile(
      const std::function<Result<AccountReader::Holders>()>& question);
  bool asking_ = false;
  // A store transaction around apply_event calls, whose event log lines follow its commit.
  void event_transaction(const std::function<void()>& apply);
  void sync_store();
  // Logs the audit chain's head (and appends it to state.audit_anchor_file) when `force`, or
  // when the audit grew and state.audit_anchor_interval has passed since the last anchor.
  void anchor_audit(bool force);
  bool username_free_in_store(const std::string& name, const std::string& worker_id, TimePoint now);
  // Who holds `name` in any target (nullopt inside: nobody); nullopt when a target could not be
  // asked. Different holders in different targets merge to "" (taken for everyone).
  std::optional<std::optional<std::string>> holder_anywhere(const std::string& name);
  bool can_ask_targets() const;
  // A worker's username as the store knows it (one name in every target), if any target has
  // an existing account with one.
  std::optional<Account> named_account(const std::string& worker_id);
  // One target's part of a worker's plan.
  struct TargetPlan;
  // What every policy evaluation of the planner shares (no explanations, manager look-up).
  EvalContext planner_context(TimePoint now);
  std::optional<TimePoint> next_wakeup();
  // Whether the brake lets this worker's destructive operations in `target` through now.
  bool safety_allows(const std::string& target, const std::string& worker_id);
  // Queues one target's operations (held or pending, audited) and its planned account.
  // Returns how many were held.
  int enqueue_target(TargetPlan& tp, const std::shared_ptr<const Policy>& pol,
                     const std::string& worker_id, const std::string& event_id,
                     bool policy_change, TimePoint now);
  // Diffs one target's desired account (its groups already the target's) against what the
  // store knows there, into tp.operations.
  void plan_target(TargetPlan& tp, const DesiredAccount& desired,
                   const std::shared_ptr<const Policy>& pol);
  // Records what the executor's lanes finished and hands them what is ready now.
  int pump_executor();

  Store& store_;
  // One per config_.targets entry, same order.
  struct Target {
    std::string name;
    bool is_default = false;          // the first: the roles' plain `groups:` grant here
    DirectoryConnector* connector = nullptr;  // may be null: plan-only use
    AccountReader* lookup = nullptr;
    std::unique_ptr<Executor> executor;
    AccountReader* asks() const {
      return lookup ? lookup : static_cast<AccountReader*>(connector);
    }
  };
  AccountReader::Holders holders_;  // prefetched for the events being applied
  std::set<std::string> unanswered_;     // prefetched names some target could not answer
  void forget_holders() {
    holders_.clear();
    unanswered_.clear();
  }
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
  // Last: their lanes call wake() and the hooks above until they are destroyed.
  std::vector<Target> targets_;
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
// planned = applied + every unfinished operation of that target, in order.
void rebuild_planned(Store& store, const std::string& target, const std::string& worker_id);

}  // namespace prov
