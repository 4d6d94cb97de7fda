// The engine with two targets: one plan per worker covers both, each target gets its own groups,
// its own executor (a target that refuses connections holds up nobody else) and its own brake
// window (one target's burst is held while the other flows).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fake_connector.h"
#include "prov/engine.h"

namespace prov {
namespace {
namespace fs = std::filesystem;
using testing::FakeDirectory;

// Grants in the default target (`groups:`) and in crm; group removals count against the brake's
// threshold whoever plans them, so a policy change can make a burst in one target.
constexpr const char* kPolicy = R"(version: 1
attributes: { sn: "{{ worker.lastName }}" }
username:
  candidates: ["{{ worker.firstName }}{{ worker.lastName }}", "{{ worker.lastName }}{{ n }}"]
  transform: [ascii, lower, alnum]
ou: "ou=people"
roles:
  - name: employees
    groups: [staff]
    targets: { crm: { groups: [crm-users] } }
  - name: finance
    when: { department: Finance }
    groups: [finance]
    targets: { crm: { groups: [crm-finance] } }
lifecycle:
  termination: { lock: immediately, remove_groups: true }
brake:
  remove_member: over_threshold
)";

TimePoint at(const char* s) { return *parse_time(s); }

class TargetsEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("prov-targets-engine-" + std::string(::testing::UnitTest::GetInstance()
                                                     ->current_test_info()
                                                     ->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "policy.yaml") << kPolicy;
    config_.state_path = dir_ / "state.db";
    config_.targets.resize(2);
    config_.targets[0].name = "main";
    config_.targets[1].name = "crm";
    store_ = Store::open(config_.state_path);
    engine_ = std::make_unique<Engine>(*store_, std::vector<DirectoryConnector*>{&main_, &crm_},
                                       clock_, config_, Policy::load(dir_ / "policy.yaml"));
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void receive(const std::string& id, EventType type, const std::string& worker_id,
               const std::string& dept) {
    HrEvent e;
    e.event_id = id;
    e.type = type;
    e.effective_at = clock_.now();
    e.worker_id = worker_id;
    e.worker = Json{{"workerId", worker_id}, {"firstName", "W"},
                    {"lastName", "Orker" + worker_id}, {"department", dept},
                    {"hireDate", "2026-01-05"}};
    e.body_sha256 = id;
    e.received_at = clock_.now();
    ASSERT_EQ(store_->insert_event(e).status, IngestStatus::Stored);
  }
  void settle() {
    for (int i = 0; i < 100 && engine_->step(); ++i) {
    }
    engine_->execute_batch();
  }
  // Statuses of a worker's operations of `kind` in `target`.
  std::vector<OpStatus> statuses(const std::string& worker_id, const std::string& target,
                                 OpKind kind) {
    std::vector<OpStatus> out;
    for (const auto& r : store_->operations_of(worker_id))
      if (r.op.target == target && r.op.kind == kind) out.push_back(r.status);
    return out;
  }

  fs::path dir_;
  Config config_;
  ManualClock clock_{at("2026-06-01T09:00:00Z")};
  FakeDirectory main_, crm_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(TargetsEngineTest, AHireGetsAnAccountInEveryTargetWithThatTargetsGroups) {
  receive("h1", EventType::Hire, "1", "Finance");
  settle();
  EXPECT_EQ(main_.groups_of("1"), (std::set<std::string>{"staff", "finance"}));
  EXPECT_EQ(crm_.groups_of("1"), (std::set<std::string>{"crm-users", "crm-finance"}));
  auto in_main = store_->account("main", "1");
  auto in_crm = store_->account("crm", "1");
  ASSERT_TRUE(in_main && in_crm);
  EXPECT_EQ(in_main->applied.username, "worker1");
  EXPECT_EQ(in_crm->applied.username, "worker1");
  EXPECT_EQ(in_crm->applied.granted, (std::set<std::string>{"crm-users", "crm-finance"}));
  EXPECT_FALSE(store_->account(kDefaultTarget, "1")) << "no target is called directory here";
}

TEST_F(TargetsEngineTest, ATargetThatRefusesConnectionsHoldsUpOnlyItself) {
  receive("h1", EventType::Hire, "1", "Sales");
  settle();
  // crm goes away: the connection drops under the next operation, and reconnecting fails.
  crm_.scripted.push_back(Outcome::retryable("ldap:-1", "server down"));
  crm_.refuse_connect = true;
  receive("t1", EventType::Termination, "1", "Sales");
  settle();
  clock_.advance(std::chrono::seconds(2));  // past the first backoff: crm is tried again
  settle();
  EXPECT_FALSE(main_.entry_of("1")->enabled) << "the lock in main waited for crm";
  EXPECT_TRUE(main_.groups_of("1").empty());
  EXPECT_TRUE(crm_.entry_of("1")->enabled);
  EXPECT_EQ(statuses("1", "crm", OpKind::Disable), (std::vector<OpStatus>{OpStatus::Pending}));
  EXPECT_EQ(engine_->health(), ExecutorHealth::DirectoryUnavailable);

  crm_.refuse_connect = false;
  settle();
  EXPECT_FALSE(crm_.entry_of("1")->enabled);
  EXPECT_TRUE(crm_.groups_of("1").empty());
  EXPECT_EQ(engine_->health(), ExecutorHealth::Ok);
}

// A new name must be free in every target: while one cannot be asked, the hire is held and
// asked about again later — not at once, in a loop that keeps the engine busy.
TEST_F(TargetsEngineTest, AHireWaitsCalmlyWhileATargetCannotSayWhetherANameIsFree) {
  crm_.refuse_lookups = true;
  receive("h1", EventType::Hire, "1", "Sales");
  settle();
  EXPECT_FALSE(engine_->step()) << "the engine keeps re-planning a hire it cannot name";
  EXPECT_EQ(main_.entry_of("1"), nullptr);
  bool held = false;
  for (const auto& a : store_->audit_log("1", 100))
    held |= a.action == "worker.held" &&
            a.detail.value("reason", "") == "directory could not be asked whether a username is free";
  EXPECT_TRUE(held);

  crm_.refuse_lookups = false;
  clock_.advance(std::chrono::seconds(31));
  settle();
  ASSERT_NE(main_.entry_of("1"), nullptr);
  ASSERT_NE(crm_.entry_of("1"), nullptr);
}

TEST_F(TargetsEngineTest, OneTargetsBurstIsHeldWhileTheOtherFlows) {
  config_.safety.max_destructive = 2;
  engine_ = std::make_unique<Engine>(*store_, std::vector<DirectoryConnector*>{&main_, &crm_},
                                     clock_, config_, Policy::load(dir_ / "policy.yaml"));
  for (const char* id : {"1", "2", "3"}) receive(std::string("h") + id, EventType::Hire, id, "Finance");
  receive("h4", EventType::Hire, "4", "Sales");
  settle();
  ASSERT_EQ(crm_.groups_of("3"), (std::set<std::string>{"crm-users", "crm-finance"}));

  // A policy change takes crm-finance away from three people: a burst in crm only.
  std::string text = kPolicy;
  text.replace(text.find("    targets: { crm: { groups: [crm-finance] } }\n"),
               std::string("    targets: { crm: { groups: [crm-finance] } }\n").size(), "");
  std::ofstream(dir_ / "policy.yaml", std::ios::trunc) << text;
  engine_->set_policy(Policy::load(dir_ / "policy.yaml"));
  settle();
  EXPECT_EQ(statuses("3", "crm", OpKind::RemoveMember), (std::vector<OpStatus>{OpStatus::Held}))
      << "the third person's removal should be over crm's threshold";

  // A leaver now: crm's window is full, main's is empty.
  receive("t4", EventType::Termination, "4", "Sales");
  settle();
  EXPECT_EQ(statuses("4", "main", OpKind::Disable), (std::vector<OpStatus>{OpStatus::Done}));
  EXPECT_FALSE(main_.entry_of("4")->enabled);
  EXPECT_EQ(statuses("4", "crm", OpKind::Disable), (std::vector<OpStatus>{OpStatus::Held}));
  EXPECT_TRUE(crm_.entry_of("4")->enabled);
  EXPECT_EQ(main_.groups_of("1"), (std::set<std::string>{"staff", "finance"}))
      << "main's grants did not change";
}

// A target with attribute values of its own: created with them, and a change of the HR record
// that moves only that target's value updates only that target.
TEST_F(TargetsEngineTest, ATargetIsWrittenWithItsOwnAttributeValues) {
  std::ofstream(dir_ / "policy.yaml", std::ios::trunc)
      << kPolicy
      << "targets:\n  crm:\n    attributes:\n      sn: \"\"\n"
         "      title: \"{{ sn }} in {{ worker.department }}\"\n";
  engine_->set_policy(Policy::load(dir_ / "policy.yaml"));
  receive("h1", EventType::Hire, "1", "Finance");
  settle();
  ASSERT_TRUE(main_.entry_of("1") && crm_.entry_of("1"));
  EXPECT_EQ(main_.entry_of("1")->attributes.at("sn"), "Orker1");
  EXPECT_EQ(main_.entry_of("1")->attributes.count("title"), 0u);
  EXPECT_EQ(crm_.entry_of("1")->attributes.count("sn"), 0u);
  EXPECT_EQ(crm_.entry_of("1")->attributes.at("title"), "Orker1 in Finance");

  const auto main_writes = main_.applied.size();
  receive("c1", EventType::Change, "1", "Sales");
  settle();
  EXPECT_EQ(crm_.entry_of("1")->attributes.at("title"), "Orker1 in Sales");
  for (std::size_t i = main_writes; i < main_.applied.size(); ++i)
    EXPECT_NE(main_.applied[i].kind, OpKind::Update) << "main's attributes did not change";
}

}  // namespace
}  // namespace prov
