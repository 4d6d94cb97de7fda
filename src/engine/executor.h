#pragma once
// The executor: takes what the planner put in the outbox to the directory and records what the
// directory did. It is the third stage of the engine (planner → brake → executor).
//
// Shape (docs/architecture.md, "The executor"):
// - Lanes. A lock lane with a connection of its own carries only locks (disable), so taking
//   access away never waits behind other workers' moves, group changes or creates. The write
//   lanes (`executor.connections` of them, each with its own connection) carry everything else.
// - Streaming, not rounds. Every lane works independently: when one finishes its batch, its
//   outcomes are committed (one transaction per batch, all-or-nothing) and it is handed the next
//   operations at once, while the other lanes are still busy. Each batch is pipelined on its
//   connection (`directory.pipeline_window` requests in flight).
// - One executor per target, each with its own lanes and connections: a target that is slow or
//   down holds up only its own operations, never another target's locks.
// - Per-worker order by dependency. A worker's operation is sent only when every older one it
//   depends on has completed (the store's ready_operations decides which commute), and a
//   worker is in at most one write lane at a time.
//
// Threading: dispatch()/collect() and everything that touches the Store run on the engine
// thread. In threaded mode each lane has a thread that only talks to its own connector.
// Without a connector factory (unit tests, previews) the lanes run inline on the engine thread.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "prov/clock.h"
#include "prov/config.h"
#include "prov/connector.h"
#include "prov/engine.h"
#include "prov/policy.h"
#include "prov/store.h"

namespace prov {

// What the executor needs from the rest of the engine.
struct ExecutorHooks {
  std::function<std::shared_ptr<const Policy>()> policy;  // username reservation after a delete
  // A manager's account was created or moved: re-plan this report (inside the open transaction).
  std::function<void(const std::string& report_worker_id)> relink;
  std::function<void()> wake;  // a lane finished its batch: wake the engine thread
};

class Executor {
 public:
  using Factory = std::function<std::unique_ptr<DirectoryConnector>()>;

  // Inline mode on `connector` (may be null: the executor then does nothing). It applies the
  // operations of `target` only.
  Executor(Store& store, const Clock& clock, const Config& config, std::string target,
           ExecutorHooks hooks, DirectoryConnector* connector);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Threaded mode: one lock lane and `executor.connections` write lanes, each with a connector
  // of its own made by `make`. Call once, before the engine runs.
  void start_lanes(const Factory& make);

  // The planner queued an operation of this kind: the next dispatch() asks the store again.
  void planned(OpKind kind);
  // Hands ready operations to idle lanes, locks first. Returns how many were sent.
  int dispatch();
  // Records the outcomes of finished batches. wait: until nothing is in flight.
  int collect(bool wait);
  bool busy() const;
  // The earliest moment a lane that could not connect may try again (its pause), if any is
  // pausing now: the engine wakes then instead of polling while the directory is away.
  std::optional<std::chrono::steady_clock::time_point> reconnect_at() const;
  ExecutorHealth health() const { return health_.load(); }
  const std::string& target() const { return target_; }

 private:
  struct Lane;
  struct Batch {
    Status connected;  // the lane could not connect: nothing was sent
    std::vector<Outcome> outcomes;
  };

  int dispatch_to(Lane& lane, std::vector<OutboxRow> rows);
  std::vector<OutboxRow> ready_writes(int limit);
  static Batch run(Lane& lane, const std::vector<Operation>& ops);
  void lane_loop(Lane& lane);
  // The account of the worker whose outcomes are being recorded, as the open transaction has it.
  struct KnownAccount {
    std::string worker_id;
    std::optional<AccountRow> row;
  };
  void record(Lane& lane, Batch batch);
  void complete(const OutboxRow& row, const Outcome& outcome, KnownAccount& known);
  void note_connect(const Status& st);
  std::chrono::milliseconds backoff(int attempts) const;

  Store& store_;
  const Clock& clock_;
  const Config& config_;
  const std::string target_;
  ExecutorHooks hooks_;
  std::vector<std::unique_ptr<Lane>> lanes_;  // lanes_[0] is the lock lane
  bool threaded_ = false;
  std::set<std::int64_t> in_flight_ops_;
  std::map<std::string, int> in_flight_writes_;  // worker → operations in a write lane
  std::atomic<ExecutorHealth> health_{ExecutorHealth::Ok};
  // Whether the store may hold ready operations this executor has not seen: set by planning,
  // by finished batches (their workers' next operations) and every kPoll (retries that came
  // due, decisions taken by provisionctl); cleared when a question returned everything ready.
  // Spares the engine thread a query after every planning transaction when nothing changed.
  bool locks_dirty_ = true, writes_dirty_ = true;
  std::chrono::steady_clock::time_point last_poll_{};
};

}  // namespace prov
