#include "notify/context.h"

#include <map>

namespace prov::notify {
namespace {

std::string op_kind(const AuditEntry& e) {
  if (auto op = e.detail.find("op"); op != e.detail.end() && op->is_object())
    return op->value("kind", "");
  return "";
}

std::string text_of(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string id_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return "";
}

Json record_of(sql::Database& db, const std::string& worker_id) {
  if (worker_id.empty()) return Json::object();
  auto q = db.query("SELECT record FROM workers WHERE worker_id = ?1");
  q.bind(1, worker_id);
  if (!q.step()) return Json::object();
  Json record = Json::parse(q.text(0), nullptr, false);
  if (!record.is_object()) return Json::object();
  record["workerId"] = worker_id;
  return record;
}

// A person's mail: what the policy gave their account (the `mail` attribute, in the first
// target that has one), else what HR recorded.
std::string mail_of(sql::Database& db, const std::string& worker_id, const Json& record) {
  auto q = db.query(
      "SELECT json_extract(planned, '$.attributes.mail') FROM accounts "
      "WHERE worker_id = ?1 AND json_extract(planned, '$.attributes.mail') <> '' ORDER BY target");
  q.bind(1, worker_id);
  if (q.step() && !q.is_null(0)) return q.text(0);
  for (const char* field : {"email", "workEmail", "mail"})
    if (auto m = text_of(record, field); !m.empty()) return m;
  return "";
}

std::string username_of(sql::Database& db, const AuditEntry& e) {
  if (auto op = e.detail.find("op"); op != e.detail.end() && op->is_object())
    if (auto u = op->value("username", ""); !u.empty()) return u;
  auto q = db.query(
      "SELECT username FROM accounts WHERE worker_id = ?1 AND username <> '' "
      "ORDER BY target");
  q.bind(1, e.worker_id);
  return q.step() && !q.is_null(0) ? q.text(0) : std::string();
}

std::string summary_of(const AuditEntry& e) {
  if (auto s = text_of(e.detail, "summary"); !s.empty()) return s;
  if (e.action == "entitlement.released") return "retrieve " + text_of(e.detail, "entitlement");
  if (e.action == "reconcile.drift") {
    std::string out = text_of(e.detail, "kind");
    if (auto d = e.detail.find("details"); d != e.detail.end() && d->is_array())
      for (const auto& item : *d)
        if (item.is_string()) out += (out.empty() ? "" : "; ") + item.get<std::string>();
    return out;
  }
  if (e.action == "op.failed")
    return text_of(e.detail, "code") + " " + text_of(e.detail, "message");
  return e.action;
}

}  // namespace

std::vector<AuditEntry> merge_releases(std::vector<AuditEntry> rows, bool batch_full,
                                       std::int64_t& consumed) {
  const auto same_run = [](const AuditEntry& a, const AuditEntry& b) {
    return b.action == "entitlement.released" && a.action == b.action &&
           a.worker_id == b.worker_id && a.event_id == b.event_id;
  };
  if (batch_full && !rows.empty() && rows.back().action == "entitlement.released") {
    std::size_t start = rows.size() - 1;
    while (start > 0 && same_run(rows[start - 1], rows[start])) --start;
    if (start > 0) rows.resize(start);
  }
  consumed = rows.empty() ? 0 : rows.back().id;
  std::vector<AuditEntry> out;
  for (auto& row : rows) {
    if (!out.empty() && same_run(out.back(), row)) {
      AuditEntry& run = out.back();
      run.detail["entitlements"].push_back(text_of(row.detail, "entitlement"));
      run.detail["entitlement"] =
          text_of(run.detail, "entitlement") + ", " + text_of(row.detail, "entitlement");
      continue;
    }
    if (row.action == "entitlement.released")
      row.detail["entitlements"] = Json::array({text_of(row.detail, "entitlement")});
    out.push_back(std::move(row));
  }
  return out;
}

bool matches(const NotificationRule& rule, const AuditEntry& e) {
  bool hit = false;
  switch (rule.trigger) {
    case NotifyTrigger::HirePlanned:
      hit = e.action == "op.planned" && op_kind(e) == "create";
      break;
    case NotifyTrigger::AccountReady:
      hit = e.action == "op.applied" && op_kind(e) == "create";
      break;
    case NotifyTrigger::Held:
      hit = e.action == "op.held";
      break;
    case NotifyTrigger::DeadLetter:
      hit = e.action == "op.failed";
      break;
    case NotifyTrigger::ReconcileDrift:
      hit = e.action == "reconcile.drift";
      break;
    case NotifyTrigger::RetrieveEntitlements:
      hit = e.action == "entitlement.released";
      break;
  }
  return hit && (rule.target.empty() || text_of(e.detail, "target") == rule.target);
}

Json build_context(sql::Database& db, const NotificationRule& rule, const AuditEntry& e,
                   const NotificationsConfig& config) {
  Json worker = record_of(db, e.worker_id);
  Json manager = Json::object();
  if (auto m = worker.find("managerId"); m != worker.end()) {
    const std::string manager_id = id_text(*m);
    manager = record_of(db, manager_id);
    if (!manager_id.empty()) manager["mail"] = mail_of(db, manager_id, manager);
  }
  return Json{{"worker", std::move(worker)},
              {"manager", std::move(manager)},
              {"username", username_of(db, e)},
              {"target", text_of(e.detail, "target")},
              {"trigger", std::string(to_string(rule.trigger))},
              {"summary", summary_of(e)},
              {"detail", e.detail},
              {"password_handover", config.password_handover},
              {"rule", rule.name}};
}

Rendered render_mail(const NotificationRule& rule, const Json& c) {
  const Json& w = c["worker"];
  const std::string name = text_of(w, "firstName") + " " + text_of(w, "lastName");
  const std::string who = name + " (" + text_of(w, "workerId") + ")";
  Rendered out;
  if (rule.subject) {
    out.subject = rule.subject(c);
  } else {
    static const std::map<NotifyTrigger, std::string> kWhat = {
        {NotifyTrigger::HirePlanned, "New hire planned"},
        {NotifyTrigger::AccountReady, "Account ready"},
        {NotifyTrigger::Held, "Change held for approval"},
        {NotifyTrigger::DeadLetter, "Change failed"},
        {NotifyTrigger::ReconcileDrift, "Directory drift"},
        {NotifyTrigger::RetrieveEntitlements, "Retrieve from leaver"}};
    out.subject = kWhat.at(rule.trigger) + ": " + who;
  }
  if (rule.body) {
    out.body = rule.body(c);
  } else {
    out.body = "Worker: " + who + "\n";
    if (auto u = text_of(c, "username"); !u.empty()) out.body += "Username: " + u + "\n";
    if (auto t = text_of(c, "target"); !t.empty()) out.body += "Target: " + t + "\n";
    out.body += "What: " + text_of(c, "summary") + "\n";
  }
  // Whatever the template says, the reader of an account-ready mail learns how the password
  // reaches the new hire; the password itself is never part of a notification.
  if (rule.trigger == NotifyTrigger::AccountReady) {
    const std::string handover = text_of(c, "password_handover");
    if (out.body.find(handover) == std::string::npos)
      out.body += (out.body.empty() || out.body.back() == '\n' ? "\n" : "\n\n") + handover + "\n";
  }
  // Header injection: a subject is one line whatever the HR record holds.
  for (char& ch : out.subject)
    if (ch == '\r' || ch == '\n') ch = ' ';
  return out;
}

std::string render_webhook(const NotificationRule& rule, const AuditEntry& e, const Json& c) {
  const Json& w = c["worker"];
  Json worker{{"workerId", e.worker_id}};
  for (const char* field : {"firstName", "lastName", "managerId"})
    if (auto it = w.find(field); it != w.end()) worker[field] = *it;
  return Json{{"type", "provisiond." + std::string(to_string(rule.trigger))},
              {"timestamp", format_time(e.at)},
              {"data",
               {{"rule", rule.name},
                {"audit_id", e.id},
                {"worker", worker},
                {"username", c["username"]},
                {"target", c["target"]},
                {"summary", c["summary"]},
                {"detail", e.detail}}}}
      .dump();
}

}  // namespace prov::notify
