// Hot reload: an invalid policy is refused with file:line:column and the running one stays in
// force; a valid one re-plans every worker, and access of a retired role is revoked. Observed
// through the real directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "e2e/daemon_fixture.h"

namespace prov::testing {
namespace {
namespace fs = std::filesystem;

constexpr const char* kBerlinRole =
    "  - name: berlin\n"
    "    when: { all: [ { location: Berlin }, { not: { jobCode: { prefix: \"INT-\" } } } ] }\n"
    "    groups: [office-berlin]\n";

class PolicyReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("prov-reload-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    original_ = read_file(std::string(PROV_SOURCE_DIR) + "/policies/example.yaml");
    write_policy(original_);
    DaemonOptions o;
    o.policy_path = (dir_ / "policy.yaml").string();
    daemon_ = std::make_unique<Daemon>(Slapd::shared(), o);
    daemon_->start();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << read_file(daemon_->log_path());
    daemon_->stop();
    fs::remove_all(dir_);
  }
  void write_policy(const std::string& text) {
    // Write then rename, as an editor or config management would.
    std::ofstream(dir_ / "policy.yaml.tmp") << text;
    fs::rename(dir_ / "policy.yaml.tmp", dir_ / "policy.yaml");
  }
  size_t count_in_log(const std::string& needle) {
    return count(read_file(daemon_->log_path()), needle);
  }
  static size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
      ++n;
    return n;
  }
  std::string ctl(const std::string& args) {
    std::string out;
    EXPECT_EQ(daemon_->ctl(args, &out), 0) << args << ": " << out;
    return out;
  }
  // The example policy without its berlin role: the role retired.
  std::string without_berlin() const {
    std::string p = original_;
    const auto at = p.find(kBerlinRole);
    EXPECT_NE(at, std::string::npos) << "the example policy changed";
    if (at != std::string::npos) p.erase(at, std::string(kBerlinRole).size());
    return p;
  }
  // Hires Berlin workers and waits until each is in office-berlin; returns their DNs.
  std::vector<std::string> hire_in_berlin(const std::vector<std::string>& ids) {
    std::vector<std::string> dns;
    for (const auto& id : ids) {
      Json w = make_worker(id, "Bea", "Berlin" + id);
      w["location"] = "Berlin";
      EXPECT_EQ(daemon_->send_event("retire-hire-" + id, "HIRE", w).status, 202);
    }
    for (const auto& id : ids) {
      std::optional<LdapEntry> e;
      EXPECT_TRUE(eventually([&] {
        e = daemon_->person(id);
        return e && daemon_->groups_of(e->dn).count("office-berlin") == 1;
      })) << id
          << " never reached office-berlin";
      if (e) dns.push_back(e->dn);
    }
    return dns;
  }

  fs::path dir_;
  std::string original_;
  std::unique_ptr<Daemon> daemon_;
};

TEST_F(PolicyReload, InvalidPolicyIsRefusedAndTheOldOneStaysInForce) {
  std::string broken = original_;
  broken.replace(broken.find("groups: [staff]"), 15, "gruops: [staff, everyone]");
  write_policy(broken);
  ASSERT_TRUE(eventually([&] { return count_in_log("policy rejected") > 0; }, std::chrono::seconds(10)));
  // The log names the place: file:line:column.
  std::string log = read_file(daemon_->log_path());
  EXPECT_NE(log.find((dir_ / "policy.yaml").string() + ":"), std::string::npos) << log;

  Json w = make_worker("300001", "Paula", "Policy", "Sales");
  ASSERT_EQ(daemon_->send_event("reload-1", "HIRE", w).status, 202);
  std::optional<LdapEntry> e;
  ASSERT_TRUE(eventually([&] { return (e = daemon_->person("300001")).has_value(); }));
  ASSERT_TRUE(eventually([&] { return daemon_->groups_of(e->dn) == std::set<std::string>{"staff"}; }))
      << ::testing::PrintToString(daemon_->groups_of(e->dn));

  // A valid change is picked up and re-plans the existing worker.
  std::string extended = original_;
  extended.replace(extended.find("groups: [staff]"), 15, "groups: [staff, everyone]");
  write_policy(extended);
  ASSERT_TRUE(eventually([&] {
    return daemon_->groups_of(e->dn) == std::set<std::string>{"staff", "everyone"};
  }, std::chrono::seconds(20))) << ::testing::PrintToString(daemon_->groups_of(e->dn));
}

TEST_F(PolicyReload, CheckConfigFailsOnAnInvalidPolicy) {
  std::string broken = original_;
  broken.replace(broken.find("workerType: Employee"), 20, "workerType: { regex: \"([\" }");
  write_policy(broken);
  std::string out;
  int rc = run_command(std::string(PROV_BINARY_DIR) + "/src/daemon/provisiond --config " +
                           daemon_->config_path() + " --check-config",
                       &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("policy.yaml:"), std::string::npos) << out;
  // The running daemon keeps the policy it had.
  std::string rc_out;
  EXPECT_EQ(daemon_->ctl("status", &rc_out), 0) << rc_out;
}

// Retiring a role: access provisiond granted is revoked when nothing grants it any more, even
// though no role can grant the group now. The removals a policy change plans are held for
// approval (the policy's brake rules); an administrator may instead release the group, leaving
// its members as they are.
TEST_F(PolicyReload, AccessOfARetiredRoleIsRevokedOnceApproved) {
  const auto dns = hire_in_berlin({"250001", "250002", "250003"});
  ASSERT_EQ(dns.size(), 3u);
  write_policy(without_berlin());
  // The reload plans the three removals and the brake holds them for approval.
  std::string held;
  ASSERT_TRUE(eventually([&] {
    held = ctl("held");
    return count(held, "remove_member office-berlin") == 3;
  })) << held;
  for (const auto& dn : dns) EXPECT_EQ(daemon_->groups_of(dn).count("office-berlin"), 1u) << dn;

  ctl("approve --all");
  for (const auto& dn : dns) {
    EXPECT_TRUE(eventually([&] {
      return daemon_->groups_of(dn) == std::set<std::string>{"staff"};
    })) << dn
        << ": " << ::testing::PrintToString(daemon_->groups_of(dn));
  }
  EXPECT_NE(ctl("audit --worker-id 250001").find("op.approved"), std::string::npos);
}

TEST_F(PolicyReload, ReleasedGroupKeepsItsMembersAndIsAudited) {
  const auto dns = hire_in_berlin({"250011", "250012"});
  ASSERT_EQ(dns.size(), 2u);
  write_policy(without_berlin() + "\nrelease_groups: [office-berlin]\n");
  std::string audit;
  ASSERT_TRUE(eventually([&] {
    audit = ctl("audit --worker-id 250011");
    return audit.find("group.released") != std::string::npos;
  })) << audit;
  EXPECT_NE(audit.find("office-berlin"), std::string::npos) << audit;
  EXPECT_NE(ctl("held").find("no operations are held"), std::string::npos);
  for (const auto& dn : dns) EXPECT_EQ(daemon_->groups_of(dn).count("office-berlin"), 1u) << dn;
}

}  // namespace
}  // namespace prov::testing

namespace prov::testing {
namespace {

// A role granting in a target the config does not have: --check-config fails naming the place,
// and a reload to such a policy is refused while the running one stays in force.
TEST_F(PolicyReload, APolicyNamingAnUnknownTargetIsRefused) {
  std::string unknown = original_;
  const std::string line = "groups: [staff]";
  unknown.insert(unknown.find(line) + line.size(), "\n    targets: { crm: { groups: [crm-users] } }");
  write_policy(unknown);
  std::string out;
  EXPECT_EQ(run_command(std::string(PROV_BINARY_DIR) + "/src/daemon/provisiond --config " +
                            daemon_->config_path() + " --check-config",
                        &out),
            1)
      << out;
  EXPECT_NE(out.find("policy.yaml:"), std::string::npos) << out;
  EXPECT_NE(out.find(": error: unknown target 'crm'"), std::string::npos) << out;

  ASSERT_TRUE(eventually([&] { return count_in_log("policy rejected") > 0; },
                         std::chrono::seconds(10)));
  EXPECT_NE(read_file(daemon_->log_path()).find("unknown target 'crm'"), std::string::npos);
  ASSERT_EQ(daemon_->send_event("reload-target-1", "HIRE", make_worker("300101", "Tara", "Get"))
                .status,
            202);
  std::optional<LdapEntry> e;
  ASSERT_TRUE(eventually([&] { return (e = daemon_->person("300101")).has_value(); }));
  EXPECT_TRUE(eventually([&] { return daemon_->groups_of(e->dn) == std::set<std::string>{"staff"}; }))
      << ::testing::PrintToString(daemon_->groups_of(e->dn));
}

}  // namespace
}  // namespace prov::testing
