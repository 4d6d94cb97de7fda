#include "prov/what_if.h"

#include <algorithm>

#include "engine_parts.h"

namespace prov {

WhatIf what_if(Store& store, const Config& config, std::shared_ptr<const Policy> candidate,
               const Clock& clock, const std::function<void(const WorkerPlan&)>& visit) {
  WhatIf w;
  // The daemon's own planner without a connector: nothing can be written anywhere.
  Engine engine(store, nullptr, clock, config, candidate);
  engine.plan_each([&](WorkerPlan&& p) {
    bool affected = false;
    for (const auto& op : p.operations) {
      w.summary.add(op);
      // As the engine's brake counts and holds: a deploy is a policy change.
      if (!takes_access_away(op, *candidate)) continue;
      affected = true;
      if (held_by_brake_rule(op, *candidate, true)) ++w.held_by_rule;
    }
    if (affected) ++w.people_affected;
    if (p.operations.empty() && !p.hold_reason) return;
    if (visit)
      visit(p);
    else
      w.plans.push_back(std::move(p));
  });
  // People, as the brake's share counts them: every target holds an account per managed worker.
  const auto targets = std::max<std::int64_t>(1, static_cast<std::int64_t>(config.targets.size()));
  w.managed_accounts = store.queue_counts().accounts / targets;
  w.mass_brake = over_brake_limits(w.people_affected, w.managed_accounts, config.safety);
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
