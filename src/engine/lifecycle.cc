#include "lifecycle.h"

namespace prov {
namespace {

constexpr auto kDay = std::chrono::hours(24);

std::optional<TimePoint> ms_field(const Json& record, const char* key) {
  auto it = record.find(key);
  if (it == record.end() || !it->is_number_integer()) return std::nullopt;
  return from_unix_ms(it->get<int64_t>());
}

// The record's hireDate read in the worker's zone now (so a changed engine.timezone applies to
// stored workers too), else the instant stored when the (re)hire was applied.
std::optional<TimePoint> hire_instant(const Worker& w, const TimeZone& zone) {
  auto it = w.record.find("hireDate");
  if (it != w.record.end() && it->is_string())
    if (auto t = parse_time_in(it->get_ref<const std::string&>(), zone)) return t;
  return ms_field(w.record, kHireAtKey);
}

}  // namespace

void apply_event_to_worker(Worker& w, const HrEvent& e, const TimeZone& engine_zone) {
  Json keep_terminated = w.record.value(kTerminatedAtKey, Json());
  Json keep_rehired = w.record.value(kRehiredAtKey, Json());
  Json keep_hire = w.record.value(kHireAtKey, Json());
  const bool was_terminated = w.state == LifecycleState::Terminated;
  w.worker_id = e.worker_id;
  w.record = e.worker.is_object() ? e.worker : Json::object();
  w.last_event_id = e.event_id;
  const TimeZone zone = zone_of_worker(w.record, engine_zone);
  // Hire date: the record's hireDate, else the event's effective instant for a (re)hire.
  if (auto it = w.record.find("hireDate"); it != w.record.end() && it->is_string()) {
    if (auto t = parse_time_in(it->get<std::string>(), zone)) w.record[kHireAtKey] = to_unix_ms(*t);
  } else if (e.type == EventType::Hire || e.type == EventType::Rehire) {
    w.record[kHireAtKey] = to_unix_ms(e.effective_at);
  } else if ((e.type == EventType::Termination || e.type == EventType::Rescind) &&
             !keep_hire.is_null()) {
    // A leaver's record may leave the start out; whether the termination withdraws a hire that
    // never started depends on it.
    w.record[kHireAtKey] = keep_hire;
  }
  switch (e.type) {
    case EventType::Hire:
      w.state = LifecycleState::Active;
      break;
    case EventType::Rehire:
      // The previous employment's account (if retention kept it) is the engine's to reuse or
      // replace; it needs to know this is a return, not a first hire.
      if (was_terminated) keep_rehired = to_unix_ms(e.effective_at);
      w.state = LifecycleState::Active;
      break;
    case EventType::Return:
      if (w.state == LifecycleState::OnLeave) w.state = LifecycleState::Active;
      break;
    case EventType::Leave:
      if (w.state == LifecycleState::Active) w.state = LifecycleState::OnLeave;
      break;
    case EventType::Termination:
      w.state = LifecycleState::Terminated;
      w.record[kTerminatedAtKey] = to_unix_ms(e.effective_at);
      return;
    case EventType::Rescind:
      w.state = LifecycleState::Rescinded;
      return;
    case EventType::Change:
      break;  // a change never revives a terminated worker
  }
  if (w.state == LifecycleState::Terminated && !keep_terminated.is_null())
    w.record[kTerminatedAtKey] = keep_terminated;
  if (w.state != LifecycleState::Terminated && !keep_rehired.is_null())
    w.record[kRehiredAtKey] = keep_rehired;
}

bool withdraws_hire(const Worker& w, const HrEvent& e, TimePoint now, const TimeZone& engine_zone) {
  if (e.type != EventType::Termination && e.type != EventType::Rescind) return false;
  if (w.state != LifecycleState::Active && w.state != LifecycleState::OnLeave) return false;
  const auto hire = hire_instant(w, zone_of_worker(w.record, engine_zone));
  if (!hire || now >= *hire) return false;  // started: an ordinary termination
  return e.type == EventType::Rescind || e.effective_at <= *hire;
}

LifecycleDecision decide(const Worker& w, const LifecyclePolicy& p, TimePoint now,
                         const TimeZone& engine_zone) {
  LifecycleDecision d;
  const TimeZone zone = zone_of_worker(w.record, engine_zone);
  auto hire = hire_instant(w, zone);
  if (w.state == LifecycleState::Rescinded) {
    d.state = LifecycleState::Rescinded;
    d.exists = false;
    return d;
  }
  if (w.state == LifecycleState::Terminated) {
    TimePoint t = ms_field(w.record, kTerminatedAtKey).value_or(now);
    // A termination on or before the start of someone who never started is a rescinded hire.
    if (hire && t <= *hire) {
      d.state = LifecycleState::Rescinded;
      d.exists = false;
      return d;
    }
    if (p.termination_lock == "end_of_day") t = zone.end_of_local_day(t);  // the worker's day
    if (now < t) {  // notice given, not yet effective: stays active until then
      d.next_change = t;
      return d;
    }
    if (p.delete_after_days >= 0 && now >= t + p.delete_after_days * kDay) {
      d.state = LifecycleState::Deleted;
      d.exists = false;
      return d;
    }
    d.state = LifecycleState::Terminated;
    d.enabled = false;
    d.keep_groups = !p.termination_remove_groups;
    d.move_to = p.termination_move_to;
    if (p.delete_after_days >= 0) d.next_change = t + p.delete_after_days * kDay;
    return d;
  }
  if (hire && now < *hire) {
    auto appear = *hire - p.prehire_days * kDay;
    if (now < appear) {
      d.state = LifecycleState::PreHire;
      d.exists = false;
      d.next_change = appear;
      return d;
    }
    d.state = LifecycleState::PreHire;
    d.enabled = false;
    d.next_change = *hire;
    return d;
  }
  if (w.state == LifecycleState::OnLeave) {
    d.state = LifecycleState::OnLeave;
    d.enabled = p.leave != "lock";
    return d;
  }
  d.state = LifecycleState::Active;
  return d;
}

void apply_decision(DesiredAccount& a, const LifecycleDecision& d) {
  a.exists = d.exists;
  a.enabled = d.enabled;
  if (!d.keep_groups) {
    a.groups.clear();
    a.entitlements.clear();  // released for retrieval
  }
  if (!d.move_to.empty()) a.ou = d.move_to;
  if (!d.exists) a.entitlements.clear();
}

}  // namespace prov
