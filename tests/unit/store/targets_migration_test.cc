// Schema 8: a state database from before targets (one directory) opens, migrates and keeps every
// account and operation under the target `directory`, where configs with `directory:` put them.
#include <gtest/gtest.h>

#include "store/schema.h"
#include "store/sqlite.h"
#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::at_ms;
using testing::TempDir;

// A database as the schema-7 code wrote it: two accounts, a done create and a pending lock.
void write_v7_database(const std::filesystem::path& path) {
  sql::Database db(path, sql::Database::Mode::ReadWrite);
  std::vector<schema::Migration> v7;
  for (const auto& m : schema::migrations())
    if (m.version <= 7) v7.push_back(m);
  schema::migrate(db, v7);
  ASSERT_EQ(schema::read_version(db), 7);
  const std::string alima =
      R"({"workerId":"1","username":"alima","dn":"uid=alima,ou=people,dc=test","exists":true,)"
      R"("enabled":true,"groups":["staff"],"granted":["staff"]})";
  db.query("INSERT INTO accounts(worker_id, username, planned, applied) VALUES ('1', 'alima', ?1, ?1)")
      .bind_all(alima)
      .run();
  db.query("INSERT INTO accounts(worker_id, username, planned) VALUES ('2', 'bode', ?1)")
      .bind_all(std::string(R"({"workerId":"2","username":"bode"})"))
      .run();
  db.query(
        "INSERT INTO outbox(worker_id, kind, destructive, payload, status, next_attempt_at, "
        "created_at, updated_at) VALUES ('1', 'create', 0, ?1, 'done', 0, 0, 0), "
        "('1', 'disable', 1, ?2, 'pending', 0, 5, 5)")
      .bind_all(std::string(R"({"kind":"create","worker_id":"1","username":"alima"})"),
                std::string(R"({"kind":"disable","worker_id":"1","username":"alima"})"))
      .run();
}

TEST(TargetsMigration, EveryAccountAndOperationOfAVersion7DatabaseIsTheDirectorys) {
  TempDir dir;
  const auto path = dir.path() / "v7.db";
  write_v7_database(path);

  auto store = Store::open(path);
  EXPECT_EQ(store->schema_version(), schema::latest_version());
  const auto accounts = store->accounts();
  ASSERT_EQ(accounts.size(), 2u);
  for (const auto& row : accounts) {
    EXPECT_EQ(row.planned.target, "directory") << row.planned.worker_id;
    EXPECT_EQ(row.applied.target, "directory") << row.planned.worker_id;
  }
  auto one = store->account("directory", "1");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->applied.dn, "uid=alima,ou=people,dc=test");
  EXPECT_EQ(one->applied.granted, (std::set<std::string>{"staff"}));
  EXPECT_FALSE(store->account("other", "1"));
  EXPECT_EQ(store->counts().accounts, 2);  // the kept count carried over

  // The pending lock is the directory's executor's, counted in the directory's brake window.
  auto locks = store->ready_operations("directory", at_ms(10), 10, Store::Lane::Locks);
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0].op.target, "directory");
  EXPECT_TRUE(store->ready_operations("other", at_ms(10), 10, Store::Lane::Locks).empty());
  EXPECT_EQ(store->destructive_workers_since("directory", at_ms(0)), 1);
  EXPECT_EQ(store->destructive_workers_since("other", at_ms(0)), 0);
  for (const auto& r : store->operations_of("1")) EXPECT_EQ(r.op.target, "directory");
}

TEST(TargetsMigration, AfterMigrationAWorkerHasOneAccountPerTargetUnderOneName) {
  TempDir dir;
  const auto path = dir.path() / "v7.db";
  write_v7_database(path);
  auto store = Store::open(path);

  Account second;
  second.target = "crm";
  second.worker_id = "1";
  second.username = "alima";  // the worker's name in every target
  store->put_planned(second);
  EXPECT_EQ(store->counts().accounts, 3);
  ASSERT_TRUE(store->account("crm", "1"));
  EXPECT_EQ(store->account("directory", "1")->planned.username, "alima");
  auto holder = store->account_by_username("ALIMA");  // names compare case-insensitively
  ASSERT_TRUE(holder);
  EXPECT_EQ(holder->planned.worker_id, "1");

  // Another worker cannot take the name within a target.
  Account thief;
  thief.target = "crm";
  thief.worker_id = "3";
  thief.username = "alima";
  EXPECT_THROW(store->put_planned(thief), StoreError);
}

// Per-worker order holds within a target: a worker's operation in one target does not wait
// behind its unfinished operations in another (a target that is down holds up only itself).
TEST(TargetsMigration, PerWorkerOrderIsPerTarget) {
  TempDir dir;
  auto store = Store::open(dir.path() / "state.db");
  Operation down;
  down.target = "crm";
  down.kind = OpKind::Create;
  down.worker_id = "1";
  Operation lock;
  lock.target = "directory";
  lock.kind = OpKind::Disable;
  lock.worker_id = "1";
  store->enqueue(down, OpStatus::Pending, "e", at_ms(1));
  store->enqueue(lock, OpStatus::Pending, "e", at_ms(2));
  auto locks = store->ready_operations("directory", at_ms(10), 10, Store::Lane::Locks);
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0].op.kind, OpKind::Disable);
  auto writes = store->ready_operations("crm", at_ms(10), 10, Store::Lane::Writes);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].op.target, "crm");
}

}  // namespace
}  // namespace prov
