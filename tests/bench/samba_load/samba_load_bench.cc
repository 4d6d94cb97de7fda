// Bulk load against Active Directory: N hires through provisiond's engine and executor (in this
// process, with the real AD connector) against the raw floor on the same Samba AD DC in the same
// run: one `ldapadd` over LDAPS of N equivalent `user` entries, bound as the same administrator.
//
//   samba_load_bench [--users N]        (default 300)
//
// The two sides do not write the same number of times. The raw floor adds each user complete
// (password and userAccountControl 512 in the add): 1 write. The AD connector adds the user
// disabled, sets the password (unicodePwd), requires a change at first logon (pwdLastSet=0) and
// only then enables it: 4 writes, plus the searches that make every step idempotent. So the ratio
// is the price of that safety as much as of the engine.
//
// The DC comes from the test harness (harness/samba_fixture.h): the shared one of a running test
// suite when there is one, else one started here (ports 389/636 must be free) and stopped at exit.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "ad/ad_values.h"
#include "harness/samba_fixture.h"
#include "harness/slapd_fixture.h"
#include "prov/clock.h"
#include "prov/config.h"
#include "prov/connector.h"
#include "prov/crypto.h"
#include "prov/engine.h"
#include "prov/ingest.h"
#include "prov/log.h"
#include "prov/policy.h"
#include "prov/store.h"

using namespace prov;
using namespace prov::testing;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// An LDAP tool over LDAPS (certificate verified against the DC's CA), bound as the administrator.
std::string ldap_tool(const SambaInfo& dc, const std::string& tool) {
  return "LDAPTLS_CACERT=" + shell_quote(dc.ca_file) + " LDAPTLS_REQCERT=demand " + tool +
         " -x -o ldif_wrap=no -H " + shell_quote(dc.ldaps_url) + " -D " + shell_quote(dc.bind_dn) +
         " -w " + shell_quote(dc.bind_pw);
}

// ldapadd of an LDIF file; returns the wall time in seconds, or -1 (the output is printed).
double timed_ldapadd(const SambaInfo& dc, const fs::path& ldif) {
  std::string out;
  const auto t = SteadyClock::now();
  const int rc = run_command(
      ldap_tool(dc, "ldapadd") + " -f " + shell_quote(ldif.string()) + " >/dev/null", &out);
  const double s = seconds_since(t);
  if (rc != 0) {
    std::cerr << "ldapadd -f " << ldif.string() << " failed (exit " << rc << "): " << out << "\n";
    return -1;
  }
  return s;
}

// Enabled user accounts directly under `ou_dn` (userAccountControl without ACCOUNTDISABLE), or -1.
long count_enabled_users(const SambaInfo& dc, const std::string& ou_dn) {
  std::string out;
  const int rc = run_command(
      ldap_tool(dc, "ldapsearch") + " -LLL -E pr=500/noprompt -s one -b " + shell_quote(ou_dn) +
          " '(&(sAMAccountType=805306368)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))' dn",
      &out);
  if (rc != 0) {
    std::cerr << "ldapsearch under " << ou_dn << " failed (exit " << rc << "): " << out << "\n";
    return -1;
  }
  long n = 0;
  for (std::size_t pos = 0; pos < out.size();) {
    const std::size_t end = out.find('\n', pos);
    if (out.compare(pos, 3, "dn:") == 0) ++n;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return n;
}

// Short and different for every run, so a reused DC never sees a name twice (sAMAccountName is
// unique in the domain; employeeID holds at most 16 characters).
std::string run_tag() {
  constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  auto v = static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count()) %
           60466176ULL;  // 36^5
  std::string out(5, '0');
  for (int i = 4; i >= 0; --i, v /= 36) out[static_cast<std::size_t>(i)] = kDigits[v % 36];
  return out;
}

std::string ou_ldif(const std::string& name, const std::string& base_dn) {
  return "dn: OU=" + name + "," + base_dn + "\nobjectClass: organizationalUnit\nou: " + name +
         "\n\n";
}

// Hires land in their own OU with a one-time password; no groups, so each hire is exactly the
// Create the raw floor mirrors.
std::string policy_yaml(const std::string& ou) {
  return R"(version: 1
attributes:
  givenName: "{{ worker.firstName }}"
  sn: "{{ worker.lastName }}"
  cn: "{{ worker.firstName }} {{ worker.lastName }}"
  displayName: "{{ worker.firstName }} {{ worker.lastName }}"
username:
  candidates:
    - "{{ worker.firstName | first(1) }}{{ worker.lastName }}"
    - "{{ worker.firstName | first(1) }}{{ worker.lastName }}{{ n }}"
  transform: [ascii, lower, alnum]
  max_length: 20
ou: ")" + ou +
         R"("
roles:
  - name: employees
    when: { workerType: Employee }
password:
  initial: true
  deliver: file
)";
}

}  // namespace

int main(int argc, char** argv) {
  int n = 300;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--users") == 0 && i + 1 < argc) {
      n = std::atoi(argv[++i]);
    } else {
      std::cerr << "usage: samba_load_bench [--users N]\n";
      return 2;
    }
  }
  if (n <= 0 || n > 9999999) {
    std::cerr << "samba_load_bench: --users must be 1..9999999\n";
    return 2;
  }
  // The connector logs every create at info; the figures, not a log line per write, go to stdout.
  log::init("warn", "json");

  const SambaInfo* dc_ptr = nullptr;
  try {
    dc_ptr = &samba();
  } catch (const std::exception& e) {
    std::cerr << "samba_load_bench: no Samba AD DC: " << e.what() << "\n";
    return 1;
  }
  const SambaInfo& dc = *dc_ptr;
  const std::string tag = run_tag();
  const std::string raw_ou = "BenchRaw" + tag, prov_ou = "BenchProv" + tag;
  const std::string raw_ou_dn = "OU=" + raw_ou + "," + dc.base_dn;
  const std::string prov_ou_dn = "OU=" + prov_ou + "," + dc.base_dn;
  const std::string upn_suffix = ad::realm_from_base_dn(dc.base_dn);

  const fs::path work = fs::temp_directory_path() / ("prov-samba-load-" + tag);
  fs::remove_all(work);
  fs::create_directories(work);
  fs::permissions(work, fs::perms::owner_all);  // the raw LDIF holds passwords

  // --- raw floor: the two OUs (not timed), then N complete users in one ldapadd
  {
    std::ofstream(work / "ous.ldif") << ou_ldif(raw_ou, dc.base_dn) << ou_ldif(prov_ou, dc.base_dn);
    std::ofstream users(work / "raw-users.ldif");
    for (int i = 0; i < n; ++i) {
      const std::string id = tag + std::to_string(i);
      const std::string sam = "br" + id, display = "Bench R" + id;
      std::string password = random_password(20);
      const auto encoded = ad::encode_unicode_pwd(password);
      if (!encoded) {
        std::cerr << "samba_load_bench: generated password is not UTF-8\n";
        return 1;
      }
      users << "dn: CN=" << display << "," << raw_ou_dn
            << "\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson"
               "\nobjectClass: user\ncn: "
            << display << "\nsAMAccountName: " << sam << "\nuserPrincipalName: " << sam << "@"
            << upn_suffix << "\ngivenName: Bench\nsn: R" << id << "\ndisplayName: " << display
            << "\nemployeeID: r" << id << "\nunicodePwd:: " << base64_encode(*encoded)
            << "\nuserAccountControl: 512\n\n";
    }
  }
  if (timed_ldapadd(dc, work / "ous.ldif") < 0) return 1;
  const double raw_s = timed_ldapadd(dc, work / "raw-users.ldif");
  fs::remove(work / "raw-users.ldif");  // it holds passwords
  if (raw_s < 0) return 1;

  // --- provisiond: the engine, the executor and the AD connector, as provisiond wires them
  Config config;
  config.state_path = work / "state.db";
  config.policy_path = work / "policy.yaml";
  config.targets = {dc.directory_config()};
  config.safety.max_destructive = 1000000;
  config.safety.max_destructive_percent = 1000000;
  std::ofstream(config.policy_path) << policy_yaml("OU=" + prov_ou);

  std::shared_ptr<const Policy> policy;
  try {
    policy = Policy::load(config.policy_path);
  } catch (const PolicyLoadError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << "\n";
    return 1;
  }
  ConnectorRegistry registry;
  register_builtin_connectors(registry);
  auto connector = registry.create(config.default_target());
  auto lookup_connector = registry.create(config.default_target());
  auto store = Store::open(config.state_path);
  SystemClock clock;
  auto engine = std::make_unique<Engine>(*store, connector.get(), clock, config, policy);
  engine->set_lookup_connector(lookup_connector.get());
  engine->start_executor([&](const DirectoryConfig& t) { return registry.create(t); });

  // The hires are already in the inbox (not timed): the clock covers planning, the outbox, the
  // executor, the connector and the DC.
  const auto effective = *parse_time("2026-01-05T08:00:00Z");
  bool all_stored = true;
  store->transaction([&] {
    for (int i = 0; i < n; ++i) {
      const std::string id = "p" + tag + std::to_string(i);
      HrEvent e;
      e.event_id = "samba-load-" + id;
      e.type = EventType::Hire;
      e.effective_at = effective;
      e.worker_id = id;
      e.worker = Json{{"workerId", id},
                      {"firstName", "Bench"},
                      {"lastName", "P" + tag + std::to_string(i)},
                      {"workerType", "Employee"},
                      {"department", "Engineering"},
                      {"hireDate", "2026-01-05"}};
      e.body_sha256 = sha256_hex(e.worker.dump());
      e.received_at = clock.now();
      e.source = "webhook";
      all_stored = all_stored && store->insert_event(e).status == IngestStatus::Stored;
    }
  });
  if (!all_stored) {
    std::cerr << "samba_load_bench: not every hire was stored in the inbox\n";
    return 1;
  }

  const auto deadline = SteadyClock::now() + std::chrono::hours(2);
  const auto t0 = SteadyClock::now();
  StoreCounts counts;
  for (;;) {
    if (engine->step()) continue;
    counts = store->counts();
    if (counts.inbox_pending == 0 && counts.ops_pending == 0) break;
    if (SteadyClock::now() > deadline) {
      std::cerr << "samba_load_bench: provisiond did not finish within 2 hours\n";
      return 1;
    }
    // Nothing to do on this thread: a batch is on the wire (its worker thread wakes nobody we
    // could wait on from here), or a retry is backing off.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double prov_s = seconds_since(t0);

  // --- verify: every user of both sides exists and is enabled
  const long raw_found = count_enabled_users(dc, raw_ou_dn);
  const long prov_found = count_enabled_users(dc, prov_ou_dn);

  const double raw_rate = n / raw_s, prov_rate = n / prov_s;
  std::printf("\n== Samba AD bulk load: %d users (DC %s)\n", n, dc.ldaps_url.c_str());
  std::printf("raw ldapadd %d users (1 LDAPS connection, 1 write each): %.2f s → %.1f users/s\n", n,
              raw_s, raw_rate);
  std::printf("provisiond executor (engine + AD connector, pipelined: 1 write + 2 reads each): %.2f s → %.1f users/s\n",
              prov_s, prov_rate);
  std::printf(
      "enabled users found: raw %ld/%d, provisiond %ld/%d; operations: done %lld, "
      "failed %lld, held %lld\n",
      raw_found, n, prov_found, n, static_cast<long long>(counts.ops_done),
      static_cast<long long>(counts.ops_failed), static_cast<long long>(counts.ops_held));
  std::printf("ratio provisiond / raw: %.2f (goal >= 0.9: %s)\n", prov_rate / raw_rate,
              prov_rate / raw_rate >= 0.9 ? "met" : "NOT met");

  engine.reset();
  store.reset();
  std::error_code ec;
  fs::remove_all(work, ec);
  return raw_found == n && prov_found == n ? 0 : 1;
}
