#include "prov/engine.h"

namespace prov {
namespace {

OutboxDecision decide_ops(Store& store, const std::vector<std::int64_t>& ids, OpStatus from,
                          OpStatus to, const std::string& action, const std::string& actor,
                          TimePoint now) {
  OutboxDecision d;
  store.transaction([&] {
    std::vector<OutboxRow> rows;
    if (ids.empty()) {
      rows = store.operations(from, 1000000);
    } else {
      for (auto id : ids) {
        auto r = store.operation(id);
        if (!r || r->status != from) {
          d.unknown.push_back(id);
          continue;
        }
        rows.push_back(*r);
      }
    }
    std::set<std::pair<std::string, std::string>> touched;  // (target, worker)
    for (const auto& r : rows) {
      store.set_op_status(r.op.id, to, "");
      AuditRecord a;
      a.at = now;
      a.action = action;
      a.worker_id = r.op.worker_id;
      a.event_id = r.event_id;
      a.op_id = r.op.id;
      a.detail = {{"actor", actor}, {"op", to_json(r.op)}, {"target", r.op.target}};
      store.audit(a);
      touched.emplace(r.op.target, r.op.worker_id);
      ++d.changed;
    }
    if (to == OpStatus::Rejected) {
      // A create planned behind a rejected delete (rehire: new_account) assumed the old entry
      // gone; sent now, it would find that entry and take it over half-configured. Reject it too
      // and have the engine plan the worker again from the account that stays.
      for (const auto& r : rows) {
        if (r.op.kind != OpKind::Delete) continue;
        for (const auto& later : store.operations_of(r.op.worker_id)) {
          if (later.op.id <= r.op.id || later.op.kind != OpKind::Create ||
              later.op.target != r.op.target ||
              (later.status != OpStatus::Pending && later.status != OpStatus::Held))
            continue;
          store.set_op_status(later.op.id, OpStatus::Rejected, "follows rejected delete");
          AuditRecord a;
          a.at = now;
          a.action = action;
          a.worker_id = later.op.worker_id;
          a.event_id = later.event_id;
          a.op_id = later.op.id;
          a.detail = {{"actor", actor}, {"op", to_json(later.op)}, {"target", later.op.target},
                      {"reason", "follows rejected delete " + std::to_string(r.op.id)}};
          store.audit(a);
          ++d.changed;
        }
        store.add_schedule(r.op.worker_id, now, "delete rejected");
      }
      for (const auto& [target, w] : touched) rebuild_planned(store, target, w);
    }
  });
  return d;
}

}  // namespace

OutboxDecision approve_held(Store& store, const std::vector<std::int64_t>& ids,
                            const std::string& actor, TimePoint now) {
  return decide_ops(store, ids, OpStatus::Held, OpStatus::Pending, "op.approved", actor, now);
}

OutboxDecision reject_held(Store& store, const std::vector<std::int64_t>& ids,
                           const std::string& actor, TimePoint now) {
  return decide_ops(store, ids, OpStatus::Held, OpStatus::Rejected, "op.rejected", actor, now);
}

OutboxDecision retry_failed(Store& store, const std::vector<std::int64_t>& ids,
                            const std::string& actor, TimePoint now) {
  return decide_ops(store, ids, OpStatus::Failed, OpStatus::Pending, "op.redriven", actor, now);
}

void rebuild_planned(Store& store, const std::string& target, const std::string& worker_id) {
  auto acc = store.account(target, worker_id);
  if (!acc) return;
  Account planned = acc->applied;
  planned.target = target;
  planned.worker_id = worker_id;
  if (planned.username.empty()) planned.username = acc->planned.username;
  for (const auto& r : store.operations_of(worker_id))
    if (r.op.target == target && (r.status == OpStatus::Pending || r.status == OpStatus::Held))
      planned = project(planned, r.op);
  store.put_planned(planned);
}

}  // namespace prov
