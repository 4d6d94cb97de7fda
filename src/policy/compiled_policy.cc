#include "policy/compiled_policy.h"

#include <algorithm>

#include "policy/text.h"

namespace prov::policy {
namespace {

constexpr int kFirstCounter = 2;
constexpr int kLastCounter = 99;

// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, std::size_t max) {
  if (s.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
}

}  // namespace

bool CompiledPolicy::try_username(const Template& candidate, bool counted, Scope& scope,
                                  const EvalContext& ctx, Evaluation& out) const {
  std::string name;
  candidate.render(scope, name);
  for (const auto& f : username_.transform) apply_filter(f, scope, name);
  const auto max = static_cast<std::size_t>(username_.max_length);
  if (name.size() > max) {
    // Shorten the name before the number so jsmith-with-a-long-name2 and ...3 stay distinct.
    std::string number;
    if (counted) {
      candidate.render_counter(scope, number);
      for (const auto& f : username_.transform) apply_filter(f, scope, number);
    }
    if (!number.empty() && number.size() < max && name.ends_with(number)) {
      name.resize(name.size() - number.size());
      truncate_utf8(name, max - number.size());
      name += number;
    } else {
      truncate_utf8(name, max);
    }
  }
  if (name.empty()) {
    out.username_trail.push_back({candidate.source(), "empty"});
    return false;
  }
  for (const auto& earlier : out.username_trail) {
    if (earlier.candidate == name) {
      out.username_trail.push_back({std::move(name), "duplicate"});
      return false;
    }
  }
  const bool free = !ctx.username_free || ctx.username_free(name);
  out.username_trail.push_back({name, free ? "chosen" : "taken"});
  if (free) scope.username = std::move(name);
  return free;
}

void CompiledPolicy::choose_username(Scope& scope, const EvalContext& ctx, Evaluation& out) const {
  if (ctx.existing_username && !ctx.existing_username->empty()) {
    scope.username = *ctx.existing_username;
    out.username_trail.push_back({scope.username, "kept"});
    return;
  }
  for (std::size_t i = 0; i < username_.candidates.size(); ++i) {
    const Template& candidate = username_.candidates[i];
    if (username_.counted[i]) {
      for (int n = kFirstCounter; n <= kLastCounter; ++n) {
        scope.counter = n;
        if (try_username(candidate, true, scope, ctx, out)) return;
      }
    } else if (try_username(candidate, false, scope, ctx, out)) {
      return;
    }
  }
  out.hold_reason = "no free username: all " + std::to_string(out.username_trail.size()) +
                    " candidates are taken or unusable; add a candidate or free a name";
}

// The template an attribute takes: the first matching role's override, else its base (null
// when neither), and the name of that role (null for the base).
std::pair<const Template*, const std::string*> CompiledPolicy::choose(
    const std::optional<Template>& base, const std::vector<AttributeDefinition::Override>& overrides,
    const char* matched) const {
  for (const auto& o : overrides)
    if (matched[o.role]) return {&o.value, &roles_[o.role].name};
  return {base ? &*base : nullptr, nullptr};
}

Evaluation CompiledPolicy::evaluate(const Worker& worker, const EvalContext& ctx) const {
  Evaluation ev;
  DesiredAccount& account = ev.account;
  account.worker_id = worker.worker_id;
  if (account.worker_id.empty()) {
    const auto it = worker.record.find("workerId");
    if (it != worker.record.end()) append_json_scalar(*it, account.worker_id);
  }
  Scope scope(worker.record, ctx, account.worker_id, field_slots_);

  // Roles depend only on the worker and derived facts, so they come first. Matches are
  // collected as ids; the sets are built afterwards in sorted order.
  const std::size_t n_roles = roles_.size();
  std::vector<char> marks(n_roles + group_names_.size() + entitlement_names_.size(), 0);
  char* matched = marks.data();
  char* granted = matched + n_roles;
  char* entitled = granted + group_names_.size();
  ev.roles.reserve(n_roles);
  bool ou_set = false;
  for (std::size_t i = 0; i < n_roles; ++i) {
    const RoleDefinition& role = roles_[i];
    const bool match = !role.when || policy::evaluate(*role.when, scope);
    matched[i] = match;
    RoleTrace& trace = ev.roles.emplace_back();
    trace.name = role.name;
    trace.matched = match;
    if (!match) {
      if (ctx.explain) trace.failed_condition = why_false(*role.when, scope);
      continue;
    }
    for (const int g : role.group_ids) granted[g] = 1;
    for (const int e : role.entitlement_ids) entitled[e] = 1;
    if (role.ou && !ou_set) {
      account.ou = *role.ou;
      ou_set = true;
    }
  }
  if (!ou_set) account.ou = default_ou_;
  const auto sources = [&](const std::vector<int> RoleDefinition::*ids, int id) {
    std::string out;
    for (std::size_t i = 0; i < n_roles; ++i) {
      if (!matched[i]) continue;
      const auto& list = roles_[i].*ids;
      if (std::find(list.begin(), list.end(), id) == list.end()) continue;
      if (!out.empty()) out += ", ";
      out += roles_[i].name;
    }
    return out;
  };
  for (std::size_t g = 0; g < group_names_.size(); ++g) {
    if (!granted[g]) continue;
    account.groups.emplace_hint(account.groups.end(), group_names_[g]);
    if (ctx.explain) {
      ev.group_sources.emplace_hint(ev.group_sources.end(), group_names_[g],
                                    sources(&RoleDefinition::group_ids, static_cast<int>(g)));
    }
  }
  // Grants in named targets: few roles have them, so a plain walk over the matched roles.
  for (std::size_t i = 0; i < n_roles; ++i) {
    if (!matched[i]) continue;
    for (const auto& [target, groups] : roles_[i].target_groups)
      for (const auto& g : groups) {
        ev.target_groups[target].insert(g);
        if (!ctx.explain) continue;
        std::string& by = ev.target_group_sources[target][g];
        by += (by.empty() ? "" : ", ") + roles_[i].name;
      }
  }
  for (std::size_t e = 0; e < entitlement_names_.size(); ++e) {
    if (!entitled[e]) continue;
    account.entitlements.emplace_hint(account.entitlements.end(), entitlement_names_[e]);
    if (ctx.explain) {
      ev.entitlement_sources.emplace_hint(
          ev.entitlement_sources.end(), entitlement_names_[e],
          sources(&RoleDefinition::entitlement_ids, static_cast<int>(e)));
    }
  }

  // Username and attributes in dependency order.
  scope.attributes.resize(attributes_.size());
  for (const int step : order_) {
    if (step < 0) {
      choose_username(scope, ctx, ev);
      continue;
    }
    const AttributeDefinition& attr = attributes_[static_cast<std::size_t>(step)];
    const auto [chosen, role_name] = choose(attr.base, attr.overrides, matched);
    if (chosen == nullptr) continue;
    std::string& value = scope.attributes[static_cast<std::size_t>(step)];
    chosen->render(scope, value);
    if (value.empty()) continue;
    account.attributes.emplace(attr.name, value);
    if (!ctx.explain) continue;
    ValueTrace trace;
    trace.value = value;
    trace.source = role_name ? "role " + *role_name + ": " + chosen->source() : chosen->source();
    ev.attributes.emplace(attr.name, std::move(trace));
  }
  account.username = scope.username;
  // Each target's own values, once every attribute they may read is known.
  for (const auto& [target, defs] : target_attributes_) {
    for (const auto& attr : defs) {
      const auto [chosen, role_name] = choose(attr.base, attr.overrides, matched);
      if (chosen == nullptr) continue;
      std::string value;
      chosen->render(scope, value);
      if (ctx.explain) {
        ev.target_attribute_sources[target][attr.name] = ValueTrace{
            value, role_name ? "role " + *role_name + ": " + chosen->source() : chosen->source()};
      }
      ev.target_attributes[target][attr.name] = std::move(value);
    }
  }
  account.attributes["employeeNumber"] = account.worker_id;
  if (ctx.explain) {
    ev.attributes["employeeNumber"] = ValueTrace{account.worker_id, "workerId (always set)"};
  }

  const auto manager = worker.record.find("managerId");
  if (manager != worker.record.end() && !manager->is_null()) {
    std::string id;
    append_json_scalar(*manager, id);
    if (!id.empty()) account.manager_worker_id = std::move(id);
  }
  account.set_initial_password = password_.initial;
  return ev;
}

std::string CompiledPolicy::ou_source(const Evaluation& evaluation) const {
  for (std::size_t i = 0; i < roles_.size() && i < evaluation.roles.size(); ++i) {
    if (evaluation.roles[i].matched && roles_[i].ou) return roles_[i].name;
  }
  return {};
}

}  // namespace prov::policy

namespace prov {

std::vector<PolicyDiagnostic> unknown_targets(const Policy& policy,
                                              const std::vector<std::string>& targets) {
  std::vector<PolicyDiagnostic> out;
  for (const auto& ref : policy.target_references()) {
    if (std::find(targets.begin(), targets.end(), ref.target) != targets.end()) continue;
    PolicyDiagnostic d = ref.at;
    std::string known;
    for (const auto& t : targets) known += (known.empty() ? "" : ", ") + t;
    d.message = "unknown target '" + ref.target + "'";
    d.hint = "the config's targets are: " + known;
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<PolicyDiagnostic> undeliverable_passwords(const Policy& policy,
                                                      const std::vector<std::string>& without_folder) {
  std::vector<PolicyDiagnostic> out;
  const PasswordPolicy& pw = policy.password();
  if (!pw.initial) return out;
  for (const auto& key : without_folder) {
    PolicyDiagnostic d{pw.file, pw.line, pw.column, "", ""};
    d.message = "initial passwords are delivered as files, but " + key + ".password_dir is not set";
    d.hint = "set " + key + ".password_dir in the config, or password: { initial: false } to "
             "create accounts without a password";
    out.push_back(std::move(d));
  }
  return out;
}

std::set<std::string> managed_groups_in(const Policy& policy, const std::string& target,
                                        bool default_target) {
  std::set<std::string> out;
  if (default_target) out = policy.managed_groups();
  if (auto it = policy.target_groups().find(target); it != policy.target_groups().end())
    out.insert(it->second.begin(), it->second.end());
  return out;
}

std::map<std::string, std::string> attributes_in(const Evaluation& evaluation,
                                                 const std::string& target) {
  std::map<std::string, std::string> out = evaluation.account.attributes;
  const auto own = evaluation.target_attributes.find(target);
  if (own == evaluation.target_attributes.end()) return out;
  for (const auto& [name, value] : own->second) {
    if (value.empty()) {
      out.erase(name);
    } else {
      out[name] = value;
    }
  }
  return out;
}

std::set<std::string> granted_groups_in(const Evaluation& evaluation, const std::string& target,
                                        bool default_target) {
  std::set<std::string> out;
  if (default_target) out = evaluation.account.groups;
  if (auto it = evaluation.target_groups.find(target); it != evaluation.target_groups.end())
    out.insert(it->second.begin(), it->second.end());
  return out;
}

}  // namespace prov
