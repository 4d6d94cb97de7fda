// A notification is delivered, then provisiond dies (as under kill -9) before the commit that
// marks it sent. Restarted, it sends the message again — with the same Message-ID, on which the
// receiver de-duplicates — and nothing is lost: at-least-once, documented in
// docs/notifications.md. The point is compiled in with PROV_FAULT_INJECTION.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "e2e/daemon_fixture.h"
#include "harness/notify_fixture.h"

namespace prov::testing {
namespace {

TEST(NotifyCrash, KilledBetweenSendAndCommitSendsAgainWithTheSameMessageId) {
#if !defined(PROV_FAULT_INJECTION)
  GTEST_SKIP() << "built without PROV_FAULT_INJECTION";
#endif
  auto slapd = Slapd::start();
  auto smtp = SmtpSink::start();
  DaemonOptions o;
  o.policy_path = example_policy_with_notifications(R"Y(  - name: tell-manager
    on: account_ready
    mail: { to_manager: true, subject: "Account ready for {{ worker.firstName }}" }
)Y");
  o.extra_yaml = smtp->config_yaml(std::nullopt, "  retry_initial_ms: 100\n");
  Daemon daemon(*slapd, o);
  setenv("PROVISIOND_CRASH_AT", "notify_after_send", 1);
  daemon.start();
  unsetenv("PROVISIOND_CRASH_AT");  // the next start runs without the fault

  Json manager = make_worker("720001", "Maria", "Boss");
  Json hire = make_worker("720002", "Zoe", "Newman");
  hire["managerId"] = "720001";
  ASSERT_EQ(daemon.send_event("c-hire-boss", "HIRE", manager).status, 202);
  ASSERT_TRUE(eventually([&] { return daemon.person("720001").has_value(); }));
  ASSERT_EQ(daemon.send_event("c-hire-new", "HIRE", hire).status, 202);
  // The first delivery reaches the server, then the process dies before marking it sent.
  ASSERT_EQ(daemon.wait_exit(std::chrono::seconds(30)), 137) << read_file(daemon.log_path());
  ASSERT_EQ(smtp->messages().size(), 1u);
  const std::string first_id = smtp->messages()[0].header("Message-ID");
  ASSERT_FALSE(first_id.empty());
  std::string out;
  daemon.ctl("notifications --pending", &out);
  EXPECT_NE(out.find("worker 720002"), std::string::npos) << "still pending after the crash\n"
                                                          << out;

  daemon.start();
  ASSERT_TRUE(eventually([&] {
    daemon.ctl("notifications --sent --json", &out);
    return out.find("\"worker_id\":\"720002\"") != std::string::npos;
  })) << out
      << read_file(daemon.log_path());
  const auto mails = smtp->messages();
  ASSERT_EQ(mails.size(), 2u) << "sent once before the crash and once after it";
  std::set<std::string> distinct;
  for (const auto& m : mails) {
    distinct.insert(m.header("Message-ID"));
    EXPECT_EQ(m.header("Subject"), "Account ready for Zoe");
    EXPECT_EQ(m.rcpt_tos, std::vector<std::string>{"mboss@example.com"});
  }
  EXPECT_EQ(distinct, (std::set<std::string>{first_id}));
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace prov::testing
