// Rollbacks through the coalescing WAL VFS. A transaction larger than the page cache spills
// pages to the WAL before it commits; the VFS holds those frames in memory. When the transaction
// rolls back instead, the frames must never reach the file: another connection may since have
// committed its own frames at the same offsets.
//
// Each test starts from a checkpointed database with an empty WAL (the state after every
// checkpoint), spills and rolls back on connection A in one way or another, commits rows on
// connection B, and then reads through A again — the moment a VFS that still held A's frames
// would write them over B's commit. Every case runs with synchronous=FULL (commits sync) and
// NORMAL (commits are written, synced on request), the two ways the store opens writers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "prov/store.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "store/wal_vfs.h"
#include "store_fixture.h"

namespace prov {
namespace {

using sql::Database;

constexpr int kBaseRows = 50;
constexpr int kCommittedRows = 300;

class WalRollbackTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto a = open_writer();
    a->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, who TEXT NOT NULL, pad BLOB)");
    insert(*a, "base", kBaseRows);
    a->exec("PRAGMA wal_checkpoint(TRUNCATE)");  // committed pages in the database, WAL empty
  }

  std::unique_ptr<Database> open_writer() {
    auto db = std::make_unique<Database>(path(), Database::Mode::ReadWrite,
                                         sql::coalescing_wal_vfs());
    db->exec("PRAGMA journal_mode=WAL");
    db->exec("PRAGMA synchronous=" + GetParam());
    return db;
  }

  std::filesystem::path path() const { return dir_.path() / "t.db"; }

  // Rows of ~4 KiB each: one page apiece, so a page cache of 20 pages spills after a few.
  static void insert(Database& db, const std::string& who, int rows) {
    db.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < " +
            std::to_string(rows) + ") INSERT INTO t(who, pad) SELECT '" + who +
            "', randomblob(4000) FROM n");
  }

  // Begins a transaction on `db` and spills `rows` rows' pages to the WAL.
  static void begin_and_spill(Database& db, int rows) {
    db.exec("PRAGMA cache_size=20");
    db.exec("BEGIN");
    insert(db, "rolled-back", rows);
  }

  static std::int64_t count(Database& db, const std::string& who) {
    auto q = db.query("SELECT count(*) FROM t WHERE who = ?");
    q.bind(1, who);
    EXPECT_TRUE(q.step());
    return q.int64(0);
  }

  static std::string integrity(Database& db) {
    auto q = db.query("PRAGMA integrity_check");
    EXPECT_TRUE(q.step());
    return q.text(0);
  }

  // B commits, then A (still open) reads; both must see B's rows and a healthy database.
  void expect_b_commit_survives(Database* a) {
    auto b = open_writer();
    insert(*b, "committed", kCommittedRows);
    if (a != nullptr) {
      EXPECT_EQ(integrity(*a), "ok");
      EXPECT_EQ(count(*a, "committed"), kCommittedRows);
      EXPECT_EQ(count(*a, "rolled-back"), 0);
    }
    EXPECT_EQ(integrity(*b), "ok");
    EXPECT_EQ(count(*b, "committed"), kCommittedRows);
    EXPECT_EQ(count(*b, "base"), kBaseRows);
    EXPECT_EQ(count(*b, "rolled-back"), 0);
    // And from the files alone, as after a crash: a fresh connection of the default VFS.
    Database fresh(path(), Database::Mode::ReadOnly);
    EXPECT_EQ(integrity(fresh), "ok");
    EXPECT_EQ(count(fresh, "committed"), kCommittedRows);
  }

  testing::TempDir dir_;
};

TEST_P(WalRollbackTest, RollbackStatement) {
  auto a = open_writer();
  begin_and_spill(*a, 200);
  a->exec("ROLLBACK");
  expect_b_commit_survives(a.get());
}

// A rollback while page 1 is in the WAL re-reads it from there, which used to flush the buffer
// by accident; the test above covers the case where it is not.
TEST_P(WalRollbackTest, RollbackWithCommittedFramesInTheWal) {
  auto a = open_writer();
  insert(*a, "base", 5);  // page 1 and a few others now live in the WAL
  begin_and_spill(*a, 200);
  a->exec("ROLLBACK");
  auto b = open_writer();
  insert(*b, "committed", kCommittedRows);
  EXPECT_EQ(integrity(*a), "ok");
  EXPECT_EQ(count(*a, "committed"), kCommittedRows);
  EXPECT_EQ(count(*a, "rolled-back"), 0);
}

// A single statement in autocommit mode that spills and then fails on a constraint.
TEST_P(WalRollbackTest, FailingStatement) {
  auto a = open_writer();
  a->exec("PRAGMA cache_size=20");
  EXPECT_THROW(a->exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE "
                       "x < 200) INSERT INTO t(id, who, pad) SELECT CASE WHEN x = 200 THEN 1 "
                       "ELSE 1000 + x END, 'rolled-back', randomblob(4000) FROM n"),
               StoreError);
  expect_b_commit_survives(a.get());
}

// An error SQLite answers by rolling back the whole transaction itself (ON CONFLICT ROLLBACK).
TEST_P(WalRollbackTest, ErrorMidTransaction) {
  auto a = open_writer();
  begin_and_spill(*a, 200);
  EXPECT_THROW(a->exec("INSERT OR ROLLBACK INTO t(id, who) VALUES (1, 'duplicate')"), StoreError);
  EXPECT_FALSE(a->in_transaction());
  expect_b_commit_survives(a.get());
}

// The store's own path: an exception inside Store::transaction, then the other writer commits.
TEST_P(WalRollbackTest, ExceptionInStoreTransaction) {
  const auto db_path = dir_.path() / "state.db";
  const auto sync = GetParam() == "FULL" ? CommitSync::EachCommit : CommitSync::OnRequest;
  auto a = Store::open(db_path, sync);
  auto b = Store::open(db_path, sync);
  b->insert_event(testing::make_event("evt-first", "w0"));
  dynamic_cast<SqliteStore&>(*b).database().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  auto& conn = dynamic_cast<SqliteStore&>(*a).database();
  conn.exec("PRAGMA cache_size=20");
  EXPECT_THROW(a->transaction([&] {
    for (int i = 0; i < 300; ++i) {
      HrEvent e = testing::make_event(testing::cat("evt-rb-", i), "w1");
      e.worker["notes"] = std::string(3000, 'x');
      a->insert_event(e);
    }
    throw std::runtime_error("give up");
  }),
               std::runtime_error);
  b->transaction([&] {
    for (int i = 0; i < kCommittedRows; ++i) {
      HrEvent e = testing::make_event(testing::cat("evt-ok-", i), "w2");
      e.worker["notes"] = std::string(3000, 'y');
      b->insert_event(e);
    }
  });
  EXPECT_EQ(a->integrity_check(), "ok");
  EXPECT_EQ(a->inbox_depth(), kCommittedRows + 1);
  EXPECT_EQ(b->integrity_check(), "ok");
  EXPECT_TRUE(a->event("evt-ok-299").has_value());
  EXPECT_FALSE(a->event("evt-rb-0").has_value());
}

// Closing a connection with its transaction open rolls it back and closes the WAL file.
TEST_P(WalRollbackTest, CloseWithTransactionOpen) {
  auto keep = open_writer();  // so A is not the last connection, which would checkpoint
  EXPECT_EQ(count(*keep, "base"), kBaseRows);
  {
    auto a = open_writer();
    begin_and_spill(*a, 200);
  }
  expect_b_commit_survives(keep.get());
}

// More than the VFS's 4 MiB buffer: part of the spill reaches the file before the rollback.
TEST_P(WalRollbackTest, SpillLargerThanTheBuffer) {
  auto a = open_writer();
  begin_and_spill(*a, 1500);  // ~6 MiB of frames
  a->exec("ROLLBACK");
  expect_b_commit_survives(a.get());
}

// A process that spilled and died before its rollback: its frames were in its memory only.
void spill_and_die(const std::filesystem::path& path, const std::string& synchronous,
                   bool kill_nine) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Database a(path, Database::Mode::ReadWrite, sql::coalescing_wal_vfs());
    a.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=" + synchronous +
           "; PRAGMA cache_size=20; BEGIN");
    a.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200) "
           "INSERT INTO t(who, pad) SELECT 'rolled-back', randomblob(4000) FROM n");
    if (kill_nine) kill(getpid(), SIGKILL);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  if (kill_nine) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

TEST_P(WalRollbackTest, ProcessExitsBetweenSpillAndRollback) {
  spill_and_die(path(), GetParam(), /*kill_nine=*/false);
  expect_b_commit_survives(nullptr);
}

TEST_P(WalRollbackTest, ProcessKilledBetweenSpillAndRollback) {
  auto keep = open_writer();  // the WAL index survives the child, as beside a running daemon
  EXPECT_EQ(count(*keep, "base"), kBaseRows);
  spill_and_die(path(), GetParam(), /*kill_nine=*/true);
  expect_b_commit_survives(keep.get());
}

INSTANTIATE_TEST_SUITE_P(Synchronous, WalRollbackTest, ::testing::Values("FULL", "NORMAL"),
                         [](const auto& info) { return info.param; });

TEST(WalVfsWriter, RefusedWithSynchronousOff) {
  testing::TempDir dir;
  Database db(dir.path() / "t.db", Database::Mode::ReadWrite, sql::coalescing_wal_vfs());
  db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF");
  try {
    sql::require_synchronous(db);
    FAIL() << "a writer with synchronous=OFF was accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("synchronous=NORMAL or FULL"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("t.db"), std::string::npos) << e.what();
  }
  for (const char* level : {"NORMAL", "FULL"}) {
    db.exec(std::string("PRAGMA synchronous=") + level);
    EXPECT_NO_THROW(sql::require_synchronous(db)) << level;
  }
}

// With synchronous=NORMAL no sync follows a commit, so nothing else flushes the buffered frames:
// the commit must be in the file when it returns, for other connections and across the death
// of the process that made it.
void commit_normal_and_die(const std::filesystem::path& path) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Database a(path, Database::Mode::ReadWrite, sql::coalescing_wal_vfs());
    a.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
    a.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 40) "
           "INSERT INTO t(who, pad) SELECT 'child', randomblob(4000) FROM n");
    kill(getpid(), SIGKILL);
    _exit(1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST(WalVfsNormal, ACommitIsInTheFileWithoutASync) {
  testing::TempDir dir;
  const auto path = dir.path() / "t.db";
  Database a(path, Database::Mode::ReadWrite, sql::coalescing_wal_vfs());
  a.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  a.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, who TEXT NOT NULL, pad BLOB)");
  a.exec("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 25) "
         "INSERT INTO t(who, pad) SELECT 'a', randomblob(4000) FROM n");
  // A connection of the default VFS reads the files only.
  Database reader(path, Database::Mode::ReadOnly);
  const auto count = [](Database& db, const char* who) {
    auto q = db.query("SELECT count(*) FROM t WHERE who = ?");
    q.bind(1, who);
    EXPECT_TRUE(q.step());
    return q.int64(0);
  };
  EXPECT_EQ(count(reader, "a"), 25);

  commit_normal_and_die(path);
  EXPECT_EQ(count(reader, "child"), 40);
  EXPECT_EQ(count(a, "child"), 40);
  auto check = a.query("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.text(0), "ok");
}

TEST(StoreSync, SyncsOutsideATransactionOnly) {
  testing::TempDir dir;
  auto store = Store::open(dir.path() / "state.db", CommitSync::OnRequest);
  store->transaction([&] { store->insert_event(testing::make_event("evt-1", "w1")); });
  EXPECT_NO_THROW(store->sync());
  EXPECT_NO_THROW(store->sync());  // nothing committed since: nothing to do
  store->transaction([&] { EXPECT_THROW(store->sync(), StoreError); });
  auto other = Store::open(dir.path() / "state.db");
  EXPECT_TRUE(other->event("evt-1").has_value());
}

}  // namespace
}  // namespace prov
