#pragma once
// Lifecycle: where a worker stands in time (pre-hire, active, on leave, terminated, deleted,
// rescinded) and what that means for the account. Derived from the worker record, the event-driven
// base state and now — never from "which event came last" alone.
#include <optional>
#include <string>

#include "prov/model.h"
#include "prov/policy.h"
#include "prov/timezone.h"

namespace prov {

// Keys the engine keeps inside Worker::record next to the HR fields.
inline constexpr const char* kTerminatedAtKey = "_terminatedAt";  // ms since epoch
inline constexpr const char* kHireAtKey = "_hireAt";              // ms since epoch
// Set by a REHIRE of a terminated worker until the engine has planned the account for the new
// employment (reused or, with `rehire: new_account`, replaced). ms since epoch of the rehire.
inline constexpr const char* kRehiredAtKey = "_rehiredAt";

struct LifecycleDecision {
  LifecycleState state = LifecycleState::Active;
  bool exists = true;
  bool enabled = true;
  bool keep_groups = true;
  std::string move_to;                   // non-empty: place the account here instead
  std::optional<TimePoint> next_change;  // when this decision changes by time alone
};

// Applies an event to the worker: new record, base state, lifecycle instants. A plain hireDate
// is midnight in the worker's zone (its `timeZone`, else `zone`, the engine's).
void apply_event_to_worker(Worker& worker, const HrEvent& event,
                           const TimeZone& zone = TimeZone::utc());

// Whether `event` withdraws the hire of a worker who has not started (by `now`): a RESCIND, or a
// TERMINATION effective on or before the start. Such an event rescinds the hire whatever its
// effective time says about the order of events: HR often dates it today, which is earlier than
// the moment a hire sent days ahead arrived.
bool withdraws_hire(const Worker& worker, const HrEvent& event, TimePoint now,
                    const TimeZone& zone = TimeZone::utc());

// `zone` as above: it places plain dates and the end of the local day (termination lock).
LifecycleDecision decide(const Worker& worker, const LifecyclePolicy& policy, TimePoint now,
                         const TimeZone& zone = TimeZone::utc());

// The desired account for `worker`: policy evaluation adjusted by the lifecycle decision.
void apply_decision(DesiredAccount& desired, const LifecycleDecision& decision);

}  // namespace prov
