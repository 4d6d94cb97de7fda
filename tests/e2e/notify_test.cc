// Notifications end to end: provisiond as a process against a real slapd, mail to a real SMTP
// server (aiosmtpd) and webhooks to a receiver that verifies them with the reference Standard
// Webhooks library.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "e2e/daemon_fixture.h"
#include "harness/notify_fixture.h"
#include "prov/crypto.h"

namespace prov::testing {
namespace {

Json with_manager(Json worker, const std::string& manager_id) {
  worker["managerId"] = manager_id;
  return worker;
}

const char* kManagerRule = R"Y(  - name: tell-manager
    on: account_ready
    mail:
      to_manager: true
      subject: "Account ready for {{ worker.firstName }} {{ worker.lastName }}"
      body: |
        Hello {{ manager.firstName }},
        {{ worker.firstName }} can sign in as {{ username }}.
)Y";

TEST(Notify, HireWithAManagerMailsTheManagerOnce) {
  auto slapd = Slapd::start();
  auto smtp = SmtpSink::start();
  DaemonOptions o;
  o.policy_path = example_policy_with_notifications(kManagerRule);
  o.extra_yaml = smtp->config_yaml();
  Daemon daemon(*slapd, o);
  daemon.start();

  ASSERT_EQ(daemon.send_event("n-hire-boss", "HIRE", make_worker("700001", "Maria", "Boss")).status,
            202);
  ASSERT_TRUE(eventually([&] { return daemon.person("700001").has_value(); }));
  ASSERT_EQ(daemon
                .send_event("n-hire-new", "HIRE",
                            with_manager(make_worker("700002", "Zoe", "Newman"), "700001"))
                .status,
            202);

  // The manager's mail: what the policy gave her account (mail: "{{ username }}@example.com").
  ASSERT_TRUE(eventually([&] {
    for (const auto& m : smtp->messages())
      if (m.header("Subject") == "Account ready for Zoe Newman") return true;
    return false;
  })) << read_file(daemon.log_path());
  // Wait until the outbox has marked it sent: from then on nothing may send it again.
  std::string out;
  ASSERT_TRUE(eventually([&] {
    daemon.ctl("notifications --sent --json", &out);
    return out.find("\"worker_id\":\"700002\"") != std::string::npos;
  })) << out;

  std::vector<ReceivedMail> to_manager;
  for (const auto& m : smtp->messages())
    if (m.header("Subject") == "Account ready for Zoe Newman") to_manager.push_back(m);
  ASSERT_EQ(to_manager.size(), 1u);
  const ReceivedMail& mail = to_manager[0];
  EXPECT_EQ(mail.rcpt_tos, std::vector<std::string>{"mboss@example.com"});
  EXPECT_EQ(mail.header("To"), "mboss@example.com");
  EXPECT_EQ(mail.header("From"), "provisiond@example.com");
  EXPECT_TRUE(mail.header("Message-ID").starts_with("<notification-")) << mail.data;
  EXPECT_TRUE(mail.header("Message-ID").ends_with("@example.com>")) << mail.data;
  EXPECT_NE(mail.data.find("Hello Maria,\r\nZoe can sign in as znewman."), std::string::npos)
      << mail.data;
  // How the password is handed over, never the password.
  EXPECT_NE(mail.data.find("password folder"), std::string::npos) << mail.data;
  const std::string password = daemon.password_of("700002");
  ASSERT_FALSE(password.empty());
  EXPECT_EQ(mail.data.find(password), std::string::npos) << "the one-time password was mailed";

  // The manager herself has no manager: kept visible as a failed notification, in provisionctl
  // and in the admin API.
  daemon.ctl("notifications --failed", &out);
  EXPECT_NE(out.find("no manager mail address for worker 700001"), std::string::npos) << out;
  const auto listed = daemon.admin_get("/v1/notifications?status=failed");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const Json failed = listed.json()["notifications"];
  ASSERT_EQ(failed.size(), 1u) << listed.body;
  EXPECT_EQ(failed[0]["worker_id"], "700001");
  EXPECT_EQ(failed[0]["rule"], "tell-manager");
  EXPECT_FALSE(failed[0].contains("body"));
  EXPECT_EQ(daemon.stop(), 0);
}

// Without `tls: none` an smtp:// server must offer STARTTLS: one that does not gets nothing, and
// the notification waits for a retry with the reason, visible.
TEST(Notify, StartTlsIsRequiredUnlessPlainIsWrittenOut) {
  auto slapd = Slapd::start();
  auto smtp = SmtpSink::start();  // plain SMTP, no STARTTLS offered
  DaemonOptions o;
  o.policy_path = example_policy_with_notifications(R"Y(  - name: desk
    on: hire_planned
    mail: { to: [desk@example.com] }
)Y");
  o.extra_yaml = smtp->config_yaml("");  // no tls key: STARTTLS is required
  Daemon daemon(*slapd, o);
  daemon.start();
  ASSERT_EQ(daemon.send_event("t-hire", "HIRE", make_worker("730001", "Tess", "Tls")).status, 202);
  std::string out, error;
  ASSERT_TRUE(eventually([&] {
    daemon.ctl("notifications --pending --json", &out);
    const Json rows = json_lines(out);
    for (const auto& row : rows["items"])
      if (row.value("worker_id", "") == "730001") error = row.value("last_error", "");
    return !error.empty();
  })) << out
      << read_file(daemon.log_path());
  EXPECT_NE(error.find("SSL"), std::string::npos) << error;  // "Requested SSL level failed"
  EXPECT_TRUE(smtp->messages().empty());
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(Notify, StartTlsWithTheServersCertificateChecked) {
  auto slapd = Slapd::start();
  auto smtp = SmtpSink::start(/*starttls=*/true);
  DaemonOptions o;
  o.policy_path = example_policy_with_notifications(R"Y(  - name: desk
    on: hire_planned
    mail: { to: [desk@example.com], subject: "Planned: {{ worker.lastName }}" }
)Y");
  o.extra_yaml = smtp->config_yaml();  // STARTTLS, its certificate checked against ca_file
  Daemon daemon(*slapd, o);
  daemon.start();
  ASSERT_EQ(daemon.send_event("s-hire", "HIRE", make_worker("740001", "Sam", "Secure")).status,
            202);
  ASSERT_TRUE(eventually([&] { return !smtp->messages().empty(); }))
      << read_file(daemon.log_path());
  EXPECT_EQ(smtp->messages()[0].header("Subject"), "Planned: Secure");
  EXPECT_EQ(smtp->messages()[0].rcpt_tos, std::vector<std::string>{"desk@example.com"});
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(Notify, HeldTerminationPostsAVerifiedStandardWebhook) {
  auto slapd = Slapd::start();
  auto receiver = WebhookReceiver::start();
  DaemonOptions o;
  // Every lock is held: a termination waits for approval, and the ticket says so.
  o.policy_path = example_policy_with_notifications(R"Y(  - name: ticket-on-hold
    on: held
    webhook: ticketing
)Y",
                                                    {"disable: over_threshold", "disable: always"});
  o.extra_yaml = receiver->config_yaml("ticketing");
  Daemon daemon(*slapd, o);
  daemon.start();
  ASSERT_EQ(daemon.send_event("w-hire", "HIRE", make_worker("710001", "Tom", "Leaver")).status,
            202);
  ASSERT_TRUE(eventually([&] { return daemon.person("710001").has_value(); }));
  ASSERT_EQ(
      daemon.send_event("w-term", "TERMINATION", make_worker("710001", "Tom", "Leaver")).status,
      202);
  ASSERT_TRUE(eventually([&] { return !receiver->received().empty(); }))
      << read_file(daemon.log_path());
  const auto got = receiver->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].verified) << got[0].error;
  EXPECT_TRUE(got[0].id.starts_with("msg_provisiond_")) << got[0].id;
  EXPECT_EQ(got[0].payload["type"], "provisiond.held");
  EXPECT_EQ(got[0].payload["data"]["worker"]["workerId"], "710001");
  EXPECT_EQ(got[0].payload["data"]["detail"]["op"]["kind"], "disable");
  EXPECT_EQ(daemon.stop(), 0);
}

// What the engine really audits for a leaver: the licence to take back reaches the asset desk
// in one mail.
TEST(Notify, ALeaversLicenceToRetrieveIsMailedToTheAssetDesk) {
  auto slapd = Slapd::start();
  auto smtp = SmtpSink::start();
  DaemonOptions o;
  o.policy_path = example_policy_with_notifications(R"Y(  - name: assets
    on: retrieve_entitlements
    mail:
      to: [assets@example.com]
      subject: "Retrieve from {{ worker.firstName }} {{ worker.lastName }}: {{ detail.entitlement }}"
)Y");
  o.extra_yaml = smtp->config_yaml();
  Daemon daemon(*slapd, o);
  daemon.start();
  const Json worker = make_worker("760001", "Fia", "Nance", "Finance");  // license:erp
  ASSERT_EQ(daemon.send_event("r-hire", "HIRE", worker).status, 202);
  ASSERT_TRUE(eventually([&] { return daemon.person("760001").has_value(); }));
  ASSERT_EQ(daemon.send_event("r-term", "TERMINATION", worker).status, 202);
  std::string out;
  ASSERT_TRUE(eventually([&] {
    daemon.ctl("notifications --sent", &out);
    return out.find("retrieve_entitlements") != std::string::npos;
  })) << out
      << read_file(daemon.log_path());
  const auto mails = smtp->messages();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0].header("Subject"), "Retrieve from Fia Nance: license:erp");
  EXPECT_EQ(mails[0].rcpt_tos, std::vector<std::string>{"assets@example.com"});
  EXPECT_EQ(daemon.stop(), 0);
}

// A receiver that cannot verify the signature answers 401: not something waiting cures, so the
// notification fails at once, visibly, and is not retried.
TEST(Notify, AWebhookSignedWithAnotherSecretIsRefusedAndKeptAsFailed) {
  auto slapd = Slapd::start();
  auto receiver = WebhookReceiver::start();
  DaemonOptions o;
  o.policy_path = example_policy_with_notifications(R"Y(  - name: ticket
    on: hire_planned
    webhook: ticketing
)Y");
  const std::string wrong = o.policy_path + ".secret";
  std::ofstream(wrong) << "whsec_" << base64_encode("a different key of 32 bytes......") << "\n";
  o.extra_yaml = receiver->config_yaml("ticketing", wrong);
  Daemon daemon(*slapd, o);
  daemon.start();
  ASSERT_EQ(daemon.send_event("x-hire", "HIRE", make_worker("750001", "Wes", "Wrong")).status, 202);
  std::string out;
  ASSERT_TRUE(eventually([&] {
    daemon.ctl("notifications --failed", &out);
    return out.find("worker 750001") != std::string::npos;
  })) << out
      << read_file(daemon.log_path());
  EXPECT_NE(out.find("error: webhook ticketing: HTTP 401"), std::string::npos) << out;
  EXPECT_NE(out.find("attempts 1"), std::string::npos) << out;
  const auto got = receiver->received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].verified);
  EXPECT_EQ(daemon.stop(), 0);
}

// A mistake in the notifications: section is reported at its place by the same check the
// daemon's start and reload make.
TEST(Notify, PolicyValidateNamesTheBadPlaceInNotifications) {
  const std::string policy = example_policy_with_notifications(R"Y(  - name: tell-manager
    on: account_ready
    mail: { to_manager: true, subject: "Hello {{ manger.firstName }}" }
)Y");
  const int lines = [&] {
    int n = 0;
    for (char c : read_file(policy)) n += c == '\n';
    return n;
  }();
  std::string out;
  const int status =
      run_command(std::string(PROV_BINARY_DIR) + "/src/cli/provisionctl policy validate " +
                      shell_quote(policy) + " 2>&1",
                  &out);
  EXPECT_NE(status, 0) << out;
  // The subject is on the file's last line; the column points at the misspelt variable.
  const std::string line =
      "    mail: { to_manager: true, subject: \"Hello {{ manger.firstName }}\" }";
  const std::string where = policy + ":" + std::to_string(lines) + ":" +
                            std::to_string(line.find("manger") + 1) +
                            ": error: unknown variable "
                            "'manger.firstName' in a notification (did you mean 'manager'?)";
  EXPECT_NE(out.find(where), std::string::npos) << out;
}

}  // namespace
}  // namespace prov::testing
