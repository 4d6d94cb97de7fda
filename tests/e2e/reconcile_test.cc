// provisionctl reconcile against a real slapd: changes made behind provisiond's back (a group
// membership removed, a leaver-style lock, an entry deleted by hand) are reported as drift, and
// --apply has the running daemon put the directory back.
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/running_daemon_test.h"

namespace prov::testing {
namespace {

class Reconcile : public RunningDaemonTest {
 protected:
  // ldapmodify as the server's root: what an administrator does by hand.
  void modify_by_hand(const std::string& ldif) {
    const auto& s = daemon_->slapd().info();
    const std::string file = s.dir + "/by-hand.ldif";
    std::ofstream(file) << ldif;
    std::string out;
    ASSERT_EQ(run_command("ldapmodify -x -H '" + s.url + "' -D '" + s.root_dn + "' -w '" +
                              s.root_pw + "' -f '" + file + "'",
                          &out),
              0)
        << out;
  }

  int reconcile(const std::string& args, Json* report = nullptr) {
    std::string out;
    const int rc = daemon_->ctl("reconcile --json " + args, &out);
    if (rc != 0 && rc != 1) ADD_FAILURE() << "provisionctl reconcile: " << out;
    if (report) {
      // The summary's totals, with the drift lines as "drifts".
      const Json lines = json_lines(out);
      *report = lines["summary"].is_object() ? lines["summary"] : Json::object();
      (*report)["drifts"] = lines["items"];
    }
    return rc;
  }
};

const Json* drift_of(const Json& report, const std::string& worker_id) {
  for (const auto& d : report["drifts"])
    if (d.value("worker_id", "") == worker_id) return &d;
  return nullptr;
}

bool mentions(const Json& drift, const std::string& text) {
  for (const auto& line : drift["details"])
    if (line.get<std::string>().find(text) != std::string::npos) return true;
  return false;
}

TEST_F(Reconcile, DriftMadeByHandIsReportedAndCorrected) {
  const std::string a = "310001", b = "310002", c = "310003";
  ASSERT_EQ(daemon_->send_event("rec-a", "HIRE", make_worker(a, "Ada", "Drift", "Finance")).status,
            202);
  ASSERT_EQ(daemon_->send_event("rec-b", "HIRE", make_worker(b, "Bo", "Drift")).status, 202);
  ASSERT_EQ(daemon_->send_event("rec-c", "HIRE", make_worker(c, "Cy", "Drift")).status, 202);
  // Everything applied and nothing drifted yet.
  Json first;
  auto settled = [&](Json* r) {
    return reconcile("", r) == 0 && r->value("in_flight", -1) == 0 && r->value("compared", 0) == 3;
  };
  ASSERT_TRUE(eventually([&] { return settled(&first); }, std::chrono::seconds(30)))
      << first.dump(2);
  const auto ada = daemon_->person(a);
  const auto bo = daemon_->person(b);
  const auto cy = daemon_->person(c);
  ASSERT_TRUE(ada && bo && cy);
  ASSERT_TRUE(daemon_->groups_of(ada->dn).count("staff"));
  const std::string base = daemon_->slapd().info().base_dn;

  // staff has three members here; removing one leaves the groupOfNames valid.
  modify_by_hand("dn: cn=staff,ou=groups," + base +
                 "\nchangetype: modify\ndelete: member\nmember: " + ada->dn + "\n\n" +
                 "dn: " + bo->dn +
                 "\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: "
                 "000001010000Z\n\n" +
                 "dn: " + cy->dn + "\nchangetype: delete\n");

  Json report;
  EXPECT_EQ(reconcile("", &report), 1);
  ASSERT_TRUE(report.is_object()) << report;
  const Json* da = drift_of(report, a);
  const Json* db = drift_of(report, b);
  const Json* dc = drift_of(report, c);
  ASSERT_TRUE(da && db && dc) << report.dump(2);
  EXPECT_EQ(da->value("kind", ""), "changed");
  EXPECT_TRUE(mentions(*da, "group staff: missing in the directory")) << da->dump();
  EXPECT_EQ(db->value("kind", ""), "changed");
  EXPECT_TRUE(mentions(*db, "enabled: provisiond true, directory false")) << db->dump();
  EXPECT_EQ(dc->value("kind", ""), "missing");
  EXPECT_EQ(report.value("drifted", 0), 3);
  // A report changes nothing.
  EXPECT_FALSE(daemon_->groups_of(ada->dn).count("staff"));

  EXPECT_EQ(reconcile("--apply", &report), 1);
  EXPECT_EQ(report.value("handed_to_engine", 0), 3);
  EXPECT_TRUE(eventually([&] { return daemon_->groups_of(ada->dn).count("staff") == 1; }));
  EXPECT_TRUE(eventually([&] {
    auto e = daemon_->person(b);
    return e && e->first("pwdAccountLockedTime").empty();
  }));
  EXPECT_TRUE(eventually([&] {
    auto e = daemon_->person(c);
    return e && e->first("uid") == cy->first("uid");
  }));
  EXPECT_TRUE(eventually([&] { return settled(&report); }, std::chrono::seconds(30)))
      << report.dump(2);

  std::string audit;
  ASSERT_EQ(daemon_->ctl("audit --json --worker-id " + a, &audit), 0);
  EXPECT_NE(audit.find("reconcile.drift"), std::string::npos);
}

}  // namespace
}  // namespace prov::testing
