// Workforce: a company of N people provisioned and then run by provisiond (the real process:
// signed webhooks → inbox → engine → executor → directory) with policies/example.yaml, on a
// directory set up as a site runs it — slapd: mdb with fsync, ppolicy that locks, indexes on uid,
// cn, mail, employeeNumber, member; or a Samba AD DC. One run measures:
//   1. the raw floor on that directory: `ldapadd` of entries equivalent to the ones provisiond
//      writes (same attributes, initial password), once alone (then their memberships, one
//      modify per group per 128 people, as the executor coalesces them) and once followed by
//      the same memberships one member add each (`ldapmodify` into groups of the same sizes);
//   2. the fill: N signed hires (Finance / Engineering / Sales / Marketing × Berlin / Munich /
//      Hamburg evenly, one manager per ten people) until every account is applied: the bulk rate;
//   3. a steady day: RATE events/s for S seconds — 25 % HIRE, 50 % CHANGE (title; department →
//      group moves; manager), 25 % TERMINATION effective now — while probes bind as every leaver
//      (TERMINATION 202 → bind refused) and look for every new hire (HIRE 202 → entry visible).
// It prints a table and, last, a one-line JSON summary.
//
//   workforce_bench [--workers N] [--rate EVENTS_PER_S] [--seconds S] [--big-groups | --samba]
//                   [--entries-floor-only] [--password-in-add]
//     --workers     company size (default 10,000, 2,000 with --samba; goal sizes 10,000, 100,000)
//     --rate        steady-day events per second (default 100, 10 with --samba)
//     --seconds     steady-day length (default 60)
//     --big-groups  slapd with the settings of a site with big groups (sortvals + mdb multival on
//                   member)
//     --batch-size  executor.batch_size for the run (default: the daemon's, 256)
//     --connections executor.connections for the run (default: the daemon's)
//     --pipeline-window  directory.pipeline_window for the run (default: the daemon's)
//     --burst N     after the steady day, N more HIREs as fast as 64 keep-alive connections are
//                   answered, with a TERMINATION among them every N/100 requests (100 people
//                   the steady day left alone): TERMINATION sent → bind refused while the inbox holds
//                   a backlog the engine has not planned yet (leavers first in the inbox)
//     --initial-password METHOD  slapd: directory.initial_password for the run — hashed_in_add
//                   (the daemon's default: one write per new account), password_modify (two) or
//                   cleartext_in_add (one; the test slapd hashes it with ppolicy_hash_cleartext);
//                   --password-in-add is cleartext_in_add
//     --samba       a Samba AD DC (directory.type: ad) on 127.0.0.1:389/636 instead of slapd; the
//                   raw floor goes over LDAPS, as provisiond does
//     --scim        the harness's SCIM app (SCIMMY) as a second target `app` (the example policy
//                   with grants there: all-hands, finance-team): each target's side of the fill is
//                   timed, and the app's own rate is measured afterwards on a fresh server of the
//                   same code (n users POSTed over executor.connections keep-alive connections)
//     --scim-refuses  --scim, and the app answers every request 429 (Retry-After: 5) for the
//                   whole steady day: the directory's lock-outs against a run with --scim, and
//                   how long the app takes to catch up once it answers again
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "ad/ad_values.h"
#include "bench/bench_util.h"
#include "bench/http_load.h"
#include "e2e/daemon_fixture.h"
#include "harness/bind_probe.h"
#include "harness/samba_fixture.h"
#include "harness/scim_fixture.h"
#include "prov/crypto.h"
#include "reliability/figures.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"

using namespace prov;
using namespace prov::testing;

namespace {

const char* const kDepartments[] = {"Finance", "Engineering", "Sales", "Marketing"};
const char* const kLocations[] = {"Berlin", "Munich", "Hamburg"};
const char* const kGroups[] = {"staff", "finance", "erp-users", "office-berlin", "managers"};
constexpr int kTeam = 10;  // the first of every ten people manages the other nine
// A probe that has not seen its condition this long after the 202 counts as "never".
constexpr auto kProbeCap = std::chrono::seconds(60);

struct Args {
  int workers = 0, rate = 0, seconds = 60;  // 0: the directory's default
  bool big_groups = false, samba = false;
  // Only the entries-only floor: at 100,000 people the memberships floor (one modify per
  // membership into groups of up to N members, each rewriting the group without sortvals) takes
  // hours on slapd's defaults.
  bool entries_floor_only = false;
  std::string initial_password;  // directory.initial_password; empty: the daemon's default
  int batch_size = 0;
  int connections = 0;
  int pipeline_window = 0;
  int burst = 0;
  // A SCIM 2.0 app (the harness's SCIMMY server) as a second target, and whether it answers
  // every request 429 during the steady day.
  bool scim = false, scim_refuses = false;
};

// ---- the directory under test

// What differs between OpenLDAP and Active Directory here: entry shapes, how the LDAP tools
// connect, and what a refused bind looks like.
struct Target {
  bool ad = false;
  std::string name, base_dn, groups_base, bind_url, ca_file, realm;
  std::string tool_env, tool_args;  // around an LDAP tool's name: TLS trust, URL, service bind
  std::string id_attr, person_filter, db_file;

  std::string tool(const std::string& name) const { return tool_env + name + tool_args; }
};

Target slapd_target(const SlapdInfo& s, bool big_groups) {
  Target t;
  t.name = std::string("slapd mdb with fsync, ") +
           (big_groups ? "big-group settings (sortvals, multival)" : "default settings");
  t.base_dn = s.base_dn;
  t.bind_url = s.url;
  t.tool_args = ldap_tool(s, "");
  t.groups_base = "ou=groups," + s.base_dn;
  t.id_attr = "employeeNumber";
  t.person_filter = "(objectClass=inetOrgPerson)";
  t.db_file = s.dir + "/db/data.mdb";
  return t;
}

Target samba_target(const SambaInfo& dc) {
  Target t;
  t.ad = true;
  t.name = "Samba AD DC (LDAPS)";
  t.base_dn = dc.base_dn;
  t.bind_url = dc.ldaps_url;
  t.ca_file = dc.ca_file;
  t.realm = ad::realm_from_base_dn(dc.base_dn);
  t.tool_env = "LDAPTLS_CACERT=" + shell_quote(dc.ca_file) + " LDAPTLS_REQCERT=demand ";
  t.tool_args = " -x -H " + shell_quote(dc.ldaps_url) + " -D " + shell_quote(dc.bind_dn) + " -w " +
                shell_quote(dc.bind_pw);
  t.groups_base = "OU=Groups," + dc.base_dn;
  t.id_attr = "employeeID";
  t.person_filter = "(sAMAccountType=805306368)";
  return t;
}

// Every entry under `base` matching `filter` (paged: the service account's size limit applies).
std::vector<LdapEntry> ldap_search(const Target& t, const std::string& base,
                                   const std::string& filter, const std::string& attrs) {
  std::string out;
  if (run_command(t.tool("ldapsearch") + " -LLL -o ldif_wrap=no -E pr=500/noprompt -b " +
                      shell_quote(base) + " " + shell_quote(filter) + " " + attrs,
                  &out) != 0)
    return {};
  std::vector<LdapEntry> entries;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(": ");
    if (line.empty() || line[0] == '#' || colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon), value = line.substr(colon + 2);
    if (key == "dn") {
      entries.push_back(LdapEntry{value, {}});
    } else if (!entries.empty()) {
      entries.back().attrs[key.substr(0, key.find(';'))].push_back(value);  // member;range=…
    }
  }
  return entries;
}

// Whether the person could log in with `password`: a bind that succeeds, or (AD) that fails only
// because the one-time password must be changed first ("data 773").
bool can_log_in(const Target& t, const std::string& dn, const std::string& password) {
  std::string diagnostic;
  const int rc = bind_result(t.bind_url, dn, password, t.ca_file, &diagnostic);
  return rc == 0 || (t.ad && rc == 49 && diagnostic.find("data 773") != std::string::npos);
}

// ---- the company

// Worker ids: `g_run_tag` (AD only: a DC may be shared, and names there are domain-wide), then
// "7" for the initial staff or "8" for the steady day's hires, then six digits.
std::string g_run_tag;

std::string worker_id(char prefix, int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%06d", prefix, i);
  return g_run_tag + buf;
}

bool leads_a_team(int i) { return i % kTeam == 0; }
// The manager of team `t` (teams wrap around, so any number maps onto an existing manager).
std::string team_manager(int t, int workers) {
  return worker_id('7', t % (workers / kTeam) * kTeam);
}

// Person i: the (department, location) pairs take turns, so each pair holds N/12 people.
Json person_record(const std::string& id, int i, const std::string& manager_id) {
  Json w = make_worker(id, "Wf", "W" + id, kDepartments[i % 4]);
  w["location"] = kLocations[(i / 4) % 3];
  if (!manager_id.empty()) w["managerId"] = manager_id;
  return w;
}

// The policy's groups for a record of the initial staff; `managers` goes to whoever has reports,
// here the people without a manager.
std::set<std::string> groups_for(const Json& record) {
  auto groups = expected_after(ScriptedEvent{"", "HIRE", record, ""}).groups;
  if (!record.contains("managerId")) groups.insert("managers");
  return groups;
}

Json event_body(const std::string& event_id, const std::string& type, const Json& worker) {
  return Json{{"eventId", event_id},
              {"eventType", type},
              {"effectiveAt", now_rfc3339()},
              {"worker", worker}};
}

// ---- the raw floor

// People per coalesced membership modify in the raw floor: about what one executor batch holds.
constexpr std::size_t kCoalesced = 128;

// `ldapadd` input for the people of `records` under OU `kind` ("rawa", "rawb"): the attributes
// provisiond writes for them (the policy's templates) and an initial password. With `members`, also
// the groups (under the same OU, created before the clock starts) and one member add per
// membership; with `coalesced` instead, one modify per group for every kCoalesced people, which is
// how provisiond's executor sends a batch's memberships.
void write_raw_ldif(const Target& t, const std::vector<Json>& records, const std::string& kind,
                    std::ostream& setup, std::ostream& people, std::ostream* members,
                    std::ostream* coalesced = nullptr) {
  const std::string ou = kind + g_run_tag, parent = "ou=" + ou + "," + t.base_dn;
  std::map<std::string, std::string> dn_of;  // worker id → raw DN
  for (const Json& w : records) {
    const std::string id = w["workerId"], cn = "Wf W" + id;
    dn_of[id] = t.ad ? "cn=" + cn + "," + parent : "uid=" + kind + id + "," + parent;
  }
  setup << "dn: " << parent << "\nobjectClass: organizationalUnit\nou: " << ou << "\n\n";
  if (members || coalesced) {
    for (const char* g : kGroups) {
      setup << "dn: cn=" << g << "," << parent << "\ncn: " << g;
      // groupOfNames needs a first member: a placeholder. AD groups may start empty.
      setup << (t.ad ? "\nobjectClass: group\ngroupType: -2147483646\n\n"
                     : "\nobjectClass: groupOfNames\nmember: cn=nobody\n\n");
    }
  }
  for (const Json& w : records) {
    const std::string id = w["workerId"], last = w["lastName"], first = w["firstName"];
    const std::string name = kind + id, password = "Initial-" + id + "-Xy7!";
    people << "dn: " << dn_of[id] << "\ncn: " << first << " " << last << "\nsn: " << last
           << "\ngivenName: " << first << "\ndisplayName: " << first << " " << last
           << "\ntitle: " << w.value("jobTitle", "") << "\nmail: " << name << "@example.com";
    if (w.contains("managerId")) people << "\nmanager: " << dn_of[w["managerId"]];
    if (t.ad) {
      people << "\nobjectClass: user\nsAMAccountName: " << name << "\nuserPrincipalName: " << name
             << "@" << t.realm << "\nemployeeID: " << kind.back() << id
             << "\nunicodePwd:: " << base64_encode(ad::encode_unicode_pwd(password).value())
             << "\nuserAccountControl: 512\n\n";
    } else {
      people << "\nobjectClass: inetOrgPerson\nuid: " << name << "\nemployeeNumber: " << name
             << "\nuserPassword: " << password << "\n\n";
    }
    if (!members) continue;
    for (const auto& g : groups_for(w))
      *members << "dn: cn=" << g << "," << parent
               << "\nchangetype: modify\nadd: member\nmember: " << dn_of[id] << "\n\n";
  }
  if (!coalesced) return;
  for (std::size_t first = 0; first < records.size(); first += kCoalesced) {
    std::map<std::string, std::vector<std::string>> joiners;  // group → member DNs
    for (std::size_t k = first; k < std::min(records.size(), first + kCoalesced); ++k)
      for (const auto& g : groups_for(records[k]))
        joiners[g].push_back(dn_of[records[k]["workerId"]]);
    for (const auto& [g, dns] : joiners) {
      *coalesced << "dn: cn=" << g << "," << parent << "\nchangetype: modify\nadd: member";
      for (const auto& dn : dns) *coalesced << "\nmember: " << dn;
      *coalesced << "\n\n";
    }
  }
}

struct RawFloor {
  double entries_s = -1, with_groups_add_s = -1, with_groups_member_s = -1;
  double coalesced_member_s = -1;  // the entries-only people's memberships, coalesced
};

// `records` with the managers first, so each `manager` value names an entry that exists.
RawFloor measure_raw_floor(const Target& t, const std::vector<Json>& records,
                           const std::string& work, bool entries_only) {
  RawFloor r;
  const std::string d = work + "/";
  {
    std::ofstream setup(d + "raw-setup.ldif"), alone(d + "raw-alone.ldif"),
        people(d + "raw-people.ldif"), members(d + "raw-members.ldif"),
        coalesced(d + "raw-coalesced.ldif");
    write_raw_ldif(t, records, "rawa", setup, alone, nullptr, &coalesced);
    write_raw_ldif(t, records, "rawb", setup, people, &members);
  }
  if (timed_ldap(t.tool("ldapadd"), d + "raw-setup.ldif") < 0) return r;
  r.entries_s = timed_ldap(t.tool("ldapadd"), d + "raw-alone.ldif");
  if (entries_only) return r;
  r.coalesced_member_s = timed_ldap(t.tool("ldapmodify"), d + "raw-coalesced.ldif");
  r.with_groups_add_s = timed_ldap(t.tool("ldapadd"), d + "raw-people.ldif");
  r.with_groups_member_s = timed_ldap(t.tool("ldapmodify"), d + "raw-members.ldif");
  return r;
}

// ---- probes

// Polls pending items until `reached` says so for an item (→ the milliseconds since its 202) or
// kProbeCap passes (→ "never"). Items are dealt round-robin to a few threads; each sweeps its own
// items with one call, so hundreds can wait at once with a resolution of one sweep.
class Poller {
 public:
  struct Item {
    std::string key, secret;
    SteadyClock::time_point accepted;
  };
  using Check = std::function<std::vector<bool>(const std::vector<Item>&)>;

  Poller(int threads, Check reached) : reached_(std::move(reached)), lanes_(threads) {
    for (auto& lane : lanes_) pool_.emplace_back([this, &lane] { sweep(lane); });
  }
  ~Poller() { finish(); }

  void add(Item item) {
    Lane& lane = lanes_[next_++ % lanes_.size()];
    std::lock_guard l(lane.mu);
    lane.items.push_back(std::move(item));
  }
  // Returns once every item added so far is resolved.
  void finish() {
    closing_ = true;
    for (auto& t : pool_)
      if (t.joinable()) t.join();
  }
  std::vector<double> results() const {
    std::lock_guard l(mu_);
    return results_;
  }
  int never() const { return never_.load(); }

 private:
  struct Lane {
    std::mutex mu;
    std::vector<Item> items;
  };

  void sweep(Lane& lane) {
    for (;;) {
      std::vector<Item> mine, keep;
      {
        std::lock_guard l(lane.mu);
        mine.swap(lane.items);
      }
      if (mine.empty() && closing_) return;
      const std::vector<bool> reached = mine.empty() ? std::vector<bool>() : reached_(mine);
      for (std::size_t k = 0; k < mine.size(); ++k) {
        if (reached[k]) {
          const double ms = ms_since(mine[k].accepted);
          std::lock_guard l(mu_);
          results_.push_back(ms);
        } else if (SteadyClock::now() - mine[k].accepted > kProbeCap) {
          ++never_;
        } else {
          keep.push_back(std::move(mine[k]));
        }
      }
      {
        std::lock_guard l(lane.mu);
        lane.items.insert(lane.items.end(), keep.begin(), keep.end());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // poll interval between sweeps
    }
  }

  Check reached_;
  std::vector<Lane> lanes_;
  std::vector<std::jthread> pool_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> closing_{false};
  std::atomic<int> never_{0};
  mutable std::mutex mu_;
  std::vector<double> results_;
};

// ---- figures

long vm_hwm_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// Bytes on disk (allocated blocks: mdb's data file is sparse up to its maxsize).
std::uintmax_t disk_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uintmax_t>(st.st_blocks) * 512 : 0;
}

template <typename... T>
std::string text(const char* format, T... values) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, values...);
  return buf;
}

// One line of the report: the label padded to a column (counting characters, not UTF-8 bytes).
void row(const std::string& label, const std::string& value) {
  std::size_t chars = 0;
  for (unsigned char c : label) chars += (c & 0xC0) != 0x80;
  std::cout << label << std::string(chars < 34 ? 35 - chars : 1, ' ') << value << "\n";
}

Json percentiles_json(const Percentiles& p) {
  return Json{
      {"n", p.n}, {"p50_ms", p.p50}, {"p95_ms", p.p95}, {"p99_ms", p.p99}, {"max_ms", p.max}};
}

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--big-groups") {
      a.big_groups = true;
    } else if (arg == "--samba") {
      a.samba = true;
    } else if (arg == "--password-in-add") {
      a.initial_password = "cleartext_in_add";
    } else if (arg == "--initial-password" && has_value) {
      a.initial_password = argv[++i];
    } else if (arg == "--entries-floor-only") {
      a.entries_floor_only = true;
    } else if (arg == "--workers" && has_value) {
      a.workers = std::atoi(argv[++i]);
    } else if (arg == "--batch-size" && has_value) {
      a.batch_size = std::atoi(argv[++i]);
    } else if (arg == "--connections" && has_value) {
      a.connections = std::atoi(argv[++i]);
    } else if (arg == "--pipeline-window" && has_value) {
      a.pipeline_window = std::atoi(argv[++i]);
    } else if (arg == "--scim") {
      a.scim = true;
    } else if (arg == "--scim-refuses") {
      a.scim = a.scim_refuses = true;
    } else if (arg == "--burst" && has_value) {
      a.burst = std::atoi(argv[++i]);
    } else if (arg == "--rate" && has_value) {
      a.rate = std::atoi(argv[++i]);
    } else if (arg == "--seconds" && has_value) {
      a.seconds = std::atoi(argv[++i]);
    } else {
      return false;
    }
  }
  if (a.workers == 0) a.workers = a.samba ? 2000 : 10000;
  if (a.rate == 0) a.rate = a.samba ? 10 : 100;
  return a.workers >= 2 * kTeam && a.workers <= 999999 && a.rate > 0 && a.seconds > 0 &&
         a.burst >= 0 && a.burst <= 999999 &&
         !(a.samba && (a.big_groups || !a.initial_password.empty() || a.scim));
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    std::cerr << "usage: workforce_bench [--workers N (20..999999)] [--rate EVENTS_PER_S] "
                 "[--seconds S] [--big-groups | --samba] [--entries-floor-only] [--password-in-add] "
                 "[--batch-size N] [--connections N] [--pipeline-window N] [--burst N] "
                 "[--scim | --scim-refuses]\n";
    return 2;
  }
  const int n = args.workers;
  const int total = args.rate * args.seconds;
  const int leavers_wanted = total / 4;  // events i with i % 4 == 3

  // The directory, and provisiond configured for it.
  std::unique_ptr<Slapd> slapd;
  Target target;
  std::string directory_yaml, bind_pw;
  if (args.samba) {
    const SambaInfo& dc = samba();  // a running shared DC, or one started here (ports 389/636)
    target = samba_target(dc);
    g_run_tag = unique_name("").substr(2, 5);  // digits of the process id and the clock
    directory_yaml =
        "directory:\n  type: ad\n  url: " + dc.ldaps_url + "\n  bind_dn: " + dc.bind_dn +
        "\n  password_file: bind.secret\n  base_dn: " + dc.base_dn +
        "\n  groups_ou: OU=Groups\n  password_dir: passwords\n  tls: { ca_file: " + dc.ca_file +
        ", verify: true }\n";
    bind_pw = dc.bind_pw;
  } else {
    SlapdOptions slapd_options;
    slapd_options.durable = true;
    slapd_options.big_groups = args.big_groups;
    slapd = Slapd::start(slapd_options);
    target = slapd_target(slapd->info(), args.big_groups);
  }
  std::cout << "workforce: " << n << " workers; " << target.name
            << "; initial passwords: "
            << (slapd ? (args.initial_password.empty() ? "hashed_in_add" : args.initial_password)
                      : "unicodePwd in the add")
            << (args.batch_size > 0 ? "; executor.batch_size " + std::to_string(args.batch_size)
                                    : "")
            << (args.connections > 0 ? "; executor.connections " + std::to_string(args.connections)
                                     : "")
            << (args.pipeline_window > 0
                    ? "; directory.pipeline_window " + std::to_string(args.pipeline_window)
                    : "")
            << "; steady day " << args.rate << " events/s for " << args.seconds << " s"
            << std::endl;

  // Managers first, as HR hires a team and as the raw floor loads it: a report arriving later
  // names its manager in its own create (on slapd, even while the manager's create is queued),
  // and the manager joins `managers` with the first report.
  std::vector<Json> records(static_cast<std::size_t>(n)), managers_first;
  std::vector<WorkerScript> fill;
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < n; ++i) {
      if (leads_a_team(i) != (pass == 0)) continue;
      const std::string id = worker_id('7', i);
      auto& record = records[static_cast<std::size_t>(i)];
      record = person_record(id, i, leads_a_team(i) ? "" : team_manager(i / kTeam, n));
      WorkerScript s;
      s.worker_id = id;
      const std::string event_id = "fill-" + id;
      s.events.push_back(
          ScriptedEvent{event_id, "HIRE", record, event_body(event_id, "HIRE", record).dump()});
      fill.push_back(std::move(s));
    }
  }
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < n; ++i)
      if (leads_a_team(i) == (pass == 0))
        managers_first.push_back(records[static_cast<std::size_t>(i)]);

  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;  // a quarter of the steady day is terminations
  if (args.burst > 0) {
    // The burst's connections all come from 127.0.0.1, and it is signed before it is sent; the
    // inbox takes the whole burst (a backlog is what it measures).
    options.webhook_yaml = "max_connections: 1024, max_connections_per_source: 1024, "
                           "inbox_high_water: " + std::to_string(args.burst * 2 + 100000);
    options.tolerance_s = 900;
  }
  if (!args.initial_password.empty())
    options.directory_yaml = "initial_password: " + args.initial_password;
  if (args.pipeline_window > 0) {
    const std::string key = "pipeline_window: " + std::to_string(args.pipeline_window);
    options.directory_yaml += (options.directory_yaml.empty() ? "" : "\n  ") + key;
    directory_yaml += "  " + key + "\n";  // the Samba target's keys
  }
  {
    std::vector<std::string> executor;
    if (args.batch_size > 0) executor.push_back("batch_size: " + std::to_string(args.batch_size));
    if (args.connections > 0)
      executor.push_back("connections: " + std::to_string(args.connections));
    for (std::size_t k = 0; k < executor.size(); ++k)
      options.executor_yaml += (k ? ", " : "") + executor[k];
  }
  std::unique_ptr<ScimServer> app;
  if (args.scim) {
    // The example policy with grants in the app: everyone gets all-hands, finance people
    // finance-team (SCIM groups, PATCHed members).
    app = ScimServer::start();
    const std::string dir = app->dir() + "/policy";
    std::filesystem::create_directories(dir);
    options.policy_path = write_policy_with_grants(dir, "app", "[all-hands]", "[finance-team]");
    options.more_targets_yaml = app->target_yaml("app");
  }
  auto daemon = slapd ? std::make_unique<Daemon>(*slapd, options)
                      : std::make_unique<Daemon>(directory_yaml, bind_pw, options);

  // --- 1. the raw floor (its LDIF holds passwords: it stays in the daemon's private folder)
  const RawFloor raw =
      measure_raw_floor(target, managers_first, daemon->dir(), args.entries_floor_only);
  if (raw.entries_s < 0 ||
      (!args.entries_floor_only && (raw.with_groups_add_s < 0 || raw.with_groups_member_s < 0 ||
                                    raw.coalesced_member_s < 0)))
    return 1;
  std::cout << "raw floor measured" << std::endl;

  // --- 2. the fill through provisiond
  daemon->start();
  StateDb db(daemon->state_path());
  const auto t_fill = SteadyClock::now();
  LoadGenerator load(*daemon, fill, 8);
  load.start();
  load.join();
  const double fill_ack_s = seconds_since(t_fill);
  // With an app, each target's side is timed on its own: the directory's is the bulk rate.
  double directory_fill_s = -1, app_fill_s = -1;
  if (!eventually(
          [&] {
            if (!app) return db.idle();
            if (directory_fill_s < 0 && db.idle("directory"))
              directory_fill_s = seconds_since(t_fill);
            if (app_fill_s < 0 && db.idle("app")) app_fill_s = seconds_since(t_fill);
            return directory_fill_s >= 0 && app_fill_s >= 0;
          },
          std::chrono::hours(2))) {
    std::cerr << "the fill did not finish within 2 hours\n";
    return 1;
  }
  const double fill_s = app ? directory_fill_s : seconds_since(t_fill);
  std::map<std::string, std::string> dn_of;
  for (const auto& e :
       ldap_search(target, target.base_dn,
                   "(&" + target.person_filter + "(" + target.id_attr + "=" + g_run_tag + "7*))",
                   target.id_attr))
    dn_of[e.first(target.id_attr)] = e.dn;
  std::map<std::string, std::size_t> group_sizes, group_wanted;
  for (const auto& r : records)
    for (const auto& g : groups_for(r)) ++group_wanted[g];
  for (const char* g : kGroups) {
    const auto found =
        ldap_search(target, target.groups_base, std::string("(cn=") + g + ")", "member");
    if (!found.empty())
      group_sizes[g] =
          found.front().attrs.count("member") ? found.front().attrs.at("member").size() : 0;
  }
  std::cout << "filled: " << dn_of.size() << " accounts in " << fill_s << " s" << std::endl;

  // --- 3. the steady day
  // Leavers: people without reports (so every `manager` stays an active account), from the end;
  // changes: the others without reports, in turn. A small company keeps half for the changes.
  std::vector<int> leavers, changers;
  const int leaver_count = std::min(leavers_wanted, (n - (n + kTeam - 1) / kTeam) / 2);
  for (int i = n - 1; i >= 0; --i) {
    if (leads_a_team(i)) continue;
    (static_cast<int>(leavers.size()) < leaver_count ? leavers : changers).push_back(i);
  }
  // Only leavers whose delivered one-time password works now can show it being refused.
  std::vector<std::string> leaver_pw(leavers.size());
  int unusable = 0;
  for (std::size_t k = 0; k < leavers.size(); ++k) {
    const std::string id = worker_id('7', leavers[k]);
    leaver_pw[k] = daemon->password_of(id);
    if (!can_log_in(target, dn_of[id], leaver_pw[k])) {
      leaver_pw[k].clear();
      ++unusable;
    }
  }

  Poller lockouts(4, [&](const std::vector<Poller::Item>& items) {
    std::vector<bool> refused;
    for (const auto& it : items) refused.push_back(!can_log_in(target, it.key, it.secret));
    return refused;
  });
  Poller hires(1, [&](const std::vector<Poller::Item>& items) {  // one search per sweep
    std::string filter = "(&" + target.person_filter + "(|";
    for (const auto& it : items) filter += "(" + target.id_attr + "=" + it.key + ")";
    std::set<std::string> found;
    for (const auto& e : ldap_search(target, target.base_dn, filter + "))", target.id_attr))
      found.insert(e.first(target.id_attr));
    std::vector<bool> visible;
    for (const auto& it : items) visible.push_back(found.count(it.key) > 0);
    return visible;
  });
  std::mutex mu;  // records of changed workers, statuses
  std::map<int, int> statuses;
  std::atomic<int> next_change{0}, next_leaver{0};
  const auto t0 = SteadyClock::now() + std::chrono::milliseconds(100);
  // The app refuses everything for the steady day, asking to be tried again in 5 s.
  if (args.scim_refuses) app->fail_requests(429, 5);
  paced(args.rate, total, 16, t0, [&](int i) {
    const std::string event_id = "wf-" + g_run_tag + std::to_string(i);
    std::string type, probe_dn, probe_pw, hire_id;
    Json worker;
    switch (i % 4) {
      case 0: {
        type = "HIRE";
        hire_id = worker_id('8', i);
        worker = person_record(hire_id, i, team_manager(i / kTeam, n));
        break;
      }
      case 1:
      case 2: {
        type = "CHANGE";
        const int c = next_change++;
        const int w = changers[static_cast<std::size_t>(c) % changers.size()];
        std::lock_guard l(mu);
        Json& r = records[static_cast<std::size_t>(w)];
        if (c % 3 == 0) {
          r["jobTitle"] = "Grade " + std::to_string(i);
        } else if (c % 3 == 1) {  // moves between finance/erp-users and no department group
          const std::string d = r["department"];
          r["department"] = d == "Finance" ? "Sales" : "Finance";
        } else {
          r["managerId"] = team_manager(w / kTeam + 1, n);
        }
        worker = r;
        break;
      }
      default: {
        type = "TERMINATION";
        const auto c = static_cast<std::size_t>(next_leaver++);
        const auto k = c % leavers.size();
        const std::string id = worker_id('7', leavers[k]);
        worker = records[static_cast<std::size_t>(leavers[k])];
        worker["terminationDate"] = now_rfc3339();
        probe_dn = dn_of[id];
        if (c < leavers.size()) probe_pw = leaver_pw[k];  // a second termination: no probe
      }
    }
    const auto r = daemon->send(event_body(event_id, type, worker).dump());
    if (r.status == 202 && !probe_pw.empty())
      lockouts.add({probe_dn, probe_pw, SteadyClock::now()});
    if (r.status == 202 && !hire_id.empty()) hires.add({hire_id, "", SteadyClock::now()});
    std::lock_guard l(mu);
    ++statuses[r.status];
  });
  const double offered_s = seconds_since(t0);
  lockouts.finish();
  hires.finish();
  Json app_refused;  // what the app refused, and how long the catching up took
  if (args.scim_refuses) {
    const Json during = app->stats();
    const bool directory_done = db.idle("directory");
    app->clear_failures();
    const auto t_back = SteadyClock::now();
    const bool caught_up = eventually([&] { return db.idle("app"); }, std::chrono::minutes(10));
    app_refused = {{"refused", during.value("refused", 0)},
                   {"directory_done_meanwhile", directory_done},
                   {"caught_up", caught_up},
                   {"catch_up_s", seconds_since(t_back)}};
  }
  const bool drained = eventually([&] { return db.idle(); }, std::chrono::minutes(10));
  const double drained_s = seconds_since(t0);

  // --- 4. a burst (--burst N)
  struct {
    Run run;
    std::size_t leavers = 0;
    std::int64_t backlog = 0;
    double applied_s = 0;
    bool drained = true;
    std::vector<double> lockout;
    int never = 0;
  } burst;
  if (args.burst > 0) {
    // The burst's leavers: people without reports the steady day neither terminated nor
    // changed (changes take the changers in turn from the front), who can log in now.
    std::vector<int> spare;
    std::vector<std::string> spare_pw;
    for (auto it = changers.rbegin();
         it != changers.rend() && spare.size() < 100 &&
         static_cast<std::size_t>(it - changers.rbegin()) + next_change.load() < changers.size();
         ++it) {
      const std::string id = worker_id('7', *it);
      const std::string pw = daemon->password_of(id);
      if (pw.empty() || !can_log_in(target, dn_of[id], pw)) continue;
      spare.push_back(*it);
      spare_pw.push_back(pw);
    }
    burst.leavers = spare.size();
    const int every = spare.empty() ? 0 : std::max(1, args.burst / static_cast<int>(spare.size()));
    // Signed before the clock starts, so the senders only write bytes.
    std::vector<std::pair<std::string, std::string>> requests;
    std::vector<std::ptrdiff_t> leaver_of;  // request → index into leavers, or -1
    for (int k = 0, next_spare = 0; k < args.burst; ++k) {
      const std::string id = worker_id('9', k), event_id = "burst-" + id;
      requests.push_back(signed_request(
          daemon->secret_key(), event_id,
          event_body(event_id, "HIRE", person_record(id, k, team_manager(k / kTeam, n)))));
      leaver_of.push_back(-1);
      if (every > 0 && k % every == every - 1 && next_spare < static_cast<int>(spare.size())) {
        const auto l = static_cast<std::size_t>(next_spare++);
        Json w = records[static_cast<std::size_t>(spare[l])];
        w["terminationDate"] = now_rfc3339();
        const std::string term_id = "burst-term-" + worker_id('7', spare[l]);
        requests.push_back(
            signed_request(daemon->secret_key(), term_id, event_body(term_id, "TERMINATION", w)));
        leaver_of.push_back(static_cast<std::ptrdiff_t>(l));
      }
    }
    Poller burst_lockouts(4, [&](const std::vector<Poller::Item>& items) {
      std::vector<bool> refused;
      for (const auto& it : items) refused.push_back(!can_log_in(target, it.key, it.secret));
      return refused;
    });
    std::size_t next_request = 0;
    const auto t_burst = SteadyClock::now();
    // The clock of each leaver starts when its request is handed to the sender: a little before
    // its 202, so the figure is, if anything, longer than 202 → refused.
    burst.run = drive(daemon->webhook_port(), 64, 3600, 202, [&](int, long) {
      if (next_request >= requests.size()) return std::pair<std::string, std::string>();
      const std::size_t k = next_request++;
      if (leaver_of[k] >= 0) {
        const auto l = static_cast<std::size_t>(leaver_of[k]);
        burst_lockouts.add({dn_of[worker_id('7', spare[l])], spare_pw[l], SteadyClock::now()});
      }
      return std::move(requests[k]);
    });
    burst.backlog = db.inbox_pending();
    burst_lockouts.finish();
    burst.lockout = burst_lockouts.results();
    burst.never = burst_lockouts.never();
    burst.drained = eventually([&] { return db.idle(); }, std::chrono::hours(2));
    burst.applied_s = seconds_since(t_burst);
  }
  const long rss_kb = vm_hwm_kb(daemon->pid());
  std::vector<double> applied_ms;
  for (const auto& l : db.applied_latencies())
    if (l.event_id.rfind("wf-", 0) == 0) applied_ms.push_back(static_cast<double>(l.ms));
  daemon->stop();
  // The app's own rate: a fresh server of the same code, n users POSTed by a direct client over
  // as many keep-alive connections as the executor has write lanes.
  double server_users_per_s = -1;
  if (app) {
    app->stop();
    auto bare = ScimServer::start();
    const std::string url = bare->url();  // http://127.0.0.1:PORT/scim/v2
    const int port = std::atoi(url.c_str() + url.rfind(':') + 1);
    const std::string head = "POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Authorization: Bearer " + bare->token() +
                             "\r\nContent-Type: application/scim+json\r\n";
    const Run direct = drive(port, args.connections > 0 ? args.connections : 2, 3600, 201,
                             [&](int, long k) {
                               if (k >= n) return std::pair<std::string, std::string>();
                               const std::string id = std::to_string(k);
                               const Json user{
                                   {"schemas", {"urn:ietf:params:scim:schemas:core:2.0:User"}},
                                   {"userName", "direct" + id},
                                   {"externalId", "d" + id},
                                   {"name", {{"givenName", "Wf"}, {"familyName", "W" + id}}},
                                   {"displayName", "Wf W" + id},
                                   {"emails", {{{"value", "direct" + id + "@example.com"},
                                                {"type", "work"},
                                                {"primary", true}}}},
                                   {"active", true}};
                               return std::pair<std::string, std::string>(head, user.dump());
                             });
    if (direct.ok == n) server_users_per_s = static_cast<double>(n) / direct.seconds;
  }
  // After the stop: the database as it stays on disk (the daemon checkpoints its WAL on exit).
  const auto state_bytes = disk_bytes(daemon->state_path());
  const auto wal_bytes = disk_bytes(daemon->state_path() + "-wal");

  // --- the report
  const double fill_rate = n / fill_s;
  const double raw_entries_rate = n / raw.entries_s;
  const double raw_groups_s = raw.with_groups_add_s + raw.with_groups_member_s;
  const double raw_groups_rate = n / raw_groups_s;
  const auto lock = percentiles(lockouts.results());
  const auto hire = percentiles(hires.results());
  const auto applied = percentiles(applied_ms);
  std::cout << "\n== workforce: " << n << " workers, " << target.name << "\n";
  row("raw ldapadd, entries only",
      text("%.1f s → %.0f entries/s", raw.entries_s, raw_entries_rate));
  const double raw_coalesced_rate = n / (raw.entries_s + raw.coalesced_member_s);
  if (args.entries_floor_only) {
    row("raw ldapadd + memberships", "not measured (--entries-floor-only)");
  } else {
    row("raw ldapadd + memberships",
        text("%.1f s + %.1f s member adds → %.0f people/s", raw.with_groups_add_s,
             raw.with_groups_member_s, raw_groups_rate));
    row("raw + coalesced memberships",
        text("%.1f s + %.1f s (one modify per group per %zu people) → %.0f people/s",
             raw.entries_s, raw.coalesced_member_s, kCoalesced, raw_coalesced_rate));
  }
  row(app ? "fill through provisiond, directory" : "fill through provisiond",
      text("%.1f s (all acknowledged after %.1f s) → %.0f hires/s", fill_s, fill_ack_s, fill_rate));
  if (app) {
    row("fill through provisiond, SCIM app",
        text("%.1f s → %.0f users/s; the server alone (POST /Users, direct client) %.0f users/s "
             "→ ratio %.2f",
             app_fill_s, n / app_fill_s, server_users_per_s,
             n / app_fill_s / server_users_per_s));
  }
  if (args.entries_floor_only)
    row("ratio provisiond / raw", text("%.2f vs entries only", fill_rate / raw_entries_rate));
  else
    row("ratio provisiond / raw",
        text("%.2f vs entries only, %.2f vs entries + memberships, %.2f vs entries + "
             "coalesced memberships",
             fill_rate / raw_entries_rate, fill_rate / raw_groups_rate,
             fill_rate / raw_coalesced_rate));
  std::string groups;
  for (const auto& [g, want] : group_wanted)
    groups += text("%s %zu (%zu)  ", g.c_str(), group_sizes[g], want);
  row("groups after the fill (want)", groups);
  std::string codes;
  for (const auto& [code, count] : statuses) codes += text("%d x%d  ", code, count);
  row("steady day: HTTP statuses",
      codes + text("(offered in %.1f s, drained at %.1f s%s)", offered_s, drained_s,
                   drained ? "" : ", NOT drained"));
  row("TERMINATION 202 → bind refused", describe_ms(lock));
  row("", text("probed %zu of %zu leavers (%d could not log in before); never refused within "
               "%lld s: %d",
               lock.n + static_cast<std::size_t>(lockouts.never()), leavers.size(), unusable,
               static_cast<long long>(kProbeCap.count()), lockouts.never()));
  row("HIRE 202 → entry visible", describe_ms(hire) + text("  (never: %d)", hires.never()));
  row("accepted → operation applied", describe_ms(applied));
  if (args.scim_refuses)
    row("SCIM app refusing (429) all day",
        text("%d requests refused; directory %s when the day ended; app caught up %.1f s after "
             "it answered again%s",
             app_refused.value("refused", 0),
             app_refused.value("directory_done_meanwhile", false) ? "done" : "NOT done",
             app_refused.value("catch_up_s", 0.0),
             app_refused.value("caught_up", false) ? "" : " (NOT caught up)"));
  const auto burst_lock = percentiles(burst.lockout);
  if (args.burst > 0) {
    std::string codes;
    for (const auto& [code, count] : burst.run.other_statuses)
      codes += text(", %ld answered %d", count, code);
    row("burst: HIREs + TERMINATIONs",
        text("%d + %zu sent in %.1f s (%.0f events/s%s); inbox backlog when the load stopped "
             "%lld; everything applied after %.1f s%s",
             args.burst, burst.leavers, burst.run.seconds, burst.run.rate(), codes.c_str(),
             static_cast<long long>(burst.backlog), burst.applied_s,
             burst.drained ? "" : " (NOT drained)"));
    row("TERMINATION sent → bind refused", describe_ms(burst_lock) +
                                               text("  during the burst (never: %d)", burst.never));
  }
  row("provisiond peak RSS (VmHWM)", text("%.1f MB", static_cast<double>(rss_kb) / 1024));
  row("state database after stop",
      text("%.1f MB (+ WAL %.1f MB)", static_cast<double>(state_bytes) / 1e6,
           static_cast<double>(wal_bytes) / 1e6) +
          (target.db_file.empty() ? std::string()
                                  : text("; slapd data.mdb %.1f MB",
                                         static_cast<double>(disk_bytes(target.db_file)) / 1e6)));

  const Json summary{{"bench", "workforce"},
                     {"directory", args.samba ? "samba" : "slapd"},
                     {"workers", n},
                     {"big_groups", args.big_groups},
                     {"initial_password", args.initial_password.empty() ? "hashed_in_add"
                                                                       : args.initial_password},
                     {"batch_size", args.batch_size},
                     {"connections", args.connections},
                     {"pipeline_window", args.pipeline_window},
                     {"rate", args.rate},
                     {"seconds", args.seconds},
                     {"fill_hires_per_s", fill_rate},
                     {"raw_entries_per_s", raw_entries_rate},
                     {"raw_with_groups_per_s",
                      args.entries_floor_only ? Json() : Json(raw_groups_rate)},
                     {"ratio_vs_entries", fill_rate / raw_entries_rate},
                     {"ratio_vs_entries_and_groups",
                      args.entries_floor_only ? Json() : Json(fill_rate / raw_groups_rate)},
                     {"raw_coalesced_members_s",
                      args.entries_floor_only ? Json() : Json(raw.coalesced_member_s)},
                     {"ratio_vs_entries_and_coalesced_groups",
                      args.entries_floor_only ? Json() : Json(fill_rate / raw_coalesced_rate)},
                     {"lockout", percentiles_json(lock)},
                     {"lockout_never", lockouts.never()},
                     {"hire_visible", percentiles_json(hire)},
                     {"hire_never", hires.never()},
                     {"applied", percentiles_json(applied)},
                     {"drained", drained},
                     {"peak_rss_kb", rss_kb},
                     {"state_db_bytes", state_bytes},
                     {"state_wal_bytes", wal_bytes},
                     {"scim", app ? Json{{"directory_fill_s", directory_fill_s},
                                         {"app_fill_s", app_fill_s},
                                         {"app_users_per_s", n / app_fill_s},
                                         {"server_users_per_s", server_users_per_s},
                                         {"refusing", app_refused}}
                                  : Json()},
                     {"burst", args.burst > 0 ? Json{{"hires", args.burst},
                                                     {"terminations", burst.leavers},
                                                     {"events_per_s", burst.run.rate()},
                                                     {"backlog", burst.backlog},
                                                     {"applied_s", burst.applied_s},
                                                     {"lockout", percentiles_json(burst_lock)},
                                                     {"lockout_never", burst.never}}
                                              : Json()}};
  std::cout << "\n" << summary.dump() << "\n";
  return drained && burst.drained && dn_of.size() == static_cast<std::size_t>(n) ? 0 : 1;
}
