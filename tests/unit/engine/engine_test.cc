// The engine against a real SQLite store and a real compiled policy, with an in-memory directory
// and a hand-set clock: every timing rule is exercised without sleeping.
#include <gtest/gtest.h>

#include <limits>
#include <thread>

#include <filesystem>
#include <fstream>

#include "fake_connector.h"
#include "prov/access_report.h"
#include "prov/engine.h"
#include "prov/what_if.h"

namespace prov {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::FakeDirectory;

constexpr const char* kPolicy = R"(version: 1
attributes:
  givenName: "{{ worker.firstName }}"
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
    entitlements: ["license:erp"]
  - name: people-managers
    when: { isManager: true }
    groups: [managers]
lifecycle:
  prehire_days: 7
  leave: lock
  termination:
    lock: immediately
    remove_groups: true
    move_to: "ou=disabled"
    delete_after_days: 90
)";

// The finance role of kPolicy, as a policy change that retires it removes it.
constexpr const char* kFinanceRole =
    "  - name: finance\n    when: { department: Finance }\n    groups: [finance]\n"
    "    entitlements: [\"license:erp\"]\n";

TimePoint at(const char* s) { return *parse_time(s); }

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("prov-engine-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << kPolicy;
    config_.state_path = dir_ / "state.db";
    config_.safety.max_destructive = 1000;
    config_.executor.retry_initial_ms = 1000;
    config_.executor.retry_max_ms = 8000;
    store_ = Store::open(config_.state_path);
    engine_ = make_engine();
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<Engine> make_engine() {
    return std::make_unique<Engine>(*store_, &dir, clock_, config_, Policy::load(dir_ / "policy.yaml"));
  }

  void receive(const std::string& id, EventType type, Json worker, const char* effective) {
    HrEvent e;
    e.event_id = id;
    e.type = type;
    e.effective_at = at(effective);
    e.worker_id = worker["workerId"];
    e.worker = std::move(worker);
    e.body_sha256 = id + std::to_string(static_cast<int>(type)) + e.worker.dump();
    e.received_at = clock_.now();
    auto r = store_->insert_event(e);
    ASSERT_EQ(r.status, IngestStatus::Stored);
  }
  // Runs the engine until it has nothing left to do now.
  void settle() {
    for (int i = 0; i < 100 && engine_->step(); ++i) {
    }
  }

  static Json worker(const std::string& id, const std::string& first, const std::string& last,
                     const std::string& dept = "Finance", const char* hire = "2026-01-05") {
    return Json{{"workerId", id},      {"firstName", first}, {"lastName", last},
                {"department", dept},  {"workerType", "Employee"}, {"hireDate", hire}};
  }

  // Events of `type` for workers "first".."last" (W Orker<i>), each with its own event id.
  void receive_range(EventType type, int first, int last, const char* effective,
                     const std::string& dept = "Finance") {
    const std::string prefix(to_string(type));
    for (int i = first; i <= last; ++i)
      receive(prefix + "-" + std::to_string(i), type,
              worker(std::to_string(i), "W", "Orker" + std::to_string(i), dept), effective);
  }

  // Writes `text` as the policy and has the engine load it (a hot reload).
  void use_policy(const std::string& text) {
    std::ofstream(dir_ / "policy.yaml") << text;
    engine_->set_policy(Policy::load(dir_ / "policy.yaml"));
  }
  static std::string replaced(std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
  }

  fs::path dir_;
  Config config_;
  ManualClock clock_{at("2026-06-01T09:00:00Z")};
  FakeDirectory dir;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, HireCreatesAccountWithGroupsAndEntitlements) {
  receive("e1", EventType::Hire, worker("1", "José", "Núñez"), "2026-01-05T00:00:00Z");
  settle();
  auto* e = dir.entry_of("1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->username, "jnunez");
  EXPECT_TRUE(e->enabled);
  EXPECT_EQ(e->attributes.at("sn"), "Núñez");
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff", "finance"}));
  auto acc = store_->account(kDefaultTarget, "1");
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->applied.dn, dir.dn_of("1"));
  EXPECT_EQ(acc->applied.groups, (std::set<std::string>{"staff", "finance"}));
  auto ents = store_->entitlements("1");
  ASSERT_EQ(ents.size(), 1u);
  EXPECT_EQ(ents[0].entitlement, "license:erp");
}

TEST_F(EngineTest, SecondIdenticalNameNeverOverwritesTheFirst) {
  receive("e1", EventType::Hire, worker("1", "John", "Smith"), "2026-01-05T00:00:00Z");
  receive("e2", EventType::Hire, worker("2", "John", "Smith"), "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1")->username, "jsmith");
  EXPECT_EQ(dir.entry_of("2")->username, "jsmith2");
}

TEST_F(EngineTest, UsernameTakenInTheDirectoryByAnotherPersonIsSkipped) {
  dir.entries["uid=jsmith,ou=people,dc=test"] = {"someone-else", "jsmith", "ou=people", true,
                                                 {}, ""};
  receive("e1", EventType::Hire, worker("1", "John", "Smith"), "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1")->username, "jsmith2");
  EXPECT_EQ(dir.entries.at("uid=jsmith,ou=people,dc=test").worker_id, "someone-else");
}

TEST_F(EngineTest, StaleEventIsAuditedAndChangesNothing) {
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  receive("e2", EventType::Change, worker("1", "Ana", "Lima", "Sales"), "2026-05-01T00:00:00Z");
  receive("e3", EventType::Change, worker("1", "Ana", "Lima", "Finance"), "2026-03-01T00:00:00Z");
  settle();
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff"}));
  auto row = store_->event("e3");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, EventStatus::Stale);
  bool audited = false;
  for (const auto& a : store_->audit_log("1", 1000)) audited |= a.action == "event.stale";
  EXPECT_TRUE(audited);
}

TEST_F(EngineTest, ChangeBeforeHireStillProvisionsOnce) {
  receive("e2", EventType::Change, worker("1", "Ana", "Lima", "Sales"), "2026-02-01T00:00:00Z");
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_NE(dir.entry_of("1"), nullptr);
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff"}));  // Sales is the newest truth
  int creates = 0;
  for (const auto& op : dir.applied) creates += op.kind == OpKind::Create;
  EXPECT_EQ(creates, 1);
}

TEST_F(EngineTest, FutureTerminationWaitsForItsInstantAndSurvivesARestart) {
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  receive("e2", EventType::Termination, worker("1", "Ana", "Lima"), "2026-06-10T17:00:00Z");
  settle();
  EXPECT_TRUE(dir.entry_of("1")->enabled);
  EXPECT_EQ(store_->event("e2")->status, EventStatus::Scheduled);

  engine_ = make_engine();  // a restart between scheduling and the due instant
  clock_.set(at("2026-06-10T17:00:00Z"));
  settle();
  auto* e = dir.entry_of("1");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->enabled);
  EXPECT_EQ(e->ou, "ou=disabled");
  EXPECT_TRUE(dir.groups_of("1").empty());
  auto ents = store_->entitlements("1");
  ASSERT_EQ(ents.size(), 1u);
  EXPECT_TRUE(ents[0].released_at.has_value());

  ASSERT_EQ(e->username, "alima");
  clock_.set(at("2026-09-08T17:00:00Z"));  // retention over: deleted, name reserved
  settle();
  EXPECT_EQ(dir.entry_of("1"), nullptr);
  // The released name is held for reserve_days (365) from the delete, for anyone but its holder.
  const TimePoint deleted = clock_.now();
  EXPECT_TRUE(store_->username_reserved("alima", "someone-else", deleted));
  EXPECT_FALSE(store_->username_reserved("alima", "1", deleted));
  EXPECT_TRUE(store_->username_reserved("alima", "someone-else", deleted + 364 * 24h));
  EXPECT_FALSE(store_->username_reserved("alima", "someone-else", deleted + 365 * 24h));
  // A new Ana Lima is given the next name.
  receive("e3", EventType::Hire, worker("2", "Ana", "Lima"), "2026-09-08T17:00:00Z");
  settle();
  ASSERT_NE(dir.entry_of("2"), nullptr);
  EXPECT_EQ(dir.entry_of("2")->username, "alima2");
}

TEST_F(EngineTest, PrehireAccountAppearsLockedAndIsEnabledAtStart) {
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima", "Finance", "2026-07-01"),
          "2026-07-01T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1"), nullptr);  // more than 7 days ahead
  clock_.set(at("2026-06-24T00:00:00Z"));
  settle();
  ASSERT_NE(dir.entry_of("1"), nullptr);
  EXPECT_FALSE(dir.entry_of("1")->enabled);
  clock_.set(at("2026-07-01T00:00:00Z"));
  settle();
  EXPECT_TRUE(dir.entry_of("1")->enabled);
}

// Dated now or at the start (in the future): a rescind does not wait, the locked account goes now.
TEST_F(EngineTest, RescindedHireRemovesThePrehireAccount) {
  int n = 0;
  for (const char* effective : {"2026-06-01T09:00:00Z", "2026-06-05T00:00:00Z"}) {
    const std::string id = std::to_string(++n);
    receive("hire-" + id, EventType::Hire, worker(id, "Ana", "Lima" + id, "Finance", "2026-06-05"),
            "2026-06-05T00:00:00Z");
    settle();
    ASSERT_NE(dir.entry_of(id), nullptr);
    receive("rescind-" + id, EventType::Rescind,
            worker(id, "Ana", "Lima" + id, "Finance", "2026-06-05"), effective);
    settle();
    EXPECT_EQ(dir.entry_of(id), nullptr) << "rescind effective " << effective;
  }
}

// HR withdraws a hire before the start with an event dated today, earlier than the moment the
// hire arrived: for someone who has not started that is a rescind, never a stale event.
// A termination dated at the start (still ahead) withdraws it too, at once.
TEST_F(EngineTest, WithdrawalDatedBeforeTheHireArrivedRescindsIt) {
  const std::pair<EventType, const char*> withdrawals[] = {
      {EventType::Termination, "2026-06-01T00:00:00Z"},
      {EventType::Rescind, "2026-06-01T00:00:00Z"},
      {EventType::Termination, "2026-06-04T00:00:00Z"}};
  int n = 0;
  for (const auto& [type, effective] : withdrawals) {
    const std::string id = std::to_string(++n);
    const std::string what = std::string(to_string(type)) + " effective " + effective;
    receive("hire-" + id, EventType::Hire, worker(id, "Ana", "Lima" + id, "Finance", "2026-06-04"),
            "2026-06-04T00:00:00Z");
    settle();
    ASSERT_NE(dir.entry_of(id), nullptr);
    receive("withdraw-" + id, type, worker(id, "Ana", "Lima" + id, "Finance", "2026-06-04"),
            effective);
    settle();
    EXPECT_EQ(dir.entry_of(id), nullptr) << what;
    EXPECT_EQ(store_->event("withdraw-" + id)->status, EventStatus::Applied) << what;
    bool audited = false;
    for (const auto& a : store_->audit_log(id, 100))
      audited |= a.action == "event.applied" && a.event_id == "withdraw-" + id &&
                 a.detail.value("decision", "") == "hire withdrawn before the start";
    EXPECT_TRUE(audited) << what;
  }
}

// A withdrawal whose record leaves out hireDate still knows when the hire would have started.
TEST_F(EngineTest, WithdrawalWithoutHireDateInItsRecordStillRescinds) {
  receive("hire", EventType::Hire, worker("1", "Ana", "Lima", "Finance", "2026-06-04"),
          "2026-06-04T00:00:00Z");
  settle();
  ASSERT_NE(dir.entry_of("1"), nullptr);
  Json w = worker("1", "Ana", "Lima");
  w.erase("hireDate");
  receive("withdraw", EventType::Termination, w, "2026-06-01T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1"), nullptr);
}

TEST_F(EngineTest, ManagerHiredAfterTwoReportsIsLinkedToBoth) {
  Json r1 = worker("1", "Ana", "Lima"), r2 = worker("2", "Ben", "Ode");
  r1["managerId"] = "9";
  r2["managerId"] = "9";
  receive("e1", EventType::Hire, r1, "2026-01-05T00:00:00Z");
  receive("e2", EventType::Hire, r2, "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1")->attributes.count("manager"), 0u);
  receive("e3", EventType::Hire, worker("9", "Max", "Boss"), "2026-01-05T00:00:00Z");
  settle();
  const std::string boss = dir.dn_of("9");
  ASSERT_FALSE(boss.empty());
  EXPECT_EQ(dir.entry_of("1")->attributes.at("manager"), boss);
  EXPECT_EQ(dir.entry_of("2")->attributes.at("manager"), boss);
}

// Whether someone is a manager depends on other workers' records: a manager hired before any
// report joins `managers` when the first report arrives, and leaves it when the last one goes.
TEST_F(EngineTest, ManagerJoinsManagersWithTheFirstReportAndLeavesWithTheLast) {
  receive("e1", EventType::Hire, worker("9", "Max", "Boss"), "2026-01-05T00:00:00Z");
  receive("e2", EventType::Hire, worker("8", "Eva", "Other"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_NE(dir.entry_of("9"), nullptr);
  EXPECT_EQ(dir.groups_of("9").count("managers"), 0u);
  Json report = worker("1", "Ana", "Lima");
  report["managerId"] = "9";
  receive("e3", EventType::Hire, report, "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1")->attributes.at("manager"), dir.dn_of("9"));
  EXPECT_EQ(dir.groups_of("9").count("managers"), 1u);
  EXPECT_EQ(dir.groups_of("8").count("managers"), 0u);
  report["managerId"] = "8";
  receive("e4", EventType::Change, report, "2026-01-06T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1")->attributes.at("manager"), dir.dn_of("8"));
  EXPECT_EQ(dir.groups_of("9").count("managers"), 0u);
  EXPECT_EQ(dir.groups_of("8").count("managers"), 1u);
}

// A report planned while the manager's create is still queued: where the directory accepts a
// DN value naming an entry that does not exist yet (OpenLDAP), the report's create carries the
// manager's DN and nothing is written a second time; elsewhere (AD) the link follows once the
// manager's entry exists.
TEST_F(EngineTest, ReportPlannedBeforeTheManagersCreateRanIsLinkedInItsOwnCreateWhereAllowed) {
  for (const bool forward : {true, false}) {
    SCOPED_TRACE(forward ? "forward references" : "no forward references");
    dir.forward_references = forward;
    const std::string boss = forward ? "9" : "19", report = forward ? "1" : "11";
    Json r = worker(report, "Ana", forward ? "Lima" : "Lemos");
    r["managerId"] = boss;
    receive("m" + boss, EventType::Hire, worker(boss, "Max", forward ? "Boss" : "Bosch"),
            "2026-01-05T00:00:00Z");
    receive("r" + report, EventType::Hire, r, "2026-01-05T00:00:00Z");
    settle();
    ASSERT_NE(dir.entry_of(report), nullptr);
    EXPECT_EQ(dir.entry_of(report)->attributes.at("manager"), dir.dn_of(boss));
    int updates = 0;
    for (const auto& op : dir.applied)
      if (op.worker_id == report && op.kind == OpKind::Update) ++updates;
    EXPECT_EQ(updates, forward ? 0 : 1);
  }
}

TEST_F(EngineTest, RetryableFailureWaitsAndIsNeverDropped) {
  dir.scripted.push_back(Outcome::retryable("ldap:-1", "server down"));
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1"), nullptr);
  EXPECT_EQ(store_->counts().ops_pending, 3);  // create + two group adds, in order
  clock_.advance(std::chrono::seconds(2));  // past the first backoff (1 s ± 20 %)
  settle();
  ASSERT_NE(dir.entry_of("1"), nullptr);
  EXPECT_EQ(dir.groups_of("1").size(), 2u);
  EXPECT_EQ(store_->counts().ops_pending, 0);
}

// A server that says when to come back (HTTP 429/503 with Retry-After) is not asked sooner,
// even when the executor's own backoff would have tried again already.
TEST_F(EngineTest, RetryWaitsAtLeastAsLongAsTheServerAsked) {
  Outcome throttled = Outcome::retryable("scim:429", "too many requests");
  throttled.retry_after = std::chrono::seconds(30);
  dir.scripted.push_back(throttled);
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.entry_of("1"), nullptr);
  clock_.advance(std::chrono::seconds(10));  // far past the backoff (1 s ± 20 %), not 30 s
  settle();
  EXPECT_EQ(dir.entry_of("1"), nullptr);
  clock_.advance(std::chrono::seconds(21));
  settle();
  ASSERT_NE(dir.entry_of("1"), nullptr);
  EXPECT_EQ(store_->counts().ops_pending, 0);
}

TEST_F(EngineTest, PermanentFailureIsDeadLetteredAndCanBeRedriven) {
  dir.scripted.push_back(Outcome::permanent("ldap:19", "constraint violation"));
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  auto failed = store_->operations(OpStatus::Failed, 10);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].op.kind, OpKind::Create);
  auto d = retry_failed(*store_, {}, "test", clock_.now());
  EXPECT_EQ(d.changed, 1);
  settle();
  ASSERT_NE(dir.entry_of("1"), nullptr);
}

TEST_F(EngineTest, BadCredentialsStopTheExecutorUntilFixed) {
  dir.bad_credentials = true;
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(engine_->health(), ExecutorHealth::CredentialsRejected);
  EXPECT_TRUE(dir.applied.empty());
  dir.bad_credentials = false;
  settle();
  EXPECT_EQ(engine_->health(), ExecutorHealth::Ok);
  EXPECT_NE(dir.entry_of("1"), nullptr);
}

// A connector must return outcomes, but one that throws must neither stop the engine nor lose
// the operations it was given: they are retried like any retryable failure.
TEST_F(EngineTest, AConnectorThatThrowsDelaysItsOperationsAndTheEngineGoesOn) {
  dir.throw_next = 1;
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  EXPECT_NO_THROW(settle());
  EXPECT_EQ(dir.entry_of("1"), nullptr);
  auto ops = store_->operations_of("1");
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.front().op.kind, OpKind::Create);
  EXPECT_EQ(ops.front().status, OpStatus::Pending);
  EXPECT_EQ(ops.front().attempts, 1);
  EXPECT_EQ(engine_->health(), ExecutorHealth::Ok);

  clock_.advance(std::chrono::seconds(10));  // past the retry's backoff
  receive("e2", EventType::Hire, worker("2", "Rui", "Costa"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_NE(dir.entry_of("1"), nullptr);
  ASSERT_NE(dir.entry_of("2"), nullptr);
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"finance", "staff"}));
  EXPECT_EQ(store_->operations(OpStatus::Pending, 10).size(), 0u);
}

TEST_F(EngineTest, BrakeHoldsMassTerminationsUntilApproved) {
  config_.safety.max_destructive = 4;
  engine_ = make_engine();
  receive_range(EventType::Hire, 1, 5, "2026-01-05T00:00:00Z", "Sales");
  settle();
  receive_range(EventType::Termination, 1, 5, "2026-06-01T08:00:00Z", "Sales");
  settle();
  int locked = 0;
  for (int i = 1; i <= 5; ++i) locked += !dir.entry_of(std::to_string(i))->enabled;
  EXPECT_EQ(locked, 4) << "four people may leave per window; the fifth is held";
  auto held = store_->operations(OpStatus::Held, 100);
  ASSERT_FALSE(held.empty());
  // Everything held is the one leaver still enabled: no half-applied termination.
  std::set<std::string> held_workers;
  for (const auto& r : held) held_workers.insert(r.op.worker_id);
  ASSERT_EQ(held_workers.size(), 1u) << ::testing::PrintToString(held_workers);
  EXPECT_TRUE(dir.entry_of(*held_workers.begin())->enabled);
  auto d = approve_held(*store_, {}, "test", clock_.now());
  EXPECT_EQ(d.changed, static_cast<int>(held.size()));
  settle();
  for (int i = 1; i <= 5; ++i) EXPECT_FALSE(dir.entry_of(std::to_string(i))->enabled) << i;
  bool audited = false;
  for (const auto& a : store_->audit_log("", 10000)) audited |= a.action == "op.approved";
  EXPECT_TRUE(audited);
}

// Locked workers among ids [first, last].
int locked_among(const FakeDirectory& dir, int first, int last) {
  int n = 0;
  for (int i = first; i <= last; ++i)
    if (auto* e = dir.entry_of(std::to_string(i)); e && !e->enabled) ++n;
  return n;
}

// A leaver is a lock, two group removals and a move: one person, not four operations.
TEST_F(EngineTest, BrakeCountsPeopleNotOperations) {
  config_.safety.max_destructive = 4;
  config_.safety.max_destructive_percent = 100;
  engine_ = make_engine();
  receive_range(EventType::Hire, 1, 5, "2026-01-05T00:00:00Z");
  settle();
  receive_range(EventType::Termination, 1, 4, "2026-06-01T08:00:00Z");
  settle();
  EXPECT_EQ(locked_among(dir, 1, 4), 4);
  EXPECT_TRUE(store_->operations(OpStatus::Held, 100).empty());
  receive("t5", EventType::Termination, worker("5", "W", "Orker5"), "2026-06-01T08:00:00Z");
  settle();
  EXPECT_EQ(locked_among(dir, 5, 5), 0);
  EXPECT_FALSE(store_->operations(OpStatus::Held, 100).empty());
}

// A worker already counted in the window is not counted again when planned again.
TEST_F(EngineTest, BrakePercentCountsAWorkerAlreadyInTheWindowOnce) {
  config_.safety.max_destructive_percent = 100;  // everyone may be affected
  engine_ = make_engine();
  receive_range(EventType::Hire, 1, 10, "2026-01-05T00:00:00Z");
  settle();
  // Everyone leaves Finance (a group removal each): 10 of 10 people affected.
  receive_range(EventType::Change, 1, 10, "2026-05-01T08:00:00Z", "Sales");
  settle();
  receive("t1", EventType::Termination, worker("1", "W", "Orker1", "Sales"), "2026-06-01T08:00:00Z");
  settle();
  EXPECT_TRUE(store_->operations(OpStatus::Held, 100).empty());
  EXPECT_EQ(locked_among(dir, 1, 1), 1);
}

// With the defaults, a busy day (0.5 % of the workforce leaving) goes through and a bad import
// (5 % at once) is held once it passes 2 %.
TEST_F(EngineTest, DefaultBrakeLetsABusyDayThroughAndHoldsABadImport) {
  config_.safety = SafetyConfig{};
  engine_ = make_engine();
  constexpr int kPeople = 400;
  receive_range(EventType::Hire, 1, kPeople, "2026-01-05T00:00:00Z");
  settle();
  receive_range(EventType::Termination, 1, 2, "2026-06-01T08:00:00Z");
  settle();
  EXPECT_EQ(locked_among(dir, 1, 2), 2);
  EXPECT_TRUE(store_->operations(OpStatus::Held, 1000).empty());
  receive_range(EventType::Termination, 3, 22, "2026-06-01T08:00:00Z");
  settle();
  // 2 % of 400 is 8 people, and the share rule applies from 10 people on: the tenth leaver
  // and every later one are held for approval.
  EXPECT_EQ(locked_among(dir, 1, 22), 9);
  EXPECT_FALSE(store_->operations(OpStatus::Held, 1000).empty());
}

// The planner asks the directory which usernames are taken before a transaction takes the
// store's write lock, never while it holds it: a directory that hangs must not stall ingest,
// whose webhooks wait for that lock. Names deep in the ladder, and names two new workers of one
// group would both pick, are asked about beforehand too.
TEST_F(EngineTest, UsernameQuestionsNeverHoldTheStoresWriteLock) {
  dir.store = store_.get();
  // Taken in the directory by entries provisiond does not know.
  for (const std::string name : {"jsmith", "john.smith", "jsmith2", "jsmith3"})
    dir.entries["uid=" + name + ",ou=people,dc=test"] = {"", name, "ou=people", true, {}, "x"};
  for (int i = 1; i <= 6; ++i)
    receive("h" + std::to_string(i), EventType::Hire, worker(std::to_string(i), "John", "Smith"),
            "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.asked_in_transaction, 0);
  EXPECT_GT(dir.usernames_asked, 0);
  std::set<std::string> names;
  for (int i = 1; i <= 6; ++i) {
    auto* e = dir.entry_of(std::to_string(i));
    ASSERT_NE(e, nullptr) << i;
    names.insert(e->username);
  }
  EXPECT_EQ(names, (std::set<std::string>{"jsmith4", "jsmith5", "jsmith6", "jsmith7", "jsmith8",
                                          "jsmith9"}));
}

// Leavers first, already in the inbox: a termination that arrives behind a burst of other
// events is planned — and its lock sent — in the next round, not after the burst. One round of
// apply_pending_events plans at most 256 events.
TEST_F(EngineTest, ATerminationOvertakesTheBacklogAheadOfIt) {
  receive("hire-ana", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_TRUE(dir.entry_of("1")->enabled);
  receive_range(EventType::Hire, 100, 699, "2026-01-05T00:00:00Z");
  receive("term-ana", EventType::Termination, worker("1", "Ana", "Lima"),
          "2026-06-01T08:00:00Z");

  engine_->apply_pending_events();

  EXPECT_EQ(store_->event("term-ana")->status, EventStatus::Applied);
  EXPECT_FALSE(dir.entry_of("1")->enabled);  // the lock went out in that same round
  EXPECT_EQ(store_->event("HIRE-699")->status, EventStatus::Pending);  // the burst waits
  settle();
  EXPECT_EQ(store_->event("HIRE-699")->status, EventStatus::Applied);
  EXPECT_NE(dir.entry_of("699"), nullptr);
}

// A directory that is slow to answer the planner's username questions (a SaaS app under load)
// must not hold up a leaver who arrives meanwhile: the termination is planned before the hires
// whose names were being asked about.
TEST_F(EngineTest, ALeaverWhoArrivesWhileNamesAreBeingAskedIsPlannedFirst) {
  receive("hire-ana", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_TRUE(dir.entry_of("1")->enabled);
  receive_range(EventType::Hire, 100, 199, "2026-01-05T00:00:00Z");
  dir.on_username_question = [&] {
    receive("term-ana", EventType::Termination, worker("1", "Ana", "Lima"),
            "2026-06-01T08:00:00Z");
  };

  engine_->apply_pending_events();

  ASSERT_EQ(store_->event("term-ana")->status, EventStatus::Applied);
  std::int64_t lock = 0, first_create = std::numeric_limits<std::int64_t>::max();
  for (const auto& r : store_->operations_of("1"))
    if (r.op.kind == OpKind::Disable) lock = r.op.id;
  for (int i = 100; i <= 199; ++i)
    for (const auto& r : store_->operations_of(std::to_string(i)))
      if (r.op.kind == OpKind::Create) first_create = std::min(first_create, r.op.id);
  ASSERT_NE(lock, 0);
  EXPECT_LT(lock, first_create) << "the lock was planned after some of the hires";
}

// The daemon asks its targets about names on a connection of their own. While such a question
// is out, the engine goes on planning leavers: a question that only returns once the leaver who
// arrived meanwhile has been planned is answered, not waited on forever.
TEST_F(EngineTest, LeaversArePlannedWhileATargetIsStillAnsweringAboutNames) {
  receive("hire-ana", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_TRUE(dir.entry_of("1")->enabled);
  FakeDirectory asked;  // the look-up connection
  engine_->set_lookup_connector(&asked);
  receive_range(EventType::Hire, 100, 199, "2026-01-05T00:00:00Z");
  auto ingest = Store::open(config_.state_path);  // the webhook's own connection
  bool planned_while_asked = false;
  asked.on_username_question = [&] {
    HrEvent e;
    e.event_id = "term-ana";
    e.type = EventType::Termination;
    e.effective_at = at("2026-06-01T08:00:00Z");
    e.worker = worker("1", "Ana", "Lima");
    e.worker_id = "1";
    e.body_sha256 = "term-ana";
    e.received_at = clock_.now();
    ASSERT_EQ(ingest->insert_event(e).status, IngestStatus::Stored);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!planned_while_asked && std::chrono::steady_clock::now() < until) {
      auto row = ingest->event("term-ana");
      planned_while_asked = row && row->status == EventStatus::Applied;
      if (!planned_while_asked) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };

  engine_->apply_pending_events();

  EXPECT_TRUE(planned_while_asked) << "the leaver waited for the answer";
  EXPECT_FALSE(dir.entry_of("1")->enabled);
  EXPECT_EQ(store_->event("HIRE-199")->status, EventStatus::Applied);
}

// A leaver who arrives mid-round is planned between the round's transactions; the names that
// leaver's own pending hire needs are asked about first, and leavers who arrive during that
// question are planned meanwhile. Those are the same leaver's events: each is applied once, in
// arrival order, and none is applied again afterwards (which would mark the hire stale, as
// older than the termination already applied).
TEST_F(EngineTest, ALeaverPlannedWhileItsOwnNamesAreAskedIsAppliedOnce) {
  receive_range(EventType::Hire, 100, 199, "2026-01-05T00:00:00Z");
  auto ingest = Store::open(config_.state_path);  // the webhook's own connection
  std::thread webhook;
  // The clock is read while the round's first event is applied, inside its transaction: the
  // leaver's hire and termination arrive then, and the webhook waits for the write lock, which
  // ends the round's transaction after that event.
  struct ClockWithHook final : Clock {
    const ManualClock& time;
    const Store& store;
    std::function<void()> hook;  // runs once, the first time the clock is read in a transaction
    ClockWithHook(const ManualClock& t, const Store& s) : time(t), store(s) {}
    TimePoint now() const override {
      if (hook && store.in_transaction())
        std::exchange(const_cast<ClockWithHook*>(this)->hook, nullptr)();
      return time.now();
    }
  } clock(clock_, *store_);
  Engine engine(*store_, &dir, clock, config_, Policy::load(dir_ / "policy.yaml"));
  clock.hook = [&] {
    receive("hire-zoe", EventType::Hire, worker("2", "Zoe", "Park"), "2026-01-05T00:00:00Z");
    receive("term-zoe", EventType::Termination, worker("2", "Zoe", "Park"),
            "2026-06-01T08:00:00Z");
    webhook = std::thread([&] { ingest->transaction([] {}); });
    while (!store_->writer_waiting()) std::this_thread::yield();
  };

  engine.apply_pending_events();
  webhook.join();

  EXPECT_EQ(store_->event("hire-zoe")->status, EventStatus::Applied)
      << store_->event("hire-zoe")->note;
  EXPECT_EQ(store_->event("term-zoe")->status, EventStatus::Applied);
  std::vector<std::string> order;
  for (const auto& a : store_->audit_log("2", 1000))
    if (a.action == "event.applied" || a.action == "event.stale") order.push_back(a.event_id);
  EXPECT_EQ(order, (std::vector<std::string>{"hire-zoe", "term-zoe"}));
}

// Overtaking never reorders one worker's own events: a leaver's older events in the backlog
// are planned with the termination, before it, in the order they arrived.
TEST_F(EngineTest, ALeaversOwnOlderEventsAreAppliedBeforeTheTerminationThatOvertakes) {
  receive_range(EventType::Hire, 100, 399, "2026-01-05T00:00:00Z");
  receive("hire-ana", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  receive("move-ana", EventType::Change, worker("1", "Ana", "Lima", "Sales"),
          "2026-03-01T00:00:00Z");
  receive("term-ana", EventType::Termination, worker("1", "Ana", "Lima", "Sales"),
          "2026-06-01T08:00:00Z");

  engine_->apply_pending_events();

  for (const char* id : {"hire-ana", "move-ana", "term-ana"})
    EXPECT_EQ(store_->event(id)->status, EventStatus::Applied) << id;
  EXPECT_EQ(store_->event("HIRE-399")->status, EventStatus::Pending);
  // Applied in arrival order: the audit's event.applied rows of Ana.
  std::vector<std::string> order;
  for (const auto& a : store_->audit_log("1", 1000))
    if (a.action == "event.applied") order.push_back(a.event_id);
  EXPECT_EQ(order, (std::vector<std::string>{"hire-ana", "move-ana", "term-ana"}));
  settle();
  const auto* e = dir.entry_of("1");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->enabled);
  EXPECT_TRUE(dir.groups_of("1").empty());
}

TEST_F(EngineTest, DryRunPlanWritesNothing) {
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  engine_->apply_pending_events();
  auto before = store_->counts();
  Engine preview(*store_, nullptr, clock_, config_, Policy::load(dir_ / "policy.yaml"));
  auto plans = preview.plan_all();
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_TRUE(plans[0].operations.empty());  // already queued: the plan diffs against planned
  auto after = store_->counts();
  EXPECT_EQ(before.ops_pending, after.ops_pending);
  EXPECT_EQ(before.audit, after.audit);
}

// The policy says per kind of destructive operation what is held. By default a group removal a
// policy change plans is held for approval even for one person: an edit of the policy takes
// access from people HR has not touched.
TEST_F(EngineTest, GroupRemovalFromAPolicyChangeIsHeldByDefault) {
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_EQ(dir.groups_of("1"), (std::set<std::string>{"finance", "staff"}));
  use_policy(replaced(kPolicy, "department: Finance", "department: Accounting"));
  settle();
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"finance", "staff"}));
  const auto held = store_->operations(OpStatus::Held, 10);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0].op.kind, OpKind::RemoveMember);
  approve_held(*store_, {}, "test", clock_.now());
  settle();
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff"}));
}

TEST_F(EngineTest, BrakeRulesComeFromThePolicyPerKind) {
  // Group removals of a policy change only above the mass threshold; every lock held.
  use_policy(std::string(kPolicy) + "brake:\n  remove_member: over_threshold\n  disable: always\n");
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  use_policy(replaced(
      std::string(kPolicy) + "brake:\n  remove_member: over_threshold\n  disable: always\n",
      "department: Finance", "department: Accounting"));
  settle();
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff"}));
  EXPECT_TRUE(store_->operations(OpStatus::Held, 10).empty());
  receive("t1", EventType::Termination, worker("1", "Ana", "Lima"), "2026-06-01T08:00:00Z");
  settle();
  EXPECT_TRUE(dir.entry_of("1")->enabled) << "the lock is held";
  std::set<OpKind> held;
  for (const auto& r : store_->operations(OpStatus::Held, 10)) held.insert(r.op.kind);
  EXPECT_EQ(held, (std::set<OpKind>{OpKind::Disable})) << "a leaver's removals are not held";
  approve_held(*store_, {}, "test", clock_.now());
  settle();
  EXPECT_FALSE(dir.entry_of("1")->enabled);
  EXPECT_TRUE(dir.groups_of("1").empty());
}

// With the default rules a normal day's leavers go through: their group removals and moves come
// from HR events, not from a policy change, and their locks are held only above the threshold.
TEST_F(EngineTest, DefaultBrakeRulesLetANormalDaysLeaversThrough) {
  config_.safety = SafetyConfig{};
  engine_ = make_engine();
  receive_range(EventType::Hire, 1, 100, "2026-01-05T00:00:00Z");
  settle();
  receive_range(EventType::Termination, 1, 1, "2026-06-01T08:00:00Z");
  settle();
  EXPECT_EQ(locked_among(dir, 1, 1), 1);
  EXPECT_TRUE(dir.groups_of("1").empty());
  EXPECT_EQ(dir.entry_of("1")->ou, "ou=disabled");
  EXPECT_TRUE(store_->operations(OpStatus::Held, 100).empty());
}

// Access provisiond granted is revoked when nothing grants it any more, also when the role
// that granted it is gone from the policy (its group is no longer one any role can grant).
TEST_F(EngineTest, RetiredRoleLosesTheAccessItGranted) {
  receive_range(EventType::Hire, 1, 3, "2026-01-05T00:00:00Z");
  settle();
  ASSERT_EQ(dir.groups_of("1"), (std::set<std::string>{"finance", "staff"}));
  // A group someone added by hand is not provisiond's: it stays.
  dir.groups["vpn"].insert(dir.dn_of("1"));
  const std::string without_finance = replaced(kPolicy, kFinanceRole, "");
  use_policy(without_finance);
  settle();
  // A policy change's group removals are held by default: nothing is taken yet.
  EXPECT_EQ(dir.groups_of("2"), (std::set<std::string>{"finance", "staff"}));
  const auto held = store_->operations(OpStatus::Held, 10);
  ASSERT_EQ(held.size(), 3u);
  for (const auto& r : held) {
    EXPECT_EQ(r.op.kind, OpKind::RemoveMember);
    EXPECT_EQ(r.op.group, "finance");
  }
  approve_held(*store_, {}, "test", clock_.now());
  settle();
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff", "vpn"}));
  EXPECT_EQ(dir.groups_of("2"), (std::set<std::string>{"staff"}));
  EXPECT_EQ(dir.groups_of("3"), (std::set<std::string>{"staff"}));
  // The removals are done: the group has left management, a reload plans nothing more.
  use_policy(without_finance + "\n");
  settle();
  EXPECT_TRUE(store_->operations(OpStatus::Held, 10).empty());
  EXPECT_TRUE(store_->operations(OpStatus::Pending, 10).empty());
}

// Retiring a big role is a mass change even when policy changes may remove unattended.
TEST_F(EngineTest, RetiringARoleOfManyIsHeldByTheMassBrake) {
  config_.safety.max_destructive = 2;
  engine_ = make_engine();
  receive_range(EventType::Hire, 1, 5, "2026-01-05T00:00:00Z");
  settle();
  use_policy(replaced(std::string(kPolicy) + "brake: { remove_member: over_threshold }\n",
                      kFinanceRole, ""));
  settle();
  int kept = 0;
  for (int i = 1; i <= 5; ++i) kept += dir.groups_of(std::to_string(i)).count("finance");
  EXPECT_EQ(kept, 3) << "two people may lose access per window; the others are held";
  EXPECT_EQ(store_->operations(OpStatus::Held, 10).size(), 3u);
}

// An administrator may hand a group back: provisiond no longer removes anyone from it, and
// every account released is audited.
TEST_F(EngineTest, ReleasedGroupKeepsItsMembersAndIsAudited) {
  receive_range(EventType::Hire, 1, 2, "2026-01-05T00:00:00Z");
  settle();
  use_policy(replaced(kPolicy, kFinanceRole, "") + "release_groups: [finance]\n");
  settle();
  EXPECT_TRUE(store_->operations(OpStatus::Held, 10).empty());
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"finance", "staff"}));
  int released = 0;
  for (const auto& a : store_->audit_log("", 10000))
    if (a.action == "group.released" && a.detail.value("group", "") == "finance") ++released;
  EXPECT_EQ(released, 2);
  // Released for good: a policy without the setting does not take the group back.
  use_policy(replaced(kPolicy, kFinanceRole, ""));
  settle();
  EXPECT_TRUE(store_->operations(OpStatus::Held, 10).empty());
  EXPECT_EQ(dir.groups_of("2"), (std::set<std::string>{"finance", "staff"}));
}

TEST_F(EngineTest, PolicyChangeReplansEveryWorker) {
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima", "Sales"), "2026-01-05T00:00:00Z");
  settle();
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff"}));
  std::string p = kPolicy;
  p.replace(p.find("groups: [staff]"), 15, "groups: [staff, everyone]");
  std::ofstream(dir_ / "policy.yaml") << p;
  engine_->set_policy(Policy::load(dir_ / "policy.yaml"));
  settle();
  EXPECT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff", "everyone"}));
}

// provisionctl plan --policy CANDIDATE: what deploying a policy would do, before it is deployed —
// exactly the operations the deploy then plans (a retired role's removals, held by the brake as a
// policy change), and nothing written meanwhile.
TEST_F(EngineTest, WhatIfOfACandidatePolicyIsExactlyWhatItsDeployPlans) {
  receive_range(EventType::Hire, 1, 3, "2026-01-05T00:00:00Z", "Finance");
  receive_range(EventType::Hire, 4, 5, "2026-01-05T00:00:00Z", "Sales");
  settle();
  ASSERT_EQ(dir.groups_of("1"), (std::set<std::string>{"staff", "finance"}));
  using Key = std::tuple<std::string, std::string, std::string>;  // worker, kind, group
  const auto key = [](const Operation& op) {
    return Key{op.worker_id, std::string(to_string(op.kind)), op.group};
  };
  const auto ops_after = [&](std::int64_t watermark) {
    std::set<Key> out;
    for (auto st : {OpStatus::Pending, OpStatus::Held, OpStatus::Done, OpStatus::Failed})
      for (const auto& r : store_->operations(st, 100000))
        if (r.op.id > watermark) out.insert(key(r.op));
    return out;
  };
  std::int64_t watermark = 0;
  for (const auto& r : store_->operations(OpStatus::Done, 100000))
    watermark = std::max(watermark, r.op.id);
  const auto audit_before = store_->audit_log("", 100000).size();

  std::ofstream(dir_ / "candidate.yaml") << replaced(kPolicy, kFinanceRole, "");
  const auto candidate = Policy::load(dir_ / "candidate.yaml");
  const WhatIf w = what_if(*store_, config_, candidate, clock_);
  std::set<Key> predicted;
  for (const auto& p : w.plans)
    for (const auto& op : p.operations) predicted.insert(key(op));
  EXPECT_EQ(predicted, (std::set<Key>{{"1", "remove_member", "finance"},
                                      {"2", "remove_member", "finance"},
                                      {"3", "remove_member", "finance"}}));
  EXPECT_EQ(w.summary.group_removals, 3);
  EXPECT_EQ(w.people_affected, 3);
  EXPECT_EQ(w.managed_accounts, 5);
  EXPECT_EQ(w.held_by_rule, 3);  // brake.remove_member defaults to policy_change
  EXPECT_NE(w.to_string().find("3 people affected of 5 managed accounts"), std::string::npos)
      << w.to_string();
  // Nothing was written.
  EXPECT_TRUE(ops_after(watermark).empty());
  EXPECT_EQ(store_->audit_log("", 100000).size(), audit_before);

  engine_->set_policy(candidate);
  settle();
  EXPECT_EQ(ops_after(watermark), predicted);
  EXPECT_EQ(store_->operations(OpStatus::Held, 100).size(), 3u);
}

// The access report: each membership with the role granting it; a group whose removal the brake
// holds is `revoking`, and a group a role grants while the directory is down is `pending`.
TEST_F(EngineTest, AccessReportNamesRolesAndWhatIsPendingOrBeingRevoked) {
  receive("e1", EventType::Hire, worker("1", "Ana", "Lima"), "2026-01-05T00:00:00Z");
  settle();
  ASSERT_EQ(dir.groups_of("1"), (std::set<std::string>{"finance", "staff"}));
  const auto report = [&] {
    std::map<std::string, AccessRow> rows;  // by group
    access_report(*store_, *engine_->policy(), {"directory"}, {}, clock_.now(),
                  [&](const AccessRow& r) { rows[r.group] = r; });
    return rows;
  };
  auto rows = report();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows["finance"].status, "granted");
  EXPECT_EQ(rows["finance"].granted_by, "finance");
  EXPECT_EQ(rows["staff"].granted_by, "employees");
  EXPECT_EQ(rows["staff"].account, "enabled");
  EXPECT_EQ(rows["staff"].worker_state, "active");

  // The finance role now asks for another department: the removal waits for approval.
  use_policy(replaced(kPolicy, "department: Finance", "department: Accounting"));
  settle();
  ASSERT_EQ(store_->operations(OpStatus::Held, 10).size(), 1u);
  rows = report();
  EXPECT_EQ(rows["finance"].status, "revoking");
  EXPECT_EQ(rows["finance"].granted_by, "");
  EXPECT_EQ(rows["staff"].status, "granted");

  // A new role's group while the directory is unreachable: granted, not yet held.
  dir.refuse_connect = true;
  use_policy(replaced(kPolicy, "groups: [staff]", "groups: [staff, wiki]"));
  settle();
  rows = report();
  EXPECT_EQ(rows["wiki"].status, "pending");
  EXPECT_EQ(rows["wiki"].granted_by, "employees");

  // Filters: one group, case-insensitive; an unknown target has no rows.
  int n = 0;
  access_report(*store_, *engine_->policy(), {"directory"}, {"STAFF", "", ""}, clock_.now(),
                [&](const AccessRow& r) {
                  EXPECT_EQ(r.group, "staff");
                  ++n;
                });
  EXPECT_EQ(n, 1);
  access_report(*store_, *engine_->policy(), {"directory"}, {"", "", "elsewhere"}, clock_.now(),
                [&](const AccessRow&) { ++n; });
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace prov
