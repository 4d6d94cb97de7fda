// Memory and time of provisionctl's whole-population commands on a state of a real company's
// size: a state database with N workers (records as HR sends them: department, location,
// manager) and their applied accounts with the example policy's groups is written once, then
// each command runs as a process with its output to /dev/null; its wall time and peak RSS
// (wait4's ru_maxrss) are reported. With --baseline-ctl PATH the same commands run with another
// build of provisionctl in the same run, and the table gives the ratios.
//
//   commands_bench [--workers 100000] [--runs 2] [--state FILE] [--baseline-ctl PATH] [--reconcile]
//     --state FILE   reuse (or create, when missing) the seeded database
//     --reconcile    also `reconcile` against a throwaway slapd holding every account and group
//                    of the state (loaded with ldapadd first; minutes at 100,000)
// PROV_CTL_BINARY overrides the provisionctl measured (default: this build's).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "e2e/daemon_fixture.h"
#include "prov/store.h"

namespace fs = std::filesystem;
using namespace prov;
using namespace prov::testing;

namespace {

const char* kDepartments[] = {"Finance", "Engineering", "Sales", "Marketing"};
const char* kLocations[] = {"Berlin", "Munich", "Hamburg"};

std::set<std::string> groups_of(const std::string& dept, const std::string& location,
                                bool manager) {
  std::set<std::string> g{"staff"};
  if (dept == "Finance") g.insert({"finance", "erp-users"});
  if (location == "Berlin") g.insert("office-berlin");
  if (manager) g.insert("managers");
  return g;
}

void seed(const fs::path& path, int workers) {
  auto store = Store::open(path);
  const auto start = std::chrono::steady_clock::now();
  constexpr int kPerTransaction = 10000;
  for (int first = 0; first < workers; first += kPerTransaction) {
    store->transaction([&] {
      for (int i = first; i < std::min(workers, first + kPerTransaction); ++i) {
        const std::string id = std::to_string(1000000 + i);
        const std::string dept = kDepartments[i % 4], location = kLocations[(i / 4) % 3];
        // Every 20th person manages the 19 after them.
        const bool manager = i % 20 == 0;
        Worker w;
        w.worker_id = id;
        w.record = {{"workerId", id},
                    {"firstName", "First" + std::to_string(i)},
                    {"lastName", "Last" + std::to_string(i)},
                    {"email", "p" + id + "@example.com"},
                    {"department", dept},
                    {"location", location},
                    {"jobTitle", "Specialist"},
                    {"employmentType", "employee"},
                    {"hireDate", "2024-01-15"}};
        if (!manager) w.record["managerId"] = std::to_string(1000000 + i - i % 20);
        w.state = LifecycleState::Active;
        w.last_effective_at = from_unix_ms(1'700'000'000'000);
        w.last_event_id = "evt-" + id;
        store->put_worker(w);
        Account a;
        a.target = "directory";
        a.worker_id = id;
        a.username = "u" + id;
        a.ou = "ou=people";
        a.dn = "uid=u" + id + ",ou=people,dc=example,dc=com";  // the harness slapd's base
        a.attributes = {{"givenName", "First" + std::to_string(i)},
                        {"sn", "Last" + std::to_string(i)},
                        {"mail", "p" + id + "@example.com"}};
        a.groups = a.granted = groups_of(dept, location, manager);
        store->put_planned(a);
        store->put_applied(a);
      }
    });
  }
  std::printf("seeded %d workers in %.0f s\n", workers,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// The seeded state's accounts and groups as LDIF for `slapd`: what provisiond would have written.
std::string write_directory_ldif(const fs::path& dir, int workers, const std::string& base) {
  const std::string file = (dir / "directory.ldif").string();
  std::ofstream out(file);
  std::map<std::string, std::vector<std::string>> members;
  for (int i = 0; i < workers; ++i) {
    const std::string id = std::to_string(1000000 + i);
    const std::string dn = "uid=u" + id + ",ou=people," + base;
    out << "dn: " << dn << "\nobjectClass: inetOrgPerson\nuid: u" << id << "\ncn: First" << i
        << " Last" << i << "\ngivenName: First" << i << "\nsn: Last" << i << "\nmail: p" << id
        << "@example.com\nemployeeNumber: " << id << "\n\n";
    for (const auto& g : groups_of(kDepartments[i % 4], kLocations[(i / 4) % 3], i % 20 == 0))
      members[g].push_back(dn);
  }
  for (const auto& [group, dns] : members) {
    out << "dn: cn=" << group << ",ou=groups," << base << "\nobjectClass: groupOfNames\ncn: "
        << group << "\n";
    for (const auto& dn : dns) out << "member: " << dn << "\n";
    out << "\n";
  }
  return file;
}

struct Measured {
  double seconds = 0;
  long rss_kb = 0;
  int status = 0;
};

Measured run(const std::string& ctl, const std::string& config, const std::string& args) {
  std::vector<std::string> words{ctl, "--config", config};
  for (size_t at = 0; at < args.size();) {
    const size_t end = std::min(args.find(' ', at), args.size());
    words.push_back(args.substr(at, end - at));
    at = end + 1;
  }
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Measured m;
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m.rss_kb = usage.ru_maxrss;  // the command's own peak: it is the process waited for
  m.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int workers = 100000, runs = 2;
  std::string state, baseline;
  bool reconcile = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--workers" && has) workers = std::atoi(argv[++i]);
    else if (a == "--runs" && has) runs = std::atoi(argv[++i]);
    else if (a == "--state" && has) state = argv[++i];
    else if (a == "--baseline-ctl" && has) baseline = argv[++i];
    else if (a == "--reconcile") reconcile = true;
    else {
      std::cerr << "usage: commands_bench [--workers N] [--runs N] [--state FILE] "
                   "[--baseline-ctl PATH] [--reconcile]\n";
      return 2;
    }
  }
  char pattern[] = "/tmp/prov-commands-XXXXXX";
  const fs::path dir = mkdtemp(pattern);
  if (state.empty()) state = (dir / "state.db").string();
  if (!fs::exists(state)) seed(state, workers);
  const std::string policy = std::string(PROV_SOURCE_DIR) + "/policies/example.yaml";
  const std::string config = (dir / "provisiond.yaml").string();
  // Nothing here connects anywhere: these commands read the state only.
  std::ofstream(dir / "bind.secret") << "unused\n";
  std::ofstream(dir / "webhook.secret") << "whsec_dW51c2VkdW51c2VkdW51c2VkdW51c2Vk\n";
  std::unique_ptr<Slapd> slapd;
  std::string directory_yaml =
      "directory:\n  type: ldap\n  url: ldap://127.0.0.1:9\n"
      "  bind_dn: \"cn=x,dc=example,dc=com\"\n  password_file: " +
      dir.string() + "/bind.secret\n  base_dn: \"dc=example,dc=com\"\n  tls: {mode: none}\n";
  if (reconcile) {
    // A site with big groups: sortvals and mdb multival on member, as docs/connectors.md advises.
    SlapdOptions options;
    options.big_groups = true;
    slapd = Slapd::start(options);
    const std::string ldif = write_directory_ldif(dir, workers, slapd->info().base_dn);
    const double took = timed_ldap(slapd->info(), "ldapadd", ldif);
    if (took < 0) return 1;
    std::printf("loaded %d entries and their groups into slapd in %.0f s\n", workers, took);
    directory_yaml = "targets:\n" + slapd_target_yaml(*slapd, "directory");
  }
  std::ofstream(config) << "state: {path: " << state << "}\n"
                        << "hr: {webhook: {listen: 127.0.0.1:0, secret_file: " << dir.string()
                        << "/webhook.secret}}\n"
                        << "policy: {path: " << policy << "}\n"
                        << directory_yaml;
  const char* env_ctl = std::getenv("PROV_CTL_BINARY");
  const std::string ctl = env_ctl ? env_ctl : std::string(PROV_BINARY_DIR) + "/src/cli/provisionctl";
  std::vector<std::string> commands = {"accounts", "accounts --json", "plan",
                                       "plan --policy " + policy, "report access --format csv"};
  if (reconcile) commands.insert(commands.end(), {"reconcile", "report access --live"});
  std::printf("\nprovisionctl on a state of %d workers (%d runs each; min–max)\n", workers, runs);
  std::printf("%-34s %-22s %-20s %s\n", "command", "this build s / MB", "baseline s / MB",
              "ratio (time, memory)");
  for (const auto& cmd : commands) {
    std::vector<Measured> now, before;
    for (int r = 0; r < runs; ++r) {
      now.push_back(run(ctl, config, cmd));
      if (!baseline.empty()) before.push_back(run(baseline, config, cmd));
    }
    const auto range = [](const std::vector<Measured>& v, bool time) {
      double lo = 1e18, hi = 0;
      for (const auto& m : v) {
        const double x = time ? m.seconds : static_cast<double>(m.rss_kb) / 1024;
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
      return std::pair<double, double>{lo, hi};
    };
    const auto [t0, t1] = range(now, true);
    const auto [m0, m1] = range(now, false);
    char mine[64], theirs[64] = "-", ratio[64] = "-";
    std::snprintf(mine, sizeof mine, "%.1f–%.1f / %.0f–%.0f", t0, t1, m0, m1);
    bool failed = false;
    // reconcile: 1 is "drift found", still a complete run.
    const int ok_up_to = cmd == "reconcile" ? 1 : 0;
    for (const auto& m : now) failed |= m.status > ok_up_to;
    if (!before.empty()) {
      bool unsupported = false;
      for (const auto& m : before) unsupported |= m.status > ok_up_to;
      if (!unsupported) {
        const auto [b0, b1] = range(before, true);
        const auto [c0, c1] = range(before, false);
        std::snprintf(theirs, sizeof theirs, "%.1f–%.1f / %.0f–%.0f", b0, b1, c0, c1);
        std::snprintf(ratio, sizeof ratio, "%.2f, %.2f", t1 / b0, m1 / c0);
      } else {
        std::snprintf(theirs, sizeof theirs, "(not supported)");
      }
    }
    std::printf("%-34s %-22s %-20s %s%s\n", cmd.substr(0, 34).c_str(), mine, theirs, ratio,
                failed ? "  FAILED" : "");
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
