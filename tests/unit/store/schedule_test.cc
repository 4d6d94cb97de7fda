// Schedule, username reservations, entitlements and the audit log.
#include <gtest/gtest.h>

#include "store/sqlite_store.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::at_ms;
using testing::StoreTest;

TEST_F(StoreTest, ScheduleRowsComeDueInTimeOrder) {
  EXPECT_FALSE(store_->next_schedule_at().has_value());
  store_->add_schedule("w1", at_ms(3'000), "hire");
  store_->add_schedule("w2", at_ms(1'000), "termination");
  store_->add_schedule("w3", at_ms(9'000), "retention-delete");
  store_->add_schedule("w2", at_ms(1'000), "termination");  // replay: no second row

  EXPECT_EQ(store_->next_schedule_at(), at_ms(1'000));
  EXPECT_TRUE(store_->due_schedules(at_ms(999)).empty());
  const auto due = store_->due_schedules(at_ms(3'000));
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].worker_id, "w2");
  EXPECT_EQ(due[0].reason, "termination");
  EXPECT_EQ(due[0].due_at, at_ms(1'000));
  EXPECT_EQ(due[1].worker_id, "w1");

  store_->remove_schedule(due[0].id);
  EXPECT_EQ(store_->next_schedule_at(), at_ms(3'000));
  EXPECT_EQ(store_->counts().schedule_pending, 2);
}

TEST_F(StoreTest, ReservedUsernameBlocksOthersUntilItExpires) {
  store_->reserve_username("jdoe", "w1", at_ms(10'000));
  EXPECT_TRUE(store_->username_reserved("jdoe", "w2", at_ms(5'000)));
  EXPECT_TRUE(store_->username_reserved("JDOE", "w2", at_ms(5'000)));
  EXPECT_FALSE(store_->username_reserved("jdoe", "w1", at_ms(5'000)));   // its own holder
  EXPECT_FALSE(store_->username_reserved("jdoe", "w2", at_ms(10'000)));  // expired
  EXPECT_FALSE(store_->username_reserved("other", "w2", at_ms(5'000)));

  store_->reserve_username("jdoe", "w3", at_ms(20'000));  // re-reserved for someone else
  EXPECT_TRUE(store_->username_reserved("jdoe", "w1", at_ms(15'000)));
  EXPECT_FALSE(store_->username_reserved("jdoe", "w3", at_ms(15'000)));
}

TEST_F(StoreTest, EntitlementsAllocateReleaseAndReallocate) {
  store_->allocate_entitlement("w1", "license:erp", at_ms(100));
  store_->allocate_entitlement("w1", "license:erp", at_ms(150));  // already open: no-op
  store_->allocate_entitlement("w1", "hardware:laptop", at_ms(200));
  store_->allocate_entitlement("w2", "license:erp", at_ms(200));

  auto rows = store_->entitlements("w1");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].entitlement, "license:erp");
  EXPECT_EQ(rows[0].allocated_at, at_ms(100));
  EXPECT_FALSE(rows[0].released_at.has_value());

  store_->release_entitlement("w1", "license:erp", at_ms(300));
  store_->release_entitlement("w1", "license:none", at_ms(300));  // nothing open: no-op
  store_->allocate_entitlement("w1", "license:erp", at_ms(400));
  rows = store_->entitlements("w1");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].released_at, at_ms(300));
  EXPECT_EQ(rows[2].entitlement, "license:erp");
  EXPECT_EQ(rows[2].allocated_at, at_ms(400));
  EXPECT_FALSE(rows[2].released_at.has_value());
  EXPECT_EQ(store_->entitlements("w2").size(), 1u);
  EXPECT_TRUE(store_->entitlements("w9").empty());
}

TEST_F(StoreTest, AuditLogIsOrderedAndFilteredByWorker) {
  for (int i = 0; i < 6; ++i) {
    AuditRecord r;
    r.at = at_ms(1000 + i);
    r.worker_id = i % 2 == 0 ? "w1" : "w2";
    r.op_id = i;
    r.action = "op.applied";
    r.detail = {{"step", i}, {"dn", "uid=jnúñez,ou=people"}};
    EXPECT_GT(store_->audit(r), 0);
  }
  const auto all = store_->audit_log("", 100);
  ASSERT_EQ(all.size(), 6u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].id, all[i].id);
  EXPECT_EQ(all[0].detail["dn"], "uid=jnúñez,ou=people");

  const auto newest = store_->audit_log("", 2);  // the newest two, oldest of them first
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].op_id, 4);
  EXPECT_EQ(newest[1].op_id, 5);

  const auto w2 = store_->audit_log("w2", 100);
  ASSERT_EQ(w2.size(), 3u);
  EXPECT_EQ(w2[0].op_id, 1);
  EXPECT_EQ(w2[2].op_id, 5);
  EXPECT_EQ(w2[2].at, at_ms(1005));
}

TEST_F(StoreTest, AuditRowsCannotBeChangedOrRemoved) {
  AuditRecord r;
  r.action = "op.applied";
  store_->audit(r);
  auto& db = dynamic_cast<SqliteStore&>(*store_).database();
  EXPECT_THROW(db.exec("UPDATE audit SET action = 'x'"), StoreError);
  EXPECT_THROW(db.exec("DELETE FROM audit"), StoreError);
  EXPECT_EQ(store_->audit_log("", 10).at(0).action, "op.applied");
}

}  // namespace
}  // namespace prov
