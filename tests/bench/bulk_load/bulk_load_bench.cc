// Bulk load: N synthetic hires through provisiond (the real process: signed webhooks → inbox →
// engine → executor → slapd) against the raw floor on the same slapd in the same run: `ldapadd`
// of equivalent entries (the same attributes and initial password, then the same one group
// membership per person), bound as the same service account.
//
//   bulk_load_bench [--workers N]        (default 10,000)
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>

#include "bench/bench_util.h"
#include "e2e/daemon_fixture.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"

using namespace prov;
using namespace prov::testing;

int main(int argc, char** argv) {
  int n = env_int("PROV_BENCH_WORKERS", 10000);
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::strcmp(argv[i], "--workers") == 0) n = std::atoi(argv[i + 1]);
  auto slapd = Slapd::start();
  const auto& info = slapd->info();

  // --- raw floor: ldapadd of N equivalent entries, then one member add each
  const std::string dir = info.dir;
  {
    std::ofstream ou(dir + "/bulk-ou.ldif");
    ou << "dn: ou=baseline," << info.base_dn << "\nobjectClass: organizationalUnit\nou: baseline\n\n"
       << "dn: cn=baseline-staff,ou=groups," << info.base_dn
       << "\nobjectClass: groupOfNames\ncn: baseline-staff\nmember: cn=nobody\n\n";
    std::ofstream people(dir + "/bulk-people.ldif"), members(dir + "/bulk-members.ldif");
    for (int i = 0; i < n; ++i) {
      const std::string id = std::to_string(300000 + i), uid = "braw" + id;
      people << "dn: uid=" << uid << ",ou=baseline," << info.base_dn
             << "\nobjectClass: inetOrgPerson\nuid: " << uid << "\ncn: Bulk Raw" << id
             << "\nsn: Raw" << id << "\ngivenName: Bulk\ndisplayName: Bulk Raw" << id
             << "\nmail: " << uid << "@example.com\ntitle: Engineer\nemployeeNumber: " << id
             << "\nuserPassword: Initial-" << id << "-Xy7!\n\n";
      members << "dn: cn=baseline-staff,ou=groups," << info.base_dn
              << "\nchangetype: modify\nadd: member\nmember: uid=" << uid << ",ou=baseline,"
              << info.base_dn << "\n\n";
    }
  }
  if (timed_ldap(info, "ldapadd", dir + "/bulk-ou.ldif") < 0) return 1;
  const double raw_add_s = timed_ldap(info, "ldapadd", dir + "/bulk-people.ldif");
  const double raw_member_s = timed_ldap(info, "ldapmodify", dir + "/bulk-members.ldif");
  if (raw_add_s < 0 || raw_member_s < 0) return 1;
  const double raw_s = raw_add_s + raw_member_s;

  // --- provisiond: the same people as hires (Engineering, Hamburg → the one group "staff")
  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;
  Daemon daemon(*slapd, options);
  daemon.start();
  StateDb db(daemon.state_path());
  std::vector<WorkerScript> scripts(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto& s = scripts[static_cast<std::size_t>(i)];
    s.worker_id = std::to_string(500000 + i);
    ScriptedEvent e;
    e.event_id = "bulk-" + s.worker_id;
    e.type = "HIRE";
    e.worker = make_worker(s.worker_id, "Bulk", "Load" + s.worker_id);
    e.body = Json{{"eventId", e.event_id}, {"eventType", "HIRE"},
                  {"effectiveAt", "2026-01-05T08:00:00Z"}, {"worker", e.worker}}
                 .dump();
    s.events.push_back(std::move(e));
  }
  const auto t0 = SteadyClock::now();
  LoadGenerator load(daemon, scripts, 8);
  load.start();
  load.join();
  const double ingest_s = seconds_since(t0);
  if (!eventually([&] { return db.idle(); }, std::chrono::seconds(3600))) {
    std::cerr << "provisiond did not finish\n";
    return 1;
  }
  const double prov_s = seconds_since(t0);
  const auto entries = daemon.search(info.base_dn, "(&(objectClass=inetOrgPerson)(employeeNumber=5*))");
  const auto ops = db.operations_by_status();

  const double raw_rate = n / raw_s, prov_rate = n / prov_s;
  std::printf("\n== bulk load: %d hires\n", n);
  std::printf("raw ldapadd (1 connection):  %.2f s adds + %.2f s member adds = %.2f s  → %.0f hires/s\n",
              raw_add_s, raw_member_s, raw_s, raw_rate);
  std::printf("provisiond (webhook → slapd): %.2f s (all %d acknowledged after %.2f s)  → %.0f hires/s\n",
              prov_s, load.acknowledged(), ingest_s, prov_rate);
  std::printf("entries created by provisiond: %zu; operations:", entries.size());
  for (const auto& [status, count] : ops) std::printf(" %s %lld", status.c_str(), static_cast<long long>(count));
  std::printf("\n");
  std::printf("ratio provisiond / raw: %.2f (goal >= 0.8: %s)\n", prov_rate / raw_rate,
              prov_rate / raw_rate >= 0.8 ? "met" : "NOT met");
  daemon.stop();
  return entries.size() == static_cast<std::size_t>(n) ? 0 : 1;
}
