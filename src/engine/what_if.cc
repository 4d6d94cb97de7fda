#include "prov/what_if.h"

namespace prov {

WhatIf what_if(Store& store, const Config& config, std::shared_ptr<const Policy> candidate,
               const Clock& clock) {
  WhatIf w;
  const auto& rules = candidate->brake();
  const std::string& termination_ou = candidate->lifecycle().termination_move_to;
  // The daemon's own planner without a connector: nothing can be written anywhere.
  Engine engine(store, nullptr, clock, config, candidate);
  for (auto& p : engine.plan_all()) {
    bool affected = false;
    for (const auto& op : p.operations) {
      w.summary.add(op);
      // As the engine's brake counts: what takes access away, the move into the termination OU
      // included.
      const bool destructive =
          is_destructive(op.kind) || (op.kind == OpKind::Move && op.ou == termination_ou);
      if (!destructive) continue;
      affected = true;
      const HoldRule r = rules.rule(op.kind);
      if (r == HoldRule::Always || r == HoldRule::PolicyChange) ++w.held_by_rule;
    }
    if (affected) ++w.people_affected;
    if (!p.operations.empty() || p.hold_reason) w.plans.push_back(std::move(p));
  }
  w.managed_accounts = store.queue_counts().accounts;
  const auto& s = config.safety;
  w.mass_brake = w.people_affected > s.max_destructive ||
                 (w.people_affected >= kBrakePercentFloor && w.managed_accounts > 0 &&
                  100.0 * w.people_affected / static_cast<double>(w.managed_accounts) >
                      s.max_destructive_percent);
  return w;
}

std::string WhatIf::to_string() const {
  std::string out = summary.to_string() + "; " + std::to_string(people_affected) +
                    (people_affected == 1 ? " person" : " people") + " affected of " +
                    std::to_string(managed_accounts) + " managed accounts";
  if (mass_brake) {
    out += " — the mass-change brake would hold what takes their access away";
  } else if (held_by_rule > 0) {
    out += " — the policy's brake would hold " + std::to_string(held_by_rule) +
           (held_by_rule == 1 ? " operation" : " operations") + " for approval";
  } else {
    out += " — nothing would be held";
  }
  return out;
}

}  // namespace prov
