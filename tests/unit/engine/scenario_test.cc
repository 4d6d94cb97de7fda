// Table-driven lifecycle scenarios: each case is a sequence of (clock, event) steps and the
// directory state expected at the end. Real store, real compiled policy, in-memory directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "fake_connector.h"
#include "prov/engine.h"
#include "sources/snapshot_diff.h"

namespace prov {
namespace {
namespace fs = std::filesystem;
using testing::FakeDirectory;

constexpr const char* kPolicy = R"(version: 1
attributes:
  sn: "{{ worker.lastName }}"
  cn: "{{ worker.firstName }} {{ worker.lastName }}"
  title: "{{ worker.jobTitle | default(worker.department) }}"
username:
  candidates:
    - "{{ worker.firstName | first(1) }}{{ worker.lastName }}"
    - "{{ worker.firstName | first(1) }}{{ worker.lastName }}{{ n }}"
  transform: [ascii, lower, alnum]
  max_length: 20
  reserve_days: 365
ou: "ou=people"
roles:
  - name: employees
    when: { workerType: Employee }
    groups: [staff]
  - name: finance
    when: { department: Finance }
    groups: [finance]
lifecycle:
  prehire_days: 7
  leave: lock
  termination: { lock: immediately, remove_groups: true, move_to: "ou=disabled", delete_after_days: 90 }
  rehire: reuse_account
)";

TimePoint at(const std::string& s) { return *parse_time(s); }

struct Step {
  std::string clock;  // set the clock to this instant, then run the engine until idle
  std::string type;   // "" = only advance the clock
  std::string worker_id;
  std::string department = "Finance";
  std::string effective;  // defaults to the clock
  std::string hire_date = "2026-01-05";
  std::string manager;
  std::string time_zone;  // the worker record's timeZone; empty = none (engine.timezone applies)
};

struct Expect {
  std::string worker_id;
  bool exists = true;
  bool enabled = true;
  std::string ou = "ou=people";
  std::set<std::string> groups;
  std::string manager_of;  // worker id whose DN must be the manager attribute
  int creates = -1;        // >= 0: exactly this many creates reached the directory
  int deletes = -1;        // >= 0: exactly this many deletes reached the directory
};

struct Scenario {
  std::string name;
  std::vector<Step> steps;
  std::vector<Expect> expect;
  int max_creates_per_worker = 1;
  std::string rehire = "reuse_account";          // lifecycle.rehire
  std::string termination_lock = "immediately";  // lifecycle.termination.lock
  std::string timezone = "UTC";                  // engine.timezone
};

std::string policy_for(const Scenario& sc) {
  std::string p = kPolicy;
  p.replace(p.find("rehire: reuse_account"), 21, "rehire: " + sc.rehire);
  p.replace(p.find("lock: immediately"), 17, "lock: " + sc.termination_lock);
  return p;
}

std::ostream& operator<<(std::ostream& os, const Scenario& s) { return os << s.name; }

class LifecycleScenario : public ::testing::TestWithParam<Scenario> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("prov-scenario-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << policy_for(GetParam());
    config_.state_path = dir_ / "state.db";
    config_.safety.max_destructive = 1000;
    config_.timezone = GetParam().timezone;
    store_ = Store::open(config_.state_path);
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void run(const Step& s, int index) {
    clock_.set(at(s.clock));
    if (!s.type.empty()) {
      Json w{{"workerId", s.worker_id},
             {"firstName", "Wil"},
             {"lastName", "Worker" + s.worker_id},
             {"department", s.department},
             {"workerType", "Employee"},
             {"hireDate", s.hire_date}};
      if (!s.manager.empty()) w["managerId"] = s.manager;
      if (!s.time_zone.empty()) w["timeZone"] = s.time_zone;
      HrEvent e;
      e.event_id = "ev" + std::to_string(index);
      e.type = *parse_event_type(s.type);
      e.effective_at = at(s.effective.empty() ? s.clock : s.effective);
      e.worker_id = s.worker_id;
      e.worker = w;
      e.body_sha256 = e.event_id;
      e.received_at = clock_.now();
      ASSERT_NE(store_->insert_event(e).status, IngestStatus::Conflict);
    }
    // A fresh engine for every step: every step also proves a restart loses nothing.
    engine_ = std::make_unique<Engine>(*store_, &dir, clock_, config_,
                                       Policy::load(dir_ / "policy.yaml"));
    for (int i = 0; i < 200 && engine_->step(); ++i) {
    }
  }

  static inline int counter_ = 0;
  fs::path dir_;
  Config config_;
  ManualClock clock_{at("2026-01-01T00:00:00Z")};
  FakeDirectory dir;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(LifecycleScenario, EndsInTheExpectedDirectoryState) {
  const Scenario& sc = GetParam();
  for (size_t i = 0; i < sc.steps.size(); ++i) run(sc.steps[i], static_cast<int>(i));
  for (const auto& x : sc.expect) {
    SCOPED_TRACE("worker " + x.worker_id);
    const auto* e = dir.entry_of(x.worker_id);
    ASSERT_EQ(e != nullptr, x.exists);
    if (!e) continue;
    EXPECT_EQ(e->enabled, x.enabled);
    EXPECT_EQ(e->ou, x.ou);
    EXPECT_EQ(dir.groups_of(x.worker_id), x.groups);
    if (!x.manager_of.empty())
      EXPECT_EQ(e->attributes.count("manager") ? e->attributes.at("manager") : "",
                dir.dn_of(x.manager_of));
    int entries = 0;
    for (const auto& [dn, entry] : dir.entries) entries += entry.worker_id == x.worker_id;
    EXPECT_EQ(entries, 1) << "one worker, one directory entry";
    int creates = 0, deletes = 0;
    for (const auto& op : dir.applied) {
      if (op.worker_id != x.worker_id) continue;
      creates += op.kind == OpKind::Create;
      deletes += op.kind == OpKind::Delete;
    }
    if (x.creates >= 0) EXPECT_EQ(creates, x.creates);
    if (x.deletes >= 0) EXPECT_EQ(deletes, x.deletes);
  }
  std::map<std::string, int> creates;
  for (const auto& op : dir.applied)
    if (op.kind == OpKind::Create) ++creates[op.worker_id];
  for (const auto& [w, n] : creates) EXPECT_LE(n, sc.max_creates_per_worker) << w;
}

const std::set<std::string> kFin{"staff", "finance"};

INSTANTIATE_TEST_SUITE_P(
    Lifecycle, LifecycleScenario,
    ::testing::Values(
        Scenario{"HireToday",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"}},
                 {{"1", true, true, "ou=people", kFin}}},
        Scenario{"FutureHireLockedBeforeStartEnabledAtStart",
                 {{"2026-02-01T00:00:00Z", "HIRE", "1", "Finance", "", "2026-03-01"},
                  {"2026-02-23T00:00:00Z"}},
                 {{"1", true, false, "ou=people", kFin}}},
        Scenario{"FutureHireEnabledAtStart",
                 {{"2026-02-01T00:00:00Z", "HIRE", "1", "Finance", "", "2026-03-01"},
                  {"2026-03-01T00:00:01Z"}},
                 {{"1", true, true, "ou=people", kFin}}},
        Scenario{"RescindedHire",
                 {{"2026-02-25T00:00:00Z", "HIRE", "1", "Finance", "", "2026-03-01"},
                  {"2026-02-26T00:00:00Z", "RESCIND", "1", "Finance", "", "2026-03-01"}},
                 {{"1", false}}},
        Scenario{"TerminationBeforeStartIsARescind",
                 {{"2026-02-25T00:00:00Z", "HIRE", "1", "Finance", "", "2026-03-01"},
                  {"2026-02-26T00:00:00Z", "TERMINATION", "1", "Finance", "2026-02-28T00:00:00Z",
                   "2026-03-01"},
                  {"2026-02-28T00:00:01Z"}},
                 {{"1", false}}},
        Scenario{"TransferSwapsGroups",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-02-01T09:00:00Z", "CHANGE", "1", "Sales"}},
                 {{"1", true, true, "ou=people", {"staff"}}}},
        Scenario{"ChangeBeforeHireOutOfOrder",
                 {{"2026-01-06T09:00:00Z", "CHANGE", "1", "Sales", "2026-01-06T00:00:00Z"},
                  {"2026-01-06T09:00:01Z", "HIRE", "1", "Finance", "2026-01-05T00:00:00Z"}},
                 {{"1", true, true, "ou=people", {"staff"}}}},
        Scenario{"SameEventTwice",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"}, {"2026-01-05T09:00:00Z", "HIRE", "1"}},
                 {{"1", true, true, "ou=people", kFin}}},
        Scenario{"LeaveLocksKeepsGroupsReturnUnlocks",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "LEAVE", "1"},
                  {"2026-04-01T09:00:00Z", "RETURN", "1"}},
                 {{"1", true, true, "ou=people", kFin}}},
        Scenario{"OnLeave",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"}, {"2026-03-01T09:00:00Z", "LEAVE", "1"}},
                 {{"1", true, false, "ou=people", kFin}}},
        Scenario{"FutureTerminationWaits",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1", "Finance", "2026-03-31T17:00:00Z"}},
                 {{"1", true, true, "ou=people", kFin}}},
        Scenario{"TerminationAppliedAtItsInstant",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1", "Finance", "2026-03-31T17:00:00Z"},
                  {"2026-03-31T17:00:00Z"}},
                 {{"1", true, false, "ou=disabled", {}}}},
        Scenario{"TerminationDatedBeforeAPendingChange",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "CHANGE", "1", "Sales", "2026-04-01T00:00:00Z"},
                  {"2026-03-02T09:00:00Z", "TERMINATION", "1", "Finance", "2026-03-15T00:00:00Z"},
                  {"2026-04-02T00:00:00Z"}},
                 {{"1", true, false, "ou=disabled", {}}}},
        Scenario{"DeletedAfterRetention",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1"},
                  {"2026-05-30T09:00:01Z"}},
                 {{"1", false}}},
        Scenario{"RehireWithinRetentionReusesTheAccount",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1"},
                  {"2026-04-01T09:00:00Z", "REHIRE", "1", "Finance", "", "2026-04-01"}},
                 {{"1", true, true, "ou=people", kFin}}},
        Scenario{"RehireAfterRetentionCreatesAgain",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1"},
                  {"2026-06-15T09:00:00Z"},
                  {"2026-07-01T09:00:00Z", "REHIRE", "1", "Finance", "", "2026-07-01"}},
                 {{"1", true, true, "ou=people", kFin}},
                 2},
        Scenario{"RehireNewAccountReplacesTheRetainedAccount",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1"},
                  {"2026-04-01T09:00:00Z", "REHIRE", "1", "Sales", "", "2026-04-01"}},
                 {{"1", true, true, "ou=people", {"staff"}, "", 2, 1}},
                 2,
                 "new_account"},
        Scenario{"RehireReuseAccountKeepsTheRetainedAccount",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1"},
                  {"2026-04-01T09:00:00Z", "REHIRE", "1", "Sales", "", "2026-04-01"}},
                 {{"1", true, true, "ou=people", {"staff"}, "", 1, 0}}},
        Scenario{"RehireNewAccountAfterRetentionOnlyCreates",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1"},
                  {"2026-06-15T09:00:00Z"},
                  {"2026-07-01T09:00:00Z", "REHIRE", "1", "Finance", "", "2026-07-01"}},
                 {{"1", true, true, "ou=people", kFin, "", 2, 1}},
                 2,
                 "new_account"},
        Scenario{"RehireNewAccountThenChangeKeepsTheNewAccount",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1"},
                  {"2026-04-01T09:00:00Z", "REHIRE", "1", "Sales", "", "2026-04-01"},
                  {"2026-05-01T09:00:00Z", "CHANGE", "1", "Finance", "", "2026-04-01"}},
                 {{"1", true, true, "ou=people", kFin, "", 2, 1}},
                 2,
                 "new_account"},
        // 17:00Z is 19:00 in Berlin (summer time since 29 March): the lock comes at the end of
        // the Berlin day, 21:59:59.999Z, not at the end of the UTC day.
        Scenario{"EndOfDayLockBeforeBerlinMidnight",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1", "Finance", "2026-03-31T17:00:00Z"},
                  {"2026-03-31T21:59:00Z"}},
                 {{"1", true, true, "ou=people", kFin}},
                 1,
                 "reuse_account",
                 "end_of_day",
                 "Europe/Berlin"},
        Scenario{"EndOfDayLockAtBerlinMidnight",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1"},
                  {"2026-03-01T09:00:00Z", "TERMINATION", "1", "Finance", "2026-03-31T17:00:00Z"},
                  {"2026-03-31T22:00:00Z"}},
                 {{"1", true, false, "ou=disabled", {}}},
                 1,
                 "reuse_account",
                 "end_of_day",
                 "Europe/Berlin"},
        // A plain hireDate is midnight where the worker is: 2026-03-02 in Los Angeles (PST) is
        // 08:00Z, so at 07:59Z the pre-hire account is still locked and at 08:00Z it opens.
        Scenario{"PlainHireDateInLosAngelesStillLockedAt0759Z",
                 {{"2026-02-01T00:00:00Z", "HIRE", "1", "Finance", "", "2026-03-02", "",
                   "America/Los_Angeles"},
                  {"2026-03-02T07:59:00Z"}},
                 {{"1", true, false, "ou=people", kFin}}},
        Scenario{"PlainHireDateInLosAngelesEnabledAt0800Z",
                 {{"2026-02-01T00:00:00Z", "HIRE", "1", "Finance", "", "2026-03-02", "",
                   "America/Los_Angeles"},
                  {"2026-03-02T08:00:00Z"}},
                 {{"1", true, true, "ou=people", kFin}}},
        Scenario{"ManagerHiredAfterTwoReports",
                 {{"2026-01-05T09:00:00Z", "HIRE", "1", "Finance", "", "2026-01-05", "9"},
                  {"2026-01-05T09:00:01Z", "HIRE", "2", "Finance", "", "2026-01-05", "9"},
                  {"2026-01-06T09:00:00Z", "HIRE", "9"}},
                 {{"1", true, true, "ou=people", kFin, "9"},
                  {"2", true, true, "ou=people", kFin, "9"}}}),
    [](const ::testing::TestParamInfo<Scenario>& info) { return info.param.name; });

// rehire: new_account, in detail: the retained entry goes, a new entry with another anchor takes
// its place (same username: the delete runs first), and the decision is audited.
// One worker ("7") under a policy with rehire: new_account; each event is stored and the engine
// run until it has nothing left to do.
class RehireNewAccount : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("prov-rehire-" +
           std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
           std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::string policy = kPolicy;
    policy.replace(policy.find("rehire: reuse_account"), 21, "rehire: new_account");
    std::ofstream(dir / "policy.yaml") << policy;
    config.state_path = dir / "state.db";
    store = Store::open(config.state_path);
  }
  void TearDown() override {
    store.reset();
    fs::remove_all(dir);
  }
  void run() {
    Engine engine(*store, &directory, clock, config, Policy::load(dir / "policy.yaml"));
    for (int i = 0; i < 100 && engine.step(); ++i) {
    }
  }
  void receive(const char* type, const char* department) {
    HrEvent e;
    e.event_id = "ev" + std::to_string(++n);
    e.type = *parse_event_type(type);
    e.effective_at = clock.now();
    e.worker_id = "7";
    e.worker = Json{{"workerId", "7"},
                    {"firstName", "Ria"},
                    {"lastName", "Return"},
                    {"department", department},
                    {"workerType", "Employee"}};
    e.body_sha256 = e.event_id;
    e.received_at = clock.now();
    ASSERT_NE(store->insert_event(e).status, IngestStatus::Conflict);
    run();
  }

  fs::path dir;
  Config config;
  ManualClock clock{at("2026-01-05T09:00:00Z")};
  FakeDirectory directory;
  std::unique_ptr<Store> store;
  int n = 0;
};

TEST_F(RehireNewAccount, ReplacesTheEntryAndAuditsTheDecision) {
  receive("HIRE", "Finance");
  const std::string first_anchor = directory.entry_of("7")->anchor;
  clock.set(at("2026-03-01T09:00:00Z"));
  receive("TERMINATION", "Finance");
  ASSERT_EQ(directory.entry_of("7")->ou, "ou=disabled");
  clock.set(at("2026-04-01T09:00:00Z"));
  receive("REHIRE", "Sales");

  const auto* entry = directory.entry_of("7");
  ASSERT_NE(entry, nullptr);
  EXPECT_NE(entry->anchor, first_anchor);
  EXPECT_EQ(entry->username, "rreturn");
  EXPECT_TRUE(entry->enabled);
  EXPECT_EQ(directory.dn_of("7"), "uid=rreturn,ou=people,dc=test");
  EXPECT_EQ(directory.groups_of("7"), std::set<std::string>{"staff"});
  // The delete reached the directory before the create.
  std::vector<OpKind> kinds;
  for (const auto& op : directory.applied) kinds.push_back(op.kind);
  auto del = std::find(kinds.begin(), kinds.end(), OpKind::Delete);
  ASSERT_NE(del, kinds.end());
  EXPECT_NE(std::find(del, kinds.end(), OpKind::Create), kinds.end());
  // What the engine knows matches the directory, and nothing more is planned.
  auto row = store->account(kDefaultTarget, "7");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->applied.anchor, entry->anchor);
  EXPECT_EQ(row->planned.anchor, entry->anchor);
  EXPECT_TRUE(row->applied.exists);
  Engine engine(*store, &directory, clock, config, Policy::load(dir / "policy.yaml"));
  EXPECT_TRUE(engine.plan_worker("7", true).operations.empty());
  bool audited = false;
  for (const auto& a : store->audit_log("7", 200))
    if (a.action == "worker.rehired") {
      audited = true;
      EXPECT_EQ(a.detail.value("decision", ""), "rehire: new_account");
      EXPECT_EQ(a.detail.value("previous_anchor", ""), first_anchor);
    }
  EXPECT_TRUE(audited);
}

// rehire: new_account whose delete the brake holds and an operator rejects: the create planned
// behind it is rejected too, and the worker is planned again from the account that stays.
TEST_F(RehireNewAccount, RejectedDeleteKeepsAndReusesTheOldAccount) {
  receive("HIRE", "Finance");
  const std::string first_anchor = directory.entry_of("7")->anchor;
  clock.set(at("2026-03-01T09:00:00Z"));
  receive("TERMINATION", "Finance");
  ASSERT_EQ(directory.entry_of("7")->ou, "ou=disabled");
  clock.set(at("2026-04-01T09:00:00Z"));
  config.safety.max_destructive = 0;  // every destructive operation is held from now on
  receive("REHIRE", "Sales");
  auto held = store->operations(OpStatus::Held, 10);
  ASSERT_EQ(held.size(), 1u);
  ASSERT_EQ(held[0].op.kind, OpKind::Delete);
  EXPECT_EQ(directory.entry_of("7")->anchor, first_anchor);  // nothing ran behind the delete

  const auto decision = reject_held(*store, {held[0].op.id}, "alice", clock.now());
  EXPECT_EQ(decision.changed, 2);  // the delete and the create behind it
  run();
  const auto* entry = directory.entry_of("7");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->anchor, first_anchor);  // the old account, taken back into use
  EXPECT_TRUE(entry->enabled);
  EXPECT_EQ(entry->ou, "ou=people");
  EXPECT_EQ(directory.groups_of("7"), std::set<std::string>{"staff"});
  int creates = 0;
  for (const auto& op : directory.applied) creates += op.kind == OpKind::Create;
  EXPECT_EQ(creates, 1);
  auto row = store->account(kDefaultTarget, "7");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->applied.anchor, first_anchor);
}

// A snapshot source that drops 30 % of its workers with missing_means_terminated: the diff asks
// for terminations, and the brake holds them instead of locking a third of the company.
TEST(SnapshotBrake, ThirtyPercentDropIsHeldByTheBrake) {
  auto dir = fs::temp_directory_path() / ("prov-snapbrake-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "policy.yaml") << kPolicy;
  Config config;
  config.state_path = dir / "state.db";
  config.safety.max_destructive = 10;
  config.safety.max_destructive_percent = 5;
  ManualClock clock(at("2026-02-01T09:00:00Z"));
  FakeDirectory directory;
  auto store = Store::open(config.state_path);
  Engine engine(*store, &directory, clock, config, Policy::load(dir / "policy.yaml"));
  auto settle = [&] {
    for (int i = 0; i < 500 && engine.step(); ++i) {
    }
  };
  auto snapshot = [&](int from, int to) {
    std::vector<Json> records;
    for (int i = from; i < to; ++i)
      records.push_back(Json{{"workerId", std::to_string(i)},
                             {"firstName", "S"},
                             {"lastName", "Nap" + std::to_string(i)},
                             {"department", "Sales"},
                             {"workerType", "Employee"},
                             {"hireDate", "2026-01-05"}});
    std::vector<KnownWorker> known;
    for (auto& w : store->workers()) known.push_back({w, "poll:raas"});
    SnapshotContext ctx{"poll:raas", clock.now(), clock.now(), true};
    for (const auto& e : diff_snapshot(records, known, ctx).events)
      ASSERT_NE(store->insert_event(e).status, IngestStatus::Conflict);
    settle();
  };
  snapshot(0, 100);
  ASSERT_EQ(directory.entries.size(), 100u);
  clock.advance(std::chrono::hours(1));
  snapshot(0, 70);  // 30 workers vanish from the report
  int locked = 0;
  for (const auto& [dn, e] : directory.entries) locked += !e.enabled;
  EXPECT_LE(locked, 10) << "the brake let a mass lock-out through";
  EXPECT_FALSE(store->operations(OpStatus::Held, 1000).empty());
  EXPECT_EQ(store->counts().workers, 100);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace prov
