// Transactions, store-wide counts and health checks.
#include <errno.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
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
using testing::TempDir;

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

// A tmpfs of `bytes` on a fresh folder: a filesystem that really fills up. Mounted in a mount
// namespace of this process's own when it can have one, so even a crash leaves no mount behind.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(std::size_t bytes) {
    if (::unshare(CLONE_NEWNS) == 0) {
      // Keep the new mount from propagating back to the namespace the test started in.
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
    }
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0)
      mounted_ = true;
    else
      error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::filesystem::path& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string error_;
};

IngestResult submit_and_wait(InboxWriter& writer, HrEvent event) {
  std::promise<IngestResult> promise;
  auto future = promise.get_future();
  writer.submit(std::move(event), [&promise](IngestResult r) { promise.set_value(std::move(r)); });
  if (future.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within 60 s";
    return {};
  }
  return future.get();
}

// The same failure on a filesystem that is really full (max_page_count above is SQLite's own
// limit, checked before any write reaches the disk; here the write system calls fail with
// ENOSPC, WAL frames included). Through the inbox writer, the path every webhook's 202 waits
// for: the writer answers "not stored" with a message that says why, every event it acknowledged
// is still there, the database passes its integrity check once space returns, and the same
// writer stores events again without a restart.
TEST(StoreFull, RealFullFilesystemLosesNothingAcknowledgedAndResumesWhenSpaceReturns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a tmpfs";
  SmallTmpfs fs(1 << 20);
  if (!fs.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << fs.error();
  const auto db = fs.path() / "state.db";
  // Room to give back once the disk has filled, as an operator deleting old files would.
  const auto ballast = fs.path() / "ballast";
  std::ofstream(ballast) << std::string(256 << 10, 'b');
  ASSERT_EQ(std::filesystem::file_size(ballast), 256u << 10);

  Store::open(db);  // the schema, as the daemon creates it at start
  auto writer = InboxWriter::start(db, 1'000'000, nullptr);
  auto event = [](int i) {
    HrEvent e = make_event(cat("full-", i), cat("w", i % 50), 1'000, cat("digest-", i));
    e.worker["padding"] = std::string(3'000, 'x');
    return e;
  };
  std::vector<std::string> acknowledged;
  IngestResult refused;
  int next = 0;
  for (; next < 2'000; ++next) {
    IngestResult r = submit_and_wait(*writer, event(next));
    if (r.status != IngestStatus::Stored) {
      refused = r;
      break;
    }
    acknowledged.push_back(cat("full-", next));
  }
  ASSERT_LT(next, 2'000) << "1 MiB never filled up";
  std::cout << "[ info ] " << acknowledged.size() << " events stored, then: " << refused.message
            << "\n";
  ASSERT_GT(acknowledged.size(), 10u) << "refused from the start: " << refused.message;
  EXPECT_EQ(refused.status, IngestStatus::Failed) << refused.message;
  EXPECT_NE(refused.message.find("full"), std::string::npos) << refused.message;
  // Still full: later events are refused the same way, never half-stored.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(submit_and_wait(*writer, event(next + 1 + i)).status, IngestStatus::Failed);

  std::filesystem::remove(ballast);  // space returns
  {
    auto store = Store::open_read_only(db);
    EXPECT_EQ(store->integrity_check(), "ok");
    for (const auto& id : acknowledged) EXPECT_TRUE(store->event(id).has_value()) << id;
  }
  // The same writer takes events again, the refused one included (HR delivers it again).
  EXPECT_EQ(submit_and_wait(*writer, event(next)).status, IngestStatus::Stored);
  EXPECT_EQ(submit_and_wait(*writer, event(next + 10)).status, IngestStatus::Stored);
  writer->stop();

  // And after a restart everything acknowledged is there, once.
  auto store = Store::open(db);
  EXPECT_EQ(store->integrity_check(), "ok");
  for (const auto& id : acknowledged) EXPECT_TRUE(store->event(id).has_value()) << id;
  EXPECT_TRUE(store->event(cat("full-", next)).has_value());
  EXPECT_TRUE(store->event(cat("full-", next + 10)).has_value());
  // What was refused was not stored: HR's next delivery is the first copy.
  for (int i = 1; i <= 3; ++i) EXPECT_FALSE(store->event(cat("full-", next + i)).has_value());
  EXPECT_EQ(store->counts().inbox_pending, static_cast<std::int64_t>(acknowledged.size()) + 2);
}

}  // namespace
}  // namespace prov
