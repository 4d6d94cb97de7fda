// The audit as a hash chain: whoever can write the state file can drop the append-only triggers,
// but an edited, removed or inserted row then no longer verifies, and verify names the first
// such row.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "prov/store.h"
#include "store/sqlite.h"
#include "store_fixture.h"

namespace prov {
namespace {

using sql::Database;

class AuditChainTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Store::open(path()); }

  std::filesystem::path path() const { return dir_.path() / "state.db"; }

  void append(int n) {
    for (int i = 0; i < n; ++i) {
      AuditRecord r;
      r.at = SystemClock().now();
      r.worker_id = testing::cat("w", i);
      r.action = "op.applied";
      r.detail = {{"summary", testing::cat("add_member staff ", i)}};
      store_->audit(r);
    }
  }

  // What someone with write access to the file does: the triggers go, then the rows change.
  void tamper(const std::string& sql) {
    Database raw(path(), Database::Mode::ReadWrite);
    raw.exec("DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete; " +
             sql);
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(AuditChainTest, AnUntouchedChainVerifiesToItsHead) {
  append(5);
  const AuditCheck c = store_->verify_audit();
  EXPECT_TRUE(c.intact) << c.problem;
  EXPECT_EQ(c.rows, 5);
  EXPECT_EQ(c.unchained, 0);
  EXPECT_EQ(c.anchor, "");
  const auto head = store_->audit_head();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(c.head.id, head->id);
  EXPECT_EQ(c.head.hash, head->hash);
  EXPECT_EQ(head->hash.size(), 64u);
  const auto rows = store_->audit_log("", -1);
  ASSERT_EQ(rows.size(), 5u);
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_EQ(rows[i].prev_hash, rows[i - 1].hash);
}

TEST_F(AuditChainTest, AnEditedRowIsNamed) {
  append(5);
  tamper("UPDATE audit SET detail = '{\"summary\":\"nothing happened\"}' WHERE id = 3");
  const AuditCheck c = store_->verify_audit();
  EXPECT_FALSE(c.intact);
  EXPECT_EQ(c.broken_id, 3);
  EXPECT_NE(c.problem.find("changed"), std::string::npos) << c.problem;
  EXPECT_EQ(c.rows, 2);
}

TEST_F(AuditChainTest, ARemovedRowBreaksTheLinkOfTheNext) {
  append(5);
  tamper("DELETE FROM audit WHERE id = 2");
  const AuditCheck c = store_->verify_audit();
  EXPECT_FALSE(c.intact);
  EXPECT_EQ(c.broken_id, 3);
  EXPECT_NE(c.problem.find("does not follow row 1"), std::string::npos) << c.problem;
}

TEST_F(AuditChainTest, ARowInsertedPastTheStoreIsNamed) {
  append(2);
  tamper("INSERT INTO audit(id, at, action) VALUES (3, 0, 'op.approved')");
  const AuditCheck c = store_->verify_audit();
  EXPECT_FALSE(c.intact);
  EXPECT_EQ(c.broken_id, 3);
  EXPECT_NE(c.problem.find("past the store"), std::string::npos) << c.problem;
}

// Rows written before the chain existed (an older schema) have no hash: the chain begins after
// them, and verify says how many there are.
TEST_F(AuditChainTest, RowsFromBeforeTheChainAreCountedNotChecked) {
  store_.reset();
  {
    Database raw(path(), Database::Mode::ReadWrite);
    raw.exec("INSERT INTO audit(at, action) VALUES (1, 'event.stale'), (2, 'event.stale')");
  }
  store_ = Store::open(path());
  append(3);
  const AuditCheck c = store_->verify_audit();
  EXPECT_TRUE(c.intact) << c.problem;
  EXPECT_EQ(c.unchained, 2);
  EXPECT_EQ(c.rows, 3);
  EXPECT_EQ(c.head.id, 5);
}

}  // namespace
}  // namespace prov
