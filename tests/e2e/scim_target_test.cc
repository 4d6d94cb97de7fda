// A directory and a SCIM application as two targets of one daemon: a real slapd and the SCIMMY
// test service (over TLS with the harness's certificate). One HIRE makes an entry in slapd and a
// user in the app with the groups the policy grants there; a TERMINATION refuses binds in slapd
// and sets active: false in the app; an app answering 429 or 503 holds up only itself. Every
// assertion reads slapd, a bind, the app's own API or provisionctl.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "e2e/daemon_fixture.h"
#include "harness/bind_probe.h"
#include "harness/scim_fixture.h"

namespace prov::testing {
namespace {

class ScimTarget : public ::testing::Test {
 protected:
  void SetUp() override {
    app_ = ScimServer::start({.tls = true});
    DaemonOptions d;
    d.policy_path = write_policy_with_grants(app_->dir(), "app", "[app-users]", "[app-finance]");
    d.more_targets_yaml = app_->target_yaml("app");
    // Retries of the throttled app come back within seconds, not a minute.
    d.executor_yaml = "retry_max_ms: 2000";
    daemon_ = std::make_unique<Daemon>(Slapd::shared(), d);
    daemon_->start();
  }
  void TearDown() override { daemon_.reset(); }

  const SlapdInfo& slapd() const { return Slapd::shared().info(); }
  // The worker's user in the app with exactly `groups` (and `active`); null if never.
  Json wait_for_user(const std::string& worker_id, const std::set<std::string>& groups, bool active,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    Json found;
    eventually(
        [&] {
          auto u = app_->user_by_external_id(worker_id);
          if (!u || u->value("active", !active) != active) return false;
          if (app_->groups_of(u->value("id", "")) != groups) return false;
          found = *u;
          return true;
        },
        limit);
    return found;
  }
  std::string wait_for_entry(const std::string& worker_id, const std::set<std::string>& groups) {
    std::string dn;
    eventually([&] {
      auto e = person_in(slapd(), worker_id);
      if (!e) return false;
      dn = e->dn;
      return groups_in(slapd(), dn) == groups;
    });
    return dn;
  }
  bool locked_out(const std::string& worker_id, const std::string& pw) const {
    auto e = person_in(slapd(), worker_id);
    return e && !can_bind(slapd().ldaps_url, e->dn, pw, slapd().ca_file);
  }

  std::unique_ptr<ScimServer> app_;
  std::unique_ptr<Daemon> daemon_;
};

Json finance_worker(const std::string& id, const std::string& first, const std::string& last) {
  return make_worker(id, first, last, "Finance");
}

TEST_F(ScimTarget, HireLandsInSlapdAndTheAppAndTerminationLocksBoth) {
  ASSERT_EQ(
      daemon_->send_event("scim-hire-1", "HIRE", finance_worker("310001", "Nora", "Lind")).status,
      202);
  const std::string dn = wait_for_entry("310001", {"staff", "finance", "erp-users"});
  ASSERT_FALSE(dn.empty());
  const Json user = wait_for_user("310001", {"app-users", "app-finance"}, true);
  ASSERT_FALSE(user.is_null()) << "no user with the app's groups in the SCIM app";
  const auto entry = person_in(slapd(), "310001");
  EXPECT_EQ(user["userName"], entry->first("uid")) << "one username in every target";
  EXPECT_EQ(user["name"]["givenName"], "Nora");
  EXPECT_EQ(user["name"]["familyName"], "Lind");
  EXPECT_EQ(user["emails"][0]["value"], entry->first("mail"));
  const std::string pw = daemon_->password_of("310001");
  ASSERT_TRUE(can_bind(slapd().ldaps_url, dn, pw, slapd().ca_file));

  std::string out;
  ASSERT_EQ(daemon_->ctl("accounts --json", &out), 0) << out;
  std::set<std::string> targets;
  const Json accounts = json_lines(out)["items"];
  for (const auto& a : accounts)
    if (a.value("worker_id", "") == "310001") targets.insert(a.value("target", ""));
  EXPECT_EQ(targets, (std::set<std::string>{"directory", "app"})) << out;

  // Reconcile reads slapd and the app and finds both accounts as provisiond applied them.
  ASSERT_EQ(daemon_->ctl("reconcile --json", &out), 0) << out;
  const Json report = json_lines(out);
  EXPECT_EQ(report["summary"]["compared"], 2) << out;
  EXPECT_TRUE(report["items"].empty()) << out;

  ASSERT_EQ(
      daemon_->send_event("scim-term-1", "TERMINATION", finance_worker("310001", "Nora", "Lind"))
          .status,
      202);
  EXPECT_TRUE(eventually([&] { return locked_out("310001", pw); }))
      << "the leaver can still bind in slapd";
  EXPECT_FALSE(wait_for_user("310001", {}, false).is_null())
      << "the leaver is not active: false without groups in the app";
}

// The app refuses every request (429 Too Many Requests, then 503 as when it is down) while a
// leaver is processed: the directory's lock does not wait for it, and the app catches up once
// it answers again.
TEST_F(ScimTarget, AnAppThatRefusesRequestsHoldsUpOnlyItselfAndCatchesUp) {
  int n = 0;
  for (int status : {429, 503}) {
    const std::string id = "31001" + std::to_string(n++);
    ASSERT_EQ(daemon_->send_event("scim-out-h" + id, "HIRE", make_worker(id, "Ivo", "Berg")).status,
              202);
    ASSERT_FALSE(wait_for_entry(id, {"staff"}).empty());
    ASSERT_FALSE(wait_for_user(id, {"app-users"}, true).is_null());
    const std::string pw = daemon_->password_of(id);

    app_->fail_requests(status, 1);
    const long refused_before = app_->stats()["refused"].get<long>();
    ASSERT_EQ(daemon_->send_event("scim-out-t" + id, "TERMINATION", make_worker(id, "Ivo", "Berg"))
                  .status,
              202);
    EXPECT_TRUE(eventually([&] { return locked_out(id, pw); }))
        << status << ": the directory's lock waited for the app";
    // The app was asked and refused: the lock there is still to come.
    EXPECT_TRUE(eventually([&] { return app_->stats()["refused"].get<long>() > refused_before; }))
        << status;
    EXPECT_EQ(app_->user_by_external_id(id)->value("active", false), true) << status;

    app_->clear_failures();
    EXPECT_FALSE(wait_for_user(id, {}, false, std::chrono::seconds(60)).is_null())
        << status << ": the app never caught up with the leaver";
  }
}

}  // namespace
}  // namespace prov::testing
