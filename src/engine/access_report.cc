#include "prov/access_report.h"

#include <set>

#include "prov/ascii.h"

namespace prov {
namespace {

std::string account_state(const Account& a) {
  if (!a.exists) return a.username.empty() && a.dn.empty() ? "not created" : "deleted";
  return a.enabled ? "enabled" : "locked";
}

// The role granting `group` in this target, from an evaluation with its explanation.
std::string role_of(const Evaluation& ev, const std::string& target, bool default_target,
                    const std::string& group) {
  if (default_target) {
    if (auto it = ev.group_sources.find(group); it != ev.group_sources.end()) return it->second;
  }
  if (auto t = ev.target_group_sources.find(target); t != ev.target_group_sources.end())
    if (auto it = t->second.find(group); it != t->second.end()) return it->second;
  return {};
}

bool same_group(const std::string& a, const std::string& b) {
  return ascii_lower(a) == ascii_lower(b);
}

}  // namespace

void access_report(Store& store, const Policy& policy, const std::vector<std::string>& targets,
                   const AccessFilter& filter, TimePoint now,
                   const std::function<void(const AccessRow&)>& visit,
                   const std::map<std::string, AccountSpill*>& observed) {
  EvalContext ctx;
  ctx.now = now;
  ctx.is_manager = [&](const std::string& id) { return !store.reports_of(id).empty(); };
  const auto report_worker = [&](const Worker& worker) {
    std::optional<Evaluation> ev;  // evaluated once, when the worker has an account
    for (std::size_t i = 0; i < targets.size(); ++i) {
      const std::string& target = targets[i];
      if (!filter.target.empty() && target != filter.target) continue;
      const auto row = store.account(target, worker.worker_id);
      if (!row) continue;
      if (!ev) ev = policy.evaluate(worker, ctx);
      const bool is_default = i == 0;
      const auto managed = managed_groups_in(policy, target, is_default);
      const auto is_managed = [&](const std::string& g) {
        for (const auto& m : managed)
          if (same_group(m, g)) return true;
        return false;
      };
      // What the engine means the account to hold (after the lifecycle: a leaver's is empty),
      // and what it holds.
      const std::set<std::string> intended =
          row->planned.exists ? row->planned.groups : std::set<std::string>{};
      Account holder = row->applied;
      if (auto spill = observed.find(target); spill != observed.end()) {
        auto seen = spill->second->take(worker.worker_id);
        holder = seen ? *seen : Account{};
        if (!seen) holder.exists = false;
      }
      const std::set<std::string> held =
          holder.exists ? holder.groups : std::set<std::string>{};
      std::set<std::string> all = intended;
      all.insert(held.begin(), held.end());
      for (const auto& g : all) {
        if (!filter.group.empty() && !same_group(filter.group, g)) continue;
        AccessRow r;
        r.target = target;
        r.worker_id = worker.worker_id;
        r.username = row->planned.username;
        r.worker_state = std::string(to_string(worker.state));
        r.account = account_state(holder);
        r.group = g;
        const bool holds = held.count(g) > 0, meant = intended.count(g) > 0;
        // A role's grant counts only while the engine still means the account to hold it.
        if (meant) r.granted_by = role_of(*ev, target, is_default, g);
        if (!holds)
          r.status = "pending";
        else if (!r.granted_by.empty())
          r.status = "granted";
        else if (!meant && is_managed(g) && row->applied.exists && row->applied.groups.count(g))
          r.status = "revoking";
        else
          r.status = "ungranted";
        visit(r);
      }
    }
  };
  if (!filter.worker_id.empty()) {
    if (auto w = store.worker(filter.worker_id)) report_worker(*w);
  } else {
    store.for_each_worker(report_worker);
  }
  // What is left in a spill carries a worker id provisiond has never seen (or was filtered out).
  for (const auto& [target, spill] : observed) {
    if (!filter.target.empty() && target != filter.target) continue;
    spill->for_each([&](const Account& a) {
      if (!filter.worker_id.empty() && a.worker_id != filter.worker_id) return;
      if (store.account(target, a.worker_id)) return;  // a known worker left out by the filter
      for (const auto& g : a.groups) {
        if (!filter.group.empty() && !same_group(filter.group, g)) continue;
        visit({target, a.worker_id, a.username, "unknown", account_state(a), g, "", "ungranted"});
      }
    });
  }
}

}  // namespace prov
