#include <gtest/gtest.h>

#include "store_fixture.h"

namespace prov {
namespace {

using testing::at_ms;
using testing::cat;
using testing::make_event;
using testing::StoreTest;

TEST_F(StoreTest, StoresEventOnceAndRoundTripsIt) {
  HrEvent e = make_event("evt-1", "100234", 1'700'000'000'123);
  e.type = EventType::Termination;
  e.worker["department"] = "Finanzen & Controlling — Zürich";
  e.worker["customField"] = {{"nested", {1, 2, 3}}};
  e.source = "poll:workday";

  const IngestResult r = store_->insert_event(e);
  ASSERT_EQ(r.status, IngestStatus::Stored) << r.message;
  EXPECT_GT(r.inbox_id, 0);

  const auto row = store_->event("evt-1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->id, r.inbox_id);
  EXPECT_EQ(row->status, EventStatus::Pending);
  EXPECT_EQ(row->event.event_id, "evt-1");
  EXPECT_EQ(row->event.type, EventType::Termination);
  EXPECT_EQ(row->event.worker_id, "100234");
  EXPECT_EQ(row->event.effective_at, e.effective_at);
  EXPECT_EQ(row->event.received_at, e.received_at);
  EXPECT_EQ(row->event.source, "poll:workday");
  EXPECT_EQ(row->event.body_sha256, "digest-a");
  EXPECT_EQ(row->event.worker, e.worker);
  EXPECT_EQ(store_->event_received_at("evt-1"), e.received_at);
  EXPECT_FALSE(store_->event_received_at("evt-2").has_value());
}

TEST_F(StoreTest, SameIdSameDigestIsDuplicateOfTheStoredRow) {
  const IngestResult first = store_->insert_event(make_event("evt-1", "w1"));
  ASSERT_EQ(first.status, IngestStatus::Stored);
  const IngestResult again = store_->insert_event(make_event("evt-1", "w1"));
  EXPECT_EQ(again.status, IngestStatus::Duplicate);
  EXPECT_EQ(again.inbox_id, first.inbox_id);
  EXPECT_EQ(store_->inbox_depth(), 1);
}

TEST_F(StoreTest, SameIdOtherDigestIsConflictAndKeepsTheFirstBody) {
  ASSERT_EQ(store_->insert_event(make_event("evt-1", "w1", 1000, "digest-a")).status,
            IngestStatus::Stored);
  HrEvent other = make_event("evt-1", "w1", 2000, "digest-b");
  const IngestResult r = store_->insert_event(other);
  EXPECT_EQ(r.status, IngestStatus::Conflict);
  EXPECT_FALSE(r.message.empty());
  const auto row = store_->event("evt-1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->event.body_sha256, "digest-a");
  EXPECT_EQ(row->event.effective_at, at_ms(1000));
  EXPECT_EQ(store_->inbox_depth(), 1);
}

TEST_F(StoreTest, StoringAnEventShowsOneReceiptInTheAuditLog) {
  const auto stored = store_->insert_event(make_event("evt-1", "w1"));
  store_->insert_event(make_event("evt-1", "w1"));  // duplicate: no second receipt
  const auto log = store_->audit_log("", 10);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].action, "event.stored");
  EXPECT_EQ(log[0].event_id, "evt-1");
  EXPECT_EQ(log[0].worker_id, "w1");
  EXPECT_EQ(log[0].at, make_event("evt-1", "w1").received_at);
  EXPECT_EQ(log[0].detail.at("inboxId"), stored.inbox_id);
  EXPECT_EQ(log[0].detail.at("eventType"), "HIRE");
}

TEST_F(StoreTest, AuditLogPutsReceiptsInTimeOrderWithAuditRows) {
  HrEvent e = make_event("evt-1", "w1");
  store_->insert_event(e);
  store_->insert_event(make_event("evt-2", "w2"));
  AuditRecord applied;
  applied.at = e.received_at;  // same millisecond: the receipt comes first
  applied.worker_id = "w1";
  applied.event_id = "evt-1";
  applied.action = "event.applied";
  store_->audit(applied);
  AuditRecord later = applied;
  later.at = e.received_at + std::chrono::milliseconds(5);
  later.action = "op.applied";
  store_->audit(later);

  const auto w1 = store_->audit_log("w1", 100);
  ASSERT_EQ(w1.size(), 3u);
  EXPECT_EQ(w1[0].action, "event.stored");
  EXPECT_EQ(w1[1].action, "event.applied");
  EXPECT_EQ(w1[2].action, "op.applied");

  const auto newest = store_->audit_log("", 2);  // the newest two, oldest first
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[1].action, "op.applied");
}

TEST_F(StoreTest, FailedInsertLeavesNeitherEventNorAudit) {
  store_->transaction([&] {
    // A nested failure inside a caller's transaction undoes only the failing part.
    EXPECT_THROW(store_->transaction([&] {
      store_->insert_event(make_event("evt-x", "w1"));
      throw std::runtime_error("caller gave up");
    }),
                 std::runtime_error);
    store_->insert_event(make_event("evt-y", "w1"));
  });
  EXPECT_FALSE(store_->event("evt-x").has_value());
  EXPECT_TRUE(store_->event("evt-y").has_value());
  EXPECT_EQ(store_->audit_log("", 10).size(), 1u);
}

TEST_F(StoreTest, PendingEventsOldestFirstWithLimit) {
  for (int i = 0; i < 5; ++i) {
    store_->insert_event(make_event(cat("evt-", i), cat("w", i)));
  }
  const auto first = store_->pending_events(3);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].event.event_id, "evt-0");
  EXPECT_EQ(first[2].event.event_id, "evt-2");

  store_->set_event_status(first[0].id, EventStatus::Applied, "");
  store_->set_event_status(first[1].id, EventStatus::Stale, "older than applied");
  const auto rest = store_->pending_events(10);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].event.event_id, "evt-2");
  EXPECT_EQ(store_->inbox_depth(), 3);

  const auto stale = store_->event("evt-1");
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->status, EventStatus::Stale);
  EXPECT_EQ(stale->note, "older than applied");
}

// Leavers first: the pending events that take access away, oldest first, each after its
// worker's older pending events; nothing already applied, nobody else's events, nothing twice.
TEST_F(StoreTest, PendingLeaverEventsComeWithTheirWorkersOlderEventsInOrder) {
  auto event = [&](const std::string& id, const std::string& worker, EventType type) {
    HrEvent e = make_event(id, worker);
    e.type = type;
    ASSERT_EQ(store_->insert_event(e).status, IngestStatus::Stored);
  };
  event("a-hire", "a", EventType::Hire);
  event("b-hire", "b", EventType::Hire);
  event("a-change", "a", EventType::Change);
  event("c-change", "c", EventType::Change);
  event("b-leave", "b", EventType::Leave);
  event("a-term", "a", EventType::Termination);
  event("b-term", "b", EventType::Termination);
  event("a-rehire", "a", EventType::Rehire);  // newer than the termination: not overtaking
  store_->set_event_status(store_->event("a-hire")->id, EventStatus::Applied, "");

  std::vector<std::string> ids;
  for (const auto& r : store_->pending_leaver_events(10)) ids.push_back(r.event.event_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b-hire", "b-leave", "a-change", "a-term", "b-term"}));

  ids.clear();
  for (const auto& r : store_->pending_leaver_events(1)) ids.push_back(r.event.event_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"b-hire", "b-leave"}));  // one leaver event, whole
}

TEST_F(StoreTest, SetStatusOfMissingRowThrows) {
  EXPECT_THROW(store_->set_event_status(4242, EventStatus::Applied, ""), StoreError);
}

TEST_F(StoreTest, DueEventsAreScheduledOnesWhoseTimeHasCome) {
  const auto a = store_->insert_event(make_event("a", "w1", 5'000)).inbox_id;
  const auto b = store_->insert_event(make_event("b", "w2", 3'000)).inbox_id;
  const auto c = store_->insert_event(make_event("c", "w3", 9'000)).inbox_id;
  store_->insert_event(make_event("d", "w4", 1'000));  // pending, not scheduled
  for (auto id : {a, b, c}) store_->set_event_status(id, EventStatus::Scheduled, "future");

  EXPECT_TRUE(store_->due_events(at_ms(2'999), 10).empty());
  const auto due = store_->due_events(at_ms(5'000), 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].event.event_id, "b");  // oldest effective first
  EXPECT_EQ(due[1].event.event_id, "a");
  EXPECT_EQ(store_->due_events(at_ms(10'000), 1).size(), 1u);
  EXPECT_EQ(store_->inbox_depth(), 1);
}

TEST_F(StoreTest, WorkerRoundTripKeepsUnicodeAndUnknownFields) {
  Worker w;
  w.worker_id = "100234";
  w.record = {{"workerId", "100234"},         {"firstName", "José"},  {"lastName", "Núñez"},
              {"preferredFirstName", "Pepe"}, {"location", "Köln 🏢"}, {"badge", 42},
              {"terminationDate", nullptr}};
  w.state = LifecycleState::OnLeave;
  w.last_effective_at = at_ms(1'700'000'000'000);
  w.last_event_id = "evt-9";
  store_->put_worker(w);

  auto got = store_->worker("100234");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->record, w.record);
  EXPECT_EQ(got->record["location"], "Köln 🏢");
  EXPECT_EQ(got->state, LifecycleState::OnLeave);
  EXPECT_EQ(got->last_effective_at, w.last_effective_at);
  EXPECT_EQ(got->last_event_id, "evt-9");

  w.state = LifecycleState::Terminated;
  w.record["lastName"] = "Núñez-García";
  store_->put_worker(w);  // replaces, does not add
  EXPECT_EQ(store_->workers().size(), 1u);
  EXPECT_EQ(store_->worker("100234")->state, LifecycleState::Terminated);
  EXPECT_EQ(store_->worker("100234")->record["lastName"], "Núñez-García");
  EXPECT_FALSE(store_->worker("nobody").has_value());
}

TEST_F(StoreTest, ReportsOfMatchesManagerIdWrittenAsStringOrNumber) {
  auto put = [&](const std::string& id, const Json& manager) {
    Worker w;
    w.worker_id = id;
    w.record = {{"workerId", id}};
    if (!manager.is_null()) w.record["managerId"] = manager;
    store_->put_worker(w);
  };
  put("100001", nullptr);
  put("200", "100001");
  put("100", "100001");
  put("300", 100001);  // some HR systems send numbers
  put("400", "100002");
  EXPECT_EQ(store_->reports_of("100001"), (std::vector<std::string>{"100", "200", "300"}));
  EXPECT_TRUE(store_->reports_of("999").empty());
}

Account make_account(const std::string& worker_id, const std::string& username) {
  Account a;
  a.worker_id = worker_id;
  a.username = username;
  a.ou = "ou=people";
  a.dn = cat("uid=", username, ",ou=people,dc=example,dc=com");
  a.attributes = {{"givenName", "José"}, {"sn", "Núñez"}};
  a.groups = {"staff", "finance"};
  return a;
}

TEST_F(StoreTest, PlannedAndAppliedAccountsAreKeptApart) {
  const Account planned = make_account("w1", "jnunez");
  store_->put_planned(planned);

  auto row = store_->account(kDefaultTarget, "w1");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->planned.username, "jnunez");
  EXPECT_EQ(row->planned.attributes, planned.attributes);
  EXPECT_EQ(row->planned.groups, planned.groups);
  EXPECT_FALSE(row->applied.exists);  // nothing confirmed by the directory yet

  Account applied = planned;
  applied.anchor = "5f1c-uuid";
  applied.groups = {"staff"};
  store_->put_applied(applied);
  row = store_->account(kDefaultTarget, "w1");
  ASSERT_TRUE(row.has_value());
  EXPECT_TRUE(row->applied.exists);
  EXPECT_EQ(row->applied.anchor, "5f1c-uuid");
  EXPECT_EQ(row->applied.groups, std::set<std::string>{"staff"});
  EXPECT_EQ(row->planned.groups, planned.groups);  // untouched by put_applied

  const auto by_name = store_->account_by_username("jnunez");
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->planned.worker_id, "w1");
  EXPECT_FALSE(store_->account_by_username("nobody").has_value());
  EXPECT_EQ(store_->accounts().size(), 1u);
}

TEST_F(StoreTest, AppliedWithoutPlannedCreatesTheRow) {
  const Account found = make_account("w7", "found");
  store_->put_applied(found);
  const auto row = store_->account(kDefaultTarget, "w7");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->planned.username, "found");
  EXPECT_EQ(row->applied.dn, found.dn);
}

TEST_F(StoreTest, PlannedUsernamesAreUnique) {
  store_->put_planned(make_account("w1", "jdoe"));
  EXPECT_THROW(store_->put_planned(make_account("w2", "jdoe")), StoreError);
  EXPECT_THROW(store_->put_planned(make_account("w2", "JDoe")), StoreError);  // same for a DS
  store_->put_planned(make_account("w1", "jdoe"));  // the holder may rewrite its own row
  store_->put_planned(make_account("w3", ""));      // no name yet does not compete
  store_->put_planned(make_account("w4", ""));
  store_->put_planned(make_account("w1", "jdoe2"));  // renaming frees the old name
  store_->put_planned(make_account("w2", "jdoe"));
  EXPECT_EQ(store_->account_by_username("jdoe")->planned.worker_id, "w2");
}

}  // namespace
}  // namespace prov
