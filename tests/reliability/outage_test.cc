// The directory goes away in the middle of a wave of terminations and comes back on the same
// port with the same data: provisiond keeps accepting events, holds the operations while the
// server is down, and afterwards applies every termination — none lost, none dead-lettered.
//
// Short run (ctest): 5 s outage during 200 terminations. Long run:
//   PROV_OUTAGE_SECONDS=60 PROV_OUTAGE_TERMINATIONS=1000
//     build/tests/reliability/reliability_test --gtest_filter='DirectoryOutage.*'
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "e2e/daemon_fixture.h"
#include "reliability/reliability_env.h"
#include "e2e/slapd_restart.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"

namespace prov::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Each worker's script: the hire, then the termination (a day later).
std::vector<WorkerScript> hires_and_terminations(int n) {
  auto scripts = make_workforce(n, 1, "8", 1);
  for (auto& s : scripts) {
    const auto& hire = s.events.front();
    Json body = Json::parse(hire.body);
    ScriptedEvent t;
    t.event_id = hire.event_id + "-termination";
    t.type = "TERMINATION";
    t.worker = hire.worker;
    auto effective = *parse_time(body["effectiveAt"].get<std::string>()) + std::chrono::hours(24);
    t.worker["terminationDate"] = format_time(effective);
    body["eventId"] = t.event_id;
    body["eventType"] = t.type;
    body["effectiveAt"] = format_time(effective);
    body["worker"] = t.worker;
    t.body = body.dump();
    s.events.push_back(std::move(t));
  }
  return scripts;
}

// The scripts cut down to their first `k` events.
std::vector<WorkerScript> prefix(const std::vector<WorkerScript>& scripts, std::size_t k) {
  auto out = scripts;
  for (auto& s : out) s.events.resize(std::min(k, s.events.size()));
  return out;
}

// The scripts without their first `k` events.
std::vector<WorkerScript> suffix(const std::vector<WorkerScript>& scripts, std::size_t k) {
  auto out = scripts;
  for (auto& s : out) s.events.erase(s.events.begin(), s.events.begin() + static_cast<long>(k));
  return out;
}

TEST(DirectoryOutage, EveryTerminationIsAppliedAfterTheDirectoryReturns) {
  const int n = env_int("PROV_OUTAGE_TERMINATIONS", 200);
  const int outage_s = env_int("PROV_OUTAGE_SECONDS", 5);
  auto slapd = Slapd::start();
  const SlapdInfo info = slapd->info();
  struct StopRestarted {  // the restarted server is not the Slapd object's to stop
    const SlapdInfo& info;
    ~StopRestarted() { stop_restarted_slapd(info); }
  } stop_restarted{info};

  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;
  Daemon daemon(*slapd, options);
  daemon.start();
  StateDb db(daemon.state_path());

  const auto scripts = hires_and_terminations(n);
  {  // Everyone is hired and provisioned first.
    auto hires = prefix(scripts, 1);
    LoadGenerator load(daemon, hires, 4);
    load.start();
    load.join();
    ASSERT_TRUE(load.protocol_errors().empty()) << ::testing::PrintToString(load.protocol_errors());
    ASSERT_TRUE(eventually([&] { return db.idle(); }, std::chrono::seconds(120)));
    ASSERT_TRUE(compare_directory(daemon, hires, std::vector<int>(scripts.size(), 0)).empty());
  }

  // The terminations arrive; half-way through the delivery the directory stops.
  auto terminations = suffix(scripts, 1);
  LoadGenerator load(daemon, terminations, 4);
  load.start();
  ASSERT_TRUE(eventually([&] { return load.acknowledged() >= n / 2 || load.finished(); },
                         std::chrono::seconds(120)));
  slapd->stop();
  const auto down_at = Clock::now();
  // HR keeps delivering while the directory is down: every event is still acknowledged.
  load.join();
  EXPECT_EQ(load.acknowledged(), n);
  EXPECT_TRUE(load.protocol_errors().empty()) << ::testing::PrintToString(load.protocol_errors());
  EXPECT_TRUE(eventually([&] { return daemon.admin_get("/readyz").status == 503; },
                         std::chrono::seconds(outage_s)))
      << "/readyz should report the directory as unavailable";
  // The outage lasts its full length: that is the condition under test, not a synchronisation.
  std::this_thread::sleep_until(down_at + std::chrono::seconds(outage_s));
  const auto waiting = db.operations_by_status();
  const std::int64_t pending_at_restart = waiting.count("pending") ? waiting.at("pending") : 0;
  EXPECT_GT(pending_at_restart, 0) << "the outage should have held operations back";
  EXPECT_EQ(waiting.count("failed") ? waiting.at("failed") : 0, 0)
      << "an outage must delay operations, never dead-letter them";

  restart_slapd(info);
  const auto up_at = Clock::now();
  ASSERT_TRUE(eventually([&] { return db.idle(); }, std::chrono::seconds(180)))
      << ::testing::PrintToString(db.operations_by_status());
  const double recovery_s = std::chrono::duration<double>(Clock::now() - up_at).count();
  std::cout << "outage: " << n << " terminations, directory down "
            << std::chrono::duration<double>(up_at - down_at).count() << " s with "
            << pending_at_restart << " operations waiting; all applied " << recovery_s
            << " s after it returned\n";
  EXPECT_TRUE(eventually([&] { return daemon.admin_get("/readyz").status == 200; }));

  const auto ops = db.operations_by_status();
  EXPECT_EQ(ops.count("failed") ? ops.at("failed") : 0, 0) << ::testing::PrintToString(ops);
  const auto statuses = db.event_statuses();
  int not_applied = 0;
  for (const auto& s : scripts)
    for (const auto& e : s.events) not_applied += statuses.count(e.event_id) &&
                                                          statuses.at(e.event_id) == "applied"
                                                      ? 0
                                                      : 1;
  EXPECT_EQ(not_applied, 0);
  const auto problems = compare_directory(daemon, scripts, std::vector<int>(scripts.size(), 1));
  EXPECT_TRUE(problems.empty()) << problems.size() << " discrepancies, first: "
                                << (problems.empty() ? "" : problems.front());
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace prov::testing
