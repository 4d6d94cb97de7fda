#include <gtest/gtest.h>

#include "lifecycle.h"

namespace prov {
namespace {

TimePoint at(const char* s) { return *parse_time(s); }

HrEvent event(EventType t, const char* effective, Json worker) {
  HrEvent e;
  e.event_id = "e";
  e.type = t;
  e.effective_at = at(effective);
  e.worker_id = worker.value("workerId", "1");
  e.worker = std::move(worker);
  return e;
}

Json record(const char* hire) {
  return Json{{"workerId", "1"}, {"firstName", "A"}, {"lastName", "B"}, {"hireDate", hire}};
}

LifecyclePolicy policy() {
  LifecyclePolicy p;
  p.prehire_days = 7;
  p.termination_move_to = "ou=disabled";
  p.delete_after_days = 90;
  return p;
}

TEST(Lifecycle, FutureHireAppearsLockedBeforeStartAndEnablesAtStart) {
  Worker w;
  apply_event_to_worker(w, event(EventType::Hire, "2026-11-01T00:00:00Z", record("2026-12-01")));
  auto early = decide(w, policy(), at("2026-11-20T00:00:00Z"));
  EXPECT_FALSE(early.exists);
  EXPECT_EQ(early.next_change, at("2026-11-24T00:00:00Z"));
  auto pre = decide(w, policy(), at("2026-11-25T00:00:00Z"));
  EXPECT_TRUE(pre.exists);
  EXPECT_FALSE(pre.enabled);
  EXPECT_EQ(pre.state, LifecycleState::PreHire);
  EXPECT_EQ(pre.next_change, at("2026-12-01T00:00:00Z"));
  auto started = decide(w, policy(), at("2026-12-01T00:00:00Z"));
  EXPECT_TRUE(started.enabled);
  EXPECT_EQ(started.state, LifecycleState::Active);
}

TEST(Lifecycle, LeaveLocksAndKeepsGroupsReturnUnlocks) {
  Worker w;
  apply_event_to_worker(w, event(EventType::Hire, "2026-01-01T00:00:00Z", record("2026-01-01")));
  apply_event_to_worker(w, event(EventType::Leave, "2026-03-01T00:00:00Z", record("2026-01-01")));
  auto d = decide(w, policy(), at("2026-03-02T00:00:00Z"));
  EXPECT_EQ(d.state, LifecycleState::OnLeave);
  EXPECT_FALSE(d.enabled);
  EXPECT_TRUE(d.keep_groups);
  apply_event_to_worker(w, event(EventType::Return, "2026-04-01T00:00:00Z", record("2026-01-01")));
  EXPECT_TRUE(decide(w, policy(), at("2026-04-02T00:00:00Z")).enabled);
}

TEST(Lifecycle, TerminationLocksMovesAndDeletesAfterRetention) {
  Worker w;
  apply_event_to_worker(w, event(EventType::Hire, "2026-01-01T00:00:00Z", record("2026-01-01")));
  apply_event_to_worker(w, event(EventType::Termination, "2026-06-30T17:00:00Z", record("2026-01-01")));
  auto d = decide(w, policy(), at("2026-06-30T17:00:00Z"));
  EXPECT_EQ(d.state, LifecycleState::Terminated);
  EXPECT_FALSE(d.enabled);
  EXPECT_FALSE(d.keep_groups);
  EXPECT_EQ(d.move_to, "ou=disabled");
  EXPECT_EQ(d.next_change, at("2026-09-28T17:00:00Z"));
  auto gone = decide(w, policy(), at("2026-09-28T17:00:00Z"));
  EXPECT_FALSE(gone.exists);
  EXPECT_EQ(gone.state, LifecycleState::Deleted);
}

TEST(Lifecycle, EndOfDayTerminationWaitsForTheDayToEnd) {
  auto p = policy();
  p.termination_lock = "end_of_day";
  Worker w;
  apply_event_to_worker(w, event(EventType::Hire, "2026-01-01T00:00:00Z", record("2026-01-01")));
  apply_event_to_worker(w, event(EventType::Termination, "2026-06-30T09:00:00Z", record("2026-01-01")));
  auto d = decide(w, p, at("2026-06-30T12:00:00Z"));
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.next_change, at("2026-06-30T23:59:59.999Z"));
  EXPECT_FALSE(decide(w, p, at("2026-07-01T00:00:00Z")).enabled);
}

TEST(Lifecycle, TerminationBeforeStartIsARescind) {
  Worker w;
  apply_event_to_worker(w, event(EventType::Hire, "2026-11-01T00:00:00Z", record("2026-12-01")));
  apply_event_to_worker(w, event(EventType::Termination, "2026-11-20T00:00:00Z", record("2026-12-01")));
  auto d = decide(w, policy(), at("2026-11-26T00:00:00Z"));
  EXPECT_EQ(d.state, LifecycleState::Rescinded);
  EXPECT_FALSE(d.exists);
}

TEST(Lifecycle, ChangeNeverRevivesATerminatedWorkerButRehireDoes) {
  Worker w;
  apply_event_to_worker(w, event(EventType::Hire, "2026-01-01T00:00:00Z", record("2026-01-01")));
  apply_event_to_worker(w, event(EventType::Termination, "2026-05-01T00:00:00Z", record("2026-01-01")));
  apply_event_to_worker(w, event(EventType::Change, "2026-05-02T00:00:00Z", record("2026-01-01")));
  EXPECT_EQ(decide(w, policy(), at("2026-05-03T00:00:00Z")).state, LifecycleState::Terminated);
  apply_event_to_worker(w, event(EventType::Rehire, "2026-07-01T00:00:00Z", record("2026-07-01")));
  auto d = decide(w, policy(), at("2026-07-01T00:00:00Z"));
  EXPECT_EQ(d.state, LifecycleState::Active);
  EXPECT_TRUE(d.enabled);
}

}  // namespace
}  // namespace prov
