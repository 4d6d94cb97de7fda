#include <gtest/gtest.h>

#include <chrono>

#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::at_ms;
using testing::cat;
using testing::make_op;
using testing::StoreTest;

std::vector<std::int64_t> ids(const std::vector<OutboxRow>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& r : rows) out.push_back(r.op.id);
  return out;
}

TEST_F(StoreTest, EnqueuedOperationRoundTrips) {
  Operation op = make_op("w1", OpKind::Create);
  op.ou = "ou=people";
  op.attributes = {{"cn", "José Núñez"}, {"mail", "jose.nunez@example.com"}};
  op.set_initial_password = true;
  op.enabled = false;
  const auto id = store_->enqueue(op, OpStatus::Pending, "evt-1", at_ms(1000));

  const auto row = store_->operation(id);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->op.id, id);
  EXPECT_EQ(row->op.kind, OpKind::Create);
  EXPECT_EQ(row->op.worker_id, "w1");
  EXPECT_EQ(row->op.attributes, op.attributes);
  EXPECT_EQ(row->op.ou, "ou=people");
  EXPECT_TRUE(row->op.set_initial_password);
  EXPECT_FALSE(row->op.enabled);
  EXPECT_EQ(row->status, OpStatus::Pending);
  EXPECT_EQ(row->attempts, 0);
  EXPECT_EQ(row->created_at, at_ms(1000));
  EXPECT_EQ(row->next_attempt_at, at_ms(1000));
  EXPECT_EQ(row->event_id, "evt-1");
  EXPECT_FALSE(store_->operation(id + 100).has_value());
}

TEST_F(StoreTest, NextOperationsKeepsPerWorkerOrder) {
  const auto a1 = store_->enqueue(make_op("A", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  const auto a2 =
      store_->enqueue(make_op("A", OpKind::AddMember, "staff"), OpStatus::Pending, "", at_ms(0));
  const auto b1 = store_->enqueue(make_op("B", OpKind::Create), OpStatus::Pending, "", at_ms(0));

  // One per worker: A's second op waits for its first.
  EXPECT_EQ(ids(store_->next_operations(at_ms(10), 10)), (std::vector<std::int64_t>{a1, b1}));

  store_->set_op_status(a1, OpStatus::Done, "");
  EXPECT_EQ(ids(store_->next_operations(at_ms(10), 10)), (std::vector<std::int64_t>{a2, b1}));
  EXPECT_EQ(ids(store_->next_operations(at_ms(10), 1)), (std::vector<std::int64_t>{a2}));
}

TEST_F(StoreTest, HeldOperationBlocksOnlyItsWorker) {
  const auto a1 = store_->enqueue(make_op("A", OpKind::Disable), OpStatus::Held, "", at_ms(0));
  store_->enqueue(make_op("A", OpKind::Update), OpStatus::Pending, "", at_ms(0));
  const auto b1 = store_->enqueue(make_op("B", OpKind::Update), OpStatus::Pending, "", at_ms(0));
  EXPECT_EQ(ids(store_->next_operations(at_ms(10), 10)), (std::vector<std::int64_t>{b1}));

  // Approval makes it pending again; it then runs first.
  store_->set_op_status(a1, OpStatus::Pending, "");
  EXPECT_EQ(ids(store_->next_operations(at_ms(10), 10)), (std::vector<std::int64_t>{a1, b1}));

  // A rejected (finished) op no longer blocks.
  store_->set_op_status(a1, OpStatus::Rejected, "rejected by admin");
  EXPECT_EQ(store_->next_operations(at_ms(10), 10).size(), 2u);
}

TEST_F(StoreTest, RetryIncrementsAttemptsAndHidesUntilDue) {
  const auto a1 = store_->enqueue(make_op("A", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  const auto a2 = store_->enqueue(make_op("A", OpKind::Update), OpStatus::Pending, "", at_ms(0));
  const auto b1 = store_->enqueue(make_op("B", OpKind::Create), OpStatus::Pending, "", at_ms(0));

  store_->schedule_retry(a1, at_ms(5'000), "ldap:51 busy");
  store_->schedule_retry(a1, at_ms(9'000), "ldap:51 busy");
  const auto row = store_->operation(a1);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->attempts, 2);
  EXPECT_EQ(row->last_error, "ldap:51 busy");
  EXPECT_EQ(row->next_attempt_at, at_ms(9'000));
  EXPECT_EQ(row->status, OpStatus::Pending);

  // a1 backs off: neither it nor a2 behind it runs; B is unaffected.
  EXPECT_EQ(ids(store_->next_operations(at_ms(8'999), 10)), (std::vector<std::int64_t>{b1}));
  EXPECT_EQ(ids(store_->next_operations(at_ms(9'000), 10)), (std::vector<std::int64_t>{a1, b1}));

  store_->set_op_status(b1, OpStatus::Done, "");
  // The engine sleeps until a1 is due, not until a2's (past) time.
  EXPECT_EQ(store_->next_retry_at(at_ms(1'000)), at_ms(9'000));
  store_->set_op_status(a1, OpStatus::Done, "");
  EXPECT_FALSE(store_->next_retry_at(at_ms(1'000)).has_value());
  EXPECT_EQ(store_->next_retry_at(at_ms(-1)), at_ms(0));
  store_->set_op_status(a2, OpStatus::Failed, "ldap:19 constraint");
  EXPECT_FALSE(store_->next_retry_at(at_ms(-1)).has_value());
  EXPECT_THROW(store_->schedule_retry(9999, at_ms(1), "x"), StoreError);
}

// The engine sleeps until the next *future* attempt. An operation that is already due is the
// executor's business (it takes it when a lane is free and then wakes the engine): reporting its
// past time made the engine wake at once, find every lane busy, and ask again — a busy loop over
// the whole queue for as long as the directory was behind.
TEST_F(StoreTest, NextRetryIsTheEarliestFutureAttemptNotAnOperationAlreadyDue) {
  store_->enqueue(make_op("A", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  const auto b1 = store_->enqueue(make_op("B", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  store_->schedule_retry(b1, at_ms(9'000), "ldap:51 busy");
  EXPECT_EQ(store_->next_retry_at(at_ms(5'000)), at_ms(9'000));
  EXPECT_FALSE(store_->next_retry_at(at_ms(9'000)).has_value());
}

TEST_F(StoreTest, FailedOperationDoesNotBlockLaterOnes) {
  const auto a1 = store_->enqueue(make_op("A", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  const auto a2 = store_->enqueue(make_op("A", OpKind::Update), OpStatus::Pending, "", at_ms(0));
  store_->set_op_status(a1, OpStatus::Failed, "ldap:19 constraint violation");
  EXPECT_EQ(ids(store_->next_operations(at_ms(1), 10)), (std::vector<std::int64_t>{a2}));
  EXPECT_EQ(store_->operation(a1)->last_error, "ldap:19 constraint violation");
  EXPECT_EQ(ids(store_->operations(OpStatus::Failed, 10)), (std::vector<std::int64_t>{a1}));
}

TEST_F(StoreTest, OperationsByStatusAndWorker) {
  const auto a1 = store_->enqueue(make_op("A", OpKind::Create), OpStatus::Held, "", at_ms(0));
  const auto b1 = store_->enqueue(make_op("B", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  const auto a2 = store_->enqueue(make_op("A", OpKind::Update), OpStatus::Held, "", at_ms(0));
  EXPECT_EQ(ids(store_->operations(OpStatus::Held, 10)), (std::vector<std::int64_t>{a1, a2}));
  EXPECT_EQ(ids(store_->operations(OpStatus::Held, 1)), (std::vector<std::int64_t>{a1}));
  EXPECT_EQ(ids(store_->operations_of("A")), (std::vector<std::int64_t>{a1, a2}));
  EXPECT_EQ(ids(store_->operations_of("B")), (std::vector<std::int64_t>{b1}));
  EXPECT_THROW(store_->set_op_status(9999, OpStatus::Done, ""), StoreError);
}

TEST_F(StoreTest, DestructiveWorkersSinceCountsRecentUnheldDestructiveOps) {
  store_->enqueue(make_op("A", OpKind::Disable), OpStatus::Pending, "", at_ms(100));
  store_->enqueue(make_op("B", OpKind::Delete), OpStatus::Pending, "", at_ms(200));
  store_->enqueue(make_op("C", OpKind::RemoveMember, "g"), OpStatus::Held, "", at_ms(300));
  store_->enqueue(make_op("D", OpKind::Update), OpStatus::Pending, "", at_ms(300));
  store_->enqueue(make_op("E", OpKind::Create), OpStatus::Pending, "", at_ms(300));
  const auto done =
      store_->enqueue(make_op("F", OpKind::Disable), OpStatus::Pending, "", at_ms(400));
  store_->set_op_status(done, OpStatus::Done, "");

  EXPECT_EQ(store_->destructive_workers_since(at_ms(0)), 3);    // A, B, F (C is held)
  EXPECT_EQ(store_->destructive_workers_since(at_ms(150)), 2);  // B, F
  EXPECT_EQ(store_->destructive_workers_since(at_ms(401)), 0);
  EXPECT_TRUE(store_->destructive_worker_since("A", at_ms(0)));
  EXPECT_FALSE(store_->destructive_worker_since("A", at_ms(150)));
  EXPECT_FALSE(store_->destructive_worker_since("C", at_ms(0)));  // held: not through yet
  EXPECT_FALSE(store_->destructive_worker_since("D", at_ms(0)));  // an update destroys nothing
}

TEST_F(StoreTest, DestructiveWorkersSinceCountsPeopleNotSteps) {
  for (auto kind : {OpKind::Disable, OpKind::Move, OpKind::RemoveMember, OpKind::RemoveMember})
    store_->enqueue(make_op("A", kind, kind == OpKind::RemoveMember ? "g" : ""),
                    OpStatus::Pending, "", at_ms(100));
  store_->enqueue(make_op("B", OpKind::Disable), OpStatus::Pending, "", at_ms(200));
  store_->enqueue(make_op("C", OpKind::Disable), OpStatus::Held, "", at_ms(200));
  EXPECT_EQ(store_->destructive_workers_since(at_ms(0)), 2);  // A and B; C is held
  EXPECT_EQ(store_->destructive_workers_since(at_ms(150)), 1);
}

// The executor polls this on every pass; it must stay an index walk as the outbox grows.
TEST_F(StoreTest, NextOperationsUsesIndexesNotScans) {
  auto& db = dynamic_cast<SqliteStore&>(*store_).database();
  auto plan = db.query(
      "EXPLAIN QUERY PLAN SELECT o.id FROM outbox AS o WHERE o.status = 'pending' "
      "AND o.next_attempt_at <= ?1 AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.status "
      "IN ('pending', 'held') AND p.worker_id = o.worker_id AND p.id < o.id) "
      "ORDER BY o.id LIMIT ?2");
  std::string text;
  while (plan.step()) text += plan.text(3) + "\n";
  EXPECT_EQ(text.find("SCAN o\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("SCAN p"), std::string::npos) << text;
  EXPECT_EQ(text.find("TEMP B-TREE"), std::string::npos) << text;
  EXPECT_NE(text.find("outbox_status_worker"), std::string::npos) << text;
}

TEST_F(StoreTest, NextOperationsStaysFastWithManyRows) {
  // 100k rows: 60k done history, then 20k workers with two pending ops each.
  store_->transaction([&] {
    for (int i = 0; i < 60'000; ++i) {
      const auto id = store_->enqueue(make_op(cat("old", i % 5000), OpKind::Update),
                                      OpStatus::Pending, "", at_ms(0));
      store_->set_op_status(id, OpStatus::Done, "");
    }
    for (int round = 0; round < 2; ++round) {
      for (int w = 0; w < 20'000; ++w) {
        store_->enqueue(make_op(cat("w", w), OpKind::Update), OpStatus::Pending, "", at_ms(0));
      }
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const auto batch = store_->next_operations(at_ms(1), 256);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(batch.size(), 256u);
  std::set<std::string> workers;
  for (const auto& r : batch) workers.insert(r.op.worker_id);
  EXPECT_EQ(workers.size(), 256u);  // one per worker
  EXPECT_EQ(batch.front().op.worker_id, "w0");
  EXPECT_EQ(batch.back().op.worker_id, "w255");  // oldest first
  std::cout << "[ info ] next_operations(256) over 100k rows: "
            << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us\n";
}

}  // namespace
}  // namespace prov
