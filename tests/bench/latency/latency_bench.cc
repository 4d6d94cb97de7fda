// Latency under a steady load: provisiond (the real process) against a real slapd, fed a steady
// stream of signed HR events (40 % hires, 40 % changes, 20 % terminations). Reports
//   (a) webhook accepted → operation applied (from provisiond's audit rows and inbox receipts)
//   (b) TERMINATION accepted → the leaver's bind refused (a probe binding with the delivered
//       one-time password until slapd refuses it)
// and, as a baseline from the same run, the directory alone: lock written by a direct LDAP
// modify → bind refused.
//
//   latency_bench [--rate EVENTS_PER_S] [--seconds S]      (defaults 100 and 60)
#include <ldap.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "bench/bench_util.h"
#include "bench/bind_probes.h"
#include "e2e/daemon_fixture.h"
#include "harness/bind_probe.h"
#include "reliability/figures.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"

using namespace prov;
using namespace prov::testing;

namespace {

// The directory alone: write the lock with one LDAP modify, then probe until the bind fails.
std::vector<double> directory_lock_baseline(const SlapdInfo& info, int samples) {
  std::vector<double> out;
  LDAP* ld = nullptr;
  if (ldap_initialize(&ld, info.url.c_str()) != LDAP_SUCCESS) return out;
  int v3 = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  berval cred{static_cast<ber_len_t>(info.root_pw.size()), const_cast<char*>(info.root_pw.data())};
  if (ldap_sasl_bind_s(ld, info.root_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr,
                       nullptr) != LDAP_SUCCESS) {
    ldap_unbind_ext_s(ld, nullptr, nullptr);
    return out;
  }
  for (int i = 0; i < samples; ++i) {
    const std::string uid = "baseline" + std::to_string(i);
    const std::string dn = "uid=" + uid + ",ou=people," + info.base_dn;
    const std::string pw = "Baseline-" + std::to_string(i) + "-pw";
    char* oc_vals[] = {const_cast<char*>("inetOrgPerson"), nullptr};
    char* uid_vals[] = {const_cast<char*>(uid.c_str()), nullptr};
    char* sn_vals[] = {const_cast<char*>("Baseline"), nullptr};
    char* pw_vals[] = {const_cast<char*>(pw.c_str()), nullptr};
    LDAPMod oc{LDAP_MOD_ADD, const_cast<char*>("objectClass"), {oc_vals}};
    LDAPMod u{LDAP_MOD_ADD, const_cast<char*>("uid"), {uid_vals}};
    LDAPMod cn{LDAP_MOD_ADD, const_cast<char*>("cn"), {uid_vals}};
    LDAPMod sn{LDAP_MOD_ADD, const_cast<char*>("sn"), {sn_vals}};
    LDAPMod p{LDAP_MOD_ADD, const_cast<char*>("userPassword"), {pw_vals}};
    LDAPMod* add[] = {&oc, &u, &cn, &sn, &p, nullptr};
    if (ldap_add_ext_s(ld, dn.c_str(), add, nullptr, nullptr) != LDAP_SUCCESS) continue;
    char* lock_vals[] = {const_cast<char*>("000001010000Z"), nullptr};
    LDAPMod lock{LDAP_MOD_REPLACE, const_cast<char*>("pwdAccountLockedTime"), {lock_vals}};
    LDAPMod* mods[] = {&lock, nullptr};
    const auto t0 = SteadyClock::now();
    if (ldap_modify_ext_s(ld, dn.c_str(), mods, nullptr, nullptr) != LDAP_SUCCESS) continue;
    double ms = wait_bind_refused(info.url, dn, pw, t0);
    if (ms >= 0) out.push_back(ms);
  }
  ldap_unbind_ext_s(ld, nullptr, nullptr);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int rate = env_int("PROV_BENCH_RATE", 100);
  int seconds = env_int("PROV_BENCH_SECONDS", 60);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rate") == 0) rate = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
  }
  const int total = rate * seconds;
  const int terminations = (total + 4) / 5;
  const int change_pool = std::max(50, rate * 2);
  std::cout << "latency: " << rate << " events/s for " << seconds << " s (" << total
            << " events: 40% hires, 40% changes, 20% terminations)\n";

  auto slapd = Slapd::start();
  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;
  Daemon daemon(*slapd, options);
  daemon.start();
  StateDb db(daemon.state_path());

  // Workers to change and to terminate, provisioned before the clock starts.
  const auto staff = make_workforce(terminations + change_pool, 1, "5", 7);
  {
    const auto t = SteadyClock::now();
    LoadGenerator preload(daemon, staff, 8);
    preload.start();
    preload.join();
    if (!eventually([&] { return db.idle(); }, std::chrono::seconds(900))) {
      std::cerr << "preload did not finish\n";
      return 1;
    }
    std::cout << "preloaded " << staff.size() << " workers in " << ms_since(t) / 1000 << " s\n";
  }
  std::map<std::string, std::string> dn_of;
  for (const auto& e : daemon.search(slapd->info().base_dn, "(objectClass=inetOrgPerson)"))
    dn_of[e.first("employeeNumber")] = e.dn;

  BindProbes probes(slapd->info().url, 8);
  std::atomic<int> next_change{0}, next_term{0};
  std::mutex status_mu;
  std::map<int, int> statuses;
  std::vector<double> accept_ms;
  const auto t0 = SteadyClock::now() + std::chrono::milliseconds(100);
  paced(rate, total, 16, t0, [&](int i) {
    const std::string event_id = "lat-" + std::to_string(i);
    std::string type;
    Json worker;
    std::string probe_dn, probe_pw;
    switch (i % 5) {
      case 0:
      case 1: {
        type = "HIRE";
        const std::string id = "6" + std::to_string(100000 + i);
        worker = make_worker(id, "Lat", "Hire" + id);
        break;
      }
      case 2:
      case 3: {
        type = "CHANGE";
        const auto& w = staff[static_cast<std::size_t>(terminations) +
                              static_cast<std::size_t>(next_change++ % change_pool)];
        worker = w.events.front().worker;
        worker["jobTitle"] = "Step " + std::to_string(i);
        break;
      }
      default: {
        type = "TERMINATION";
        const auto& w = staff[static_cast<std::size_t>(next_term++ % terminations)];
        worker = w.events.front().worker;
        worker["terminationDate"] = now_rfc3339();
        probe_dn = dn_of[w.worker_id];
        probe_pw = daemon.password_of(w.worker_id);
      }
    }
    Json body{{"eventId", event_id},
              {"eventType", type},
              {"effectiveAt", now_rfc3339()},
              {"worker", worker}};
    const auto sent = SteadyClock::now();
    auto r = daemon.send(body.dump());
    const double took = ms_since(sent);
    if (r.status == 202 && !probe_dn.empty())
      probes.add(ProbeJob{probe_dn, probe_pw, SteadyClock::now()});
    std::lock_guard l(status_mu);
    ++statuses[r.status];
    accept_ms.push_back(took);
  });
  const double offered_s = ms_since(t0) / 1000;
  const bool drained = eventually([&] { return db.idle(); }, std::chrono::seconds(300));
  probes.finish();
  const double drained_s = ms_since(t0) / 1000;

  std::vector<double> per_op;
  std::map<std::string, double> per_event;
  for (const auto& l : db.applied_latencies()) {
    if (l.event_id.rfind("lat-", 0) != 0) continue;
    per_op.push_back(static_cast<double>(l.ms));
    auto& e = per_event[l.event_id];
    e = std::max(e, static_cast<double>(l.ms));
  }
  std::vector<double> per_event_ms;
  for (const auto& [id, ms] : per_event) per_event_ms.push_back(ms);
  const auto lock_baseline = directory_lock_baseline(slapd->info(), 100);

  const auto a_op = percentiles(per_op);
  const auto a_ev = percentiles(per_event_ms);
  const auto b = percentiles(probes.results());
  const auto base = percentiles(lock_baseline);
  const auto http = percentiles(accept_ms);
  std::cout << "\n== latency results (" << offered_s << " s offered, outbox drained at "
            << drained_s << " s" << (drained ? "" : " — NOT drained") << ")\n";
  std::cout << "HTTP statuses:                         ";
  for (const auto& [code, count] : statuses) std::cout << code << " x" << count << "  ";
  std::cout << "\n";
  std::cout << "webhook request → 202:                 " << describe_ms(http) << "\n";
  std::cout << "(a) accepted → operation applied:      " << describe_ms(a_op) << "\n";
  std::cout << "(a) accepted → all of its ops applied:  " << describe_ms(a_ev) << "\n";
  std::cout << "(b) TERMINATION accepted → bind refused: " << describe_ms(b)
            << (probes.timeouts() ? "  (" + std::to_string(probes.timeouts()) + " probes timed out)"
                                  : std::string())
            << "\n";
  std::cout << "baseline: LDAP lock modify → bind refused: " << describe_ms(base) << "\n";
  if (base.p99 > 0)
    std::cout << "ratio (b)/baseline: p50 x" << b.p50 / std::max(0.1, base.p50) << ", p99 x"
              << b.p99 / std::max(0.1, base.p99) << "\n";
  const bool goal = a_op.p99 < 1000 && b.p99 < 1000 && b.n > 0 && probes.timeouts() == 0;
  std::cout << "goal p99 < 1 s: " << (goal ? "met" : "NOT met") << "\n";
  daemon.stop();
  return drained ? 0 : 1;
}
