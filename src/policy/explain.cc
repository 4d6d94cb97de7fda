#include "policy/explain.h"

#include <algorithm>
#include <sstream>

#include "policy/compiled_policy.h"

namespace prov::policy {
namespace {

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::string field(const Json& record, const char* key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string ou_origin(const Policy& policy, const Evaluation& evaluation) {
  const auto* compiled = dynamic_cast<const CompiledPolicy*>(&policy);
  const std::string role = compiled ? compiled->ou_source(evaluation) : std::string();
  return role.empty() ? "policy default" : "role " + role;
}

std::size_t width_of(const std::map<std::string, std::string>& m, std::size_t min) {
  std::size_t w = min;
  for (const auto& [k, v] : m) w = std::max(w, k.size() + 2);
  return w;
}

}  // namespace

std::string explain_text(const Policy& policy, const Worker& worker, const Evaluation& ev) {
  const DesiredAccount& a = ev.account;
  std::ostringstream out;
  std::string who = field(worker.record, "firstName") + " " + field(worker.record, "lastName");
  out << "worker " << a.worker_id << (who.size() > 1 ? "  " + who : "") << "\n";

  out << "username: " << (a.username.empty() ? "(none)" : a.username) << "\n";
  std::size_t cw = 12;
  for (const auto& t : ev.username_trail) cw = std::max(cw, t.candidate.size() + 2);
  for (const auto& t : ev.username_trail) {
    out << "  " << pad(t.candidate, cw) << t.verdict << "\n";
  }
  if (ev.hold_reason) out << "  HOLD: " << *ev.hold_reason << "\n";

  out << "ou: " << (a.ou.empty() ? "(base DN)" : a.ou) << "  (" << ou_origin(policy, ev) << ")\n";

  out << "roles:\n";
  std::size_t rw = 12;
  for (const auto& r : ev.roles) rw = std::max(rw, r.name.size() + 2);
  for (const auto& r : ev.roles) {
    out << "  " << (r.matched ? "[x] " : "[ ] ") << pad(r.name, rw)
        << (r.matched ? "matched" : r.failed_condition) << "\n";
  }

  out << "attributes:\n";
  std::size_t aw = 12;
  for (const auto& [name, t] : ev.attributes) aw = std::max(aw, name.size() + 2);
  for (const auto& [name, t] : ev.attributes) {
    out << "  " << pad(name, aw) << "= " << t.value << "\n"
        << "  " << std::string(aw, ' ') << "  from " << t.source << "\n";
  }

  out << "groups:\n";
  if (ev.group_sources.empty()) out << "  (none)\n";
  const std::size_t gw = width_of(ev.group_sources, 12);
  for (const auto& [g, role] : ev.group_sources) {
    out << "  " << pad(g, gw) << "granted by " << role << "\n";
  }
  // Grants in named targets; the groups above are the default target's (its own grants in
  // a target's section add to them there).
  for (const auto& [target, sources] : ev.target_group_sources) {
    out << "groups in target " << target << ":\n";
    const std::size_t tw = width_of(sources, 12);
    for (const auto& [g, role] : sources) out << "  " << pad(g, tw) << "granted by " << role << "\n";
  }
  // A target's own attribute values; the attributes above are what every other target gets.
  for (const auto& [target, values] : ev.target_attribute_sources) {
    out << "attributes in target " << target << ":\n";
    std::size_t tw = 12;
    for (const auto& [name, t] : values) tw = std::max(tw, name.size() + 2);
    for (const auto& [name, t] : values) {
      out << "  " << pad(name, tw) << "= " << (t.value.empty() ? "(none)" : t.value) << "\n"
          << "  " << std::string(tw, ' ') << "  from " << t.source << "\n";
    }
  }
  out << "entitlements:\n";
  if (ev.entitlement_sources.empty()) out << "  (none)\n";
  const std::size_t ew = width_of(ev.entitlement_sources, 12);
  for (const auto& [e, role] : ev.entitlement_sources) {
    out << "  " << pad(e, ew) << "granted by " << role << "\n";
  }
  out << "manager: " << a.manager_worker_id.value_or("(none)") << "\n";
  out << "initial password: " << (a.set_initial_password ? "yes" : "no") << "\n";
  return out.str();
}

Json explain_json(const Policy& policy, const Worker& worker, const Evaluation& ev) {
  (void)worker;
  const DesiredAccount& a = ev.account;
  Json j;
  j["worker_id"] = a.worker_id;
  Json trail = Json::array();
  for (const auto& t : ev.username_trail) {
    trail.push_back({{"candidate", t.candidate}, {"verdict", t.verdict}});
  }
  j["username"] = {{"value", a.username}, {"trail", trail}};
  if (ev.hold_reason) j["username"]["hold_reason"] = *ev.hold_reason;
  j["ou"] = {{"value", a.ou}, {"source", ou_origin(policy, ev)}};
  Json roles = Json::array();
  for (const auto& r : ev.roles) {
    Json role = {{"name", r.name}, {"matched", r.matched}};
    if (!r.matched) role["failed_condition"] = r.failed_condition;
    roles.push_back(std::move(role));
  }
  j["roles"] = std::move(roles);
  Json attrs = Json::object();
  for (const auto& [name, t] : ev.attributes) {
    attrs[name] = {{"value", t.value}, {"source", t.source}};
  }
  j["attributes"] = std::move(attrs);
  Json groups = Json::array();
  for (const auto& [g, role] : ev.group_sources)
    groups.push_back({{"name", g}, {"granted_by", role}});
  j["groups"] = std::move(groups);
  Json targets = Json::object();
  for (const auto& [target, sources] : ev.target_group_sources) {
    Json list = Json::array();
    for (const auto& [g, role] : sources) list.push_back({{"name", g}, {"granted_by", role}});
    targets[target] = {{"groups", std::move(list)}};
  }
  for (const auto& [target, values] : ev.target_attribute_sources) {
    Json own = Json::object();
    for (const auto& [name, t] : values) own[name] = {{"value", t.value}, {"source", t.source}};
    targets[target]["attributes"] = std::move(own);
    if (!targets[target].contains("groups")) targets[target]["groups"] = Json::array();
  }
  j["targets"] = std::move(targets);
  Json ents = Json::array();
  for (const auto& [e, role] : ev.entitlement_sources)
    ents.push_back({{"name", e}, {"granted_by", role}});
  j["entitlements"] = std::move(ents);
  j["manager_worker_id"] = a.manager_worker_id ? Json(*a.manager_worker_id) : Json(nullptr);
  j["set_initial_password"] = a.set_initial_password;
  return j;
}

}  // namespace prov::policy
