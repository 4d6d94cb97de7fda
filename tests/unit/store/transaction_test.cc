// Transactions, store-wide counts and health checks.
#include <gtest/gtest.h>

#include <thread>

#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::at_ms;
using testing::cat;
using testing::make_event;
using testing::make_op;
using testing::StoreTest;

TEST_F(StoreTest, TransactionRollsBackAndRethrows) {
  EXPECT_THROW(store_->transaction([&] {
    store_->add_schedule("w1", at_ms(1), "hire");
    store_->enqueue(make_op("w1", OpKind::Create), OpStatus::Pending, "", at_ms(1));
    throw std::runtime_error("planner failed");
  }),
               std::runtime_error);
  EXPECT_FALSE(store_->next_schedule_at().has_value());
  EXPECT_TRUE(store_->operations_of("w1").empty());

  // The connection is usable afterwards.
  store_->transaction([&] { store_->add_schedule("w1", at_ms(1), "hire"); });
  EXPECT_EQ(store_->next_schedule_at(), at_ms(1));
}

TEST_F(StoreTest, NestedTransactionJoinsTheOuterOne) {
  EXPECT_THROW(store_->transaction([&] {
    store_->transaction([&] { store_->add_schedule("w1", at_ms(1), "inner"); });
    throw std::runtime_error("outer fails after inner finished");
  }),
               std::runtime_error);
  EXPECT_FALSE(store_->next_schedule_at().has_value());  // inner work went with the outer
}

TEST_F(StoreTest, TransactionIsVisibleToOthersOnlyAfterCommit) {
  auto other = Store::open_read_only(db_path());
  store_->transaction([&] {
    store_->insert_event(make_event("e1", "w1"));
    EXPECT_FALSE(other->event("e1").has_value());
  });
  EXPECT_TRUE(other->event("e1").has_value());
}

TEST_F(StoreTest, ConcurrentWritersOnSeparateConnectionsWaitInsteadOfFailing) {
  // Without a busy timeout, BEGIN IMMEDIATE on the second connection fails at once with
  // SQLITE_BUSY whenever the first holds the write lock.
  store_.reset();
  auto writer = [&](const std::string& prefix, std::exception_ptr& error) {
    try {
      auto store = Store::open(db_path());
      for (int i = 0; i < 50; ++i) {
        store->transaction([&] {
          store->add_schedule(prefix + std::to_string(i), at_ms(i), "hire");
          store->audit(AuditRecord{0, at_ms(i), prefix, "", 0, "test", Json::object()});
        });
      }
    } catch (...) {
      error = std::current_exception();
    }
  };
  std::exception_ptr e1, e2;
  std::thread t1(writer, "a", std::ref(e1));
  std::thread t2(writer, "b", std::ref(e2));
  t1.join();
  t2.join();
  EXPECT_FALSE(e1) << "first writer failed";
  EXPECT_FALSE(e2) << "second writer failed";
  auto store = Store::open_read_only(db_path());
  EXPECT_EQ(store->counts().schedule_pending, 100);
  EXPECT_EQ(store->counts().audit, 100);
}

TEST_F(StoreTest, CountsReflectEveryTable) {
  store_->insert_event(make_event("e1", "w1"));
  store_->insert_event(make_event("e2", "w2"));
  store_->set_event_status(store_->event("e2")->id, EventStatus::Applied, "");
  Worker w;
  w.worker_id = "w1";
  store_->put_worker(w);
  Account a;
  a.worker_id = "w1";
  a.username = "u1";
  store_->put_planned(a);
  store_->enqueue(make_op("w1", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  store_->enqueue(make_op("w2", OpKind::Disable), OpStatus::Held, "", at_ms(0));
  const auto f = store_->enqueue(make_op("w3", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  store_->set_op_status(f, OpStatus::Failed, "no");
  const auto d = store_->enqueue(make_op("w4", OpKind::Create), OpStatus::Pending, "", at_ms(0));
  store_->set_op_status(d, OpStatus::Done, "");
  store_->add_schedule("w1", at_ms(5), "hire");

  const StoreCounts c = store_->counts();
  EXPECT_EQ(c.inbox_pending, 1);
  EXPECT_EQ(c.workers, 1);
  EXPECT_EQ(c.accounts, 1);
  EXPECT_EQ(c.ops_pending, 1);
  EXPECT_EQ(c.ops_held, 1);
  EXPECT_EQ(c.ops_failed, 1);
  EXPECT_EQ(c.ops_done, 1);
  EXPECT_EQ(c.audit, 0);  // a stored event's receipt is its inbox row, not an audit row
  EXPECT_EQ(c.schedule_pending, 1);
}

TEST_F(StoreTest, IntegrityCheckIsOk) {
  store_->insert_event(make_event("e1", "w1"));
  EXPECT_EQ(store_->integrity_check(), "ok");
}

TEST_F(StoreTest, StoreErrorNamesTheStatement) {
  auto& db = dynamic_cast<SqliteStore&>(*store_).database();
  try {
    db.query("SELECT no_such_column FROM inbox");
    FAIL() << "bad SQL was prepared";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_column"), std::string::npos) << e.what();
  }
}

TEST_F(StoreTest, StatementReusedWhileStillSteppingGetsItsOwnCopy) {
  store_->add_schedule("w1", at_ms(1), "a");
  store_->add_schedule("w2", at_ms(2), "b");
  auto& db = dynamic_cast<SqliteStore&>(*store_).database();
  const std::string sql = "SELECT worker_id FROM schedule ORDER BY due_at";
  auto outer = db.query(sql);
  std::vector<std::string> seen;
  while (outer.step()) {
    auto inner = db.query(sql);  // same text, while outer is mid-way
    ASSERT_TRUE(inner.step());
    EXPECT_EQ(inner.text(0), "w1");
    seen.push_back(outer.text(0));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"w1", "w2"}));
}

TEST(StoreFull, DiskFullIsAStoreErrorAndNothingPartialIsKept) {
  testing::TempDir dir;
  auto store = Store::open(dir.path() / "state.db");
  auto& db = dynamic_cast<SqliteStore&>(*store).database();
  // Cap the file at its current size so the next growth fails like a full disk would.
  std::int64_t count = 0;
  {
    auto pages = db.query("PRAGMA page_count");
    ASSERT_TRUE(pages.step());
    count = pages.int64(0);
  }
  db.exec(cat("PRAGMA max_page_count = ", count));
  bool failed = false;
  try {
    store->transaction([&] {
      for (int i = 0; i < 10'000; ++i) {
        HrEvent e = make_event(cat("big-", i), "w1");
        e.worker["padding"] = std::string(4'000, 'x');
        store->insert_event(e);
      }
    });
  } catch (const StoreError& e) {
    failed = true;
    EXPECT_NE(std::string(e.what()).find("full"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(failed);
  EXPECT_FALSE(store->event("big-0").has_value());
  EXPECT_EQ(store->integrity_check(), "ok");
}

}  // namespace
}  // namespace prov
