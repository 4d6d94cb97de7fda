#include "store/schema.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::cat;
using testing::plan_of;
using testing::StoreTest;
using testing::TempDir;

std::vector<std::string> tables(sql::Database& db) {
  auto q = db.query("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  std::vector<std::string> names;
  while (q.step()) names.push_back(q.text(0));
  return names;
}

TEST_F(StoreTest, NewDatabaseIsAtLatestSchemaVersion) {
  EXPECT_EQ(store_->schema_version(), schema::latest_version());
  EXPECT_GE(schema::latest_version(), 1);
}

TEST_F(StoreTest, CreatesEveryTable) {
  store_.reset();
  sql::Database db(db_path(), sql::Database::Mode::ReadOnly);
  const auto names = tables(db);
  for (const char* t : {"accounts", "audit", "entitlements", "inbox", "outbox", "reservations",
                        "schedule", "schema_version", "workers"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), t), names.end()) << t;
  }
}

TEST_F(StoreTest, UsesWalFullSyncAndForeignKeys) {
  auto* sqlite = dynamic_cast<SqliteStore*>(store_.get());
  ASSERT_NE(sqlite, nullptr);
  sql::Database& db = sqlite->database();
  auto pragma = [&](const char* sql) {
    auto q = db.query(sql);
    EXPECT_TRUE(q.step()) << sql;
    return q.text(0);
  };
  EXPECT_EQ(pragma("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(pragma("PRAGMA synchronous"), "2");  // FULL
  EXPECT_EQ(pragma("PRAGMA foreign_keys"), "1");
}

// Another connection (the ingest writer, the CLI) holding the write lock makes a write wait for
// it, not fail with SQLITE_BUSY.
TEST_F(StoreTest, WriteWaitsForAnotherWritersTransaction) {
  sql::Database other(db_path(), sql::Database::Mode::ReadWrite);
  other.exec("BEGIN IMMEDIATE");
  std::atomic<bool> released{false};
  std::thread holder([&] {
    // Holds the lock for a while (load, not synchronisation), then commits.
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    released = true;
    other.exec("COMMIT");
  });
  store_->insert_event(testing::make_event("waited", "w1"));
  const bool was_released = released.load();
  holder.join();
  EXPECT_TRUE(was_released);  // the write could only happen after the other commit
  EXPECT_TRUE(store_->event("waited").has_value());
}

TEST_F(StoreTest, ReopenIsIdempotent) {
  store_->insert_event(testing::make_event("e1", "w1"));
  store_.reset();
  auto again = Store::open(db_path());
  EXPECT_EQ(again->schema_version(), schema::latest_version());
  EXPECT_TRUE(again->event("e1").has_value());
  again.reset();
  sql::Database db(db_path(), sql::Database::Mode::ReadOnly);
  auto q = db.query("SELECT COUNT(*) FROM schema_version");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.int64(0), schema::latest_version());  // one row per migration, none repeated
}

TEST_F(StoreTest, RefusesDatabaseFromNewerBuild) {
  store_.reset();
  {
    sql::Database db(db_path(), sql::Database::Mode::ReadWrite);
    db.exec("INSERT INTO schema_version(version, applied_at) VALUES (999, 0)");
  }
  try {
    Store::open(db_path());
    FAIL() << "open accepted a newer schema";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("999"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Store::open_read_only(db_path()), StoreError);
}

TEST(SchemaMigrate, MigratesAnOlderDatabaseToTheNextVersion) {
  TempDir dir;
  const auto path = dir.path() / "old.db";
  Store::open(path).reset();  // at the latest real version

  auto list = schema::migrations();
  const int next = schema::latest_version() + 1;
  list.push_back({next,
                  {"CREATE TABLE later_feature (id INTEGER PRIMARY KEY, note TEXT)",
                   "INSERT INTO later_feature(note) VALUES ('seeded')"}});
  sql::Database db(path, sql::Database::Mode::ReadWrite);
  schema::migrate(db, list);
  EXPECT_EQ(schema::read_version(db), next);
  auto q = db.query("SELECT note FROM later_feature");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.text(0), "seeded");
}

TEST(SchemaMigrate, FailedMigrationLeavesThePreviousVersion) {
  TempDir dir;
  const auto path = dir.path() / "old.db";
  Store::open(path).reset();

  auto list = schema::migrations();
  const int next = schema::latest_version() + 1;
  list.push_back({next, {"CREATE TABLE half_done (id INTEGER PRIMARY KEY)", "THIS IS NOT SQL"}});
  sql::Database db(path, sql::Database::Mode::ReadWrite);
  try {
    schema::migrate(db, list);
    FAIL() << "a broken migration was accepted";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find(cat("migration ", next)), std::string::npos) << e.what();
  }
  EXPECT_EQ(schema::read_version(db), schema::latest_version());
  const auto names = tables(db);
  EXPECT_EQ(std::find(names.begin(), names.end(), "half_done"), names.end());
}

// Version 5 records per account the groups provisiond granted: of the groups an account has,
// those an add_member of provisiond put it in. Groups someone else added stay out of it.
TEST(SchemaMigrate, Version5RecordsTheGroupsProvisiondGranted) {
  TempDir dir;
  const auto path = dir.path() / "v4.db";
  {
    sql::Database db(path, sql::Database::Mode::ReadWrite);
    const auto& all = schema::migrations();
    std::vector<schema::Migration> v4;
    for (const auto& m : all)
      if (m.version <= 4) v4.push_back(m);
    schema::migrate(db, v4);
    const std::string account =
        R"({"workerId":"1","username":"alima","exists":true,"enabled":true,"groups":["staff","vpn"]})";
    db.query(
          "INSERT INTO accounts(worker_id, username, planned, applied) VALUES ('1', 'alima', ?1, "
          "?1)")
        .bind_all(account)
        .run();
    db.query("INSERT INTO accounts(worker_id, username, planned) VALUES ('2', 'bode', ?1)")
        .bind_all(std::string(R"({"workerId":"2","username":"bode","groups":["staff"]})"))
        .run();
    for (const char* w : {"1", "2"})
      db.query(
            "INSERT INTO outbox(worker_id, kind, destructive, payload, status, next_attempt_at, "
            "created_at, updated_at) VALUES (?1, 'add_member', 0, ?2, 'done', 0, 0, 0)")
          .bind_all(std::string(w), std::string(R"({"kind":"add_member","group":"staff"})"))
          .run();
  }
  auto store = Store::open(path);
  auto one = store->account(kDefaultTarget, "1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->planned.granted, (std::set<std::string>{"staff"}));
  EXPECT_EQ(one->applied.granted, (std::set<std::string>{"staff"}));
  EXPECT_EQ(one->planned.groups, (std::set<std::string>{"staff", "vpn"}));
  auto two = store->account(kDefaultTarget, "2");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->planned.granted, (std::set<std::string>{"staff"}));
  EXPECT_FALSE(two->applied.exists);  // still nothing confirmed
}

TEST(SchemaMigrate, EmptyFileMigratesFromZero) {
  TempDir dir;
  const auto path = dir.path() / "empty.db";
  {
    sql::Database db(path, sql::Database::Mode::ReadWrite);
    EXPECT_EQ(schema::read_version(db), 0);
  }
  auto store = Store::open(path);
  EXPECT_EQ(store->schema_version(), schema::latest_version());
}

TEST(ReadOnlyStore, ReadsButCannotWrite) {
  TempDir dir;
  const auto path = dir.path() / "state.db";
  {
    auto store = Store::open(path);
    ASSERT_EQ(store->insert_event(testing::make_event("e1", "w1")).status, IngestStatus::Stored);
  }
  auto reader = Store::open_read_only(path);
  EXPECT_TRUE(reader->event("e1").has_value());
  EXPECT_EQ(reader->inbox_depth(), 1);
  EXPECT_THROW(reader->insert_event(testing::make_event("e2", "w1")), StoreError);
  EXPECT_THROW(reader->add_schedule("w1", testing::at_ms(5), "hire"), StoreError);
  EXPECT_FALSE(reader->event("e2").has_value());
}

TEST(ReadOnlyStore, MissingFileIsAnError) {
  TempDir dir;
  EXPECT_THROW(Store::open_read_only(dir.path() / "absent.db"), StoreError);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "absent.db"));
}

TEST(ReadOnlyStore, RefusesFileWithoutSchema) {
  TempDir dir;
  const auto path = dir.path() / "other.db";
  {
    sql::Database db(path, sql::Database::Mode::ReadWrite);
    db.exec("CREATE TABLE t (x)");
  }
  EXPECT_THROW(Store::open_read_only(path), StoreError);
}

TEST(StoreOpen, UnwritableLocationIsAStoreError) {
  TempDir dir;
  EXPECT_THROW(Store::open(dir.path() / "no-such-folder" / "state.db"), StoreError);
}

}  // namespace
}  // namespace prov

namespace prov {
namespace {

TEST_F(StoreTest, LookupsSeekTheirIndexes) {
  auto& db = dynamic_cast<SqliteStore&>(*store_).database();
  const std::string reports =
      plan_of(db,
              "SELECT worker_id FROM workers "
              "WHERE CAST(json_extract(record, '$.managerId') AS TEXT) = ?1 ORDER BY worker_id");
  EXPECT_NE(reports.find("workers_manager"), std::string::npos) << reports;

  const std::string due =
      plan_of(db,
              "SELECT id FROM inbox WHERE status = 'scheduled' AND effective_at <= ?1 "
              "ORDER BY effective_at, id LIMIT ?2");
  EXPECT_NE(due.find("inbox_scheduled"), std::string::npos) << due;
  EXPECT_EQ(due.find("TEMP B-TREE"), std::string::npos) << due;

  const std::string pending =
      plan_of(db, "SELECT id FROM inbox WHERE status = 'pending' ORDER BY id LIMIT ?1");
  EXPECT_NE(pending.find("inbox_pending"), std::string::npos) << pending;
  EXPECT_EQ(pending.find("TEMP B-TREE"), std::string::npos) << pending;

  const std::string brake =
      plan_of(db,
              "SELECT COUNT(*) FROM outbox WHERE destructive = 1 AND created_at >= ?1 "
              "AND status NOT IN ('held', 'rejected')");
  EXPECT_NE(brake.find("outbox_destructive"), std::string::npos) << brake;
}

}  // namespace
}  // namespace prov
