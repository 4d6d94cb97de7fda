#include "policy/notifications.h"

#include <algorithm>
#include <map>
#include <memory>

#include "policy/template.h"

namespace prov {
namespace {
constexpr std::pair<NotifyTrigger, std::string_view> kTriggers[] = {
    {NotifyTrigger::HirePlanned, "hire_planned"},
    {NotifyTrigger::AccountReady, "account_ready"},
    {NotifyTrigger::Held, "held"},
    {NotifyTrigger::DeadLetter, "dead_letter"},
    {NotifyTrigger::ReconcileDrift, "reconcile_drift"},
    {NotifyTrigger::RetrieveEntitlements, "retrieve_entitlements"},
};
}  // namespace

std::string_view to_string(NotifyTrigger t) {
  for (const auto& [trigger, name] : kTriggers)
    if (trigger == t) return name;
  return "";
}

std::optional<NotifyTrigger> parse_notify_trigger(std::string_view name) {
  for (const auto& [trigger, n] : kTriggers)
    if (n == name) return trigger;
  return std::nullopt;
}

std::vector<PolicyDiagnostic> undeliverable_rules(const Policy& policy,
                                                  const NotificationsConfig& config) {
  std::string configured;
  for (const auto& w : config.webhooks) configured += (configured.empty() ? "" : ", ") + w.name;
  std::vector<PolicyDiagnostic> out;
  const auto report = [&](const NotificationRule& rule, std::string message, std::string hint) {
    PolicyDiagnostic d = rule.at;
    d.message = "notification rule '" + rule.name + "' " + std::move(message);
    d.hint = std::move(hint);
    out.push_back(std::move(d));
  };
  for (const auto& rule : policy.notification_rules()) {
    if (rule.mails() && config.smtp.url.empty())
      report(rule, "sends mail, but the config has no notifications.smtp",
             "set notifications.smtp.url and from in provisiond.yaml");
    for (const auto& hook : rule.webhooks)
      if (std::none_of(config.webhooks.begin(), config.webhooks.end(),
                       [&](const NotifyWebhookConfig& w) { return w.name == hook; }))
        report(rule, "names webhook '" + hook + "', which the config does not have",
               configured.empty() ? "add it to notifications.webhooks in provisiond.yaml"
                                  : "configured: " + configured);
  }
  return out;
}

namespace {
std::vector<std::string> trigger_list() {
  std::vector<std::string> out;
  for (const auto& [trigger, name] : kTriggers) out.emplace_back(name);
  return out;
}
}  // namespace

std::string notify_trigger_names() {
  std::string out;
  for (const auto& name : trigger_list()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

namespace policy {
namespace {

const std::vector<std::string> kRuleKeys = {"name", "on", "target", "mail", "webhook"};
const std::vector<std::string> kMailKeys = {"to_manager", "to", "subject", "body"};
// What a notification template may read: the context the notifier builds for each happening.
const std::vector<std::string> kRoots = {"worker", "manager",           "username",
                                         "target", "trigger",           "summary",
                                         "detail", "password_handover", "rule"};

YAML::Mark mark_of(const YAML::Node& v, const YAML::Node& k) {
  return (v.IsNull() || !v.IsDefined()) ? k.Mark() : v.Mark();
}

class RuleParser {
 public:
  RuleParser(const SourceFile& file, DiagnosticSink& sink) : file_(file), sink_(sink) {}

  // Every key of `map` in `known`, once; unknown and repeated keys are reported.
  template <class F>
  void keys(const YAML::Node& map, const std::vector<std::string>& known, const std::string& what,
            F&& fn) {
    std::map<std::string, bool> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        sink_.error(file_, kv.first.Mark(), "unknown " + what + " '" + key + "'",
                    key_hint(key, known));
        continue;
      }
      if (!seen.emplace(key, true).second) {
        sink_.error(file_, kv.first.Mark(), "'" + key + "' appears twice in the same map",
                    "remove one of them");
        continue;
      }
      fn(key, kv.first, kv.second);
    }
  }

  std::optional<std::string> text(const YAML::Node& v, const YAML::Node& k,
                                  const std::string& name) {
    if (v.IsScalar() && !v.Scalar().empty()) return v.Scalar();
    sink_.error(file_, mark_of(v, k), "'" + name + "' must be a non-empty text value",
                "write a single value, not a list or map");
    return std::nullopt;
  }

  std::vector<std::string> names(const YAML::Node& v, const YAML::Node& k,
                                 const std::string& name) {
    std::vector<std::string> out;
    if (v.IsScalar() && !v.Scalar().empty()) return {v.Scalar()};
    if (!v.IsSequence()) {
      sink_.error(file_, mark_of(v, k), "'" + name + "' must be a name or a list of names",
                  "e.g. " + name + ": [it-desk@example.com]");
      return out;
    }
    for (const auto& item : v) {
      if (item.IsScalar() && !item.Scalar().empty()) {
        out.push_back(item.Scalar());
      } else {
        sink_.error(file_, item.Mark(), "each entry of '" + name + "' must be plain text", "");
      }
    }
    return out;
  }

  // A template of the policy's language whose variables are names in the notification context;
  // the renderer walks the context as Scope walks a worker record.
  std::function<std::string(const Json&)> templ(const YAML::Node& v, const YAML::Node& k,
                                                const std::string& name) {
    if (!v.IsScalar()) {
      sink_.error(file_, mark_of(v, k), "'" + name + "' must be a template string",
                  "e.g. " + name + ": \"Welcome {{ worker.firstName }}\"");
      return {};
    }
    std::vector<TemplateError> errors;
    auto t = std::make_shared<Template>(Template::parse(v.Scalar(), errors));
    for (auto& e : errors)
      sink_.error_in_scalar(file_, v.Mark(), v.Scalar(), e.offset, std::move(e.message),
                            std::move(e.hint));
    bool ok = errors.empty();
    t->for_each_var([&](VarRef& var) {
      std::vector<std::string> path;
      std::size_t start = 0;
      for (;;) {
        const std::size_t dot = var.name.find('.', start);
        path.push_back(var.name.substr(start, dot == std::string::npos ? dot : dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      if (std::find(kRoots.begin(), kRoots.end(), path.front()) == kRoots.end() ||
          std::any_of(path.begin(), path.end(), [](const auto& p) { return p.empty(); })) {
        ok = false;
        const std::string guess = closest(path.front(), kRoots);
        sink_.error_in_scalar(file_, v.Mark(), v.Scalar(), var.offset,
                              "unknown variable '" + var.name + "' in a notification",
                              guess.empty() || guess == path.front()
                                  ? "notification templates read worker.*, manager.*, "
                                    "username, target, trigger, summary, detail.*, "
                                    "password_handover, rule"
                                  : "did you mean '" + guess + "'?");
        return;
      }
      var.kind = VarKind::Worker;
      var.path = std::move(path);
    });
    if (!ok) return {};
    return [t](const Json& context) {
      const EvalContext ctx;
      const Scope scope(context, ctx, "");
      std::string out;
      t->render(scope, out);
      return out;
    };
  }

 private:
  const SourceFile& file_;
  DiagnosticSink& sink_;
};

}  // namespace

void parse_notifications(const SourceFile& file, const YAML::Node& v, const YAML::Node& k,
                         DiagnosticSink& sink, std::vector<NotificationRule>& out) {
  if (!v.IsSequence()) {
    sink.error(file, mark_of(v, k), "'notifications' must be a list of rules",
               "start each rule with '- name: ...' and 'on: account_ready'");
    return;
  }
  RuleParser p(file, sink);
  for (const auto& item : v) {
    if (!item.IsMap()) {
      sink.error(file, item.Mark(), "a notification rule must be a map",
                 "e.g. - { name: tell-manager, on: account_ready, mail: { to_manager: true } }");
      continue;
    }
    NotificationRule rule;
    rule.location = where(file, item.Mark());
    rule.at = PolicyDiagnostic{file.display, item.Mark().line + 1, item.Mark().column + 1, "", ""};
    bool ok = true, has_on = false;
    p.keys(item, kRuleKeys, "notification key",
           [&](const std::string& key, const YAML::Node& kk, const YAML::Node& vv) {
             if (key == "name") {
               if (auto s = p.text(vv, kk, key))
                 rule.name = *s;
               else
                 ok = false;
             } else if (key == "on") {
               has_on = true;
               const auto t = vv.IsScalar() ? parse_notify_trigger(vv.Scalar()) : std::nullopt;
               if (t) {
                 rule.trigger = *t;
               } else {
                 ok = false;
                 sink.error(file, mark_of(vv, kk),
                            "'on' must be one of: " + notify_trigger_names() +
                                (vv.IsScalar() ? " (got '" + vv.Scalar() + "')" : ""),
                            vv.IsScalar() ? key_hint(vv.Scalar(), trigger_list(), "triggers")
                                          : "e.g. on: account_ready");
               }
             } else if (key == "target") {
               if (auto s = p.text(vv, kk, key))
                 rule.target = *s;
               else
                 ok = false;
             } else if (key == "webhook") {
               rule.webhooks = p.names(vv, kk, key);
             } else if (key == "mail") {
               if (!vv.IsMap()) {
                 ok = false;
                 sink.error(file, mark_of(vv, kk), "'mail' must be a map",
                            "keys: to_manager, to, subject, body");
                 return;
               }
               p.keys(vv, kMailKeys, "mail key",
                      [&](const std::string& mk, const YAML::Node& mkk, const YAML::Node& mv) {
                        if (mk == "to_manager") {
                          if (mv.IsScalar() && (mv.Scalar() == "true" || mv.Scalar() == "false")) {
                            rule.mail_manager = mv.Scalar() == "true";
                          } else {
                            ok = false;
                            sink.error(file, mark_of(mv, mkk), "'to_manager' must be true or false",
                                       "e.g. to_manager: true");
                          }
                        } else if (mk == "to") {
                          rule.mail_to = p.names(mv, mkk, mk);
                          for (const auto& a : rule.mail_to)
                            if (a.find('@') == std::string::npos ||
                                a.find_first_of(" <>,\r\n") != std::string::npos) {
                              ok = false;
                              sink.error(file, mark_of(mv, mkk),
                                         "'" + a + "' is not a plain mail address",
                                         "write user@domain");
                            }
                        } else {
                          auto f = p.templ(mv, mkk, mk);
                          if (!f) ok = false;
                          (mk == "subject" ? rule.subject : rule.body) = std::move(f);
                        }
                      });
               if (!rule.mails()) {
                 ok = false;
                 sink.error(file, kk.Mark(), "'mail' has no recipient",
                            "add 'to_manager: true' or 'to: [address]'");
               }
             }
           });
    if (rule.name.empty() && ok) {
      sink.error(file, item.Mark(), "notification rule has no name", "add 'name: <rule name>'");
      ok = false;
    }
    if (!has_on) {
      sink.error(file, item.Mark(), "notification rule has no 'on'",
                 "name the trigger: " + notify_trigger_names());
      ok = false;
    }
    if (ok && !rule.mails() && rule.webhooks.empty()) {
      sink.error(file, item.Mark(), "notification rule '" + rule.name + "' does nothing",
                 "give it 'mail:' or 'webhook:'");
      ok = false;
    }
    const auto same = std::find_if(out.begin(), out.end(),
                                   [&](const NotificationRule& r) { return r.name == rule.name; });
    if (ok && same != out.end()) {
      sink.error(
          file, item.Mark(),
          "duplicate notification rule '" + rule.name + "' (first at " + same->location + ")",
          "give every rule a unique name: outbox rows carry it");
      ok = false;
    }
    if (ok) out.push_back(std::move(rule));
  }
}

}  // namespace policy
}  // namespace prov
