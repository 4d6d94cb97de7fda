// provisiond killed with SIGKILL at random moments while HR keeps delivering: afterwards the
// directory must be exactly what the acknowledged events say — nothing acknowledged is lost,
// nobody gets a second account, nothing visible is done twice — and the state database must pass
// SQLite's integrity check after every crash.
//
// Short run (ctest): 20 kills, 100 workers, 1,000 events. Long run:
//   PROV_KILL9_KILLS=100 PROV_KILL9_WORKERS=500 PROV_KILL9_EVENTS=5000
//     build/tests/reliability/reliability_test --gtest_filter='KillNine.*'
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "e2e/daemon_fixture.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"

namespace prov::testing {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(KillNine, AcknowledgedEventsSurviveRandomKills) {
  const int kills = env_int("PROV_KILL9_KILLS", 20);
  const int workers = env_int("PROV_KILL9_WORKERS", 100);
  const int events = env_int("PROV_KILL9_EVENTS", 1000);
  const int max_gap_ms = env_int("PROV_KILL9_MAX_GAP_MS", 400);
  const int senders = env_int("PROV_KILL9_SENDERS", 8);
  const unsigned seed = reliability_seed();
  const int per_worker = std::max(1, (events + workers - 1) / workers);
  std::cout << "kill9: seed " << seed << ", " << kills << " kills, " << workers << " workers x "
            << per_worker << " events\n";

  auto slapd = Slapd::start();
  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;
  Daemon daemon(*slapd, options);
  daemon.start();
  StateDb db(daemon.state_path());

  const auto scripts = make_workforce(workers, per_worker, "7", seed);
  LoadGenerator load(daemon, scripts, senders);
  const auto t0 = Clock::now();
  load.start();

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> gap(5, std::max(6, max_gap_ms));
  std::vector<std::string> integrity_failures;
  int kills_during_ingest = 0;
  for (int k = 0; k < kills; ++k) {
    // The random moment of the crash: the daemon is up (start() waited for /healthz) and busy
    // with whatever the load and its backlog give it.
    std::this_thread::sleep_for(std::chrono::milliseconds(gap(rng)));
    if (!load.finished()) ++kills_during_ingest;
    daemon.kill9();
    const std::string check = db.integrity_check();
    if (check != "ok") integrity_failures.push_back("after kill " + std::to_string(k + 1) + ": " + check);
    daemon.start();
  }
  const double kill_phase_s = seconds_since(t0);
  load.join();
  const double ingest_s = seconds_since(t0);
  ASSERT_TRUE(eventually([&] { return db.idle(); }, std::chrono::seconds(300)))
      << "provisiond did not finish its work; outbox: "
      << ::testing::PrintToString(db.operations_by_status());
  const double total_s = seconds_since(t0);
  std::cout << "kill9: " << kills << " kills (" << kills_during_ingest << " while events were "
            << "still being delivered) in " << kill_phase_s << " s; " << load.acknowledged()
            << " events acknowledged after " << load.attempts() << " deliveries ("
            << load.unacknowledged_attempts() << " not acknowledged and retried); ingest done at "
            << ingest_s << " s, directory converged at " << total_s << " s\n";

  EXPECT_TRUE(integrity_failures.empty()) << ::testing::PrintToString(integrity_failures);
  EXPECT_TRUE(load.protocol_errors().empty()) << ::testing::PrintToString(load.protocol_errors());
  EXPECT_EQ(load.acknowledged(), workers * per_worker) << "every event must end acknowledged";

  // 0 acknowledged events lost: each one is in the inbox and was applied.
  const auto statuses = db.event_statuses();
  int lost = 0;
  std::vector<std::string> lost_ids;
  for (std::size_t i = 0; i < scripts.size(); ++i)
    for (int k = 0; k <= load.acked()[i]; ++k) {
      const auto& id = scripts[i].events[static_cast<std::size_t>(k)].event_id;
      auto it = statuses.find(id);
      if (it == statuses.end() || it->second != "applied") {
        ++lost;
        if (lost_ids.size() < 20)
          lost_ids.push_back(id + "=" + (it == statuses.end() ? "missing" : it->second));
      }
    }
  EXPECT_EQ(lost, 0) << ::testing::PrintToString(lost_ids);

  // The directory equals the model; one account per worker with the name it was first given.
  const auto problems = compare_directory(daemon, scripts, load.acked());
  EXPECT_TRUE(problems.empty()) << summarize(problems, "discrepancies");

  // Nothing visible done twice: exactly one create applied per worker, however often the
  // daemon died between the directory write and its commit.
  const auto creates = db.applied_per_worker("create");
  int wrong_creates = 0;
  for (const auto& s : scripts) {
    auto it = creates.find(s.worker_id);
    if (it == creates.end() || it->second != 1) ++wrong_creates;
  }
  EXPECT_EQ(wrong_creates, 0) << ::testing::PrintToString(creates);

  const auto ops = db.operations_by_status();
  EXPECT_EQ(ops.count("failed") ? ops.at("failed") : 0, 0) << ::testing::PrintToString(ops);
  EXPECT_EQ(db.integrity_check(), "ok");
  EXPECT_EQ(daemon.stop(), 0);
  if (HasFailure()) print_log_tail(daemon);
}

}  // namespace
}  // namespace prov::testing
