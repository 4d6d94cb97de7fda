// Two targets through the daemon: two real slapd servers with different base DNs, both
// `type: ldap`. One HIRE lands in both with the groups each target's grants give; a TERMINATION
// refuses binds in both; with one server stopped, the other still gets its lock, and the stopped
// one catches up once it is back. Every assertion reads a directory, a bind or provisionctl.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "e2e/daemon_fixture.h"
#include "e2e/slapd_restart.h"
#include "harness/bind_probe.h"

namespace prov::testing {
namespace {

Json finance_worker(const std::string& id, const std::string& first, const std::string& last) {
  Json w = make_worker(id, first, last, "Finance");
  w["location"] = "Hamburg";
  return w;
}

class TwoTargets : public ::testing::Test {
 protected:
  void SetUp() override {
    SlapdOptions o;
    o.suffix = "dc=second,dc=org";
    second_ = Slapd::start(o);
    policy_dir_ = second_->info().dir + "/policy";
    std::filesystem::create_directories(policy_dir_);
    DaemonOptions d;
    d.policy_path = write_policy_with_grants(policy_dir_, "second", "[second-staff]", "[ledger]");
    d.target_name = "main";
    d.more_targets_yaml = slapd_target_yaml(*second_, "second");
    adjust(d);
    daemon_ = std::make_unique<Daemon>(Slapd::shared(), d);
    daemon_->start();
  }
  // What a fixture deriving from this one changes before the daemon starts.
  virtual void adjust(DaemonOptions&) {}
  void TearDown() override {
    daemon_.reset();
    if (restarted_) stop_restarted_slapd(second_->info());
  }

  const SlapdInfo& main() const { return Slapd::shared().info(); }
  const SlapdInfo& second() const { return second_->info(); }
  std::string second_password(const std::string& worker_id) const {
    std::ifstream in(second().dir + "/passwords/" + worker_id + ".password");
    std::string pw;
    std::getline(in, pw);
    return pw;
  }
  // Waits until the worker's entry in `s` is in exactly `groups`; returns its DN ("" if never).
  std::string wait_for_groups(const SlapdInfo& s, const std::string& worker_id,
                              const std::set<std::string>& groups) {
    std::string dn;
    eventually([&] {
      auto e = person_in(s, worker_id);
      if (!e) return false;
      dn = e->dn;
      return groups_in(s, dn) == groups;
    });
    return dn;
  }
  bool binds(const SlapdInfo& s, const std::string& dn, const std::string& pw) const {
    return can_bind(s.ldaps_url, dn, pw, s.ca_file);
  }
  // The worker's entry exists (wherever a leaver's move put it) and refuses `pw`.
  bool locked_out(const SlapdInfo& s, const std::string& worker_id, const std::string& pw) const {
    auto e = person_in(s, worker_id);
    return e && !binds(s, e->dn, pw);
  }

  std::unique_ptr<Slapd> second_;
  std::string policy_dir_;
  std::unique_ptr<Daemon> daemon_;
  bool restarted_ = false;
};

TEST_F(TwoTargets, HireLandsInBothWithEachTargetsGroupsAndTerminationLocksBoth) {
  ASSERT_EQ(daemon_->send_event("two-hire-1", "HIRE", finance_worker("300001", "Nora", "Lind"))
                .status,
            202);
  const std::string main_dn = wait_for_groups(main(), "300001", {"staff", "finance", "erp-users"});
  const std::string second_dn = wait_for_groups(second(), "300001", {"second-staff", "ledger"});
  ASSERT_FALSE(main_dn.empty());
  ASSERT_FALSE(second_dn.empty());
  EXPECT_EQ(groups_in(main(), main_dn), (std::set<std::string>{"staff", "finance", "erp-users"}));
  EXPECT_EQ(groups_in(second(), second_dn), (std::set<std::string>{"second-staff", "ledger"}));
  EXPECT_NE(second_dn.find("dc=second,dc=org"), std::string::npos) << second_dn;
  EXPECT_EQ(person_in(main(), "300001")->first("uid"), person_in(second(), "300001")->first("uid"))
      << "one username in every target";

  // Each target delivered its own one-time password; both bind.
  const std::string main_pw = daemon_->password_of("300001"), second_pw = second_password("300001");
  ASSERT_TRUE(binds(main(), main_dn, main_pw));
  ASSERT_TRUE(binds(second(), second_dn, second_pw));

  std::string out;
  ASSERT_EQ(daemon_->ctl("accounts --json", &out), 0) << out;
  const Json accounts = json_lines(out)["items"];
  std::set<std::string> targets;
  for (const auto& a : accounts)
    if (a.value("worker_id", "") == "300001") targets.insert(a.value("target", ""));
  EXPECT_EQ(targets, (std::set<std::string>{"main", "second"})) << out;

  // Reconcile reads both directories and finds both accounts as provisiond applied them.
  ASSERT_EQ(daemon_->ctl("reconcile --json", &out), 0) << out;
  const Json report = json_lines(out);
  EXPECT_EQ(report["summary"]["compared"], 2) << out;
  EXPECT_TRUE(report["items"].empty()) << out;

  ASSERT_EQ(daemon_->send_event("two-term-1", "TERMINATION", finance_worker("300001", "Nora", "Lind"))
                .status,
            202);
  EXPECT_TRUE(eventually([&] {
    return locked_out(main(), "300001", main_pw) && locked_out(second(), "300001", second_pw);
  })) << "a leaver can still bind in one of the targets";
  EXPECT_TRUE(eventually([&] {
    auto s = person_in(second(), "300001");
    return s && groups_in(second(), s->dn).empty();
  })) << "the second target's managed groups are not all removed";

  ASSERT_EQ(daemon_->ctl("audit --worker-id 300001 --json", &out), 0) << out;
  EXPECT_NE(out.find("\"target\":\"second\""), std::string::npos) << out;
}

TEST_F(TwoTargets, AStoppedTargetHoldsUpOnlyItselfAndCatchesUpWhenBack) {
  ASSERT_EQ(daemon_->send_event("two-out-1", "HIRE", make_worker("300010", "Ivo", "Berg")).status,
            202);
  const std::string main_dn = wait_for_groups(main(), "300010", {"staff"});
  const std::string second_dn = wait_for_groups(second(), "300010", {"second-staff"});
  ASSERT_FALSE(main_dn.empty());
  ASSERT_FALSE(second_dn.empty());
  const std::string main_pw = daemon_->password_of("300010"), second_pw = second_password("300010");
  ASSERT_TRUE(binds(main(), main_dn, main_pw));
  ASSERT_TRUE(binds(second(), second_dn, second_pw));

  second_->stop();
  // A change first: its update for the stopped target stays queued, older than the leaver's
  // operations, which must not wait for it in the running target (order is per target).
  Json changed = make_worker("300010", "Ivo", "Berg");
  changed["jobTitle"] = "Staff Engineer";
  ASSERT_EQ(daemon_->send_event("two-out-2", "CHANGE", changed).status, 202);
  EXPECT_TRUE(eventually([&] {
    auto e = person_in(main(), "300010");
    return e && e->first("title") == "Staff Engineer";
  }));
  ASSERT_EQ(daemon_->send_event("two-out-3", "TERMINATION", changed).status, 202);
  // The running target's lock and group removals do not wait for the stopped one.
  EXPECT_TRUE(eventually([&] {
    auto e = person_in(main(), "300010");
    return locked_out(main(), "300010", main_pw) && e && groups_in(main(), e->dn).empty();
  })) << "the leaver's operations in the running target waited for the stopped one";
  std::string out;
  ASSERT_EQ(daemon_->ctl("held", &out), 0) << out;
  EXPECT_NE(out.find("no operations are held"), std::string::npos) << out;

  restart_slapd(second());
  restarted_ = true;
  EXPECT_TRUE(eventually([&] { return locked_out(second(), "300010", second_pw); }))
      << "the stopped target never caught up with the lock";
  EXPECT_TRUE(eventually([&] {
    auto s = person_in(second(), "300010");
    return s && s->first("title") == "Staff Engineer" && groups_in(second(), s->dn).empty();
  })) << "the stopped target did not apply what it missed";
}

// The mass-change brake counts people per target. Finance people who move to Engineering lose
// `ledger` in the second target only (a destructive change there), while the main target just
// updates their title: with room for two people, the second target holds the rest of its
// removals for approval and the main target applies every change meanwhile.
class TwoTargetsOneBraked : public TwoTargets {
 protected:
  void adjust(DaemonOptions& d) override {
    // Finance grants nothing in the main target here: the move changes only attributes there.
    std::string text = read_file(d.policy_path);
    const std::string plain = "    groups: [finance, erp-users]\n";
    const auto at = text.find(plain);
    ASSERT_NE(at, std::string::npos) << "example policy changed";
    text.erase(at, plain.size());
    std::ofstream(d.policy_path) << text;
    d.extra_yaml = "safety:\n  max_destructive: 2\n";
  }
};

TEST_F(TwoTargetsOneBraked, TheBrakeHoldsOnlyItsTargetWhileTheOtherFlows) {
  const std::vector<std::string> ids{"300021", "300022", "300023", "300024", "300025"};
  for (const auto& id : ids) {
    ASSERT_EQ(daemon_->send_event("brk-hire-" + id, "HIRE", finance_worker(id, "Fin", "N" + id))
                  .status,
              202);
  }
  for (const auto& id : ids) {
    ASSERT_FALSE(wait_for_groups(main(), id, {"staff"}).empty()) << id;
    ASSERT_FALSE(wait_for_groups(second(), id, {"second-staff", "ledger"}).empty()) << id;
  }
  for (const auto& id : ids) {
    Json moved = finance_worker(id, "Fin", "N" + id);
    moved["department"] = "Engineering";
    moved["jobTitle"] = "Engineer";
    ASSERT_EQ(daemon_->send_event("brk-move-" + id, "CHANGE", moved).status, 202);
  }

  // The second target: two people within the limit, the other three held.
  std::vector<Json> held;
  EXPECT_TRUE(eventually([&] {
    std::string out;
    if (daemon_->ctl("held --json", &out) != 0) return false;
    held.clear();
    for (const auto& op : Json::parse(out)) held.push_back(op);
    return held.size() == 3;
  })) << held.size() << " operations held";
  ASSERT_EQ(held.size(), 3u);
  std::set<std::string> held_workers;
  for (const auto& op : held) {
    EXPECT_EQ(op.value("target", ""), "second") << op.dump();
    EXPECT_EQ(op.value("kind", ""), "remove_member") << op.dump();
    EXPECT_EQ(op.value("group", ""), "ledger") << op.dump();
    held_workers.insert(op.value("worker_id", ""));
  }
  EXPECT_EQ(held_workers.size(), 3u);

  // The main target is not held up: every title changes there, and in the second target too
  // (an update takes nothing away).
  EXPECT_TRUE(eventually([&] {
    for (const auto& id : ids) {
      auto m = person_in(main(), id), s = person_in(second(), id);
      if (!m || m->first("title") != "Engineer" || !s || s->first("title") != "Engineer")
        return false;
    }
    return true;
  })) << "a target's brake held up the other target's changes";
  for (const auto& id : ids) {
    auto s = person_in(second(), id);
    ASSERT_TRUE(s) << id;
    EXPECT_EQ(groups_in(second(), s->dn).count("ledger"), held_workers.count(id))
        << id << ": only the held people may still be in ledger";
    EXPECT_EQ(groups_in(main(), person_in(main(), id)->dn), (std::set<std::string>{"staff"}));
  }

  // Approved, the held removals go out.
  std::string out;
  ASSERT_EQ(daemon_->ctl("approve --all", &out), 0) << out;
  EXPECT_TRUE(eventually([&] {
    for (const auto& id : ids) {
      auto s = person_in(second(), id);
      if (!s || groups_in(second(), s->dn) != std::set<std::string>{"second-staff"}) return false;
    }
    return true;
  })) << "the approved removals did not reach the second target";
}

}  // namespace
}  // namespace prov::testing
