// A directory that hangs (accepts nothing, answers nothing: slapd stopped with SIGSTOP) while
// hundreds of events arrive must not stall ingest: every webhook is still stored and answered
// 202, because no directory question is ever asked while the store's write lock is held. Once
// the directory answers again (SIGCONT), everything accepted is applied.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "e2e/running_daemon_test.h"

namespace prov::testing {
namespace {

using DirectoryHang = OwnSlapdDaemonTest;

TEST_F(DirectoryHang, WebhooksAreStoredWhileTheDirectoryHangsAndAppliedWhenItAnswers) {
  // Fourteen people share each name, so most names are not the first candidate of their ladder.
  auto hire = [&](int i) {
    Json w = make_worker(std::to_string(720000 + i), "Kim", "Park" + std::to_string(i % 60));
    return daemon_->send_event("hang-h" + std::to_string(i), "HIRE", w).status;
  };
  for (int i = 0; i < 20; ++i) ASSERT_EQ(hire(i), 202);  // some work in flight when it hangs
  freeze();
  // 100 events/s for 8 s: longer than a writer waits for the store's lock (5 s), so a plan
  // that asked the directory inside its transaction would turn webhooks into 503s.
  constexpr int kTotal = 820;
  int accepted = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 20; i < kTotal; ++i) {
    accepted += hire(i) == 202;
    std::this_thread::sleep_until(start + std::chrono::milliseconds(10 * (i - 19)));  // pacing
  }
  EXPECT_EQ(accepted, kTotal - 20);
  EXPECT_EQ(daemon_->admin_get("/healthz").status, 200);
  thaw();

  // Everything accepted reaches the directory, each person with a name of their own.
  const std::string people = "ou=people," + slapd_->info().base_dn;
  ASSERT_TRUE(eventually(
      [&] { return daemon_->search(people, "(employeeNumber=72*)").size() == kTotal; },
      std::chrono::seconds(120)));
  std::set<std::string> names;
  for (const auto& e : daemon_->search(people, "(employeeNumber=72*)")) names.insert(e.first("uid"));
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kTotal));
}

}  // namespace
}  // namespace prov::testing
