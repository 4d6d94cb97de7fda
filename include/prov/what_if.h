#pragma once
// What deploying a candidate policy would change, before it is deployed: every stored worker is
// planned under the candidate exactly as the daemon re-plans after a policy reload (the same
// planner, a policy change for the brake), and nothing is written anywhere — not the state, not
// the directory.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "prov/clock.h"
#include "prov/config.h"
#include "prov/engine.h"
#include "prov/plan.h"
#include "prov/policy.h"
#include "prov/store.h"

namespace prov {

struct WhatIf {
  std::vector<WorkerPlan> plans;  // every worker with an operation (or a hold), in worker order;
                                  // empty when what_if() was given a visitor
  PlanSummary summary;
  int people_affected = 0;         // workers with an operation that takes access away
  std::int64_t managed_accounts = 0;
  int held_by_rule = 0;            // operations the candidate's `brake:` holds on a policy change
  bool mass_brake = false;         // people_affected trips safety.max_destructive(_percent)
  // "creates 0, group removals 3104; 812 people affected of 10000 — the brake would hold …"
  std::string to_string() const;
};

// `visit`, when given, sees each of those plans as it is made instead of collecting them: memory
// stays flat at any population.
WhatIf what_if(Store& store, const Config& config, std::shared_ptr<const Policy> candidate,
               const Clock& clock,
               const std::function<void(const WorkerPlan&)>& visit = {});

}  // namespace prov
