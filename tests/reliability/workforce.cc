#include "reliability/workforce.h"

#include <gtest/gtest.h>
#include <strings.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>

#include "prov/clock.h"

namespace prov::testing {
namespace {

const char* const kDepartments[] = {"Engineering", "Finance", "Sales"};
const char* const kLocations[] = {"Berlin", "Hamburg"};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         strcasecmp(s.c_str() + (s.size() - suffix.size()), suffix.c_str()) == 0;
}

}  // namespace

std::vector<WorkerScript> make_workforce(int workers, int events_per_worker,
                                         const std::string& id_prefix, unsigned seed,
                                         const std::vector<std::string>& lifecycle) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  // Effective dates in the past, one minute apart per step: applied at once, in script order.
  const auto base = std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now()) -
                    std::chrono::hours(48);
  std::vector<WorkerScript> out;
  out.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i) {
    char num[16];
    std::snprintf(num, sizeof num, "%05d", i);
    WorkerScript s;
    s.worker_id = id_prefix + num;
    const std::string last = "Crash" + s.worker_id;
    s.username = "k" + lower(last);
    Json record = make_worker(s.worker_id, "Kim", last);
    bool active = false;
    for (int k = 0; k < std::max(1, events_per_worker); ++k) {
      std::string type;
      if (static_cast<std::size_t>(k) < lifecycle.size()) {
        type = lifecycle[static_cast<std::size_t>(k)];
      } else if (k == 0) {
        type = "HIRE";
      } else if (!active) {
        type = "REHIRE";
      } else {
        type = pick(4) == 0 ? "TERMINATION" : "CHANGE";
      }
      if (type == "TERMINATION") {
        record["terminationDate"] = format_time(TimePoint(base + std::chrono::minutes(k)));
      } else {
        record.erase("terminationDate");
        record["department"] = kDepartments[pick(3)];
        record["location"] = kLocations[pick(2)];
        record["jobTitle"] = "Grade " + std::to_string(k);
      }
      active = type != "TERMINATION";
      ScriptedEvent e;
      e.event_id = "evt-" + s.worker_id + "-" + std::to_string(k);
      e.type = type;
      e.worker = record;
      Json body{{"eventId", e.event_id},
                {"eventType", type},
                {"effectiveAt", format_time(TimePoint(base + std::chrono::minutes(k)))},
                {"worker", record}};
      e.body = body.dump();
      s.events.push_back(std::move(e));
    }
    out.push_back(std::move(s));
  }
  return out;
}

ExpectedAccount expected_after(const ScriptedEvent& e) {
  ExpectedAccount x;
  x.active = e.type != "TERMINATION";
  if (!x.active) return x;
  x.title = e.worker.value("jobTitle", "");
  // The example policy's roles (policies/example.yaml).
  if (e.worker.value("workerType", "") == "Employee") x.groups.insert("staff");
  if (e.worker.value("department", "") == "Finance") {
    x.groups.insert("finance");
    x.groups.insert("erp-users");
  }
  if (e.worker.value("location", "") == "Berlin" &&
      e.worker.value("jobCode", "").rfind("INT-", 0) != 0)
    x.groups.insert("office-berlin");
  return x;
}

std::vector<std::string> compare_directory(const Daemon& daemon,
                                           const std::vector<WorkerScript>& scripts,
                                           const std::vector<int>& acked) {
  std::vector<std::string> problems;
  const std::string base = daemon.slapd().info().base_dn;
  std::map<std::string, std::vector<LdapEntry>> by_worker;
  for (auto& e : daemon.search(base, "(objectClass=inetOrgPerson)"))
    by_worker[e.first("employeeNumber")].push_back(std::move(e));
  std::map<std::string, std::set<std::string>> groups_of;  // lower-case member DN → group cns
  for (const auto& g : daemon.search(base, "(objectClass=groupOfNames)")) {
    auto it = g.attrs.find("member");
    if (it == g.attrs.end()) continue;
    for (const auto& m : it->second) groups_of[lower(m)].insert(g.first("cn"));
  }
  for (std::size_t i = 0; i < scripts.size(); ++i) {
    const auto& s = scripts[i];
    const auto& entries = by_worker[s.worker_id];
    const std::string who = "worker " + s.worker_id + ": ";
    if (acked[i] < 0) {
      if (!entries.empty()) problems.push_back(who + "has an entry but no event was acknowledged");
      continue;
    }
    const auto& last = s.events[static_cast<std::size_t>(acked[i])];
    if (entries.size() != 1) {
      problems.push_back(who + std::to_string(entries.size()) + " entries (want exactly 1)");
      continue;
    }
    const LdapEntry& e = entries.front();
    const ExpectedAccount want = expected_after(last);
    if (e.first("uid") != s.username)
      problems.push_back(who + "uid " + e.first("uid") + " (want " + s.username + ")");
    const bool locked = !e.first("pwdAccountLockedTime").empty();
    const auto groups = groups_of[lower(e.dn)];
    if (want.active) {
      if (locked) problems.push_back(who + "locked after " + last.event_id + " (" + last.type + ")");
      if (!ends_with_ci(e.dn, ",ou=people," + base))
        problems.push_back(who + "dn " + e.dn + " not in ou=people after " + last.event_id);
      if (e.first("title") != want.title)
        problems.push_back(who + "title '" + e.first("title") + "' (want '" + want.title +
                           "' from " + last.event_id + ")");
      if (groups != want.groups)
        problems.push_back(who + "groups " + ::testing::PrintToString(groups) + " (want " +
                           ::testing::PrintToString(want.groups) + " from " + last.event_id + ")");
    } else {
      if (!locked) problems.push_back(who + "not locked after " + last.event_id);
      if (!ends_with_ci(e.dn, ",ou=disabled," + base))
        problems.push_back(who + "dn " + e.dn + " not in ou=disabled after " + last.event_id);
      if (!groups.empty())
        problems.push_back(who + "still in groups " + ::testing::PrintToString(groups));
    }
  }
  return problems;
}

std::string summarize(const std::vector<std::string>& lines, const std::string& what,
                      std::size_t shown) {
  return std::to_string(lines.size()) + " " + what + ", first: " +
         ::testing::PrintToString(std::vector<std::string>(
             lines.begin(),
             lines.begin() + static_cast<std::ptrdiff_t>(std::min(shown, lines.size()))));
}

void print_log_tail(const Daemon& daemon, int lines) {
  std::string out;
  run_command(
      "grep -v '\"level\":\"debug\"' " + daemon.log_path() + " | tail -" + std::to_string(lines),
      &out);
  std::cerr << "provisiond log (tail):\n" << out;
}

LoadGenerator::LoadGenerator(Daemon& daemon, const std::vector<WorkerScript>& scripts, int threads)
    : daemon_(daemon),
      scripts_(scripts),
      threads_(std::max(1, threads)),
      acked_(scripts.size(), -1) {}

LoadGenerator::~LoadGenerator() { join(); }

void LoadGenerator::start() {
  for (int t = 0; t < threads_; ++t) pool_.emplace_back([this, t] { run(t); });
}

void LoadGenerator::join() {
  for (auto& t : pool_)
    if (t.joinable()) t.join();
}

std::vector<std::string> LoadGenerator::protocol_errors() const {
  std::lock_guard l(errors_mu_);
  return errors_;
}

void LoadGenerator::run(int thread_index) {
  std::vector<std::size_t> mine;
  for (std::size_t i = static_cast<std::size_t>(thread_index); i < scripts_.size();
       i += static_cast<std::size_t>(threads_))
    mine.push_back(i);
  std::vector<std::size_t> cursor(mine.size(), 0);
  std::size_t remaining = 0;
  for (auto i : mine) remaining += scripts_[i].events.empty() ? 0 : 1;
  while (remaining > 0) {
    bool progressed = false;
    for (std::size_t j = 0; j < mine.size(); ++j) {
      const auto& script = scripts_[mine[j]];
      if (cursor[j] >= script.events.size()) continue;
      const auto& ev = script.events[cursor[j]];
      auto r = daemon_.send(ev.body);
      attempts_.fetch_add(1);
      bool advance = false;
      if (r.status == 202 || r.status == 200) {
        acked_[mine[j]] = static_cast<int>(cursor[j]);
        acked_total_.fetch_add(1);
        advance = true;
      } else if (r.status == 0 || r.status == 503 || r.status >= 500) {
        failed_attempts_.fetch_add(1);  // not acknowledged: the HR side must deliver again
      } else {
        std::lock_guard l(errors_mu_);
        errors_.push_back(ev.event_id + ": HTTP " + std::to_string(r.status) + " " + r.body);
        advance = true;
      }
      if (advance) {
        progressed = true;
        if (++cursor[j] == script.events.size()) --remaining;
      }
    }
    // Nothing got through (daemon down): back off briefly before the next delivery round.
    if (!progressed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  finished_threads_.fetch_add(1);
}

}  // namespace prov::testing
