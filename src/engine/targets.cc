// The per-target half of planning: which targets can say who holds a name, one target's diff,
// its brake window and its queue. Engine::plan_worker (engine.cc) evaluates the policy once and
// hands each target its desired account.
#include <algorithm>

#include "engine_parts.h"
#include "executor.h"
#include "prov/log.h"
#include "prov/metrics.h"

namespace prov {

// Who holds a name across targets: nobody only if nobody holds it anywhere; different holders
// in different targets make it "" (an entry of nobody in particular: taken for everyone).
void merge_holder(std::optional<std::string>& into, const std::optional<std::string>& seen) {
  if (!seen) return;
  if (!into) {
    into = seen;
  } else if (*into != *seen) {
    into = std::string();
  }
}

AuditRecord audit_of(const std::string& action, const std::string& worker_id,
                     const std::string& event_id, TimePoint at, Json detail) {
  AuditRecord r;
  r.at = at;
  r.action = action;
  r.worker_id = worker_id;
  r.event_id = event_id;
  r.detail = std::move(detail);
  return r;
}

bool Engine::can_ask_targets() const {
  return std::any_of(targets_.begin(), targets_.end(), [](const Target& t) { return t.asks(); });
}

std::optional<std::optional<std::string>> Engine::holder_anywhere(const std::string& name) {
  std::optional<std::string> holder;
  for (const auto& t : targets_) {
    AccountReader* lookup = t.asks();
    if (!lookup) continue;
    auto asked = lookup->username_holder(name);
    if (!asked.ok()) return std::nullopt;
    merge_holder(holder, asked.value());
  }
  return holder;
}

std::optional<Account> Engine::named_account(const std::string& worker_id) {
  for (const auto& t : targets_)
    if (auto acc = store_.account(t.name, worker_id);
        acc && acc->planned.exists && !acc->planned.username.empty())
      return acc->planned;
  return std::nullopt;
}

void Engine::plan_target(TargetPlan& tp, const DesiredAccount& desired,
                         const std::shared_ptr<const Policy>& pol) {
  const Target& t = *tp.target;
  PlanContext pctx;
  pctx.managed_groups = managed_groups_in(*pol, t.name, t.is_default);
  pctx.released_groups = pol->released_groups();
  if (desired.manager_worker_id) {
    if (auto m = store_.account(t.name, *desired.manager_worker_id)) {
      if (m->applied.exists && !m->applied.dn.empty()) {
        pctx.manager_dn = m->applied.dn;
      } else if (m->planned.exists && t.connector && t.connector->capabilities().forward_references) {
        // The manager's create is still queued: link now rather than write this entry twice.
        // Should the manager's entry end up elsewhere, the relink after its create corrects it.
        if (auto dn = t.connector->planned_dn(m->planned.username, m->planned.ou); !dn.empty())
          pctx.manager_dn = std::move(dn);
      }
    }
  }
  if (tp.fresh_account && desired.exists) {
    // Operations of one worker run in order, so the create never meets the old entry.
    DesiredAccount gone;
    gone.worker_id = desired.worker_id;
    gone.exists = false;
    tp.operations = plan(gone, tp.known, pctx);
    for (auto& op : plan(desired, std::nullopt, pctx)) tp.operations.push_back(std::move(op));
  } else {
    tp.operations = plan(desired, tp.known, pctx);
  }
  for (auto& op : tp.operations) op.target = t.name;
}

// What is held: destructive operations the policy's brake rules hold whatever the count (by
// default what a policy change takes away), and every destructive operation of this worker in
// this target when the target's mass-change brake trips.
int Engine::enqueue_target(TargetPlan& tp, const std::shared_ptr<const Policy>& pol,
                           const std::string& worker_id, const std::string& event_id,
                           bool policy_change, TimePoint now) {
  const Target& t = *tp.target;
  const auto& rules = pol->brake();
  auto destructive = [&](const Operation& op) { return takes_access_away(op, *pol); };
  auto held_by_rule = [&](const Operation& op) {
    return held_by_brake_rule(op, *pol, policy_change);
  };
  int destructive_count = 0;
  bool counted = false;  // some destructive operation is up to the mass-change brake
  for (const auto& op : tp.operations)
    if (destructive(op)) {
      ++destructive_count;
      counted |= !held_by_rule(op);
    }
  const bool mass_hold = counted && !safety_allows(t.name, worker_id);
  int held = 0;
  Account planned = tp.known.value_or(Account{});
  planned.target = t.name;
  planned.worker_id = worker_id;
  for (auto& op : tp.operations) {
    const bool by_rule = destructive(op) && held_by_rule(op);
    const bool hold = by_rule || (mass_hold && destructive(op));
    if (hold) {
      ++held;
      // `provisionctl held` shows the reason with the operation.
      op.reason += by_rule ? "; held: brake." + std::string(to_string(op.kind)) + " is " +
                                 std::string(to_string(rules.rule(op.kind))) +
                                 (policy_change ? " and a policy change planned it" : "")
                           : "; held: mass-change brake";
    }
    op.id = store_.enqueue(op, hold ? OpStatus::Held : OpStatus::Pending, event_id, now);
    if (!hold) t.executor->planned(op.kind);
    planned = project(planned, op);
    AuditRecord a = audit_of(hold ? "op.held" : "op.planned", worker_id, event_id, now,
                             {{"op", to_json(op)}, {"target", t.name}, {"summary", describe(op)}});
    a.op_id = op.id;
    store_.audit(a);
  }
  if (!planned.username.empty()) {
    if (!tp.row) ++managed_accounts_;  // a new accounts row: keep the brake's count current
    store_.put_planned(planned);
  }
  if (held > 0) {
    log::error(mass_hold ? "mass-change brake: destructive operations held for approval"
                         : "brake rules: destructive operations held for approval",
               {{"worker_id", worker_id},
                {"target", t.name},
                {"count", std::to_string(held)},
                {"destructive", std::to_string(destructive_count)},
                {"action", "provisionctl held / approve / reject"}});
  }
  return held;
}

bool Engine::safety_allows(const std::string& target, const std::string& worker_id) {
  const auto& s = config_.safety;
  const auto since = clock_.now() - s.window;
  // Both rules count people, in this target's window: a leaver's lock, group removals and move
  // are one person leaving. The people affected in the window, this worker included (once, if
  // already among them), against an absolute ceiling and, once enough people are affected for
  // a share to mean anything, against a share of the target's managed accounts.
  const auto people = store_.destructive_workers_since(target, since) +
                      (store_.destructive_worker_since(target, worker_id, since) ? 0 : 1);
  // The share's denominator: counted at most once a second (a count of every account per
  // destructive plan would make a mass termination quadratic); a second's staleness moves it by
  // a few accounts of thousands. Every target holds an account per managed worker, so a
  // target's share is the count over the number of targets.
  const auto steady = std::chrono::steady_clock::now();
  if (!managed_counted_ || steady - *managed_counted_ >= std::chrono::seconds(1)) {
    managed_accounts_ = store_.queue_counts().accounts;
    managed_counted_ = steady;
  }
  const auto managed = managed_accounts_ / static_cast<std::int64_t>(targets_.size());
  return !over_brake_limits(people, managed, s);
}

bool takes_access_away(const Operation& op, const Policy& policy) {
  return is_destructive(op.kind) ||
         (op.kind == OpKind::Move && op.ou == policy.lifecycle().termination_move_to);
}

bool held_by_brake_rule(const Operation& op, const Policy& policy, bool policy_change) {
  const HoldRule r = policy.brake().rule(op.kind);
  return r == HoldRule::Always || (r == HoldRule::PolicyChange && policy_change);
}

bool over_brake_limits(std::int64_t people, std::int64_t managed, const SafetyConfig& safety) {
  if (people > safety.max_destructive) return true;
  return people >= kBrakePercentFloor && managed > 0 &&
         100.0 * static_cast<double>(people) / static_cast<double>(managed) >
             safety.max_destructive_percent;
}

}  // namespace prov
