#pragma once
// The planner: diff a desired account against a known one and list the operations that close the
// gap. Pure functions; the same code serves apply, preview (`provisionctl plan`) and reconcile.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "prov/model.h"

namespace prov {

struct PlanContext {
  // Groups added to and removed from: these (the groups some role can grant) and the groups the
  // known account records as granted by provisiond, except the released ones, which
  // administrators took back (`release_groups`).
  std::set<std::string> managed_groups;
  std::set<std::string> released_groups;
  std::optional<std::string> manager_dn;    // resolved DN of the manager's account, if any
};

// Operations that turn `known` (nullopt or !exists = no account) into `desired`. Ordered so each
// can run after the previous and access ends first: create | disable, move, update, enable,
// group adds, group removals; or group removals then delete.
std::vector<Operation> plan(const DesiredAccount& desired, const std::optional<Account>& known,
                            const PlanContext& ctx);

// The account as it will be once `op` has run against `account`.
Account project(Account account, const Operation& op);

// One line per operation for humans: "add_member staff (role employees)".
std::string describe(const Operation& op);

struct PlanSummary {
  int creates = 0, updates = 0, moves = 0, enables = 0, locks = 0, group_adds = 0,
      group_removals = 0, deletes = 0;
  void add(const Operation& op);
  std::string to_string() const;  // "creates 12, locks 812, moves 3"
};

}  // namespace prov
