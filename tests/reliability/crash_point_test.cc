// provisiond dies (as under kill -9) at the exact points where a crash hurts most; restarted
// without the fault, it must finish the work exactly once. The points are compiled in with
// PROV_FAULT_INJECTION (scripts/test builds that way); PROVISIOND_CRASH_AT names the point.
//   after_inbox_commit     the event is committed but the HR system never got its 202
//   after_event_commit     the worker record and plan are committed, nothing executed yet
//   after_directory_write  the directory has the entry, the local commit of that fact is lost
#include <gtest/gtest.h>

#include <cstdlib>

#include "e2e/daemon_fixture.h"
#include "reliability/state_db.h"

namespace prov::testing {
namespace {

// The daemon inherits this process's environment; the fault is armed only for one start.
class ArmedFault {
 public:
  explicit ArmedFault(const std::string& point) { setenv("PROVISIOND_CRASH_AT", point.c_str(), 1); }
  ~ArmedFault() { unsetenv("PROVISIOND_CRASH_AT"); }
};

class CrashPoint : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
#if !defined(PROV_FAULT_INJECTION)
    GTEST_SKIP() << "built without PROV_FAULT_INJECTION";
#endif
  }
};

TEST_P(CrashPoint, RestartFinishesTheWorkExactlyOnce) {
  const std::string point = GetParam();
  auto slapd = Slapd::start();  // a directory of its own: "jsmith" must be free
  Daemon daemon(*slapd);
  StateDb db(daemon.state_path());
  Json worker = make_worker("300001", "John", "Smith", "Finance");
  Json body{{"eventId", "crash-hire-300001"}, {"eventType", "HIRE"},
            {"effectiveAt", "2026-01-05T08:00:00Z"}, {"worker", worker}};
  {
    ArmedFault fault(point);
    daemon.start();
  }
  auto first = daemon.send(body.dump());
  if (point == "after_inbox_commit") {
    EXPECT_EQ(first.status, 0) << "the daemon died before answering: " << first.body;
  } else {  // the engine may die before the 202 has left: then HR has no answer either
    EXPECT_TRUE(first.status == 202 || first.status == 0) << first.status << " " << first.body;
  }
  ASSERT_EQ(daemon.wait_exit(std::chrono::seconds(20)), 137)
      << "provisiond did not stop at " << point;
  EXPECT_EQ(db.integrity_check(), "ok");
  if (point == "after_directory_write") {
    // The crash really fell between the directory write and the local commit.
    ASSERT_TRUE(daemon.person("300001")) << "the entry should already be in the directory";
    EXPECT_EQ(db.applied_per_worker("create").count("300001"), 0u);
  }

  daemon.start();  // no fault armed
  // The HR system retries what it has no 2xx for; a stored event is acknowledged, not re-stored.
  auto again = daemon.send(body.dump());
  EXPECT_EQ(again.status, 200) << again.body;
  ASSERT_TRUE(eventually([&] { return db.idle() && daemon.person("300001").has_value(); }))
      << ::testing::PrintToString(db.operations_by_status());

  const auto base = slapd->info().base_dn;
  EXPECT_EQ(daemon.search(base, "(employeeNumber=300001)").size(), 1u);
  EXPECT_EQ(daemon.person("300001")->first("uid"), "jsmith");
  EXPECT_TRUE(daemon.search(base, "(uid=jsmith2)").empty());
  EXPECT_TRUE(daemon.search(base, "(uid=john.smith)").empty());
  EXPECT_EQ(db.applied_per_worker("create")["300001"], 1);
  EXPECT_EQ(db.audit_count("event.applied", "300001"), 1);
  const Json applied = Json::parse(db.applied_account("300001"), nullptr, false);
  ASSERT_TRUE(applied.is_object()) << db.applied_account("300001");
  EXPECT_EQ(applied.value("exists", false), true) << applied.dump();
  EXPECT_EQ(applied.value("username", ""), "jsmith") << applied.dump();
  EXPECT_FALSE(applied.value("dn", "").empty()) << applied.dump();
  const auto groups = daemon.groups_of(daemon.person("300001")->dn);
  EXPECT_EQ(groups, (std::set<std::string>{"staff", "finance", "erp-users"}));
  const auto ops = db.operations_by_status();
  EXPECT_EQ(ops.count("failed") ? ops.at("failed") : 0, 0) << ::testing::PrintToString(ops);
  if (point == "after_directory_write") {
    // The replay saw the entry it had written before dying and recorded it as already done.
    EXPECT_EQ(db.already_done_count("300001"), 1);
  }
  EXPECT_EQ(daemon.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Points, CrashPoint,
                         ::testing::Values("after_inbox_commit", "after_event_commit",
                                           "after_directory_write"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace prov::testing
