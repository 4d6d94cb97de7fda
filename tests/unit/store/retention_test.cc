// Counts that do not scan tables that only grow, and retention: what compact() deletes, what it
// keeps, what it exports first, and that it works in bounded transactions.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <atomic>
#include <set>
#include <sstream>

#include "store/schema.h"
#include "store/sqlite.h"
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

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

class RetentionTest : public StoreTest {
 protected:
  sql::Database& db() { return dynamic_cast<SqliteStore&>(*store_).database(); }

  // "Now" for compact(): the wall clock, because the outbox stamps updated_at with it.
  static TimePoint now() { return SystemClock().now(); }
  static TimePoint days_ago(int days) { return now() - std::chrono::milliseconds(days * kDayMs); }

  std::int64_t event_at(const std::string& id, const std::string& worker, TimePoint received,
                        EventStatus status) {
    HrEvent e = make_event(id, worker);
    e.received_at = received;
    const auto r = store_->insert_event(e);
    if (status != EventStatus::Pending) store_->set_event_status(r.inbox_id, status, "");
    return r.inbox_id;
  }
  std::int64_t op_at(const std::string& worker, OpStatus status, TimePoint changed) {
    const auto id = store_->enqueue(make_op(worker, OpKind::Update), OpStatus::Pending,
                                    "", changed);
    if (status != OpStatus::Pending) store_->set_op_status(id, status, "");
    db().query("UPDATE outbox SET updated_at = ?2 WHERE id = ?1").bind_all(id, changed).run();
    return id;
  }
  std::int64_t audit_at(const std::string& worker, TimePoint at, const std::string& action) {
    AuditRecord r;
    r.at = at;
    r.worker_id = worker;
    r.action = action;
    r.detail = {{"note", "for " + worker}};
    return store_->audit(r);
  }
  std::int64_t rows(const std::string& table) {
    auto q = db().query("SELECT COUNT(*) FROM " + table);
    q.step();
    return q.int64(0);
  }
  RetentionConfig keep_days(int days) {
    RetentionConfig r;
    r.days = days;
    r.batch_rows = 100;
    return r;
  }
};

// SQLite tells an authorizer which tables a statement reads when it is prepared.
int record_reads(void* seen, int action, const char* table, const char*, const char*,
                 const char*) {
  if (action == SQLITE_READ && table != nullptr)
    static_cast<std::set<std::string>*>(seen)->insert(table);
  return SQLITE_OK;
}

TEST_F(RetentionTest, CountsReadNoTableThatOnlyGrows) {
  std::set<std::string> read;
  sqlite3_set_authorizer(db().handle(), record_reads, &read);
  (void)store_->counts();
  (void)store_->queue_counts();
  sqlite3_set_authorizer(db().handle(), nullptr, nullptr);
  // The queues (inbox, outbox, schedule) are read through indexes over the rows that come and
  // go; the audit, the workers and the accounts are only ever counted as they are written.
  for (const char* grows : {"audit", "workers", "accounts"})
    EXPECT_EQ(read.count(grows), 0u) << "counts() reads table " << grows;
}

TEST_F(RetentionTest, CountsFollowEveryInsertUpdateAndDelete) {
  for (int i = 0; i < 3; ++i) {
    Worker w;
    w.worker_id = cat("w", i);
    w.record = {{"workerId", w.worker_id}};
    store_->put_worker(w);
    store_->put_worker(w);  // an update is not a new worker
  }
  for (int i = 0; i < 2; ++i) {
    Account a;
    a.worker_id = cat("w", i);
    a.username = cat("u", i);
    store_->put_planned(a);
    store_->put_applied(a);
  }
  const auto a = op_at("w0", OpStatus::Done, now());
  op_at("w1", OpStatus::Done, now());
  op_at("w2", OpStatus::Failed, now());
  op_at("w2", OpStatus::Pending, now());
  store_->set_op_status(a, OpStatus::Failed, "re-failed");  // done → failed leaves the count
  for (int i = 0; i < 5; ++i) audit_at("w0", now(), "op.applied");

  StoreCounts c = store_->counts();
  EXPECT_EQ(c.workers, 3);
  EXPECT_EQ(c.accounts, 2);
  EXPECT_EQ(c.ops_done, 1);
  EXPECT_EQ(c.ops_failed, 2);
  EXPECT_EQ(c.ops_pending, 1);
  EXPECT_EQ(c.audit, 5);
  EXPECT_EQ(store_->queue_counts().accounts, 2);
}

TEST(RetentionMigration, CountersStartFromWhatAnOlderDatabaseHolds) {
  TempDir dir;
  const auto path = dir.path() / "v3.db";
  {
    // A database written by the release before counters: schema version 3 with rows in it.
    sql::Database db(path, sql::Database::Mode::ReadWrite);
    auto v3 = schema::migrations();
    v3.resize(3);
    schema::migrate(db, v3);
    db.exec("INSERT INTO workers(worker_id, record, state, last_effective_at) "
            "VALUES ('1', '{}', 'active', 0), ('2', '{}', 'active', 0)");
    db.exec("INSERT INTO accounts(worker_id, username, planned) VALUES ('1', 'a', '{}')");
    db.exec("INSERT INTO outbox(worker_id, kind, destructive, payload, status, next_attempt_at, "
            "created_at, updated_at) VALUES ('1', 'create', 0, '{}', 'done', 0, 0, 0), "
            "('1', 'update', 0, '{}', 'done', 0, 0, 0), ('2', 'create', 0, '{}', 'pending', 0, 0, 0)");
    db.exec("INSERT INTO audit(at, action) VALUES (0, 'a'), (0, 'b'), (0, 'c')");
  }
  auto store = Store::open(path);
  EXPECT_EQ(store->schema_version(), schema::latest_version());
  const StoreCounts c = store->counts();
  EXPECT_EQ(c.workers, 2);
  EXPECT_EQ(c.accounts, 1);
  EXPECT_EQ(c.ops_done, 2);
  EXPECT_EQ(c.ops_pending, 1);
  EXPECT_EQ(c.audit, 3);
}

TEST_F(RetentionTest, CompactDeletesOldAppliedEventsAndKeepsTheirReceipts) {
  const TimePoint received = days_ago(40);
  const auto old_applied = event_at("old-applied", "w1", received, EventStatus::Applied);
  event_at("old-stale", "w1", days_ago(39), EventStatus::Stale);
  event_at("old-pending", "w2", days_ago(40), EventStatus::Pending);
  event_at("old-scheduled", "w3", days_ago(40), EventStatus::Scheduled);
  event_at("old-last", "w4", days_ago(40), EventStatus::Applied);
  event_at("recent", "w1", days_ago(1), EventStatus::Applied);
  Worker w4;
  w4.worker_id = "w4";
  w4.record = {{"workerId", "w4"}};
  w4.last_event_id = "old-last";  // a snapshot source asks the inbox who sent it
  store_->put_worker(w4);

  const CompactReport report = store_->compact(keep_days(30), now());
  EXPECT_EQ(report.events_deleted, 2);
  EXPECT_FALSE(store_->event("old-applied").has_value());
  EXPECT_FALSE(store_->event("old-stale").has_value());
  for (const char* kept : {"old-pending", "old-scheduled", "old-last", "recent"})
    EXPECT_TRUE(store_->event(kept).has_value()) << kept;

  // The audit trail still shows the receipt, with what it showed before.
  const auto log = store_->audit_log("w1", -1);
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].action, "event.stored");
  EXPECT_EQ(log[0].event_id, "old-applied");
  EXPECT_EQ(log[0].at, received);
  EXPECT_EQ(log[0].detail.at("inboxId"), old_applied);
  EXPECT_EQ(log[0].detail.at("eventType"), "HIRE");
  EXPECT_EQ(log[0].detail.at("source"), "webhook");
  EXPECT_EQ(log[1].event_id, "old-stale");
  EXPECT_EQ(log[2].event_id, "recent");

  // Nothing left to delete: a second pass deletes nothing.
  EXPECT_EQ(store_->compact(keep_days(30), now()).events_deleted, 0);
}

TEST_F(RetentionTest, CompactDeletesOldDoneOperationsOnly) {
  const auto done_old = op_at("w1", OpStatus::Done, days_ago(40));
  const auto failed_old = op_at("w1", OpStatus::Failed, days_ago(40));
  const auto held_old = op_at("w2", OpStatus::Held, days_ago(40));
  const auto pending_old = op_at("w3", OpStatus::Pending, days_ago(40));
  const auto done_recent = op_at("w1", OpStatus::Done, days_ago(2));
  ASSERT_EQ(store_->counts().ops_done, 2);

  const CompactReport report = store_->compact(keep_days(30), now());
  EXPECT_EQ(report.operations_deleted, 1);
  EXPECT_FALSE(store_->operation(done_old).has_value());
  for (auto kept : {failed_old, held_old, pending_old, done_recent})
    EXPECT_TRUE(store_->operation(kept).has_value()) << kept;
  EXPECT_EQ(store_->counts().ops_done, 1);
}

TEST_F(RetentionTest, DaysZeroKeepsEverything) {
  event_at("e", "w1", days_ago(4000), EventStatus::Applied);
  op_at("w1", OpStatus::Done, days_ago(4000));
  audit_at("w1", days_ago(4000), "op.applied");
  const CompactReport report = store_->compact(RetentionConfig{}, now());
  EXPECT_EQ(report.events_deleted + report.operations_deleted + report.audit_deleted, 0);
  EXPECT_EQ(rows("inbox"), 1);
  EXPECT_EQ(rows("outbox"), 1);
  EXPECT_EQ(rows("audit"), 1);
}

TEST_F(RetentionTest, AuditIsKeptUnlessItIsExportedFirst) {
  std::vector<std::int64_t> old_ids;
  for (int i = 0; i < 250; ++i) old_ids.push_back(audit_at(cat("w", i), days_ago(400), "op.applied"));
  const auto recent = audit_at("w1", days_ago(10), "op.applied");

  // Inbox and outbox retention alone never touch the audit.
  EXPECT_EQ(store_->compact(keep_days(30), now()).audit_deleted, 0);
  EXPECT_EQ(store_->counts().audit, 251);
  // Nor can anything else delete a row that was not exported.
  EXPECT_THROW(db().query("DELETE FROM audit WHERE id = ?1").bind_all(old_ids[0]).run(),
               StoreError);

  RetentionConfig r = keep_days(30);
  r.audit_days = 365;
  r.audit_export_file = dir_.path() / "export" / "audit.jsonl";
  EXPECT_THROW(store_->compact(r, now()), StoreError);  // the export's folder does not exist
  EXPECT_EQ(store_->counts().audit, 251);               // and nothing was deleted

  std::filesystem::create_directories(r.audit_export_file.parent_path());
  const CompactReport report = store_->compact(r, now());
  EXPECT_EQ(report.audit_exported, 250);
  EXPECT_EQ(report.audit_deleted, 250);
  EXPECT_EQ(store_->counts().audit, 1);
  EXPECT_EQ(rows("audit"), 1);

  // Every deleted row is in the export, once, whole.
  std::ifstream in(r.audit_export_file);
  std::string line;
  std::vector<std::int64_t> exported;
  while (std::getline(in, line)) {
    const Json j = Json::parse(line);
    exported.push_back(j.at("id").get<std::int64_t>());
    EXPECT_EQ(j.at("action"), "op.applied");
    EXPECT_EQ(j.at("detail").at("note"), "for " + j.at("worker_id").get<std::string>());
    EXPECT_TRUE(j.contains("at"));
  }
  EXPECT_EQ(exported, old_ids);
  // The row that stays is still protected.
  EXPECT_THROW(db().query("DELETE FROM audit WHERE id = ?1").bind_all(recent).run(), StoreError);
}

int count_commit(void* commits) {
  ++*static_cast<int*>(commits);
  return 0;  // let it commit
}

TEST_F(RetentionTest, CompactCommitsInPiecesOfBatchRows) {
  store_->transaction([&] {
    for (int i = 0; i < 1050; ++i)
      event_at(cat("e", i), cat("w", i), days_ago(40), EventStatus::Applied);
  });
  int commits = 0;
  sqlite3_commit_hook(db().handle(), count_commit, &commits);
  const CompactReport report = store_->compact(keep_days(30), now());  // 100 rows at a time
  sqlite3_commit_hook(db().handle(), nullptr, nullptr);
  EXPECT_EQ(report.events_deleted, 1050);
  EXPECT_EQ(rows("inbox"), 0);
  EXPECT_GE(commits, 11);
  EXPECT_GE(report.transactions, 11);
  EXPECT_EQ(store_->integrity_check(), "ok");
}

TEST_F(RetentionTest, TheRunnerCompactsAtStartAndStopsWithoutWaitingForTheInterval) {
  event_at("old", "w1", days_ago(40), EventStatus::Applied);
  op_at("w1", OpStatus::Done, days_ago(40));
  RetentionConfig r = keep_days(30);
  r.interval = std::chrono::hours(1);
  std::promise<CompactReport> first;
  std::atomic<bool> answered{false};
  auto runner = RetentionRunner::start(db_path(), r, [&](const CompactReport& report) {
    if (!answered.exchange(true)) first.set_value(report);
  });
  auto pass = first.get_future();
  ASSERT_EQ(pass.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const CompactReport report = pass.get();
  EXPECT_EQ(report.events_deleted, 1);
  EXPECT_EQ(report.operations_deleted, 1);
  EXPECT_FALSE(store_->event("old").has_value());
  runner->stop();  // wakes the thread: no hour-long wait
  runner->stop();  // idempotent
}

}  // namespace
}  // namespace prov
