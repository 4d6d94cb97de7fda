// The coalescing WAL VFS that writer connections use: a commit is on disk when it returns, a
// rollback leaves nothing, and pages spilled to the WAL in the middle of a transaction (a large
// one, with a small page cache) read back intact.
#include <gtest/gtest.h>

#include <filesystem>

#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::cat;
using testing::make_event;
using testing::StoreTest;

// An event with a worker record of about 2 KiB, so a few thousand fill megabytes of WAL.
HrEvent big_event(int n) {
  HrEvent e = make_event(cat("evt-", n), cat("w", n % 97));
  e.worker["notes"] = std::string(2000, static_cast<char>('a' + n % 26));
  return e;
}

TEST_F(StoreTest, LargeTransactionSpillsToTheWalAndCommitsWhole) {
  auto& db = dynamic_cast<SqliteStore&>(*store_).database();
  // A tiny page cache makes SQLite write pages to the WAL before the commit and read them back.
  db.exec("PRAGMA cache_size=16");
  constexpr int kEvents = 5000;  // ~10 MiB of frames: more than the VFS buffers at once
  auto other = Store::open_read_only(db_path());
  store_->transaction([&] {
    for (int i = 0; i < kEvents; ++i) store_->insert_event(big_event(i));
    EXPECT_EQ(store_->inbox_depth(), kEvents);  // read back through spilled pages
    EXPECT_EQ(other->inbox_depth(), 0);         // nothing visible before the commit
  });
  EXPECT_EQ(other->inbox_depth(), kEvents);
  EXPECT_EQ(store_->integrity_check(), "ok");
  const auto row = other->event(cat("evt-", kEvents - 1));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->event.worker.at("notes"), big_event(kEvents - 1).worker.at("notes"));
}

TEST_F(StoreTest, RolledBackLargeTransactionLeavesNothing) {
  dynamic_cast<SqliteStore&>(*store_).database().exec("PRAGMA cache_size=16");
  EXPECT_THROW(store_->transaction([&] {
    for (int i = 0; i < 3000; ++i) store_->insert_event(big_event(i));
    throw std::runtime_error("give up");
  }),
               std::runtime_error);
  auto other = Store::open_read_only(db_path());
  EXPECT_EQ(other->inbox_depth(), 0);
  store_->insert_event(big_event(1));  // the connection and its WAL are usable afterwards
  EXPECT_EQ(other->inbox_depth(), 1);
  EXPECT_EQ(store_->integrity_check(), "ok");
}

// What a crash right after the commit would leave: copy the database and its WAL while the
// writer is still open (nothing of it is in memory only), then open the copy on its own.
TEST_F(StoreTest, CommittedEventsAreInTheFilesWhenTheCommitReturns) {
  store_->transaction([&] {
    for (int i = 0; i < 200; ++i) store_->insert_event(big_event(i));
  });
  const auto copy = db_path().parent_path() / "copy";
  std::filesystem::create_directories(copy);
  std::filesystem::copy_file(db_path(), copy / "state.db");
  std::filesystem::copy_file(db_path().string() + "-wal", copy / "state.db-wal");
  auto reopened = Store::open(copy / "state.db");
  EXPECT_EQ(reopened->inbox_depth(), 200);
  EXPECT_EQ(reopened->integrity_check(), "ok");
}

}  // namespace
}  // namespace prov
