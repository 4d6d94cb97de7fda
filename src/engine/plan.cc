#include "prov/plan.h"

#include <sstream>

namespace prov {

namespace {

Operation base_op(OpKind kind, const DesiredAccount& d, const std::optional<Account>& known) {
  Operation op;
  op.kind = kind;
  op.worker_id = d.worker_id;
  op.username = known && known->exists ? known->username : d.username;
  if (known) {
    op.dn = known->dn;
    op.anchor = known->anchor;
  }
  return op;
}

// Whether provisiond may remove `known` from `group` (see PlanContext::managed_groups).
bool removable(const std::string& group, const Account& known, const PlanContext& ctx) {
  if (ctx.released_groups.count(group)) return false;
  return ctx.managed_groups.count(group) || known.granted.count(group);
}

}  // namespace

std::vector<Operation> plan(const DesiredAccount& desired, const std::optional<Account>& known,
                            const PlanContext& ctx) {
  std::vector<Operation> ops;
  const bool has_account = known && known->exists;

  if (!desired.exists) {
    if (!has_account) return ops;
    for (const auto& g : known->groups) {
      if (!removable(g, *known, ctx)) continue;
      auto op = base_op(OpKind::RemoveMember, desired, known);
      op.group = g;
      op.reason = "account is being removed";
      ops.push_back(op);
    }
    auto op = base_op(OpKind::Delete, desired, known);
    op.reason = "worker no longer needs an account";
    ops.push_back(op);
    return ops;
  }

  std::map<std::string, std::string> want = desired.attributes;
  if (ctx.manager_dn) want["manager"] = *ctx.manager_dn;

  Account current;
  if (!has_account) {
    if (desired.username.empty()) return ops;  // held: no free username; nothing half-created
    auto op = base_op(OpKind::Create, desired, known);
    op.username = desired.username;
    op.ou = desired.ou;
    op.attributes = want;
    op.enabled = desired.enabled;
    op.set_initial_password = desired.set_initial_password;
    op.reason = "worker needs an account";
    ops.push_back(op);
    current.username = desired.username;
    current.ou = desired.ou;
    current.attributes = want;
    current.enabled = desired.enabled;
  } else {
    current = *known;
    // Lock first: when someone leaves, access ends before any tidying up.
    if (!desired.enabled && current.enabled) {
      auto op = base_op(OpKind::Disable, desired, known);
      op.reason = "account must be locked";
      ops.push_back(op);
    }
    // Then the groups that are no longer granted, still at the entry's current DN: access goes
    // right after the lock, and a leaver's move into the disabled OU finds no memberships left
    // to rewrite (groupOfNames holds DNs).
    for (const auto& g : current.groups) {
      if (desired.groups.count(g) || !removable(g, current, ctx)) continue;
      auto op = base_op(OpKind::RemoveMember, desired, known);
      op.group = g;
      op.reason = ctx.managed_groups.count(g) ? "no longer granted by policy"
                                              : "no role grants this group any more";
      ops.push_back(op);
    }
    if (current.ou != desired.ou) {
      auto op = base_op(OpKind::Move, desired, known);
      op.ou = desired.ou;
      op.reason = "placement " + current.ou + " -> " + desired.ou;
      ops.push_back(op);
    }
    auto update = base_op(OpKind::Update, desired, known);
    for (const auto& [k, v] : want) {
      auto it = current.attributes.find(k);
      if (it == current.attributes.end() || it->second != v) update.attributes[k] = v;
    }
    // Attributes we set before and the policy no longer produces are cleared. `manager` stays
    // managed even while the manager has no account yet.
    for (const auto& [k, v] : current.attributes)
      if (!want.count(k) && !v.empty()) update.attributes[k] = "";
    if (!update.attributes.empty()) {
      update.reason = "attributes changed";
      ops.push_back(update);
    }
    if (desired.enabled && !current.enabled) {
      auto op = base_op(OpKind::Enable, desired, known);
      op.reason = "account should be usable";
      ops.push_back(op);
    }
  }

  for (const auto& g : desired.groups) {
    if (current.groups.count(g)) continue;
    auto op = base_op(OpKind::AddMember, desired, known);
    op.username = current.username;
    op.group = g;
    op.reason = "granted by policy";
    ops.push_back(op);
  }
  return ops;
}

Account project(Account a, const Operation& op) {
  switch (op.kind) {
    case OpKind::Create:
      a.worker_id = op.worker_id;
      a.exists = true;
      a.username = op.username;
      a.ou = op.ou;
      a.attributes = op.attributes;
      a.enabled = op.enabled;
      a.groups.clear();
      a.granted.clear();
      break;
    case OpKind::Update:
      for (const auto& [k, v] : op.attributes) {
        if (v.empty())
          a.attributes.erase(k);
        else
          a.attributes[k] = v;
      }
      break;
    case OpKind::Move: a.ou = op.ou; break;
    case OpKind::Enable: a.enabled = true; break;
    case OpKind::Disable: a.enabled = false; break;
    case OpKind::AddMember:
      a.groups.insert(op.group);
      a.granted.insert(op.group);
      break;
    case OpKind::RemoveMember:
      a.groups.erase(op.group);
      a.granted.erase(op.group);
      break;
    case OpKind::Delete:
      a.exists = false;
      a.enabled = false;
      a.groups.clear();
      a.granted.clear();
      a.dn.clear();
      a.anchor.clear();
      break;
  }
  return a;
}

std::string describe(const Operation& op) {
  std::ostringstream s;
  s << to_string(op.kind);
  switch (op.kind) {
    case OpKind::Create: s << ' ' << op.username << " in " << op.ou; break;
    case OpKind::Move: s << " to " << op.ou; break;
    case OpKind::AddMember:
    case OpKind::RemoveMember: s << ' ' << op.group; break;
    case OpKind::Update: {
      const char* sep = " ";
      for (const auto& [k, v] : op.attributes) {
        s << sep << k << '=' << (v.empty() ? "(removed)" : v);
        sep = ", ";
      }
      break;
    }
    default: break;
  }
  if (!op.reason.empty()) s << " (" << op.reason << ')';
  return s.str();
}

void PlanSummary::add(const Operation& op) {
  switch (op.kind) {
    case OpKind::Create: ++creates; break;
    case OpKind::Update: ++updates; break;
    case OpKind::Move: ++moves; break;
    case OpKind::Enable: ++enables; break;
    case OpKind::Disable: ++locks; break;
    case OpKind::AddMember: ++group_adds; break;
    case OpKind::RemoveMember: ++group_removals; break;
    case OpKind::Delete: ++deletes; break;
  }
}

std::string PlanSummary::to_string() const {
  std::ostringstream s;
  s << "creates " << creates << ", updates " << updates << ", moves " << moves << ", enables "
    << enables << ", locks " << locks << ", group adds " << group_adds << ", group removals "
    << group_removals << ", deletes " << deletes;
  return s.str();
}

}  // namespace prov
