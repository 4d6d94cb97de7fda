#pragma once
// Who has what, and why: every person's groups in every target, each with the role that grants it
// — and what an account holds that no role grants (a group someone added by hand and reconcile
// observed, one left over from a retired role). The answer to an access review's "who has group X,
// and why", and to "this HR person holds a finance group".
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "prov/account_spill.h"
#include "prov/clock.h"
#include "prov/policy.h"
#include "prov/store.h"

namespace prov {

struct AccessRow {
  std::string target;
  std::string worker_id;
  std::string username;
  std::string worker_state;  // the lifecycle state: active, leave, terminated, …
  std::string account;       // enabled, locked, deleted, not created
  std::string group;
  // The role that grants the group now; empty when none does.
  std::string granted_by;
  // granted:   the account holds it and a role grants it;
  // pending:   a role grants it, the account does not hold it yet (queued or held operations);
  // revoking:  the account still holds what provisiond gave it, and provisiond is taking it away
  //            (a leaver, a role lost; the removal queued or held by the brake);
  // ungranted: the account holds it and no role grants it — outside the policy (added by hand,
  //            or by another tool).
  std::string status;
};

struct AccessFilter {
  std::string group;      // case-insensitive; empty: every group
  std::string worker_id;  // empty: everyone
  std::string target;     // empty: every target
};

// The rows for every stored worker, one worker at a time in worker-id order (memory stays flat).
// `targets` are the configured target names, the first being the one the roles' plain `groups:`
// grant in. What an account holds is what provisiond applied, or, for a target with an entry in
// `observed`, what that target's directory holds now (read ahead into the spill, as reconcile
// does): then groups added by hand show as `ungranted`, and accounts carrying a worker id
// provisiond has never seen are reported last, with worker_state `unknown`.
void access_report(Store& store, const Policy& policy, const std::vector<std::string>& targets,
                   const AccessFilter& filter, TimePoint now,
                   const std::function<void(const AccessRow&)>& visit,
                   const std::map<std::string, AccountSpill*>& observed = {});

}  // namespace prov
