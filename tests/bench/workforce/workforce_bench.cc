// Workforce: a company of N people provisioned and then run by provisiond (the real process:
// signed webhooks → inbox → engine → executor → slapd) with policies/example.yaml, on a slapd set
// up as a site runs it (mdb with fsync, ppolicy that locks, indexes on uid, cn, mail,
// employeeNumber, member). One run measures:
//   1. the raw floor on that slapd: `ldapadd` of entries equivalent to the ones provisiond writes
//      (same attributes, initial password), once alone and once followed by the same memberships
//      (`ldapmodify` member adds into groups of the same sizes);
//   2. the fill: N signed hires (Finance / Engineering / Sales / Marketing × Berlin / Munich /
//      Hamburg evenly, one manager per ten people) until every account is applied: the bulk rate;
//   3. a steady day: RATE events/s for S seconds — 25 % HIRE, 50 % CHANGE (title; department →
//      group moves; manager), 25 % TERMINATION effective now — while probes bind as every leaver
//      (TERMINATION 202 → bind refused) and look for every new hire (HIRE 202 → entry visible).
// It prints a table and, last, a one-line JSON summary.
//
//   workforce_bench [--workers N] [--rate EVENTS_PER_S] [--seconds S] [--big-groups]
//     --workers     company size (default 10,000; the goal sizes are 10,000 and 100,000)
//     --rate        steady-day events per second (default 100)
//     --seconds     steady-day length (default 60)
//     --big-groups  slapd with the settings of a site with big groups (sortvals + mdb multival
//                   on member)
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "bench/bench_util.h"
#include "e2e/daemon_fixture.h"
#include "harness/bind_probe.h"
#include "reliability/figures.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"

using namespace prov;
using namespace prov::testing;
namespace fs = std::filesystem;

namespace {

const char* const kDepartments[] = {"Finance", "Engineering", "Sales", "Marketing"};
const char* const kLocations[] = {"Berlin", "Munich", "Hamburg"};
constexpr int kTeam = 10;  // the first of every ten people manages the other nine
// A probe that has not seen its condition this long after the 202 counts as "never".
constexpr auto kProbeCap = std::chrono::seconds(60);

struct Args {
  int workers = 10000, rate = 100, seconds = 60;
  bool big_groups = false;
};

// ---- the company

std::string worker_id(char prefix, int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%06d", prefix, i);
  return buf;
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

// `ldapadd` input for the people of `records` under ou=<ou>: the attributes provisiond writes for
// them (the policy's templates) and an initial password. With `members`, also the groups (under
// the same OU, created before the clock starts) and one member add per membership, as provisiond
// sends them.
void write_raw_ldif(const SlapdInfo& info, const std::vector<Json>& records, const std::string& ou,
                    std::ostream& setup, std::ostream& people, std::ostream* members) {
  const std::string parent = "ou=" + ou + "," + info.base_dn;
  auto dn = [&](const std::string& id) { return "uid=" + ou + id + "," + parent; };
  setup << "dn: " << parent << "\nobjectClass: organizationalUnit\nou: " << ou << "\n\n";
  if (members) {
    // groupOfNames needs a member: a placeholder, as every group starts with one value.
    for (const char* g : {"staff", "finance", "erp-users", "office-berlin", "managers"})
      setup << "dn: cn=" << g << "," << parent << "\nobjectClass: groupOfNames\ncn: " << g
            << "\nmember: cn=nobody\n\n";
  }
  for (const Json& w : records) {
    const std::string id = w["workerId"], last = w["lastName"], first = w["firstName"];
    const std::string uid = ou + id;
    people << "dn: " << dn(id) << "\nobjectClass: inetOrgPerson\nuid: " << uid << "\ncn: " << first
           << " " << last << "\nsn: " << last << "\ngivenName: " << first
           << "\ndisplayName: " << first << " " << last << "\ntitle: " << w.value("jobTitle", "")
           << "\nmail: " << uid << "@example.com\nemployeeNumber: " << uid;
    if (w.contains("managerId")) people << "\nmanager: " << dn(w["managerId"]);
    people << "\nuserPassword: Initial-" << id << "-Xy7!\n\n";
    if (!members) continue;
    for (const auto& g : groups_for(w))
      *members << "dn: cn=" << g << "," << parent
               << "\nchangetype: modify\nadd: member\nmember: " << dn(id) << "\n\n";
  }
}

struct RawFloor {
  double entries_s = -1, with_groups_add_s = -1, with_groups_member_s = -1;
};

// Managers first, so each `manager` value names an entry that exists (as provisiond's does).
RawFloor measure_raw_floor(const SlapdInfo& info, const std::vector<Json>& records) {
  RawFloor r;
  const std::string d = info.dir + "/";
  {
    std::ofstream setup(d + "raw-setup.ldif"), alone(d + "raw-alone.ldif"),
        people(d + "raw-people.ldif"), members(d + "raw-members.ldif");
    write_raw_ldif(info, records, "rawa", setup, alone, nullptr);
    write_raw_ldif(info, records, "rawb", setup, people, &members);
  }
  if (timed_ldap(info, "ldapadd", d + "raw-setup.ldif") < 0) return r;
  r.entries_s = timed_ldap(info, "ldapadd", d + "raw-alone.ldif");
  r.with_groups_add_s = timed_ldap(info, "ldapadd", d + "raw-people.ldif");
  r.with_groups_member_s = timed_ldap(info, "ldapmodify", d + "raw-members.ldif");
  return r;
}

// ---- probes

// Polls every pending item until `reached(item)` holds (→ the milliseconds since its 202) or
// kProbeCap passes (→ "never"). Items are dealt round-robin to a few threads, each of which sweeps
// its own items, so hundreds can wait at once with a resolution of one sweep.
class Poller {
 public:
  struct Item {
    std::string key, secret;
    SteadyClock::time_point accepted;
  };
  using Check = std::function<bool(const Item&)>;

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
      for (auto& item : mine) {
        if (reached_(item)) {
          const double ms = ms_since(item.accepted);
          std::lock_guard l(mu_);
          results_.push_back(ms);
        } else if (SteadyClock::now() - item.accepted > kProbeCap) {
          ++never_;
        } else {
          keep.push_back(std::move(item));
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
    } else if (arg == "--workers" && has_value) {
      a.workers = std::atoi(argv[++i]);
    } else if (arg == "--rate" && has_value) {
      a.rate = std::atoi(argv[++i]);
    } else if (arg == "--seconds" && has_value) {
      a.seconds = std::atoi(argv[++i]);
    } else {
      return false;
    }
  }
  return a.workers >= 2 * kTeam && a.workers <= 999999 && a.rate > 0 && a.seconds > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse_args(argc, argv, args)) {
    std::cerr << "usage: workforce_bench [--workers N (20..999999)] [--rate EVENTS_PER_S] "
                 "[--seconds S] [--big-groups]\n";
    return 2;
  }
  const int n = args.workers;
  const int total = args.rate * args.seconds;
  const int leavers_wanted = (total + 3) / 4;

  // Reports before their managers: the policy makes whoever has reports a manager, and the
  // engine links reports to a manager when the manager's account appears (not the other way).
  std::vector<Json> records(static_cast<std::size_t>(n));
  std::vector<WorkerScript> fill;
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < n; ++i) {
      if (leads_a_team(i) != (pass == 1)) continue;
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

  SlapdOptions slapd_options;
  slapd_options.durable = true;
  slapd_options.big_groups = args.big_groups;
  auto slapd = Slapd::start(slapd_options);
  const SlapdInfo& info = slapd->info();
  std::cout << "workforce: " << n << " workers; slapd mdb with fsync, "
            << (args.big_groups ? "big-group settings (sortvals, multival)" : "default settings")
            << "; steady day " << args.rate << " events/s for " << args.seconds << " s\n";

  // --- 1. the raw floor (managers first: see measure_raw_floor)
  std::vector<Json> managers_first;
  for (int pass = 0; pass < 2; ++pass)
    for (int i = 0; i < n; ++i)
      if (leads_a_team(i) == (pass == 0))
        managers_first.push_back(records[static_cast<std::size_t>(i)]);
  const RawFloor raw = measure_raw_floor(info, managers_first);
  if (raw.entries_s < 0 || raw.with_groups_add_s < 0 || raw.with_groups_member_s < 0) return 1;
  std::cout << "raw floor measured\n";

  // --- 2. the fill through provisiond
  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;  // a quarter of the steady day is terminations
  Daemon daemon(*slapd, options);
  daemon.start();
  StateDb db(daemon.state_path());
  const auto t_fill = SteadyClock::now();
  LoadGenerator load(daemon, fill, 8);
  load.start();
  load.join();
  const double fill_ack_s = seconds_since(t_fill);
  if (!eventually([&] { return db.idle(); }, std::chrono::hours(2))) {
    std::cerr << "the fill did not finish within 2 hours\n";
    return 1;
  }
  const double fill_s = seconds_since(t_fill);
  std::map<std::string, std::string> dn_of;
  for (const auto& e :
       daemon.search(info.base_dn, "(&(objectClass=inetOrgPerson)(employeeNumber=7*))"))
    dn_of[e.first("employeeNumber")] = e.dn;
  std::map<std::string, std::size_t> group_sizes, group_wanted;
  for (const auto& r : records)
    for (const auto& g : groups_for(r)) ++group_wanted[g];
  for (const auto& g : daemon.search("ou=groups," + info.base_dn, "(objectClass=groupOfNames)")) {
    auto it = g.attrs.find("member");
    group_sizes[g.first("cn")] = it == g.attrs.end() ? 0 : it->second.size();
  }
  std::cout << "filled: " << dn_of.size() << " entries in " << fill_s << " s\n";

  // --- 3. the steady day
  // Leavers: people without reports (so every `manager` stays an active account), from the end;
  // changes: the others without reports, in turn. A small company keeps half for the changes.
  std::vector<int> leavers, changers;
  const int leaver_count = std::min(leavers_wanted, (n - (n + kTeam - 1) / kTeam) / 2);
  for (int i = n - 1; i >= 0; --i) {
    if (leads_a_team(i)) continue;
    (static_cast<int>(leavers.size()) < leaver_count ? leavers : changers).push_back(i);
  }
  // Only leavers whose delivered one-time password binds now can show the bind being refused.
  std::vector<std::string> leaver_pw(leavers.size());
  int unbindable = 0;
  for (std::size_t k = 0; k < leavers.size(); ++k) {
    const std::string id = worker_id('7', leavers[k]);
    leaver_pw[k] = daemon.password_of(id);
    if (!can_bind(info.url, dn_of[id], leaver_pw[k], "")) {
      leaver_pw[k].clear();
      ++unbindable;
    }
  }

  Poller lockouts(
      4, [&](const Poller::Item& it) { return !can_bind(info.url, it.key, it.secret, ""); });
  Poller hires(2, [&](const Poller::Item& it) { return daemon.person(it.key).has_value(); });
  std::mutex mu;  // records of changed workers, statuses
  std::map<int, int> statuses;
  std::atomic<int> next_change{0}, next_leaver{0};
  const auto t0 = SteadyClock::now() + std::chrono::milliseconds(100);
  paced(args.rate, total, 16, t0, [&](int i) {
    const std::string event_id = "wf-" + std::to_string(i);
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
    const auto r = daemon.send(event_body(event_id, type, worker).dump());
    if (r.status == 202 && !probe_pw.empty())
      lockouts.add({probe_dn, probe_pw, SteadyClock::now()});
    if (r.status == 202 && !hire_id.empty()) hires.add({hire_id, "", SteadyClock::now()});
    std::lock_guard l(mu);
    ++statuses[r.status];
  });
  const double offered_s = seconds_since(t0);
  lockouts.finish();
  hires.finish();
  const bool drained = eventually([&] { return db.idle(); }, std::chrono::minutes(10));
  const double drained_s = seconds_since(t0);
  const long rss_kb = vm_hwm_kb(daemon.pid());
  std::vector<double> applied_ms;
  for (const auto& l : db.applied_latencies())
    if (l.event_id.rfind("wf-", 0) == 0) applied_ms.push_back(static_cast<double>(l.ms));
  daemon.stop();
  // After the stop: the database as it stays on disk (the daemon checkpoints its WAL on exit).
  const auto state_bytes = disk_bytes(daemon.state_path());
  const auto wal_bytes = disk_bytes(daemon.state_path() + "-wal");
  const auto slapd_bytes = disk_bytes(info.dir + "/db/data.mdb");

  // --- the report
  const double fill_rate = n / fill_s;
  const double raw_entries_rate = n / raw.entries_s;
  const double raw_groups_s = raw.with_groups_add_s + raw.with_groups_member_s;
  const double raw_groups_rate = n / raw_groups_s;
  const auto lock = percentiles(lockouts.results());
  const auto hire = percentiles(hires.results());
  const auto applied = percentiles(applied_ms);
  std::printf("\n== workforce: %d workers, slapd mdb with fsync, %s\n", n,
              args.big_groups ? "big-group settings" : "default settings");
  row("raw ldapadd, entries only",
      text("%.1f s → %.0f entries/s", raw.entries_s, raw_entries_rate));
  row("raw ldapadd + memberships",
      text("%.1f s + %.1f s member adds → %.0f people/s", raw.with_groups_add_s,
           raw.with_groups_member_s, raw_groups_rate));
  row("fill through provisiond",
      text("%.1f s (all acknowledged after %.1f s) → %.0f hires/s", fill_s, fill_ack_s, fill_rate));
  row("ratio provisiond / raw", text("%.2f vs entries only, %.2f vs entries + memberships",
                                     fill_rate / raw_entries_rate, fill_rate / raw_groups_rate));
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
  row("",
      text("probed %zu of %zu leavers (%d could not bind before); never refused within %lld s: %d",
           lock.n + static_cast<std::size_t>(lockouts.never()), leavers.size(), unbindable,
           static_cast<long long>(kProbeCap.count()), lockouts.never()));
  row("HIRE 202 → entry visible", describe_ms(hire) + text("  (never: %d)", hires.never()));
  row("accepted → operation applied", describe_ms(applied));
  row("provisiond peak RSS (VmHWM)", text("%.1f MB", static_cast<double>(rss_kb) / 1024));
  row("state database after stop",
      text("%.1f MB (+ WAL %.1f MB); slapd data.mdb %.1f MB",
           static_cast<double>(state_bytes) / 1e6, static_cast<double>(wal_bytes) / 1e6,
           static_cast<double>(slapd_bytes) / 1e6));

  const Json summary{{"bench", "workforce"},
                     {"workers", n},
                     {"big_groups", args.big_groups},
                     {"rate", args.rate},
                     {"seconds", args.seconds},
                     {"fill_hires_per_s", fill_rate},
                     {"raw_entries_per_s", raw_entries_rate},
                     {"raw_with_groups_per_s", raw_groups_rate},
                     {"ratio_vs_entries", fill_rate / raw_entries_rate},
                     {"ratio_vs_entries_and_groups", fill_rate / raw_groups_rate},
                     {"lockout", percentiles_json(lock)},
                     {"lockout_never", lockouts.never()},
                     {"hire_visible", percentiles_json(hire)},
                     {"hire_never", hires.never()},
                     {"applied", percentiles_json(applied)},
                     {"drained", drained},
                     {"peak_rss_kb", rss_kb},
                     {"state_db_bytes", state_bytes},
                     {"state_wal_bytes", wal_bytes}};
  std::cout << "\n" << summary.dump() << "\n";
  return drained && dn_of.size() == static_cast<std::size_t>(n) ? 0 : 1;
}
