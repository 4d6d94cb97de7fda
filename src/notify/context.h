#pragma once
// What a notification says: the context its templates read, its recipients and its texts.
// Built once, when the notifier matches the audit row; the outbox keeps the result, so a
// message sent again after a crash is the same message.
#include <optional>
#include <string>
#include <vector>

#include "prov/notify.h"
#include "store/sqlite.h"

namespace prov::notify {

// One audit row as the notifier reads it.
struct AuditEntry {
  std::int64_t id = 0;
  TimePoint at{};
  std::string worker_id;
  std::string event_id;
  std::string action;
  Json detail = Json::object();
};

// A leaver's released entitlements are audited one row each, together: each run of them (one
// worker, one event) becomes one entry listing them all (detail.entitlements; detail.entitlement
// joins them), under the first row's id, so a leaver makes one notification, not one per
// licence. When `batch_full`, a run that reaches the end of `rows` may go on in the audit: it
// is left out (unless it is all there is), for the next batch to take whole. Returns the merged
// entries and, in `consumed`, the id of the last row they cover.
std::vector<AuditEntry> merge_releases(std::vector<AuditEntry> rows, bool batch_full,
                                       std::int64_t& consumed);

// Whether `rule` is about this audit row (its trigger and, when the rule names one, its target).
bool matches(const NotificationRule& rule, const AuditEntry& entry);

// The template context (docs/notifications.md): worker.*, manager.* (with manager.mail),
// username, target, trigger, summary, detail.*, password_handover, rule.
Json build_context(sql::Database& db, const NotificationRule& rule, const AuditEntry& entry,
                   const NotificationsConfig& config);

struct Rendered {
  std::string subject, body;
};
// The rule's templates, or the trigger's default texts. An account-ready mail always says how
// the one-time password is handed over; it never holds the password (the notifier never reads
// one: passwords live only in the target's password folder).
Rendered render_mail(const NotificationRule& rule, const Json& context);
// The Standard Webhooks payload: {"type", "timestamp", "data"}.
std::string render_webhook(const NotificationRule& rule, const AuditEntry& entry,
                           const Json& context);

}  // namespace prov::notify
