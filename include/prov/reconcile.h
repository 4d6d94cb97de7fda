#pragma once
// Reconcile: what the directory really holds against what provisiond believes it applied. People
// change directories behind provisiond's back (a helpdesk unlocks a leaver, someone removes a
// group, an entry is deleted by hand); reconcile finds that drift, and repair() hands it to the
// engine, which plans the correction through the normal path (policy, brake, audit).
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "prov/clock.h"
#include "prov/connector.h"
#include "prov/model.h"
#include "prov/result.h"
#include "prov/store.h"

namespace prov {

struct Drift {
  enum class Kind {
    Missing,    // provisiond applied an account the directory no longer has
    Unexpected, // provisiond deleted (or never created) it, yet the directory has one
    Changed,    // both have it, but state, placement, name, groups or attributes differ
    Unmanaged,  // a directory account with a worker id provisiond has never seen
  };
  std::string target;
  std::string worker_id;
  Kind kind = Kind::Changed;
  std::vector<std::string> details;  // "enabled: provisiond true, directory false"
  std::optional<Account> observed;   // the directory's account, when it has one
};

std::string_view to_string(Drift::Kind kind);

struct ReconcileReport {
  int directory_accounts = 0;  // accounts with a worker id in the directory
  int checked = 0;             // managed accounts compared
  int in_flight = 0;           // skipped: operations still pending or held for them
  std::vector<Drift> drifts;  // empty when reconcile() was given `on_drift`
};

// Reads every account of `directory`, the connector of `target` (paged), and compares it with
// the store's applied state of that target. Only `managed_groups` (the target's) are compared:
// other memberships are not provisiond's business. Memory stays flat at any directory size: the
// directory's accounts wait in a temporary file, the state is read a page at a time, and with
// `on_drift` each drift is handed over as found instead of collected in the report.
Result<ReconcileReport> reconcile(Store& store, const std::string& target,
                                  DirectoryConnector& directory,
                                  const std::set<std::string>& managed_groups,
                                  const std::function<void(Drift&&)>& on_drift = {});

// For every Missing / Unexpected / Changed drift: records the directory's state as the applied
// (and planned) account, audits `reconcile.drift` with `actor`, and schedules the worker to be
// planned at `now`; the engine then corrects the directory. Unmanaged accounts are only
// reported. Returns the number of workers handed to the engine.
int repair(Store& store, const ReconcileReport& report, TimePoint now, const std::string& actor);
int repair(Store& store, const std::vector<Drift>& drifts, TimePoint now,
           const std::string& actor);

}  // namespace prov
