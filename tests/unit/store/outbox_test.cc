#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <set>
#include <utility>

#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::at_ms;
using testing::cat;
using testing::make_op;
using testing::plan_of;
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

// Memberships of different groups commute, so one event's go out together; a later event's wait
// for them (a worker's events reach the directory in the order HR sent them: a termination's
// group removals never overtake the group additions of the change before it).
TEST_F(StoreTest, MembershipsCommuteWithinAnEventNotAcrossEvents) {
  const auto add_finance =
      store_->enqueue(make_op("W", OpKind::AddMember, "finance"), OpStatus::Pending, "e1", at_ms(0));
  const auto add_erp =
      store_->enqueue(make_op("W", OpKind::AddMember, "erp"), OpStatus::Pending, "e1", at_ms(0));
  const auto remove_staff =
      store_->enqueue(make_op("W", OpKind::RemoveMember, "staff"), OpStatus::Pending, "e2", at_ms(0));
  const auto ready = [&] {
    return ids(store_->ready_operations(kDefaultTarget, at_ms(10), 10, Store::Lane::Writes));
  };
  EXPECT_EQ(ready(), (std::vector<std::int64_t>{add_finance, add_erp}));
  store_->set_op_status(add_finance, OpStatus::Done, "");
  EXPECT_EQ(ready(), (std::vector<std::int64_t>{add_erp}));
  store_->set_op_status(add_erp, OpStatus::Done, "");
  EXPECT_EQ(ready(), (std::vector<std::int64_t>{remove_staff}));
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

  EXPECT_EQ(store_->destructive_workers_since(kDefaultTarget, at_ms(0)), 3);    // A, B, F (C is held)
  EXPECT_EQ(store_->destructive_workers_since(kDefaultTarget, at_ms(150)), 2);  // B, F
  EXPECT_EQ(store_->destructive_workers_since(kDefaultTarget, at_ms(401)), 0);
  EXPECT_TRUE(store_->destructive_worker_since(kDefaultTarget, "A", at_ms(0)));
  EXPECT_FALSE(store_->destructive_worker_since(kDefaultTarget, "A", at_ms(150)));
  EXPECT_FALSE(store_->destructive_worker_since(kDefaultTarget, "C", at_ms(0)));  // held: not through yet
  EXPECT_FALSE(store_->destructive_worker_since(kDefaultTarget, "D", at_ms(0)));  // an update destroys nothing
}

TEST_F(StoreTest, DestructiveWorkersSinceCountsPeopleNotSteps) {
  for (auto kind : {OpKind::Disable, OpKind::Move, OpKind::RemoveMember, OpKind::RemoveMember})
    store_->enqueue(make_op("A", kind, kind == OpKind::RemoveMember ? "g" : ""),
                    OpStatus::Pending, "", at_ms(100));
  store_->enqueue(make_op("B", OpKind::Disable), OpStatus::Pending, "", at_ms(200));
  store_->enqueue(make_op("C", OpKind::Disable), OpStatus::Held, "", at_ms(200));
  EXPECT_EQ(store_->destructive_workers_since(kDefaultTarget, at_ms(0)), 2);  // A and B; C is held
  EXPECT_EQ(store_->destructive_workers_since(kDefaultTarget, at_ms(150)), 1);
}

// What SQLite did for one statement the store ran: its text and the work counters of that run.
struct StatementRun {
  std::string sql;
  int full_scan_steps = 0;  // rows stepped through by full table scans
  int sorts = 0;            // sorter (temporary B-tree) uses
  int vm_steps = 0;         // virtual machine instructions: the work done, whatever the clock
};

// Records every statement the connection finishes whose text contains `marker`, with its counters
// (reset after each run, so a cached statement reports one execution at a time).
class StatementRecorder {
 public:
  StatementRecorder(sql::Database& db, std::string marker) : db_(db), marker_(std::move(marker)) {
    sqlite3_trace_v2(db_.handle(), SQLITE_TRACE_PROFILE, &StatementRecorder::on_profile, this);
  }
  ~StatementRecorder() { sqlite3_trace_v2(db_.handle(), 0, nullptr, nullptr); }
  // The runs recorded since the last call.
  std::vector<StatementRun> take() { return std::exchange(runs_, {}); }

 private:
  static int on_profile(unsigned, void* self_ptr, void* stmt_ptr, void*) {
    auto* self = static_cast<StatementRecorder*>(self_ptr);
    auto* stmt = static_cast<sqlite3_stmt*>(stmt_ptr);
    StatementRun run;
    run.sql = sqlite3_sql(stmt);
    run.full_scan_steps = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
    run.sorts = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_SORT, 1);
    run.vm_steps = sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_VM_STEP, 1);
    if (run.sql.find(self->marker_) != std::string::npos) self->runs_.push_back(std::move(run));
    return 0;
  }

  sql::Database& db_;
  std::string marker_;
  std::vector<StatementRun> runs_;
};

// The executor asks for ready operations on every pass, so the work of one call must depend on
// the batch it returns, not on the size of the outbox. Checked on the statements the store really
// runs (captured from the connection, not copied here) over 100k rows: SQLite's plan walks indexes
// — no table scan, no sort, no index scan longer than the batch — and the instructions it executed
// stay within a budget per row returned (100: about twice what the index walks need; without
// their indexes the same calls take over a million).
TEST_F(StoreTest, ReadyOperationsWalkIndexesWhateverTheOutboxHolds) {
  // 100k rows: 60k done history, 20k workers with two pending updates each, 300 of them with a
  // lock queued behind their updates (the lock lane may take those ahead), 1,000 backing off.
  store_->transaction([&] {
    for (int i = 0; i < 60'000; ++i) {
      const auto id = store_->enqueue(make_op(cat("old", i % 5000), OpKind::Update),
                                      OpStatus::Pending, "", at_ms(0));
      store_->set_op_status(id, OpStatus::Done, "");
    }
    for (int round = 0; round < 2; ++round) {
      for (int w = 0; w < 20'000; ++w) {
        const auto id =
            store_->enqueue(make_op(cat("w", w), OpKind::Update), OpStatus::Pending, "", at_ms(0));
        // The last thousand workers wait for a retry, the earliest due at 30 s.
        if (round == 0 && w >= 19'000) store_->schedule_retry(id, at_ms(11'000 + w), "busy");
      }
    }
    for (int w = 0; w < 300; ++w)
      store_->enqueue(make_op(cat("w", w), OpKind::Disable), OpStatus::Pending, "", at_ms(0));
  });
  auto& db = dynamic_cast<SqliteStore&>(*store_).database();
  StatementRecorder recorder(db, "FROM outbox");
  constexpr int kBatch = 256;
  constexpr int kStepsPerRow = 100;

  struct Case {
    const char* name;
    std::function<std::vector<OutboxRow>()> call;
    std::string first, last;  // the workers of the first and last row returned
  };
  const std::vector<Case> cases = {
      {"next_operations", [&] { return store_->next_operations(at_ms(1), kBatch); }, "w0", "w255"},
      {"ready_operations(Writes)",
       [&] { return store_->ready_operations(kDefaultTarget, at_ms(1), kBatch, Store::Lane::Writes); }, "w0",
       "w255"},
      {"ready_operations(Locks)",
       [&] { return store_->ready_operations(kDefaultTarget, at_ms(1), kBatch, Store::Lane::Locks); }, "w0",
       "w255"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    recorder.take();
    const auto batch = c.call();
    ASSERT_EQ(batch.size(), static_cast<std::size_t>(kBatch));
    std::set<std::string> workers;
    for (const auto& r : batch) workers.insert(r.op.worker_id);
    EXPECT_EQ(workers.size(), batch.size());  // one per worker
    EXPECT_EQ(batch.front().op.worker_id, c.first);
    EXPECT_EQ(batch.back().op.worker_id, c.last);  // oldest first

    const auto runs = recorder.take();
    ASSERT_EQ(runs.size(), 1u) << "one statement per call";
    const StatementRun& run = runs.front();
    // A scan may walk a partial index that holds only the rows sought (the pending locks),
    // never more rows than it returns.
    EXPECT_LE(run.full_scan_steps, kBatch) << run.sql;
    EXPECT_EQ(run.sorts, 0) << run.sql;
    EXPECT_LE(run.vm_steps, kBatch * kStepsPerRow) << run.sql;
    const std::string plan = plan_of(db, run.sql);
    EXPECT_EQ(plan.find("SCAN o\n"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN p"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
    std::cout << "[ info ] " << c.name << ": " << run.vm_steps << " VM steps\n" << plan;
  }

  // The engine's question each time it goes to sleep: one seek, whatever the queue holds.
  recorder.take();
  EXPECT_EQ(store_->next_retry_at(at_ms(1)), at_ms(30'000));
  const auto runs = recorder.take();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs.front().full_scan_steps, 0) << runs.front().sql;
  EXPECT_EQ(runs.front().sorts, 0) << runs.front().sql;
  EXPECT_LE(runs.front().vm_steps, kStepsPerRow) << runs.front().sql;
  std::cout << "[ info ] next_retry_at: " << runs.front().vm_steps << " VM steps\n"
            << plan_of(db, runs.front().sql);
}

}  // namespace
}  // namespace prov
