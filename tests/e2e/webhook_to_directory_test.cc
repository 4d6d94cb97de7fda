// The walking skeleton end to end: signed webhook → provisiond (a real process) → SQLite →
// example policy → real slapd. Every assertion reads the directory, a bind, an HTTP status or
// provisionctl's view of the state database.
#include <gtest/gtest.h>

#include "e2e/running_daemon_test.h"
#include "harness/bind_probe.h"

namespace prov::testing {
namespace {

class WebhookToDirectory : public RunningDaemonTest {
 protected:
  // The worker's entry once it satisfies `pred`; nullopt when it never does (an entry that
  // exists but still fails `pred` is not returned, so callers cannot mistake it for the change).
  std::optional<LdapEntry> wait_for(const std::string& worker_id,
                                    const std::function<bool(const LdapEntry&)>& pred) {
    std::optional<LdapEntry> found;
    const bool held = eventually([&] {
      found = daemon_->person(worker_id);
      return found && pred(*found);
    });
    if (!held) return std::nullopt;
    return found;
  }

  Json status() {
    std::string out;
    EXPECT_EQ(daemon_->ctl("status --json", &out), 0) << out;
    return Json::parse(out, nullptr, false);
  }
};

Json finance_worker(const std::string& id, const std::string& first, const std::string& last) {
  Json w = make_worker(id, first, last, "Finance");
  w["jobTitle"] = "Senior Accountant";
  w["location"] = "Berlin";
  return w;
}

TEST_F(WebhookToDirectory, HireCreatesEntryWithContractAttributesAndGroups) {
  auto r = daemon_->send_event("e2e-hire-1", "HIRE", finance_worker("200001", "José", "Núñez"));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.json().value("status", ""), "stored");

  auto e = wait_for("200001", [](const LdapEntry&) { return true; });
  ASSERT_TRUE(e) << "no entry with employeeNumber 200001";
  EXPECT_EQ(e->first("uid"), "jnunez");
  EXPECT_EQ(e->first("sn"), "Núñez");
  EXPECT_EQ(e->first("title"), "Senior Accountant");
  EXPECT_EQ(e->first("employeeNumber"), "200001");
  EXPECT_FALSE(e->first("givenName").empty());
  EXPECT_FALSE(e->first("cn").empty());
  EXPECT_FALSE(e->first("displayName").empty());
  EXPECT_EQ(e->first("mail").rfind("jnunez@", 0), 0u) << e->first("mail");
  auto attrs = e->attrs["objectClass"];
  EXPECT_NE(std::find(attrs.begin(), attrs.end(), "inetOrgPerson"), attrs.end());

  std::set<std::string> want{"staff", "finance", "erp-users", "office-berlin"};
  ASSERT_TRUE(eventually([&] { return daemon_->groups_of(e->dn) == want; }))
      << "groups: " << ::testing::PrintToString(daemon_->groups_of(e->dn));

  // The one-time password was delivered to the service's password folder and works.
  EXPECT_TRUE(can_bind(Slapd::shared().info().ldaps_url, e->dn, daemon_->password_of("200001"),
                       Slapd::shared().info().ca_file));
}

TEST_F(WebhookToDirectory, SameNameGetsNextCandidateAndNeverOverwrites) {
  ASSERT_EQ(
      daemon_->send_event("e2e-js-1", "HIRE", finance_worker("200011", "John", "Smith")).status,
      202);
  auto first = wait_for("200011", [](const LdapEntry&) { return true; });
  ASSERT_TRUE(first);
  ASSERT_EQ(
      daemon_->send_event("e2e-js-2", "HIRE", finance_worker("200012", "John", "Smith")).status,
      202);
  auto second = wait_for("200012", [](const LdapEntry&) { return true; });
  ASSERT_TRUE(second);
  EXPECT_EQ(first->first("uid"), "jsmith");
  EXPECT_NE(second->first("uid"), "jsmith");
  EXPECT_NE(second->dn, first->dn);
  // The first John Smith is untouched.
  EXPECT_EQ(daemon_->person("200011")->first("uid"), "jsmith");
  EXPECT_EQ(daemon_->search(Slapd::shared().info().base_dn, "(uid=jsmith)").size(), 1u);
}

TEST_F(WebhookToDirectory, TransferRemovesOldGroupsAndAddsNew) {
  ASSERT_EQ(daemon_->send_event("e2e-tr-1", "HIRE", finance_worker("200021", "Mia", "Wong")).status,
            202);
  auto e = wait_for("200021", [](const LdapEntry&) { return true; });
  ASSERT_TRUE(e);
  ASSERT_TRUE(eventually([&] { return daemon_->groups_of(e->dn).count("finance") == 1; }));

  Json moved = finance_worker("200021", "Mia", "Wong");
  moved["department"] = "Sales";
  moved["location"] = "Hamburg";
  moved["jobTitle"] = "Account Executive";
  ASSERT_EQ(daemon_->send_event("e2e-tr-2", "CHANGE", moved).status, 202);
  auto after = wait_for("200021",
                        [](const LdapEntry& x) { return x.first("title") == "Account Executive"; });
  ASSERT_TRUE(after) << "the title never changed; now: "
                     << (daemon_->person("200021") ? daemon_->person("200021")->first("title")
                                                   : "(no entry)");
  EXPECT_EQ(after->first("title"), "Account Executive");
  EXPECT_EQ(after->dn, e->dn) << "a transfer within ou=people keeps the entry where it is";
  ASSERT_TRUE(eventually([&] {
    auto g = daemon_->groups_of(after->dn);
    return g.count("staff") && !g.count("finance") && !g.count("erp-users") &&
           !g.count("office-berlin");
  })) << ::testing::PrintToString(daemon_->groups_of(after->dn));
}

TEST_F(WebhookToDirectory, TerminationLocksAndRemovesManagedGroups) {
  ASSERT_EQ(
      daemon_->send_event("e2e-term-1", "HIRE", finance_worker("200031", "Lea", "Brandt")).status,
      202);
  auto e = wait_for("200031", [](const LdapEntry&) { return true; });
  ASSERT_TRUE(e);
  const auto& s = Slapd::shared().info();
  // Groups follow the completed create, which sets the password after adding the entry.
  ASSERT_TRUE(eventually([&] { return !daemon_->groups_of(e->dn).empty(); }));
  const std::string pw = daemon_->password_of("200031");
  ASSERT_TRUE(can_bind(s.ldaps_url, e->dn, pw, s.ca_file));

  ASSERT_EQ(
      daemon_->send_event("e2e-term-2", "TERMINATION", finance_worker("200031", "Lea", "Brandt"))
          .status,
      202);
  ASSERT_TRUE(eventually([&] {
    auto now = daemon_->person("200031");
    return now && !can_bind(s.ldaps_url, now->dn, pw, s.ca_file);
  })) << "the leaver can still bind";
  auto now = daemon_->person("200031");
  ASSERT_TRUE(now) << "the account is kept (disabled) during retention";
  ASSERT_TRUE(eventually([&] { return daemon_->groups_of(daemon_->person("200031")->dn).empty(); }))
      << ::testing::PrintToString(daemon_->groups_of(now->dn));
  // And the audit trail says why.
  std::string out;
  ASSERT_EQ(daemon_->ctl("audit --worker-id 200031", &out), 0);
  EXPECT_NE(out.find("disable"), std::string::npos) << out;
}

TEST_F(WebhookToDirectory, DuplicateDeliveryIsAcknowledgedOnceAndCreatesOneEntry) {
  Json w = finance_worker("200041", "Ada", "Quist");
  Json body{{"eventId", "e2e-dup-1"},
            {"eventType", "HIRE"},
            {"effectiveAt", "2026-01-05T08:00:00Z"},
            {"worker", w}};
  auto first = daemon_->send(body.dump(), "msg-dup-1");
  ASSERT_EQ(first.status, 202) << first.body;
  for (int i = 0; i < 5; ++i) {
    auto again = daemon_->send(body.dump(), "msg-dup-" + std::to_string(i + 2));
    EXPECT_EQ(again.status, 200) << again.body;
  }
  ASSERT_TRUE(wait_for("200041", [](const LdapEntry&) { return true; }));
  ASSERT_TRUE(eventually([&] { return status()["operations"]["pending"] == 0; }));
  EXPECT_EQ(daemon_->search(Slapd::shared().info().base_dn, "(employeeNumber=200041)").size(), 1u);

  // Same id, different body: a conflict, not an overwrite.
  body["worker"]["lastName"] = "Other";
  auto conflict = daemon_->send(body.dump(), "msg-dup-x");
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_EQ(daemon_->person("200041")->first("sn"), "Quist");
}

TEST_F(WebhookToDirectory, BadSignatureIs401AndNothingIsStored) {
  Json body{{"eventId", "e2e-sig-1"},
            {"eventType", "HIRE"},
            {"effectiveAt", "2026-01-05"},
            {"worker", finance_worker("200051", "Eve", "Forger")}};
  auto ts = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
  auto r = http_request(daemon_->webhook_port(), "POST", "/v1/hr/events",
                        {{"content-type", "application/json"},
                         {"webhook-id", "msg-forged"},
                         {"webhook-timestamp", ts},
                         {"webhook-signature", "v1,bm90IGEgcmVhbCBzaWduYXR1cmUgYXQgYWxsIQ=="}},
                        body.dump());
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  // A request too old for the tolerance is refused the same way, even when correctly signed.
  auto old = daemon_->send(body.dump(), "msg-old", -301);
  EXPECT_EQ(old.status, 401) << old.body;
  auto st = status();
  EXPECT_EQ(st["workers"], 0) << st.dump();
  EXPECT_EQ(st["inbox_pending"], 0) << st.dump();
  std::string audit;
  daemon_->ctl("audit --json", &audit);
  EXPECT_EQ(audit.find("e2e-sig-1"), std::string::npos) << audit;
}

TEST_F(WebhookToDirectory, MalformedJsonIs400NamingTheProblem) {
  auto r = daemon_->send("{\"eventId\": \"x\", \"eventType\": ");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/problem+json");
  EXPECT_NE(r.body.find("JSON"), std::string::npos) << r.body;
}

TEST_F(WebhookToDirectory, MissingWorkerIdIs400NamingTheField) {
  Json w = finance_worker("x", "No", "Id");
  w.erase("workerId");
  Json body{
      {"eventId", "e2e-noid"}, {"eventType", "HIRE"}, {"effectiveAt", "2026-01-05"}, {"worker", w}};
  auto r = daemon_->send(body.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  auto j = r.json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("field", ""), "worker.workerId") << r.body;
  EXPECT_EQ(j.value("status", 0), 400);
}

TEST_F(WebhookToDirectory, ManagerIsLinkedWhenHiredAfterTheReport) {
  Json report = finance_worker("200061", "Rita", "Report");
  report["managerId"] = "200062";
  ASSERT_EQ(daemon_->send_event("e2e-mgr-1", "HIRE", report).status, 202);
  ASSERT_TRUE(wait_for("200061", [](const LdapEntry&) { return true; }));
  ASSERT_EQ(
      daemon_->send_event("e2e-mgr-2", "HIRE", finance_worker("200062", "Max", "Boss")).status,
      202);
  auto boss = wait_for("200062", [](const LdapEntry&) { return true; });
  ASSERT_TRUE(boss);
  auto linked =
      wait_for("200061", [&](const LdapEntry& e) { return e.first("manager") == boss->dn; });
  ASSERT_TRUE(linked);
  EXPECT_EQ(linked->first("manager"), boss->dn);
}

TEST_F(WebhookToDirectory, HealthMetricsAndGracefulShutdown) {
  EXPECT_EQ(daemon_->admin_get("/healthz").status, 200);
  ASSERT_EQ(
      daemon_->send_event("e2e-m-1", "HIRE", finance_worker("200071", "Otto", "Metric")).status,
      202);
  ASSERT_TRUE(wait_for("200071", [](const LdapEntry&) { return true; }));
  ASSERT_TRUE(eventually([&] { return daemon_->admin_get("/readyz").status == 200; }));
  // The entry is visible once added; the create's outcome is counted when it completes (after
  // the initial password is set).
  HttpResult m;
  EXPECT_TRUE(eventually([&] {
    m = daemon_->admin_get("/metrics");
    return m.body.find("provisiond_operations_total{kind=\"create\",outcome=\"ok\","
                       "target=\"directory\"} 1") != std::string::npos;
  })) << m.body;
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(daemon_->stop(), 0) << "SIGTERM must end the daemon cleanly";
}

}  // namespace
}  // namespace prov::testing
