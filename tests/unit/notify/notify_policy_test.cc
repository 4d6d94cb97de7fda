// The policy's notifications: section: what loads, and what is refused with file:line:column.
#include <gtest/gtest.h>

#include "notify_fixture.h"

namespace prov {
namespace {

using testing::policy_with;
using testing::TempDir;
using testing::write_file;

PolicyLoadError load_error(const std::filesystem::path& file) {
  try {
    Policy::load(file);
  } catch (const PolicyLoadError& e) {
    return e;
  }
  ADD_FAILURE() << "the policy loaded";
  return PolicyLoadError({});
}

TEST(NotifyPolicy, LoadsRulesWithTemplates) {
  TempDir dir;
  const auto file = write_file(dir.path() / "p.yaml", policy_with(R"Y(notifications:
  - name: tell-manager
    on: account_ready
    target: directory
    mail:
      to_manager: true
      to: [it-desk@example.com]
      subject: "Welcome {{ worker.firstName | upper }} ({{ username }})"
      body: "Manager {{ manager.firstName }}: {{ password_handover }}"
  - name: ticket
    on: held
    webhook: ticketing
)Y"));
  const auto policy = Policy::load(file);
  const auto& rules = policy->notification_rules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "tell-manager");
  EXPECT_EQ(rules[0].trigger, NotifyTrigger::AccountReady);
  EXPECT_EQ(rules[0].target, "directory");
  EXPECT_TRUE(rules[0].mail_manager);
  EXPECT_EQ(rules[0].mail_to, std::vector<std::string>{"it-desk@example.com"});
  ASSERT_TRUE(rules[0].subject);
  const Json context{{"worker", {{"firstName", "Zoë"}}}, {"username", "zoe1"}};
  EXPECT_EQ(rules[0].subject(context), "Welcome ZOË (zoe1)");
  EXPECT_EQ(rules[1].trigger, NotifyTrigger::Held);
  EXPECT_EQ(rules[1].webhooks, std::vector<std::string>{"ticketing"});
  EXPECT_FALSE(rules[1].mails());
}

TEST(NotifyPolicy, UnknownTriggerIsRefusedAtItsPlace) {
  TempDir dir;
  const auto file = write_file(dir.path() / "p.yaml", policy_with(R"Y(notifications:
  - name: x
    on: acount_ready
    mail: { to: [a@example.com] }
)Y"));
  const auto e = load_error(file);
  ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
  const auto& d = e.diagnostics()[0];
  EXPECT_EQ(d.file, file.string());
  EXPECT_EQ(d.line, 8);
  EXPECT_EQ(d.column, 9);
  EXPECT_NE(d.message.find("'on' must be one of"), std::string::npos) << d.message;
  EXPECT_NE(d.hint.find("account_ready"), std::string::npos) << d.hint;
}

TEST(NotifyPolicy, UnknownTemplateVariablePointsIntoTheTemplate) {
  TempDir dir;
  const auto file = write_file(dir.path() / "p.yaml", policy_with(R"Y(notifications:
  - name: x
    on: hire_planned
    mail: { to: [a@example.com], subject: "New: {{ wroker.lastName }}" }
)Y"));
  const auto e = load_error(file);
  ASSERT_EQ(e.diagnostics().size(), 1u) << e.what();
  const auto& d = e.diagnostics()[0];
  EXPECT_EQ(d.line, 9);
  // The column of "wroker" inside the quoted template on that line.
  const std::string line =
      "    mail: { to: [a@example.com], subject: \"New: {{ wroker.lastName }}\" }";
  EXPECT_EQ(d.column, static_cast<int>(line.find("wroker")) + 1);
  EXPECT_NE(d.hint.find("worker"), std::string::npos) << d.hint;
}

TEST(NotifyPolicy, RuleWithoutActionOrRecipientIsRefused) {
  TempDir dir;
  const auto file = write_file(dir.path() / "p.yaml", policy_with(R"Y(notifications:
  - name: a
    on: held
    webhook: t
  - name: silent
    on: dead_letter
  - name: nobody
    on: held
    mail: { subject: "x" }
  - name: a
    on: held
    webhook: t
)Y"));
  const auto e = load_error(file);
  std::string all;
  for (const auto& d : e.diagnostics()) all += d.to_string() + "\n";
  EXPECT_EQ(e.diagnostics().size(), 3u) << all;
  EXPECT_NE(all.find(":10:5: error: notification rule 'silent' does nothing"), std::string::npos)
      << all;
  EXPECT_NE(all.find(":14:5: error: 'mail' has no recipient"), std::string::npos) << all;
  EXPECT_NE(all.find(":15:5: error: duplicate notification rule 'a'"), std::string::npos) << all;
}

TEST(NotifyPolicy, RulesTheConfigCannotDeliverAreNamedAtTheirPlace) {
  TempDir dir;
  const auto file = write_file(dir.path() / "p.yaml", policy_with(R"Y(notifications:
  - name: ticket
    on: held
    webhook: [ticketing, tickets]
  - name: desk
    on: hire_planned
    mail: { to: [desk@example.com] }
)Y"));
  const auto policy = Policy::load(file);
  NotificationsConfig config;
  config.webhooks.push_back({"ticketing", "https://t.example.com/", "key", "", 1000});
  const auto problems = undeliverable_rules(*policy, config);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].to_string(),
            file.string() +
                ":7:5: error: notification rule 'ticket' names webhook 'tickets', "
                "which the config does not have (configured: ticketing)");
  EXPECT_EQ(problems[1].to_string(),
            file.string() +
                ":10:5: error: notification rule 'desk' sends mail, but the config "
                "has no notifications.smtp (set notifications.smtp.url and from in "
                "provisiond.yaml)");
  config.webhooks.push_back({"tickets", "https://t.example.com/", "key", "", 1000});
  config.smtp.url = "smtp://mail.example.com:587";
  EXPECT_TRUE(undeliverable_rules(*policy, config).empty());
}

}  // namespace
}  // namespace prov
