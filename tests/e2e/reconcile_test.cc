// provisionctl reconcile against a real slapd: changes made behind provisiond's back (a group
// membership removed, a leaver-style lock, an entry deleted by hand) are reported as drift, and
// --apply has the running daemon put the directory back.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

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

// report access: every membership with the role that grants it. What the state says comes from
// what provisiond applied; --live reads the directory, so a group added by hand shows as not
// granted by any role, and an entry with a worker id provisiond never saw as `unknown`.
TEST_F(Reconcile, AccessReportNamesTheGrantingRoleAndWhatNoRoleGrants) {
  const std::string a = "311001", b = "311002", ghost = "399999";
  ASSERT_EQ(daemon_->send_event("acc-a", "HIRE", make_worker(a, "Ada", "Access", "Finance")).status,
            202);
  ASSERT_EQ(daemon_->send_event("acc-b", "HIRE", make_worker(b, "Bo", "Access")).status, 202);
  Json settled_report;
  ASSERT_TRUE(eventually([&] {
    return reconcile("", &settled_report) == 0 && settled_report.value("in_flight", -1) == 0 &&
           settled_report.value("compared", 0) == 2;
  }, std::chrono::seconds(30))) << settled_report.dump(2);

  // One row per (worker, group): the key the assertions look rows up by.
  using Key = std::pair<std::string, std::string>;
  const auto report = [&](const std::string& args) {
    std::string out;
    EXPECT_EQ(daemon_->ctl("report access --json " + args, &out), 0) << out;
    std::map<Key, Json> rows;
    const Json lines = json_lines(out);
    for (const auto& r : lines["items"])
      rows[Key(r.value("worker_id", ""), r.value("group", ""))] = r;
    return rows;
  };
  auto rows = report("");
  std::string all;
  for (const auto& [key, row] : rows) all += row.dump() + "\n";
  ASSERT_TRUE(rows.count(Key(a, "finance"))) << "no finance row for the Finance hire in\n" << all;
  EXPECT_EQ(rows[Key(a, "finance")]["status"], "granted");
  EXPECT_EQ(rows[Key(a, "finance")]["granted_by"], "finance");
  EXPECT_EQ(rows[Key(a, "finance")]["account"], "enabled");
  EXPECT_EQ(rows[Key(a, "staff")]["granted_by"], "employees");
  EXPECT_EQ(rows[Key(b, "staff")]["status"], "granted");
  EXPECT_FALSE(rows.count(Key(b, "finance")));

  const auto bo = daemon_->person(b);
  ASSERT_TRUE(bo);
  const std::string base = daemon_->slapd().info().base_dn;
  const std::string people = bo->dn.substr(bo->dn.find(',') + 1);
  const std::string ghost_dn = "uid=ghost.access," + people;
  // By hand: Bo into finance and into a group no policy knows, and an entry nobody hired.
  modify_by_hand("dn: " + ghost_dn +
                 "\nchangetype: add\nobjectClass: inetOrgPerson\ncn: Ghost Access\nsn: Access\n"
                 "uid: ghost.access\nemployeeNumber: " + ghost + "\n\n" +
                 "dn: cn=finance,ou=groups," + base +
                 "\nchangetype: modify\nadd: member\nmember: " + bo->dn + "\n\n" +
                 "dn: cn=vpn-admins,ou=groups," + base +
                 "\nchangetype: add\nobjectClass: groupOfNames\ncn: vpn-admins\nmember: " +
                 bo->dn + "\nmember: " + ghost_dn + "\n");

  // The state knows nothing of it until the directory is read.
  EXPECT_FALSE(report("").count({b, "finance"}));
  rows = report("--live");
  ASSERT_TRUE(rows.count(Key(b, "finance")));
  EXPECT_EQ(rows[Key(b, "finance")]["status"], "ungranted");
  EXPECT_EQ(rows[Key(b, "finance")]["granted_by"], "");
  ASSERT_TRUE(rows.count(Key(b, "vpn-admins")));
  EXPECT_EQ(rows[Key(b, "vpn-admins")]["status"], "ungranted");
  EXPECT_EQ(rows[Key(a, "finance")]["status"], "granted");
  ASSERT_TRUE(rows.count(Key(ghost, "vpn-admins")));
  EXPECT_EQ(rows[Key(ghost, "vpn-admins")]["worker_state"], "unknown");

  // Who is in finance, and why — as CSV for the reviewer's spreadsheet.
  std::string csv;
  ASSERT_EQ(daemon_->ctl("report access --live --group finance --format csv", &csv), 0) << csv;
  EXPECT_EQ(csv.rfind("target,worker_id,username,worker_state,account,group,granted_by,status\n", 0),
            0u)
      << csv;
  EXPECT_NE(csv.find("," + a + ","), std::string::npos) << csv;
  EXPECT_NE(csv.find(",finance,finance,granted\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("," + b + ","), std::string::npos) << csv;
  EXPECT_NE(csv.find(",finance,,ungranted\n"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("vpn-admins"), std::string::npos) << csv;
}

}  // namespace
}  // namespace prov::testing
