#pragma once
// What the engine's files share (engine.cc: events and plans; targets.cc: each target's part of
// a plan): how an audit record is built and one target's part of a worker's plan.
#include <optional>
#include <string>
#include <vector>

#include "prov/engine.h"

namespace prov {

// Who holds a name across targets: nobody only if nobody holds it anywhere; different holders
// in different targets make it "" (an entry of nobody in particular: taken for everyone).
void merge_holder(std::optional<std::string>& into, const std::optional<std::string>& seen);

// The brake's rules, shared by the planner (targets.cc) and the what-if (what_if.cc) so that a
// preview holds exactly what a deploy would.
// An operation that takes access away: a destructive kind, or the move into the termination OU.
bool takes_access_away(const Operation& op, const Policy& policy);
// The policy's `brake:` holds `op` whatever the count (always, or because a policy change
// planned it).
bool held_by_brake_rule(const Operation& op, const Policy& policy, bool policy_change);
// The mass-change brake trips: `people` affected against safety.max_destructive, or against
// safety.max_destructive_percent of `managed` people (from kBrakePercentFloor people on).
bool over_brake_limits(std::int64_t people, std::int64_t managed, const SafetyConfig& safety);

AuditRecord audit_of(const std::string& action, const std::string& worker_id,
                     const std::string& event_id, TimePoint at, Json detail = Json::object());

// One target's part of a worker's plan: what the store knows there and what to send.
struct Engine::TargetPlan {
  const Target* target = nullptr;
  std::optional<AccountRow> row;
  std::optional<Account> known;  // row->planned
  bool fresh_account = false;    // rehire: new_account replaces the account kept there
  std::vector<Operation> operations;
};

}  // namespace prov
