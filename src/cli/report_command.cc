// provisionctl report: access (who has which group in which target, and which role grants it)
// and retrieve (entitlements released by leavers and movers, across workers).
#include <iomanip>
#include <iostream>

#include "cli/admin_commands.h"
#include "cli/csv.h"
#include "cli/progress.h"
#include "prov/access_report.h"
#include "prov/connector.h"
#include "prov/store.h"

namespace prov::cli {
namespace {

// text, csv or json (JSON lines); --json is --format json.
std::optional<std::string> format_of(const Args& a, std::ostream& err) {
  const std::string f = a.json ? "json" : a.format.empty() ? "text" : a.format;
  if (f == "text" || f == "csv" || f == "json") return f;
  err << "report: --format is text, csv or json, not " << f << "\n";
  return std::nullopt;
}

int report_access(const Config& c, const Args& a, std::ostream& out, std::ostream& err) {
  const auto format = format_of(a, err);
  if (!format) return 2;
  std::vector<std::string> targets;
  for (const auto& t : c.targets) targets.push_back(t.name);
  if (!a.target.empty() && std::find(targets.begin(), targets.end(), a.target) == targets.end()) {
    err << "report access: no target " << a.target << " in the config\n";
    return 2;
  }
  auto store = Store::open_read_only(c.state_path);
  auto policy = Policy::load(c.policy_path);
  // --live: what each directory holds now, read ahead into a temporary file as reconcile does.
  std::vector<std::unique_ptr<AccountSpill>> spills;
  std::map<std::string, AccountSpill*> observed;
  if (a.live) {
    ConnectorRegistry registry;
    register_builtin_connectors(registry);
    for (const auto& target : c.targets) {
      if (!a.target.empty() && target.name != a.target) continue;
      auto directory = registry.create(target);
      auto& spill = spills.emplace_back(std::make_unique<AccountSpill>());
      Status s = directory->connect();
      if (s.ok())
        s = directory->for_each_account([&](const Account& acc) {
          if (!acc.worker_id.empty()) spill->put(acc);
        });
      if (!s.ok()) {
        err << "report access: cannot read target " << target.name << ": " << s.error().message
            << "\n";
        return 2;
      }
      observed[target.name] = spill.get();
    }
  }
  if (*format == "csv")
    out << "target,worker_id,username,worker_state,account,group,granted_by,status\n";
  Progress progress("memberships");
  std::int64_t ungranted = 0;
  access_report(*store, *policy, targets, {a.group, a.worker_id, a.target},
                SystemClock().now(), [&](const AccessRow& r) {
                  progress.tick();
                  if (r.status == "ungranted") ++ungranted;
                  if (*format == "json") {
                    out << Json{{"target", r.target},
                                {"worker_id", r.worker_id},
                                {"username", r.username},
                                {"worker_state", r.worker_state},
                                {"account", r.account},
                                {"group", r.group},
                                {"granted_by", r.granted_by},
                                {"status", r.status}}
                               .dump()
                        << "\n";
                  } else if (*format == "csv") {
                    out << csv_field(r.target) << ',' << csv_field(r.worker_id) << ','
                        << csv_field(r.username) << ',' << r.worker_state << ',' << r.account
                        << ',' << csv_field(r.group) << ',' << csv_field(r.granted_by) << ','
                        << r.status << "\n";
                  } else {
                    out << std::left << std::setw(12) << r.target << ' ' << std::setw(10)
                        << r.worker_id << ' ' << std::setw(20) << r.username << ' '
                        << std::setw(20) << r.group << ' ' << std::setw(10) << r.status << ' '
                        << (r.granted_by.empty() ? "-" : "role " + r.granted_by) << "\n";
                  }
                },
                observed);
  if (*format == "text")
    out << progress.count() << " membership(s), " << ungranted << " not granted by any role\n";
  return 0;
}

int report_retrieve(const Config& c, const Args& a, std::ostream& out, std::ostream& err) {
  const auto format = format_of(a, err);
  if (!format) return 2;
  TimePoint since{};
  if (!a.since.empty()) {
    auto t = parse_time(a.since);
    if (!t) {
      err << "report retrieve: --since wants a time like 2026-11-01, not " << a.since << "\n";
      return 2;
    }
    since = *t;
  }
  auto store = Store::open_read_only(c.state_path);
  const auto rows = store->released_entitlements(since);
  if (*format == "csv") out << "worker_id,entitlement,allocated_at,released_at\n";
  for (const auto& r : rows) {
    const std::string released = format_time(*r.released_at);
    if (*format == "json") {
      out << Json{{"worker_id", r.worker_id},
                  {"entitlement", r.entitlement},
                  {"allocated_at", format_time(r.allocated_at)},
                  {"released_at", released}}
                 .dump()
          << "\n";
    } else if (*format == "csv") {
      out << csv_field(r.worker_id) << ',' << csv_field(r.entitlement) << ','
          << format_time(r.allocated_at) << ',' << released << "\n";
    } else {
      out << std::left << std::setw(10) << r.worker_id << ' ' << std::setw(28) << r.entitlement
          << " released " << released << "\n";
    }
  }
  if (*format == "text") out << rows.size() << " entitlement(s) to retrieve\n";
  return 0;
}

}  // namespace

int report(const Config& c, const Args& a, std::ostream& out, std::ostream& err) {
  const std::string what = a.positional.empty() ? "" : a.positional.front();
  if (what == "access") return report_access(c, a, out, err);
  if (what == "retrieve") return report_retrieve(c, a, out, err);
  err << "report: access or retrieve?\n";
  return 2;
}

}  // namespace prov::cli
