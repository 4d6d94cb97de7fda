#include "prov/reconcile.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "prov/account_spill.h"
#include "prov/ascii.h"
#include "prov/engine.h"

namespace prov {
namespace {

// DN fragments compare without regard to ASCII case or blanks after commas.
std::string normal_ou(const std::string& ou) {
  std::string out;
  for (size_t i = 0; i < ou.size(); ++i) {
    if (ou[i] == ' ' && i > 0 && ou[i - 1] == ',') continue;
    out.push_back(ascii_lower(ou[i]));
  }
  return out;
}

std::string yes_no(bool b) { return b ? "true" : "false"; }

std::set<std::string> managed_only(const std::set<std::string>& groups,
                                   const std::set<std::string>& managed) {
  std::set<std::string> out;
  for (const auto& g : groups)
    for (const auto& m : managed)
      if (ascii_lower(g) == ascii_lower(m)) out.insert(m);
  return out;
}

// `reported`: attribute names (lower case) the connector reports for some account; identity
// and secret attributes it keeps to itself (employeeNumber, passwords) are not compared. `flat`:
// the target has no placement (Capabilities::flat), so there is no OU to compare.
std::vector<std::string> differences(const Account& known, const Account& seen,
                                     const std::set<std::string>& managed,
                                     const std::set<std::string>& reported, bool flat) {
  std::vector<std::string> d;
  if (known.enabled != seen.enabled)
    d.push_back("enabled: provisiond " + yes_no(known.enabled) + ", directory " +
                yes_no(seen.enabled));
  if (!flat && !known.ou.empty() && normal_ou(known.ou) != normal_ou(seen.ou))
    d.push_back("ou: provisiond " + known.ou + ", directory " + seen.ou);
  if (ascii_lower(known.username) != ascii_lower(seen.username))
    d.push_back("username: provisiond " + known.username + ", directory " + seen.username);
  const auto want = managed_only(known.groups, managed);
  const auto have = managed_only(seen.groups, managed);
  for (const auto& g : want)
    if (!have.count(g)) d.push_back("group " + g + ": missing in the directory");
  for (const auto& g : have)
    if (!want.count(g)) d.push_back("group " + g + ": added in the directory");
  for (const auto& [name, value] : known.attributes) {
    if (value.empty() || !reported.count(ascii_lower(name))) continue;
    // Attribute names compare without case; values as the directory returns them.
    std::optional<std::string> found;
    for (const auto& [n, v] : seen.attributes)
      if (ascii_lower(n) == ascii_lower(name)) found = v;
    if (!found) {
      d.push_back("attribute " + name + ": missing in the directory");
    } else if (*found != value) {
      d.push_back("attribute " + name + ": provisiond '" + value + "', directory '" + *found + "'");
    }
  }
  return d;
}

}  // namespace

std::string_view to_string(Drift::Kind kind) {
  switch (kind) {
    case Drift::Kind::Missing:
      return "missing";
    case Drift::Kind::Unexpected:
      return "unexpected";
    case Drift::Kind::Changed:
      return "changed";
    case Drift::Kind::Unmanaged:
      return "unmanaged";
  }
  return "changed";
}

Result<ReconcileReport> reconcile(Store& store, const std::string& target,
                                  DirectoryConnector& directory,
                                  const std::set<std::string>& managed_groups,
                                  const std::function<void(Drift&&)>& on_drift) {
  ReconcileReport report;
  const auto found = [&](Drift&& d) {
    if (on_drift)
      on_drift(std::move(d));
    else
      report.drifts.push_back(std::move(d));
  };
  // The directory's side goes to a temporary file, the state's is read a page at a time: both
  // can be millions of accounts.
  AccountSpill seen;
  std::set<std::string> reported;
  Status listed = directory.for_each_account([&](const Account& a) {
    if (a.worker_id.empty()) return;
    ++report.directory_accounts;
    for (const auto& [name, value] : a.attributes) reported.insert(ascii_lower(name));
    seen.put(a);
  });
  if (!listed.ok()) return listed.error();

  store.for_each_account(target, [&](const AccountRow& row) {
    const std::string& id = row.planned.worker_id;
    // Taken whether compared or not: what stays in the spill is what provisiond never saw.
    std::optional<Account> observed = seen.take(id);
    // Operations on their way would make the comparison a race: the next run sees them done.
    if (store.has_unfinished_operations(target, id)) {
      ++report.in_flight;
      return;
    }
    ++report.checked;
    const Account& known = row.applied;
    if (known.exists && !observed) {
      found({target, id,
             Drift::Kind::Missing,
             {"provisiond applied " + known.dn +
              "; the directory has no "
              "account for this worker"},
             std::nullopt});
    } else if (!known.exists && observed) {
      found({target, id,
             Drift::Kind::Unexpected,
             {"the directory has " + observed->dn +
              " although provisiond deleted or never created it"},
             std::move(observed)});
    } else if (observed) {
      auto d = differences(known, *observed, managed_groups, reported,
                           directory.capabilities().flat);
      if (!d.empty()) found({target, id, Drift::Kind::Changed, d, std::move(observed)});
    }
  });
  seen.for_each([&](const Account& account) {
    found({target, account.worker_id,
           Drift::Kind::Unmanaged,
           {account.dn + " carries a worker id provisiond has never seen"},
           account});
  });
  return report;
}

int repair(Store& store, const ReconcileReport& report, TimePoint now, const std::string& actor) {
  return repair(store, report.drifts, now, actor);
}

int repair(Store& store, const std::vector<Drift>& drifts, TimePoint now,
           const std::string& actor) {
  int handed = 0;
  store.transaction([&] {
    for (const auto& d : drifts) {
      if (d.kind == Drift::Kind::Unmanaged) continue;
      auto row = store.account(d.target, d.worker_id);
      if (!row) continue;
      Account observed;
      if (d.observed) {
        observed = *d.observed;
      } else {
        // Gone from the directory: remembered as absent, so the planner creates it again
        // (under the same name, which stays the worker's).
        observed.exists = false;
        observed.username = row->applied.username;
        observed.ou = row->applied.ou;
      }
      observed.target = d.target;
      observed.worker_id = d.worker_id;
      // The directory cannot say who added a membership: what provisiond granted and the entry
      // still has stays provisiond's to revoke.
      for (const auto& g : row->applied.granted)
        if (observed.groups.count(g)) observed.granted.insert(g);
      store.put_applied(observed);
      rebuild_planned(store, d.target, d.worker_id);
      store.add_schedule(d.worker_id, now, "reconcile");
      AuditRecord a;
      a.at = now;
      a.action = "reconcile.drift";
      a.worker_id = d.worker_id;
      Json details = Json::array();
      for (const auto& s : d.details) details.push_back(s);
      a.detail = {{"actor", actor},
                  {"target", d.target},
                  {"kind", std::string(to_string(d.kind))},
                  {"details", details}};
      store.audit(a);
      ++handed;
    }
  });
  return handed;
}

}  // namespace prov
