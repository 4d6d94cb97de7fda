// The commands that walk the whole population — plan, accounts, reconcile — written to stream:
// each worker is read, planned or compared and printed before the next one is read, so memory
// stays flat at millions of workers and the first line appears at once. `--json` prints one JSON
// object per line, and the commands with a total end with a `{"summary": …}` line.
#include <iomanip>
#include <iostream>

#include "cli/access.h"
#include "cli/admin_commands.h"
#include "cli/progress.h"
#include "prov/connector.h"
#include "prov/engine.h"
#include "prov/reconcile.h"
#include "prov/store.h"
#include "prov/what_if.h"

namespace prov::cli {
namespace {

// One worker's plan, as text or as one JSON line; plans without operations or hold are skipped.
void print_plan(const WorkerPlan& p, bool json, std::ostream& out) {
  if (p.operations.empty() && !p.hold_reason) return;
  if (json) {
    Json ops = Json::array();
    for (const auto& op : p.operations) {
      Json o = to_json(op);
      o["summary"] = describe(op);
      ops.push_back(o);
    }
    Json w{{"worker_id", p.worker_id}, {"state", to_string(p.state)}, {"operations", ops}};
    if (p.hold_reason) w["held"] = *p.hold_reason;
    out << w.dump() << "\n";
    return;
  }
  out << "worker " << p.worker_id << " (" << to_string(p.state) << ")\n";
  if (p.hold_reason) out << "  held: " << *p.hold_reason << "\n";
  for (const auto& op : p.operations) out << "  " << op.target << ": " << describe(op) << "\n";
}

// plan --policy CANDIDATE: every stored worker under the candidate, as a deploy would re-plan.
int plan_candidate(const Config& c, const Args& a, std::ostream& out) {
  auto store = Store::open_read_only(c.state_path);
  SystemClock clock;
  Progress progress("workers with changes");
  const WhatIf w =
      what_if(*store, c, Policy::load(a.policy_path), clock, [&](const WorkerPlan& p) {
        print_plan(p, a.json, out);
        progress.tick();
      });
  if (a.json) {
    out << Json{{"summary",
                 {{"policy", a.policy_path},
                  {"changes", w.summary.to_string()},
                  {"people_affected", w.people_affected},
                  {"managed_accounts", w.managed_accounts},
                  {"held_by_rule", w.held_by_rule},
                  {"mass_brake", w.mass_brake}}}}
               .dump()
        << "\n";
  } else {
    out << "what-if " << a.policy_path << ": " << w.to_string() << "\n";
  }
  return 0;
}

}  // namespace

int plan(const Config& c, const Args& a, std::ostream& out) {
  if (!a.policy_path.empty()) return plan_candidate(c, a, out);
  auto store = Store::open_read_only(c.state_path);
  auto policy = Policy::load(c.policy_path);
  SystemClock clock;
  // The daemon's own planner with no connector: nothing can be written anywhere.
  Engine engine(*store, nullptr, clock, c, policy);
  PlanSummary summary;
  Progress progress("workers planned");
  const auto visit = [&](WorkerPlan&& p) {
    for (const auto& op : p.operations) summary.add(op);
    print_plan(p, a.json, out);
    progress.tick();
  };
  if (!a.worker_id.empty())
    visit(engine.plan_worker(a.worker_id, true));
  else
    engine.plan_each(visit);
  if (a.json)
    out << Json{{"summary", summary.to_string()}}.dump() << "\n";
  else
    out << "plan: " << summary.to_string() << "\n";
  return 0;
}

int accounts(const Config& c, const Args& a, std::ostream& out) {
  auto store = Store::open_read_only(c.state_path);
  Progress progress("accounts");
  store->for_each_account("", [&](const AccountRow& r) {
    const Account& x = r.applied.username.empty() ? r.planned : r.applied;
    if (a.json) {
      out << Json{{"target", r.planned.target},
                  {"worker_id", r.planned.worker_id},
                  {"username", r.planned.username},
                  {"dn", x.dn},
                  {"exists", x.exists},
                  {"enabled", x.enabled},
                  {"groups", r.applied.groups}}
                 .dump()
          << "\n";
    } else {
      out << std::left << std::setw(12) << r.planned.target << ' ' << std::setw(10)
          << r.planned.worker_id << ' ' << std::setw(20) << r.planned.username << ' '
          << (x.exists ? (x.enabled ? "enabled " : "locked  ") : "deleted ") << x.dn << "\n";
    }
    progress.tick();
  });
  return 0;
}

namespace {

// Drifts are handed to the daemon in groups this size, each one transaction.
constexpr std::size_t kRepairBatch = 500;

}  // namespace

int reconcile(const Config& c, const Args& a, std::ostream& out, std::ostream& err) {
  auto policy = Policy::load(c.policy_path);
  auto store = a.apply ? Store::open(c.state_path) : Store::open_read_only(c.state_path);
  ConnectorRegistry registry;
  register_builtin_connectors(registry);
  const std::string who = actor();
  const auto now = SystemClock().now();
  ReconcileReport total;
  int drifted = 0, handed = 0;
  std::vector<Drift> to_repair;
  const auto hand_over = [&] {
    if (to_repair.empty()) return;
    handed += repair(*store, to_repair, now, who);
    to_repair.clear();
  };
  Progress progress("drifts found");
  for (const auto& target : c.targets) {
    auto directory = registry.create(target);
    if (Status s = directory->connect(); !s.ok()) {
      err << "provisionctl: cannot reach target " << target.name << ": " << s.error().message
          << "\n";
      return 2;
    }
    const bool first = &target == &c.targets.front();
    auto report = prov::reconcile(
        *store, target.name, *directory, managed_groups_in(*policy, target.name, first),
        [&](Drift&& d) {
          progress.tick();
          if (d.kind != Drift::Kind::Unmanaged) ++drifted;
          if (a.json) {
            Json j{{"target", d.target},
                   {"worker_id", d.worker_id},
                   {"kind", std::string(to_string(d.kind))},
                   {"details", d.details}};
            if (d.observed) j["dn"] = d.observed->dn;
            out << j.dump() << "\n";
          } else {
            out << std::left << std::setw(12) << d.target << ' ' << std::setw(10) << d.worker_id
                << ' ' << std::setw(10) << to_string(d.kind) << '\n';
            for (const auto& line : d.details) out << "    " << line << '\n';
          }
          if (a.apply && d.kind != Drift::Kind::Unmanaged) {
            to_repair.push_back(std::move(d));
            if (to_repair.size() >= kRepairBatch) hand_over();
          }
        });
    if (!report.ok()) {
      err << "provisionctl: reconcile " << target.name << ": " << report.error().message << "\n";
      return 2;
    }
    total.directory_accounts += report->directory_accounts;
    total.checked += report->checked;
    total.in_flight += report->in_flight;
  }
  hand_over();
  const int found = static_cast<int>(progress.count());
  const std::string summary =
      std::to_string(total.checked) + " accounts compared, " + std::to_string(drifted) +
      " drifted, " + std::to_string(found - drifted) + " unmanaged, " +
      std::to_string(total.in_flight) + " skipped (operations in flight)";
  if (a.json) {
    out << Json{{"summary",
                 {{"compared", total.checked},
                  {"drifted", drifted},
                  {"unmanaged", found - drifted},
                  {"in_flight", total.in_flight},
                  {"directory_accounts", total.directory_accounts},
                  {"handed_to_engine", handed}}}}
               .dump()
        << "\n";
  } else {
    out << "reconcile: " << summary << "\n";
    if (a.apply && handed > 0)
      out << handed << " worker(s) scheduled: provisiond corrects the directory (the brake applies)\n";
    else if (drifted > 0)
      out << "run with --apply to have provisiond correct the directory\n";
  }
  return drifted > 0 ? 1 : 0;
}

}  // namespace prov::cli
