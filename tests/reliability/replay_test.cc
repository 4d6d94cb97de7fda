// One signed HR event delivered 1,000 times (an HR system retrying, a proxy replaying): exactly
// one effect. And a captured request replayed after the signature's timestamp tolerance is
// refused even though its signature is genuine.
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "e2e/daemon_fixture.h"
#include "hr/signature.h"
#include "reliability/state_db.h"

namespace prov::testing {
namespace {

constexpr int kDeliveries = 1000;
constexpr int kToleranceS = 3;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(Replay, ThousandDeliveriesOfOneEventHaveOneEffect) {
  DaemonOptions options;
  options.tolerance_s = kToleranceS;
  Daemon daemon(Slapd::shared(), options);
  daemon.start();
  StateDb db(daemon.state_path());

  Json body{{"eventId", "replay-hire-400001"},
            {"eventType", "HIRE"},
            {"effectiveAt", "2026-01-05T08:00:00Z"},
            {"worker", make_worker("400001", "Rhea", "Replay", "Finance")}};
  const std::string payload = body.dump();
  const std::string id = "msg-replay-400001";
  // The first delivery, kept byte for byte for the late replay below.
  const std::int64_t ts0 = unix_now();
  const std::map<std::string, std::string> captured{
      {"content-type", "application/json"},
      {"webhook-id", id},
      {"webhook-timestamp", std::to_string(ts0)},
      {"webhook-signature", sign(daemon.secret_key(), id, ts0, payload)}};
  auto first = http_request(daemon.webhook_port(), "POST", "/v1/hr/events", captured, payload);
  ASSERT_EQ(first.status, 202) << first.body;

  // Redeliveries as a Standard Webhooks sender makes them: same id and body, signed afresh.
  std::map<int, int> statuses;
  for (int i = 1; i < kDeliveries; ++i) ++statuses[daemon.send(payload, id).status];
  EXPECT_EQ(statuses, (std::map<int, int>{{200, kDeliveries - 1}}));

  ASSERT_TRUE(eventually([&] { return db.idle() && daemon.person("400001").has_value(); }));
  EXPECT_EQ(daemon.search(Slapd::shared().info().base_dn, "(employeeNumber=400001)").size(), 1u);
  EXPECT_EQ(daemon.person("400001")->first("uid"), "rreplay");
  EXPECT_EQ(db.event_statuses().size(), 1u);
  EXPECT_EQ(db.audit_count("event.applied", "400001"), 1);
  EXPECT_EQ(db.applied_per_worker("create")["400001"], 1);
  EXPECT_EQ(db.already_done_count("400001"), 0);

  // The captured request, replayed once its timestamp is outside the tolerance: 401.
  ASSERT_TRUE(eventually([&] { return unix_now() > ts0 + kToleranceS; },
                         std::chrono::seconds(kToleranceS + 5)));
  auto late = http_request(daemon.webhook_port(), "POST", "/v1/hr/events", captured, payload);
  EXPECT_EQ(late.status, 401) << late.body;
  EXPECT_EQ(late.headers["content-type"], "application/problem+json");
  EXPECT_EQ(db.audit_count("event.applied", "400001"), 1);
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace prov::testing
