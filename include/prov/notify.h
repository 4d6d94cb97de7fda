#pragma once
// Notifications as policy: the policy's `notifications:` rules say which audited happenings (a
// hire planned, an account ready, an operation held by the brake, a dead letter, reconcile drift,
// entitlements to retrieve from a leaver) are told to whom — by mail (the worker's manager,
// fixed addresses) or by a signed outbound webhook (Standard Webhooks).
//
// The engine is not involved: it already writes an audit row for each of these in the same
// transaction as the change. The notifier reads the audit after a durable cursor, renders the
// matching rules, and in one transaction inserts the results into a notification outbox and
// advances the cursor; a sender delivers the outbox with retries. A crash between a delivery and the commit
// that marks it sent delivers it again with the same Message-ID / webhook-id (at-least-once; the
// receiver de-duplicates). See docs/notifications.md.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prov/clock.h"
#include "prov/config.h"
#include "prov/model.h"
#include "prov/policy.h"
#include "prov/result.h"

namespace prov {

enum class NotifyTrigger {
  HirePlanned,          // op.planned of a create
  AccountReady,         // op.applied of a create: the hire's account exists
  Held,                 // op.held: the brake holds an operation for approval
  DeadLetter,           // op.failed: an operation failed permanently
  ReconcileDrift,       // reconcile.drift: the directory differed from what provisiond applied
  RetrieveEntitlements  // entitlement.released: a leaver's licence or hardware to take back
};
std::string_view to_string(NotifyTrigger t);
std::optional<NotifyTrigger> parse_notify_trigger(std::string_view name);
// Every trigger's name, for hints: "hire_planned, account_ready, …".
std::string notify_trigger_names();

// One rule of the policy's `notifications:` section, compiled. Immutable once loaded.
struct NotificationRule {
  std::string name;
  std::string location;  // "file:line:column", for messages
  PolicyDiagnostic at;   // the same place, for diagnostics (message and hint unset)
  NotifyTrigger trigger = NotifyTrigger::AccountReady;
  std::string target;  // only this target's happenings; empty: any target
  // Mail: to the worker's manager and/or fixed addresses; none of them = no mail.
  bool mail_manager = false;
  std::vector<std::string> mail_to;
  // Webhooks by their name in the daemon config's notifications.webhooks.
  std::vector<std::string> webhooks;
  // The policy's templates, rendered against a notification context (docs/notifications.md):
  // worker.*, manager.*, username, target, trigger, summary, detail.*, password_handover, rule.
  // Empty functions: the default subject / body for the trigger.
  std::function<std::string(const Json& context)> subject, body;
  bool mails() const { return mail_manager || !mail_to.empty(); }
};

// Rules the config cannot deliver, one diagnostic per place: a rule that mails while
// notifications.smtp has no url, or names a webhook notifications.webhooks lacks. Such a rule
// could only ever make notifications that wait or fail, so the policy is refused instead.
std::vector<PolicyDiagnostic> undeliverable_rules(const Policy& policy,
                                                  const NotificationsConfig& config);

enum class NotificationStatus { Pending, Sent, Failed };
std::string_view to_string(NotificationStatus s);

// One row of the notification outbox.
struct NotificationRow {
  std::int64_t id = 0;
  std::int64_t audit_id = 0;  // the audit row that triggered it
  std::string rule;
  std::string channel;      // mail | webhook
  std::string destination;  // mail: comma-separated addresses; webhook: its config name
  std::string worker_id;
  std::string trigger;
  std::string subject;  // mail only
  std::string body;     // mail text, or the webhook's JSON payload
  NotificationStatus status = NotificationStatus::Pending;
  int attempts = 0;
  TimePoint next_attempt_at{};
  TimePoint created_at{};
  std::optional<TimePoint> sent_at;
  std::string last_error;
};

// The identifiers a receiver de-duplicates on. Derived from the outbox row alone, so a message
// sent again after a crash carries the same one. `domain` is the right-hand side of the From
// address.
std::string notification_message_id(const NotificationRow& row, std::string_view domain);
std::string notification_webhook_id(const NotificationRow& row);

// Delivers one rendered notification. Errors are values: retryable (network, 4xx from a mail
// server, 5xx/429 from a webhook) or not (refused recipient, 4xx from a webhook).
class NotificationDelivery {
 public:
  virtual ~NotificationDelivery() = default;
  virtual Status deliver(const NotificationRow& row, TimePoint now) = 0;
};
// The real one: mail through libcurl's SMTP, webhooks signed and POSTed (config.notifications).
std::unique_ptr<NotificationDelivery> make_delivery(const NotificationsConfig& config);

// The two steps on one connection of their own (not thread-safe; the runner's thread owns it).
class Notifier {
 public:
  // Opens the state database (migrating it) at `state_path`.
  Notifier(const std::filesystem::path& state_path, const NotificationsConfig& config);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Reads up to `limit` audit rows after the cursor and renders the rules they match; then, in
  // one short transaction, inserts the outbox rows and advances the cursor past what was read
  // (except a leaver's released entitlements cut by the batch's end: the next batch takes them
  // whole). Returns the audit rows read.
  int match(const std::vector<NotificationRule>& rules, TimePoint now, int limit = 256);
  // Delivers the due pending rows (at most `limit`), each marked sent, rescheduled or failed in
  // its own transaction after its delivery. Returns how many were attempted.
  int send_due(NotificationDelivery& delivery, TimePoint now, int limit = 32);
  // When the next pending row is due; nullopt when none is pending.
  std::optional<TimePoint> next_due();
  std::int64_t cursor();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A row as provisionctl --json and GET /v1/notifications show it (the body left out: a mail's
// text or a webhook's payload is personal data the list does not need).
Json to_json(const NotificationRow& row);

// The outbox as people look at it (provisionctl notifications), newest first.
std::vector<NotificationRow> list_notifications(const std::filesystem::path& state_path,
                                                std::optional<NotificationStatus> status,
                                                int limit);

// The notifier and sender in the daemon: one thread ("prov-notify") with its own connection,
// matching and sending every notifications.poll_ms and when woken.
class NotifyRunner {
 public:
  static std::unique_ptr<NotifyRunner> start(
      const std::filesystem::path& state_path, const NotificationsConfig& config,
      std::function<std::shared_ptr<const Policy>()> policy, Clock& clock,
      std::unique_ptr<NotificationDelivery> delivery = nullptr);
  virtual ~NotifyRunner() = default;
  virtual void wake() = 0;
  virtual void stop() = 0;  // idempotent
};

}  // namespace prov
