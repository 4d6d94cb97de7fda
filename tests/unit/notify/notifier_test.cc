// Matching the audit into the notification outbox, and the sender's bookkeeping, against a real
// state database.
#include <gtest/gtest.h>

#include <deque>

#include "notify/delivery.h"
#include "notify_fixture.h"

namespace prov {
namespace {

using testing::at_ms;
using testing::policy_with;
using testing::TempDir;
using testing::write_file;

// Answers each delivery with the next scripted outcome (Ok once the script runs out) and keeps
// what it was given.
class ScriptedDelivery : public NotificationDelivery {
 public:
  std::deque<Status> script;
  std::vector<NotificationRow> delivered;
  Status deliver(const NotificationRow& row, TimePoint) override {
    delivered.push_back(row);
    if (script.empty()) return Status::Ok();
    Status s = script.front();
    script.pop_front();
    return s;
  }
};

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::open(dir_.path() / "state.db");
    Worker manager;
    manager.worker_id = "M1";
    manager.record = {
        {"firstName", "Maria"}, {"lastName", "Boss"}, {"email", "hr-copy@example.com"}};
    store_->put_worker(manager);
    Account acc;
    acc.worker_id = "M1";
    acc.username = "mboss";
    acc.attributes["mail"] = "maria.boss@example.com";  // the policy's mail wins over HR's
    store_->put_planned(acc);
    Worker hire;
    hire.worker_id = "W1";
    hire.record = {{"firstName", "Zoë"}, {"lastName", "New"}, {"managerId", "M1"}};
    store_->put_worker(hire);
    Worker orphan;
    orphan.worker_id = "W2";
    orphan.record = {{"firstName", "Ola"}, {"lastName", "Alone"}};
    store_->put_worker(orphan);
    config_.password_handover = "Ask the service desk for the one-time password.";
  }

  std::int64_t audit(const std::string& action, const std::string& worker, Json detail,
                     const std::string& event_id = "") {
    AuditRecord a;
    a.at = at_ms(1'700'000'000'000);
    a.worker_id = worker;
    a.event_id = event_id;
    a.action = action;
    a.detail = std::move(detail);
    return store_->audit(a);
  }
  static Json create_op(const std::string& worker, const std::string& username) {
    return {{"op", {{"kind", "create"}, {"worker_id", worker}, {"username", username}}},
            {"target", "directory"}};
  }
  std::shared_ptr<const Policy> policy(const std::string& rules) {
    return Policy::load(write_file(dir_.path() / "p.yaml", policy_with(rules)));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  NotificationsConfig config_;
};

const char* kManagerRule = R"Y(notifications:
  - name: tell-manager
    on: account_ready
    mail:
      to_manager: true
      subject: "Account {{ username }} for {{ worker.firstName }} {{ worker.lastName }}"
      body: "Hello {{ manager.firstName }}, {{ worker.firstName }} can log in as {{ username }}."
)Y";

TEST_F(NotifierTest, AccountReadyMailsTheManagerOnceAndMovesTheCursor) {
  const auto pol = policy(kManagerRule);
  Notifier notifier(dir_.path() / "state.db", config_);
  const auto start = notifier.cursor();
  audit("op.planned", "W1", create_op("W1", "zoe1"));  // planned, not ready: no rule matches
  const auto ready = audit("op.applied", "W1", create_op("W1", "zoe1"));
  audit("op.applied", "W1", {{"op", {{"kind", "add_member"}}}, {"target", "directory"}});

  EXPECT_EQ(notifier.match(pol->notification_rules(), at_ms(1'700'000'001'000)), 3);
  EXPECT_EQ(notifier.cursor(), start + 3);
  const auto rows = list_notifications(dir_.path() / "state.db", std::nullopt, 10);
  ASSERT_EQ(rows.size(), 1u);
  const auto& r = rows[0];
  EXPECT_EQ(r.audit_id, ready);
  EXPECT_EQ(r.channel, "mail");
  EXPECT_EQ(r.destination, "maria.boss@example.com");
  EXPECT_EQ(r.subject, "Account zoe1 for Zoë New");
  EXPECT_EQ(r.body,
            "Hello Maria, Zoë can log in as zoe1.\n\nAsk the service desk for the one-time "
            "password.\n");
  EXPECT_EQ(r.status, NotificationStatus::Pending);
  EXPECT_EQ(r.trigger, "account_ready");

  // Nothing new in the audit: nothing new in the outbox.
  EXPECT_EQ(notifier.match(pol->notification_rules(), at_ms(1'700'000'002'000)), 0);
  EXPECT_EQ(list_notifications(dir_.path() / "state.db", std::nullopt, 10).size(), 1u);
}

TEST_F(NotifierTest, NoManagerAddressIsAVisibleFailureNotSilence) {
  const auto pol = policy(kManagerRule);
  Notifier notifier(dir_.path() / "state.db", config_);
  audit("op.applied", "W2", create_op("W2", "ola1"));
  notifier.match(pol->notification_rules(), at_ms(1'700'000'001'000));
  const auto failed = list_notifications(dir_.path() / "state.db", NotificationStatus::Failed, 10);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(failed[0].last_error.find("no manager mail address for worker W2"), std::string::npos)
      << failed[0].last_error;
}

TEST_F(NotifierTest, AManagerAddressFromHrNeverReachesAHeaderUnchecked) {
  Worker sly;
  sly.worker_id = "M2";
  sly.record = {{"firstName", "Sly"}, {"email", "sly@example.com\r\nBcc: all@example.com"}};
  store_->put_worker(sly);
  Worker report;
  report.worker_id = "W3";
  report.record = {{"firstName", "Rea"}, {"managerId", "M2"}};
  store_->put_worker(report);
  Notifier notifier(dir_.path() / "state.db", config_);
  audit("op.applied", "W3", create_op("W3", "rea1"));
  notifier.match(policy(kManagerRule)->notification_rules(), at_ms(1'700'000'001'000));
  const auto rows = list_notifications(dir_.path() / "state.db", std::nullopt, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, NotificationStatus::Failed);
  EXPECT_EQ(rows[0].destination, "");
  EXPECT_NE(rows[0].last_error.find("is not a plain address"), std::string::npos)
      << rows[0].last_error;
}

TEST_F(NotifierTest, TriggersAndTargetFilter) {
  const auto pol = policy(R"Y(notifications:
  - { name: planned, on: hire_planned, mail: { to: [desk@example.com] } }
  - { name: held, on: held, target: slack, webhook: tickets }
  - { name: dead, on: dead_letter, mail: { to: [ops@example.com] } }
  - { name: drift, on: reconcile_drift, webhook: tickets }
  - { name: retrieve, on: retrieve_entitlements, mail: { to: [assets@example.com] } }
)Y");
  config_.webhooks.push_back({"tickets", "http://127.0.0.1:1/", "k", "", 1000});
  Notifier notifier(dir_.path() / "state.db", config_);
  audit("op.planned", "W1", create_op("W1", "zoe1"));
  audit("op.held", "W1", {{"op", {{"kind", "disable"}}}, {"target", "directory"}});
  audit("op.held", "W1", {{"op", {{"kind", "disable"}}}, {"target", "slack"}});
  audit("op.failed", "W1", {{"code", "constraint"}, {"message", "no"}, {"target", "directory"}});
  audit("reconcile.drift", "W1",
        {{"target", "directory"}, {"kind", "changed"}, {"details", {"mail differs"}}});
  audit("entitlement.released", "W1", {{"entitlement", "hardware:laptop"}, {"action", "retrieve"}});
  audit("event.applied", "W1", {{"type", "HIRE"}});
  notifier.match(pol->notification_rules(), at_ms(1'700'000'001'000));
  auto rows = list_notifications(dir_.path() / "state.db", std::nullopt, 20);
  std::reverse(rows.begin(), rows.end());
  std::vector<std::string> got;
  for (const auto& r : rows) got.push_back(r.rule + " " + r.channel + " " + r.destination);
  EXPECT_EQ(got, (std::vector<std::string>{"planned mail desk@example.com", "held webhook tickets",
                                           "dead mail ops@example.com", "drift webhook tickets",
                                           "retrieve mail assets@example.com"}));
  // The webhook payload is Standard Webhooks' shape: type, timestamp, data.
  const Json payload = Json::parse(rows[1].body);
  EXPECT_EQ(payload["type"], "provisiond.held");
  EXPECT_EQ(payload["data"]["target"], "slack");
  EXPECT_EQ(payload["data"]["worker"]["workerId"], "W1");
  EXPECT_EQ(rows[4].subject, "Retrieve from leaver: Zoë New (W1)");
  EXPECT_NE(rows[4].body.find("retrieve hardware:laptop"), std::string::npos) << rows[4].body;
}

TEST_F(NotifierTest, ALeaversEntitlementsMakeOneNotificationEvenAcrossBatches) {
  const auto pol = policy(R"Y(notifications:
  - name: retrieve
    on: retrieve_entitlements
    mail: { to: [assets@example.com], subject: "Retrieve from {{ worker.firstName }}: {{ detail.entitlement }}" }
)Y");
  Notifier notifier(dir_.path() / "state.db", config_);
  audit("op.planned", "W1", {{"op", {{"kind", "disable"}}}, {"target", "directory"}}, "term-1");
  const auto first = audit("entitlement.released", "W1",
                           {{"entitlement", "hardware:laptop"}, {"action", "retrieve"}}, "term-1");
  audit("entitlement.released", "W1", {{"entitlement", "license:erp"}, {"action", "retrieve"}},
        "term-1");
  audit("entitlement.released", "W2", {{"entitlement", "license:erp"}, {"action", "retrieve"}},
        "term-2");
  // Batches of two: the first ends inside W1's run, which is left whole for the next one.
  const TimePoint t = at_ms(1'700'000'001'000);
  while (notifier.match(pol->notification_rules(), t, 2) > 0) {
  }
  auto rows = list_notifications(dir_.path() / "state.db", std::nullopt, 10);
  ASSERT_EQ(rows.size(), 2u);
  std::reverse(rows.begin(), rows.end());
  EXPECT_EQ(rows[0].audit_id, first);
  EXPECT_EQ(rows[0].subject, "Retrieve from Zoë: hardware:laptop, license:erp");
  EXPECT_EQ(rows[1].subject, "Retrieve from Ola: license:erp");
}

TEST_F(NotifierTest, RetriesWithBackoffThenSentOrFailedForGood) {
  const auto pol = policy(kManagerRule);
  config_.retry_initial_ms = 1000;
  Notifier notifier(dir_.path() / "state.db", config_);
  audit("op.applied", "W1", create_op("W1", "zoe1"));
  const TimePoint t0 = at_ms(1'700'000'001'000);
  notifier.match(pol->notification_rules(), t0);

  ScriptedDelivery delivery;
  delivery.script = {Error{"connection refused", true}};
  EXPECT_EQ(notifier.send_due(delivery, t0), 1);
  auto row = list_notifications(dir_.path() / "state.db", std::nullopt, 1).at(0);
  EXPECT_EQ(row.status, NotificationStatus::Pending);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.last_error, "connection refused");
  EXPECT_GE(row.next_attempt_at, t0 + std::chrono::milliseconds(800));
  EXPECT_LE(row.next_attempt_at, t0 + std::chrono::milliseconds(1200));
  EXPECT_EQ(notifier.next_due(), row.next_attempt_at);
  // Not due yet: nothing is sent.
  EXPECT_EQ(notifier.send_due(delivery, t0 + std::chrono::milliseconds(500)), 0);
  EXPECT_EQ(notifier.send_due(delivery, t0 + std::chrono::seconds(2)), 1);
  row = list_notifications(dir_.path() / "state.db", std::nullopt, 1).at(0);
  EXPECT_EQ(row.status, NotificationStatus::Sent);
  EXPECT_EQ(row.attempts, 2);
  ASSERT_EQ(delivery.delivered.size(), 2u);
  // Both attempts were the same message: the identifiers come from the row.
  EXPECT_EQ(notification_message_id(delivery.delivered[0], "example.com"),
            notification_message_id(delivery.delivered[1], "example.com"));
  EXPECT_FALSE(notifier.next_due().has_value());

  // A refusal that waiting will not cure is kept as failed, with its reason.
  audit("op.applied", "W1", create_op("W1", "zoe1"));
  notifier.match(pol->notification_rules(), t0);
  delivery.script = {Error{"550 no such user", false}};
  notifier.send_due(delivery, t0 + std::chrono::seconds(3));
  const auto failed = list_notifications(dir_.path() / "state.db", NotificationStatus::Failed, 10);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].last_error, "550 no such user");
}

TEST_F(NotifierTest, RulesAddedLaterStartFromThen) {
  Notifier notifier(dir_.path() / "state.db", config_);
  audit("op.applied", "W1", create_op("W1", "zoe1"));
  notifier.match({}, at_ms(1'700'000'001'000));  // no rules: the cursor skips ahead
  notifier.match(policy(kManagerRule)->notification_rules(), at_ms(1'700'000'002'000));
  EXPECT_TRUE(list_notifications(dir_.path() / "state.db", std::nullopt, 10).empty());
}

TEST(NotifyMail, ComposedMessageIsTheSameOnEverySend) {
  NotificationRow row;
  row.id = 42;
  row.created_at = at_ms(1'700'000'000'000);
  row.destination = "a@example.com,b@example.com";
  row.subject = "Account ready: Zoë";
  row.body = "line one\nline two\n";
  SmtpConfig smtp;
  smtp.from = "provisiond@corp.example";
  const std::string m = notify::compose_mail(row, smtp);
  EXPECT_EQ(m, notify::compose_mail(row, smtp));
  EXPECT_NE(m.find("Message-ID: <notification-42.1700000000000@corp.example>\r\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("To: a@example.com, b@example.com\r\n"), std::string::npos) << m;
  EXPECT_NE(m.find("Subject: =?UTF-8?B?"), std::string::npos) << m;
  EXPECT_NE(m.find("\r\n\r\nline one\r\nline two\r\n"), std::string::npos) << m;
}

}  // namespace
}  // namespace prov
