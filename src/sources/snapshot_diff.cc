#include "sources/snapshot_diff.h"

#include <map>
#include <set>

#include "prov/crypto.h"
#include "prov/timezone.h"

namespace prov {
namespace {

std::string dump(const Json& j) {
  // Keys are ordered (nlohmann's object is a std::map), so this is a canonical serialisation.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool is_blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// Returns the reason the field is unusable, or "" when it is a non-blank string.
std::string check_required(const Json& record, const char* key) {
  auto it = record.find(key);
  if (it == record.end() || it->is_null()) return std::string(key) + " is required";
  if (!it->is_string()) return std::string(key) + " must be a string";
  if (is_blank(it->get_ref<const std::string&>())) return std::string(key) + " must not be empty";
  return {};
}

std::string worker_id_of(const Json& record) {
  auto it = record.find("workerId");
  if (it == record.end()) return {};
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    return is_blank(s) ? std::string() : s;
  }
  if (it->is_number_integer()) return it->dump();
  return {};
}

bool is_gone(LifecycleState s) {
  return s == LifecycleState::Terminated || s == LifecycleState::Deleted ||
         s == LifecycleState::Rescinded;
}

HrEvent make_event(EventType type, const std::string& worker_id, Json record,
                   const std::string& basis, const SnapshotContext& ctx) {
  HrEvent e;
  e.type = type;
  e.worker_id = worker_id;
  e.source = ctx.source;
  e.effective_at = ctx.snapshot_time;
  e.received_at = ctx.received_at;
  // The stored event we diffed against is part of the identity: the same record can legitimately
  // produce the same event type twice (terminated, rehired, terminated again).
  const Json identity = {
      {"type", std::string(to_string(type))}, {"record", record}, {"basis", basis}};
  e.event_id = ctx.source + ":" + worker_id + ":" + sha256_hex(dump(identity)).substr(0, 16);
  e.worker = std::move(record);
  // Times are left out: a re-read of the same snapshot later is the same event, not a conflict.
  const Json body = {{"eventId", e.event_id},
                     {"eventType", std::string(to_string(type))},
                     {"source", e.source},
                     {"workerId", worker_id},
                     {"worker", e.worker}};
  e.body_sha256 = sha256_hex(dump(body));
  return e;
}

}  // namespace

Json canonical_record(const Json& record) {
  Json out = Json::object();
  if (!record.is_object()) return out;
  for (auto it = record.begin(); it != record.end(); ++it) {
    if (it.key().starts_with("_") || it.value().is_null()) continue;
    out[it.key()] = it.value();
  }
  if (auto it = out.find("workerId"); it != out.end() && it->is_number_integer()) *it = it->dump();
  return out;
}

SnapshotDiff diff_snapshot(const std::vector<Json>& records, const std::vector<KnownWorker>& known,
                           const SnapshotContext& ctx) {
  SnapshotDiff diff;
  std::map<std::string, const KnownWorker*> by_id;
  for (const auto& k : known) by_id.emplace(k.worker.worker_id, &k);

  std::set<std::string> seen;
  bool unidentified = false;
  for (std::size_t index = 0; index < records.size(); ++index) {
    const Json& raw = records[index];
    if (!raw.is_object()) {
      diff.skipped.push_back(
          {index, "", std::string("record is a JSON ") + raw.type_name() + ", not an object"});
      unidentified = true;
      continue;
    }
    const std::string worker_id = worker_id_of(raw);
    if (worker_id.empty()) {
      diff.skipped.push_back({index, "",
                              check_required(raw, "workerId").empty()
                                  ? "workerId must be a string"
                                  : check_required(raw, "workerId")});
      unidentified = true;
      continue;
    }
    if (!seen.insert(worker_id).second) {
      diff.skipped.push_back({index, worker_id, "workerId appears more than once; first used"});
      continue;
    }
    std::string problem = check_required(raw, "firstName");
    if (problem.empty()) problem = check_required(raw, "lastName");
    Json record = canonical_record(raw);
    std::optional<TimePoint> terminated_at;
    if (auto it = record.find("terminationDate"); problem.empty() && it != record.end()) {
      if (it->is_string())
        terminated_at = parse_time_in(it->get_ref<const std::string&>(),
                                      zone_of_worker(record, zone_or_utc(ctx.timezone)));
      if (!terminated_at) problem = "terminationDate is not a date";
    }
    if (!problem.empty()) {
      diff.skipped.push_back({index, worker_id, problem});
      continue;
    }
    const bool terminated_in_hr = terminated_at && *terminated_at <= ctx.snapshot_time;

    auto found = by_id.find(worker_id);
    if (found == by_id.end()) {
      if (terminated_in_hr) {
        ++diff.already_terminated;
      } else {
        diff.events.push_back(make_event(EventType::Hire, worker_id, std::move(record), "", ctx));
      }
      continue;
    }
    const Worker& stored = found->second->worker;
    const bool differs = canonical_record(stored.record) != record;
    EventType type;
    if (is_gone(stored.state)) {
      if (!terminated_in_hr) {
        type = stored.state == LifecycleState::Rescinded ? EventType::Hire : EventType::Rehire;
      } else if (differs) {
        type = EventType::Change;  // a change never revives a terminated worker
      } else {
        ++diff.unchanged;
        continue;
      }
    } else if (terminated_in_hr) {
      type = EventType::Termination;
    } else if (differs) {
      type = EventType::Change;
    } else {
      ++diff.unchanged;
      continue;
    }
    diff.events.push_back(
        make_event(type, worker_id, std::move(record), stored.last_event_id, ctx));
  }

  std::vector<const KnownWorker*> missing;
  for (const auto& k : known) {
    if (seen.count(k.worker.worker_id) || is_gone(k.worker.state)) continue;
    // Workers another source (a webhook, another snapshot) last spoke for are not ours to end.
    if (k.last_source != ctx.source) continue;
    missing.push_back(&k);
  }
  diff.missing = missing.size();
  if (!ctx.missing_means_terminated || missing.empty()) return diff;
  if (unidentified) {
    diff.terminations_withheld =
        "a record without a usable workerId may belong to a missing worker";
  } else if (seen.empty()) {
    diff.terminations_withheld = "the snapshot holds no usable worker record";
  }
  if (!diff.terminations_withheld.empty()) return diff;
  for (const KnownWorker* k : missing) {
    diff.events.push_back(make_event(EventType::Termination, k->worker.worker_id,
                                     canonical_record(k->worker.record), k->worker.last_event_id,
                                     ctx));
  }
  return diff;
}

}  // namespace prov
