// Leavers first: a lock planned while thousands of other operations wait goes to the directory
// ahead of them, on the executor's lock lane. The order is read from what provisiond recorded as
// the directory confirmed each operation (the audit's op.applied rows, in commit order), with
// a real slapd that is frozen (SIGSTOP) while the queue builds, so every operation is queued
// at once when it thaws, whatever the machine's speed.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "e2e/running_daemon_test.h"

namespace prov::testing {
namespace {

constexpr int kLeavers = 150;  // each: lock, 2–3 group removals, a move → ~700 queued operations

// One integer from the state database (read-only; WAL lets us read while the daemon writes).
std::int64_t query_int(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  std::int64_t v = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::string worker_id(int i) { return std::to_string(710000 + i); }

class LeaversFirst : public OwnSlapdDaemonTest {
 protected:
  DaemonOptions options() const override {
    DaemonOptions o;
    // A layoff of this size is what the brake is for; here it is approved in advance.
    o.extra_yaml = "safety:\n  max_destructive: 100000\n  max_destructive_percent: 100\n";
    return o;
  }
  std::int64_t count(const std::string& sql) { return query_int(daemon_->state_path(), sql); }
};

TEST_F(LeaversFirst, ANewLockOvertakesTheQueuedCleanUpOfEarlierLeavers) {
  const char* departments[] = {"Finance", "Engineering", "Sales"};
  for (int i = 0; i <= kLeavers; ++i) {
    Json w = make_worker(worker_id(i), "Lea", "Ver" + std::to_string(i), departments[i % 3]);
    w["location"] = "Berlin";
    ASSERT_EQ(daemon_->send_event("h" + std::to_string(i), "HIRE", w).status, 202);
  }
  const std::string all_hired = "SELECT COUNT(*) FROM outbox WHERE kind = 'create' AND status = 'done'";
  ASSERT_TRUE(eventually([&] { return count(all_hired) == kLeavers + 1; }, std::chrono::seconds(60)));
  ASSERT_TRUE(eventually([&] {
    return count("SELECT COUNT(*) FROM outbox WHERE status <> 'done'") == 0;
  }, std::chrono::seconds(60)));

  // Freeze the directory and queue the earlier leavers' operations behind it.
  freeze();
  for (int i = 1; i <= kLeavers; ++i) {
    Json w = make_worker(worker_id(i), "Lea", "Ver" + std::to_string(i), departments[i % 3]);
    w["location"] = "Berlin";
    ASSERT_EQ(daemon_->send_event("t" + std::to_string(i), "TERMINATION", w).status, 202);
  }
  const std::string pending_locks =
      "SELECT COUNT(*) FROM outbox WHERE kind = 'disable' AND status = 'pending'";
  ASSERT_TRUE(eventually([&] { return count(pending_locks) == kLeavers; }));
  // The newest leaver, planned last: every other operation in the queue is older than its lock.
  Json last = make_worker(worker_id(0), "Lea", "Ver0", departments[0]);
  last["location"] = "Berlin";
  ASSERT_EQ(daemon_->send_event("t0", "TERMINATION", last).status, 202);
  ASSERT_TRUE(eventually([&] { return count(pending_locks) == kLeavers + 1; }));
  const std::int64_t queued = count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'");
  EXPECT_GE(queued, kLeavers * 4);  // locks, group removals and moves of the earlier leavers
  thaw();

  ASSERT_TRUE(eventually([&] {
    return count("SELECT COUNT(*) FROM outbox WHERE status <> 'done'") == 0;
  }, std::chrono::seconds(120)));

  // Where the newest lock landed among the earlier leavers' clean-up (moves, group removals).
  const std::string lock_applied =
      "(SELECT a.id FROM audit a JOIN outbox o ON o.id = a.op_id WHERE a.action = 'op.applied' "
      "AND o.kind = 'disable' AND o.worker_id = '" + worker_id(0) + "')";
  const std::int64_t cleanup = count(
      "SELECT COUNT(*) FROM audit a JOIN outbox o ON o.id = a.op_id WHERE a.action = "
      "'op.applied' AND o.kind IN ('move', 'remove_member') AND o.worker_id <> '" +
      worker_id(0) + "'");
  const std::int64_t cleanup_after = count(
      "SELECT COUNT(*) FROM audit a JOIN outbox o ON o.id = a.op_id WHERE a.action = "
      "'op.applied' AND o.kind IN ('move', 'remove_member') AND o.worker_id <> '" +
      worker_id(0) + "' AND a.id > " + lock_applied);
  ASSERT_GE(cleanup, kLeavers * 3);
  std::cout << "[ info ] newest lock applied before " << cleanup_after << " of " << cleanup
            << " clean-up operations of earlier leavers\n";
  // A queue served in arrival order would apply it after nearly all of them.
  EXPECT_GT(cleanup_after * 2, cleanup);

  // And the newest leaver's own order held: lock, then group removals, then the move.
  const std::string own = "SELECT MIN(a.id) FROM audit a JOIN outbox o ON o.id = a.op_id WHERE "
                          "a.action = 'op.applied' AND o.worker_id = '" + worker_id(0) + "' AND ";
  const auto lock_id = count(own + "o.kind = 'disable'");
  const auto first_removal = count(own + "o.kind = 'remove_member'");
  const auto move_id = count(own + "o.kind = 'move'");
  EXPECT_LT(lock_id, first_removal);
  EXPECT_LT(first_removal, move_id);
  auto entry = daemon_->person(worker_id(0));
  ASSERT_TRUE(entry.has_value());
  EXPECT_NE(entry->dn.find("ou=disabled"), std::string::npos) << entry->dn;
  EXPECT_TRUE(daemon_->groups_of(entry->dn).empty());
}

}  // namespace
}  // namespace prov::testing
