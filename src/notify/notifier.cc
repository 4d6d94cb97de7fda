// The two steps of the notification outbox: match (audit → outbox, with the cursor, in one
// transaction) and send (outbox → mail server / webhook receiver, then mark the row).
#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "notify/context.h"
#include "notify/notify_db.h"
#include "prov/crypto.h"
#include "prov/fault.h"
#include "prov/log.h"
#include "prov/metrics.h"

namespace prov {

struct Notifier::Impl {
  Impl(const std::filesystem::path& path, const NotificationsConfig& c) : db(path), config(c) {}
  notify::NotifyDb db;
  NotificationsConfig config;
};

namespace {

// Retries of one notification: doubling from retry_initial_ms up to retry_max_ms, ±20 %
// jitter so that the backlog of a mail server's outage does not come back all at once.
std::chrono::milliseconds backoff(const NotificationsConfig& c, int attempts) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  double base = c.retry_initial_ms * std::pow(2.0, std::min(attempts, 20));
  base = std::min(base, static_cast<double>(c.retry_max_ms));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::chrono::milliseconds(static_cast<std::int64_t>(base * jitter(rng)));
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

std::string notification_message_id(const NotificationRow& row, std::string_view domain) {
  // The row's id and creation instant: unique within a database, the same on every send.
  return "<notification-" + std::to_string(row.id) + "." +
         std::to_string(row.created_at.time_since_epoch().count()) + "@" + std::string(domain) +
         ">";
}

std::string notification_webhook_id(const NotificationRow& row) {
  return "msg_provisiond_" + std::to_string(row.id) + "_" +
         std::to_string(row.created_at.time_since_epoch().count());
}

Notifier::Notifier(const std::filesystem::path& state_path, const NotificationsConfig& config)
    : impl_(std::make_unique<Impl>(state_path, config)) {}
Notifier::~Notifier() = default;

std::int64_t Notifier::cursor() {
  auto q = impl_->db.db().query("SELECT audit_id FROM notify_cursor WHERE id = 1");
  return q.step() ? q.int64(0) : 0;
}

namespace {

// One outbox row as rendered, before it is written.
struct Pending {
  std::int64_t audit_id = 0;
  std::string rule, channel, destination, worker_id, trigger, subject, body, error;
};

std::vector<notify::AuditEntry> audit_after(sql::Database& db, std::int64_t from, int limit) {
  auto q = db.query(
      "SELECT id, at, worker_id, event_id, action, detail FROM audit WHERE id > ?1 ORDER BY id "
      "LIMIT ?2");
  q.bind_all(from, limit);
  std::vector<notify::AuditEntry> entries;
  while (q.step()) {
    notify::AuditEntry e;
    e.id = q.int64(0);
    e.at = q.time(1);
    e.worker_id = q.text(2);
    e.event_id = q.text(3);
    e.action = q.text(4);
    e.detail = Json::parse(q.text(5), nullptr, false);
    if (!e.detail.is_object()) e.detail = Json::object();
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace

int Notifier::match(const std::vector<NotificationRule>& rules, TimePoint now, int limit) {
  auto& db = impl_->db.db();
  // Reading and rendering happen outside the write transaction, so that the write lock, which
  // the webhook's acknowledgements and the engine wait for, is held only to insert the rows and
  // move the cursor. This connection is the only one that moves the cursor (one daemon per
  // state database), so what was read after it is still what follows it.
  const std::int64_t from = cursor();
  std::int64_t last = from;
  std::vector<Pending> rows;
  int read = 0;
  if (rules.empty()) {
    // Nothing to tell: follow the audit, so that rules added later start from then on.
    auto q = db.query("SELECT COALESCE(MAX(id), 0) FROM audit");
    if (q.step()) last = std::max(last, q.int64(0));
  } else {
    auto raw = audit_after(db, from, limit);
    read = static_cast<int>(raw.size());
    std::int64_t consumed = 0;
    const auto entries = notify::merge_releases(std::move(raw), read == limit, consumed);
    if (consumed > 0) last = consumed;
    for (const auto& e : entries) {
      for (const auto& rule : rules) {
        if (!notify::matches(rule, e)) continue;
        const Json context = notify::build_context(db, rule, e, impl_->config);
        Pending base;
        base.audit_id = e.id;
        base.rule = rule.name;
        base.worker_id = e.worker_id;
        base.trigger = std::string(to_string(rule.trigger));
        if (rule.mails()) {
          Pending p = base;
          std::vector<std::string> to = rule.mail_to;
          if (rule.mail_manager) {
            const std::string mail = context["manager"].value("mail", "");
            // An address from HR data goes into the To: header and the RCPT command: one
            // that is not a plain address (a line break, a second address) is not used.
            const bool plain = mail.find('@') != std::string::npos &&
                               mail.find_first_of(" <>,;\r\n\"") == std::string::npos;
            if (plain && std::find(to.begin(), to.end(), mail) == to.end()) {
              to.insert(to.begin(), mail);
            } else if (!mail.empty() && !plain && to.empty()) {
              p.error = "the manager's mail address of worker " + e.worker_id +
                        " is not a plain address: " + Json(mail).dump();
            } else if (mail.empty() && to.empty()) {
              // Kept visible as a failed row: silence would look like "nobody to tell".
              p.error = "no manager mail address for worker " + e.worker_id +
                        " (no managerId, or the manager has no mail attribute or email field)";
            }
          }
          const auto mail = notify::render_mail(rule, context);
          p.channel = "mail";
          p.destination = join(to);
          p.subject = mail.subject;
          p.body = mail.body;
          rows.push_back(std::move(p));
        }
        for (const auto& hook : rule.webhooks) {
          Pending p = base;
          p.channel = "webhook";
          p.destination = hook;
          p.body = notify::render_webhook(rule, e, context);
          if (std::none_of(impl_->config.webhooks.begin(), impl_->config.webhooks.end(),
                           [&](const NotifyWebhookConfig& w) { return w.name == hook; }))
            p.error = "no webhook '" + hook + "' in the config's notifications.webhooks";
          rows.push_back(std::move(p));
        }
      }
    }
  }
  if (last == from) return read;  // an idle daemon writes nothing
  impl_->db.transaction([&] {
    for (const auto& p : rows)
      db.query(
            "INSERT INTO notifications(audit_id, rule, channel, destination, worker_id, trigger, "
            "subject, body, status, next_attempt_at, last_error, created_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10) ON CONFLICT DO NOTHING")
          .bind_all(p.audit_id, p.rule, p.channel, p.destination, p.worker_id, p.trigger, p.subject,
                    p.body, p.error.empty() ? "pending" : "failed", now, p.error)
          .run();
    db.query("UPDATE notify_cursor SET audit_id = ?1 WHERE id = 1").bind(1, last).run();
  });
  for (const auto& p : rows) {
    const log::Fields fields{{"rule", p.rule},
                             {"channel", p.channel},
                             {"to", p.destination},
                             {"worker_id", p.worker_id}};
    if (p.error.empty()) {
      log::info("notification queued", fields);
    } else {
      log::Fields with_error = fields;
      with_error.emplace_back("error", p.error);
      log::warn("notification cannot be sent", with_error);
    }
  }
  return read;
}

std::optional<TimePoint> Notifier::next_due() {
  auto q = impl_->db.db().query(
      "SELECT MIN(next_attempt_at) FROM notifications WHERE status = 'pending'");
  if (q.step() && !q.is_null(0)) return q.time(0);
  return std::nullopt;
}

int Notifier::send_due(NotificationDelivery& delivery, TimePoint now, int limit) {
  auto& db = impl_->db.db();
  std::vector<NotificationRow> due;
  {
    auto q = db.query(std::string("SELECT ") + notify::NotifyDb::kColumns +
                      " FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?1 "
                      "ORDER BY next_attempt_at, id LIMIT ?2");
    q.bind_all(now, limit);
    while (q.step()) due.push_back(notify::NotifyDb::read_row(q));
  }
  for (const auto& row : due) {
    const Status sent = delivery.deliver(row, now);
    if (sent.ok()) {
      // Delivered but not yet marked: a crash here sends the row again, with the same
      // Message-ID / webhook-id, which is how the receiver recognises it.
      PROV_FAULT_POINT("notify_after_send");
      impl_->db.transaction([&] {
        db.query(
              "UPDATE notifications SET status = 'sent', attempts = attempts + 1, "
              "sent_at = ?2, last_error = '' WHERE id = ?1")
            .bind_all(row.id, now)
            .run();
      });
      Metrics::global().inc("provisiond_notifications_total",
                            {{"channel", row.channel}, {"result", "sent"}});
      log::info("notification sent", {{"id", std::to_string(row.id)},
                                      {"rule", row.rule},
                                      {"channel", row.channel},
                                      {"worker_id", row.worker_id}});
      continue;
    }
    const Error& err = sent.error();
    const int attempts = row.attempts + 1;
    Metrics::global().inc("provisiond_notifications_total",
                          {{"channel", row.channel}, {"result", "error"}});
    const bool give_up = !err.retryable ||
                         (impl_->config.max_attempts > 0 && attempts >= impl_->config.max_attempts);
    impl_->db.transaction([&] {
      db.query(
            "UPDATE notifications SET status = ?2, attempts = ?3, next_attempt_at = ?4, "
            "last_error = ?5 WHERE id = ?1")
          .bind_all(row.id, give_up ? "failed" : "pending", attempts,
                    now + backoff(impl_->config, row.attempts), err.message)
          .run();
    });
    (give_up ? log::error : log::warn)(
        give_up ? "notification failed" : "notification delivery will be retried",
        {{"id", std::to_string(row.id)},
         {"rule", row.rule},
         {"channel", row.channel},
         {"attempts", std::to_string(attempts)},
         {"error", err.message}});
  }
  return static_cast<int>(due.size());
}

std::vector<NotificationRow> list_notifications(const std::filesystem::path& state_path,
                                                std::optional<NotificationStatus> status,
                                                int limit) {
  sql::Database db(state_path, sql::Database::Mode::ReadOnly);
  std::vector<NotificationRow> out;
  {
    auto exists =
        db.query("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'notifications'");
    if (!exists.step()) return out;  // a database from before notifications
  }
  auto q = db.query(std::string("SELECT ") + notify::NotifyDb::kColumns +
                    " FROM notifications WHERE (?1 = '' OR status = ?1) ORDER BY id DESC LIMIT ?2");
  q.bind_all(status ? std::string(to_string(*status)) : std::string(), limit);
  while (q.step()) out.push_back(notify::NotifyDb::read_row(q));
  return out;
}

}  // namespace prov
