// Per-worker order under the streaming executor: every worker's lifecycle — HIRE, CHANGE,
// TERMINATION, REHIRE, CHANGE, TERMINATION, REHIRE, CHANGE — delivered by 64 senders at once (up
// to 64 requests in flight, no crash), each sending a worker's next event as soon as the previous
// one is acknowledged. The hires go first and are applied. Then the directory is held (SIGSTOP:
// connections accepted, nothing answered) while the other seven events of every worker are
// delivered and planned, so that when it comes back each worker has operations of several events
// waiting together, and the executor streams that backlog with full windows. The directory must
// end as each worker's last event says, and each worker's operations must have been applied in
// the order of its script. The order is read from the state database: the op.applied audit rows
// in commit order, each naming the event its operation was planned for.
//
// The one reordering the design allows: a lock travels on its own lane and may overtake the
// earlier updates and membership changes of the same worker (access goes first). Nothing may
// overtake a lock, and locks, unlocks, creates and moves keep script order among themselves.
//
// Larger run: PROV_ORDER_WORKERS=1000 PROV_ORDER_SENDERS=64
//   build/tests/reliability/reliability_test --gtest_filter='PerWorkerOrder.*'
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "e2e/daemon_fixture.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"

namespace prov::testing {
namespace {

// Operations that change where an account is or whether it can be used.
bool is_lifecycle(const std::string& kind) {
  return kind == "create" || kind == "enable" || kind == "disable" || kind == "move" ||
         kind == "delete";
}

// What went wrong with one worker's applied operations, one line per problem. Adds to
// `overtaking` the locks applied ahead of an earlier event's operations (allowed, and evidence
// that the run had a worker's events in flight together).
std::vector<std::string> order_problems(const WorkerScript& script,
                                        const std::vector<StateDb::AuditedOperation>& applied,
                                        int& overtaking) {
  std::vector<std::string> problems;
  const std::string who = "worker " + script.worker_id + ": ";
  std::map<std::string, int> index;  // event id → position in the script
  for (std::size_t k = 0; k < script.events.size(); ++k)
    index[script.events[k].event_id] = static_cast<int>(k);

  // The locks and unlocks the script implies, in script order.
  std::vector<std::string> want_locks, got_locks;
  for (std::size_t k = 0; k < script.events.size(); ++k) {
    if (script.events[k].type == "TERMINATION")
      want_locks.push_back("disable@" + std::to_string(k));
    if (script.events[k].type == "REHIRE") want_locks.push_back("enable@" + std::to_string(k));
  }

  int newest = -1;            // newest event among operations other than locks
  int newest_lifecycle = -1;  // newest event among lifecycle operations
  std::set<int> locked;       // terminations whose lock has been applied
  int creates = 0;
  for (std::size_t i = 0; i < applied.size(); ++i) {
    const auto& op = applied[i];
    auto it = index.find(op.event_id);
    if (it == index.end()) {
      problems.push_back(who + op.kind + " of unknown event '" + op.event_id + "'");
      continue;
    }
    const int k = it->second;
    const std::string what = op.kind + " of event " + std::to_string(k) + " (" +
                             script.events[static_cast<std::size_t>(k)].type + ")";
    if (op.kind == "create") {
      ++creates;
      if (i != 0 || k != 0) problems.push_back(who + what + " is not the first operation");
    }
    if (op.kind == "disable" || op.kind == "enable")
      got_locks.push_back(op.kind + "@" + std::to_string(k));
    if (op.kind == "disable") {
      locked.insert(k);
      for (std::size_t later = i + 1; later < applied.size(); ++later) {
        auto e = index.find(applied[later].event_id);
        if (e != index.end() && e->second < k) {
          ++overtaking;
          break;
        }
      }
    } else {
      if (k < newest)
        problems.push_back(who + what + " applied after an operation of event " +
                           std::to_string(newest));
      newest = std::max(newest, k);
      for (int j = 0; j < k; ++j)
        if (script.events[static_cast<std::size_t>(j)].type == "TERMINATION" && !locked.count(j))
          problems.push_back(who + what + " overtook the lock of event " + std::to_string(j));
    }
    if (is_lifecycle(op.kind)) {
      if (k < newest_lifecycle)
        problems.push_back(who + what + " applied after a lifecycle operation of event " +
                           std::to_string(newest_lifecycle));
      newest_lifecycle = std::max(newest_lifecycle, k);
    }
  }
  if (creates != 1) problems.push_back(who + std::to_string(creates) + " creates (want 1)");
  if (got_locks != want_locks)
    problems.push_back(who + "locks and unlocks " + ::testing::PrintToString(got_locks) +
                       " (want " + ::testing::PrintToString(want_locks) + ")");
  return problems;
}

TEST(PerWorkerOrder, SixtyFourSendersEachWorkersLifecycleAppliedInScriptOrder) {
  const int workers = env_int("PROV_ORDER_WORKERS", 128);  // two per sender
  const int senders = env_int("PROV_ORDER_SENDERS", 64);
  const unsigned seed = reliability_seed();
  const std::vector<std::string> lifecycle = {"HIRE",   "CHANGE",      "TERMINATION", "REHIRE",
                                              "CHANGE", "TERMINATION", "REHIRE",      "CHANGE"};
  std::cout << "order: seed " << seed << ", " << workers << " workers x " << lifecycle.size()
            << " events, " << senders << " senders\n";

  auto slapd = Slapd::start();
  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;
  // Every sender connects from 127.0.0.1: room for all of them at once, so none is turned away.
  options.webhook_yaml = "max_connections_per_source: " + std::to_string(2 * senders);
  Daemon daemon(*slapd, options);
  daemon.start();
  StateDb db(daemon.state_path());

  const auto scripts =
      make_workforce(workers, static_cast<int>(lifecycle.size()), "9", seed, lifecycle);
  // The same scripts in two deliveries: the hires, then everything after them.
  std::vector<WorkerScript> hires = scripts, rest = scripts;
  for (auto& s : hires) s.events.resize(1);
  for (auto& s : rest) s.events.erase(s.events.begin());

  LoadGenerator hiring(daemon, hires, senders);
  hiring.start();
  hiring.join();
  ASSERT_TRUE(eventually([&] { return db.idle(); }, std::chrono::seconds(300)))
      << "the hires were not applied; outbox: "
      << ::testing::PrintToString(db.operations_by_status());

  const pid_t directory = slapd->info().pid;
  struct Release {
    pid_t pid;
    ~Release() { ::kill(pid, SIGCONT); }  // never leave the server stopped
  } release{directory};
  ASSERT_EQ(::kill(directory, SIGSTOP), 0);
  LoadGenerator load(daemon, rest, senders);
  load.start();
  load.join();
  // Planning a change, a termination or a rehire needs no answer from the directory.
  ASSERT_TRUE(eventually([&] { return db.inbox_pending() == 0; }, std::chrono::seconds(120)))
      << db.inbox_pending() << " events not planned while the directory was held";
  ASSERT_EQ(::kill(directory, SIGCONT), 0);
  ASSERT_TRUE(eventually([&] { return db.idle(); }, std::chrono::seconds(300)))
      << "provisiond did not finish its work; outbox: "
      << ::testing::PrintToString(db.operations_by_status());

  for (const LoadGenerator* l : {&hiring, &load}) {
    EXPECT_TRUE(l->protocol_errors().empty()) << ::testing::PrintToString(l->protocol_errors());
    EXPECT_EQ(l->unacknowledged_attempts(), 0) << "deliveries were turned away";
  }
  EXPECT_EQ(hiring.acknowledged() + load.acknowledged(),
            workers * static_cast<int>(lifecycle.size()));
  const auto ops = db.operations_by_status();
  EXPECT_EQ(ops.count("failed") ? ops.at("failed") : 0, 0) << ::testing::PrintToString(ops);

  // The directory ends as each worker's last event says.
  std::vector<int> acked = load.acked();  // indices into `rest`: one more in `scripts`
  for (std::size_t i = 0; i < acked.size(); ++i)
    acked[i] = acked[i] >= 0 ? acked[i] + 1 : hiring.acked()[i];
  const auto problems = compare_directory(daemon, scripts, acked);
  EXPECT_TRUE(problems.empty()) << summarize(problems, "discrepancies");

  // And it got there in script order.
  std::map<std::string, std::vector<StateDb::AuditedOperation>> applied, audit;
  for (const auto& row : db.operation_audit()) {
    audit[row.worker_id].push_back(row);
    if (row.action == "op.applied") applied[row.worker_id].push_back(row);
  }
  std::vector<std::string> disorder;
  int overtaking = 0;
  for (const auto& s : scripts)
    for (auto& p : order_problems(s, applied[s.worker_id], overtaking))
      disorder.push_back(std::move(p));
  EXPECT_TRUE(disorder.empty()) << summarize(disorder, "out of order");

  // The run must have given the executor something to keep in order: events planned while an
  // earlier event of the same worker still had operations waiting for the directory.
  int queued_behind = 0;
  for (const auto& [worker, rows] : audit) {
    std::map<std::int64_t, std::string> waiting;  // planned, not yet applied: op id → event
    std::set<std::string> counted;
    for (const auto& row : rows) {
      if (row.action == "op.applied") {
        waiting.erase(row.op_id);
        continue;
      }
      for (const auto& [id, event] : waiting)
        if (event != row.event_id && counted.insert(row.event_id).second) ++queued_behind;
      waiting[row.op_id] = row.event_id;
    }
  }
  std::size_t total = 0;
  for (const auto& [worker, list] : applied) total += list.size();
  std::cout << "order: " << total << " operations applied; " << queued_behind
            << " events planned while an earlier event of their worker was still being applied; "
            << overtaking << " locks went ahead of earlier work of their worker\n";
  EXPECT_GT(queued_behind, 0) << "no worker ever had two events in flight: order was not tested";

  EXPECT_EQ(db.integrity_check(), "ok");
  EXPECT_EQ(daemon.stop(), 0);
  if (HasFailure()) print_log_tail(daemon);
}

}  // namespace
}  // namespace prov::testing
