// Hot reload: an invalid policy is refused with file:line:column and the running one stays in
// force; a valid one re-plans every worker. Observed through the real directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "e2e/daemon_fixture.h"

namespace prov::testing {
namespace {
namespace fs = std::filesystem;

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
    std::string log = read_file(daemon_->log_path());
    size_t n = 0;
    for (size_t pos = log.find(needle); pos != std::string::npos; pos = log.find(needle, pos + 1)) ++n;
    return n;
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

}  // namespace
}  // namespace prov::testing
