// provisionctl on a state database: commands that only read it need none of the secrets (the
// webhook key, the bind password); deciding needs the running daemon (tests/e2e/admin_api_test).
#include <gtest/gtest.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "prov/store.h"
#include "cli_test_support.h"

namespace prov {
namespace {
namespace fs = std::filesystem;

class ProvisionctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The secret files named here do not exist: as when they are readable by the daemon only.
    dir_ = test::config_folder("secret_file: missing/webhook.secret", "missing/bind.secret");
    ASSERT_FALSE(dir_.empty());
    auto store = Store::open(dir_ / "state.db");
    Operation op;
    op.kind = OpKind::Disable;
    op.worker_id = "100";
    op.username = "ada";
    op.reason = "test";
    held_id_ = store->enqueue(op, OpStatus::Held, "", SystemClock().now());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs provisionctl with `env` prepended (and without --config when `with_config` is false);
  // returns the exit status, output in `out`.
  int ctl(const std::string& args, std::string* out, const std::string& env = "",
          bool with_config = true) {
    const std::string config =
        with_config ? "--config " + (dir_ / "provisiond.yaml").string() + " " : "";
    return test::run_command(env + " " + PROV_BINARY_DIR + "/src/cli/provisionctl " + config + args,
                             out);
  }

  fs::path dir_;
  std::int64_t held_id_ = 0;
};

TEST_F(ProvisionctlTest, ReadingAndDecidingCommandsNeedNoSecrets) {
  std::string out;
  for (const std::string cmd : {"status", "accounts", "held", "failed", "audit", "plan",
                                "entitlements --worker-id 100", "explain --worker-id 100"}) {
    const int rc = ctl(cmd, &out);
    EXPECT_EQ(out.find("config error"), std::string::npos) << cmd << ": " << out;
    // explain of an unknown worker answers 1 by design; everything else 0.
    EXPECT_EQ(rc, cmd.rfind("explain", 0) == 0 ? 1 : 0) << cmd << ": " << out;
  }
}

// Deciding goes through the running daemon, which names and audits the caller; with no daemon
// the command says so and the state database is left as it was.
TEST_F(ProvisionctlTest, DecisionsWithoutARunningDaemonAreRefusedAndWriteNothing) {
  std::string out;
  for (const std::string& cmd : {"approve " + std::to_string(held_id_),
                                "reject " + std::to_string(held_id_), std::string("retry --all")}) {
    EXPECT_EQ(ctl(cmd, &out), 1) << cmd << ": " << out;
    EXPECT_NE(out.find("cannot reach provisiond at unix:" + (dir_ / "admin.sock").string()),
              std::string::npos)
        << cmd << ": " << out;
  }
  auto store = Store::open_read_only(dir_ / "state.db");
  EXPECT_EQ(store->operations(OpStatus::Held, 10).size(), 1u);
  for (const auto& a : store->audit_log("", 100)) EXPECT_NE(a.action, "op.rejected");
}

// What a candidate policy would do is read from the state without writing; a broken candidate is
// refused with file:line:column, like policy validate.
TEST_F(ProvisionctlTest, PlanOfACandidatePolicyWritesNothingAndRefusesABrokenOne) {
  std::string out;
  const std::string example = std::string(PROV_SOURCE_DIR) + "/policies/example.yaml";
  EXPECT_EQ(ctl("plan --policy " + example, &out), 0) << out;
  EXPECT_NE(out.find("what-if " + example + ": creates 0"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing would be held"), std::string::npos) << out;
  EXPECT_EQ(ctl("plan --policy " + example + " --json", &out), 0) << out;
  EXPECT_EQ(Json::parse(out).at("summary").at("people_affected"), 0) << out;
  std::ofstream(dir_ / "broken.yaml") << "version: 1\nroles:\n  - name: x\n    when: { nope: [ }\n";
  EXPECT_EQ(ctl("plan --policy " + (dir_ / "broken.yaml").string(), &out), 1) << out;
  EXPECT_NE(out.find("broken.yaml:"), std::string::npos) << out;
  auto store = Store::open_read_only(dir_ / "state.db");
  EXPECT_EQ(store->operations(OpStatus::Held, 10).size(), 1u);  // the fixture's, untouched
}

// The audit chain from the command line: verify passes, an edit made with the sqlite3 shell (the
// triggers dropped first, as someone covering their tracks would) fails it naming the row, and
// export carries the hashes a SIEM can check.
TEST_F(ProvisionctlTest, AuditVerifyNamesTheRowEditedWithTheSqliteShell) {
  {
    auto store = Store::open(dir_ / "state.db");
    for (int i = 1; i <= 4; ++i) {
      AuditRecord r;
      r.at = SystemClock().now();
      r.worker_id = "100";
      r.action = "op.approved";
      r.detail = {{"actor", "provisionctl:alice"}, {"n", i}};
      store->audit(r);
    }
  }
  std::string out;
  EXPECT_EQ(ctl("audit verify", &out), 0) << out;
  EXPECT_NE(out.find("audit chain intact: 4 rows; head row 4"), std::string::npos) << out;
  EXPECT_EQ(ctl("audit export --format jsonl", &out), 0) << out;
  std::istringstream lines(out);
  int chained = 0;
  for (std::string line; std::getline(lines, line);)
    if (Json::parse(line).contains("hash")) ++chained;
  EXPECT_EQ(chained, 4) << out;
  EXPECT_EQ(ctl("audit export --format csv --since 2000-01-01", &out), 0) << out;
  EXPECT_EQ(out.rfind("id,at,worker_id,event_id,op_id,action,detail,prev_hash,hash\n", 0), 0u)
      << out;
  EXPECT_EQ(ctl("audit export --format xml", &out), 2) << out;

  ASSERT_EQ(test::run_command("sqlite3 " + (dir_ / "state.db").string() +
                                  " \"DROP TRIGGER audit_no_update; UPDATE audit SET detail = "
                                  "'{\\\"actor\\\":\\\"provisionctl:mallory\\\"}' WHERE id = 3\"",
                              &out),
            0)
      << out;
  EXPECT_EQ(ctl("audit verify", &out), 1) << out;
  EXPECT_NE(out.find("audit chain broken at row 3"), std::string::npos) << out;
}

TEST_F(ProvisionctlTest, ReconcileStillNeedsTheBindPassword) {
  std::string out;
  EXPECT_EQ(ctl("reconcile", &out), 1) << out;
  EXPECT_NE(out.find("directory.password_file"), std::string::npos) << out;
}

TEST_F(ProvisionctlTest, CompactDeletesWhatStateRetentionLetsGo) {
  std::string out;
  // The shipped default keeps everything.
  EXPECT_EQ(ctl("compact", &out), 0) << out;
  EXPECT_NE(out.find("state.retention keeps everything"), std::string::npos) << out;

  {
    auto store = Store::open(dir_ / "state.db");
    HrEvent e;
    e.event_id = "old";
    e.type = EventType::Hire;
    e.worker_id = "200";
    e.worker = {{"workerId", "200"}, {"firstName", "A"}, {"lastName", "B"}};
    e.body_sha256 = "x";
    e.source = "webhook";
    e.effective_at = e.received_at = SystemClock().now() - std::chrono::days(100);
    const auto id = store->insert_event(e).inbox_id;
    store->set_event_status(id, EventStatus::Applied, "");
  }
  {
    std::ifstream in(dir_ / "provisiond.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    yaml.replace(yaml.find("state: { path: state.db }"), 25,
                 "state: { path: state.db, retention: { days: 90 } }");
    std::ofstream(dir_ / "provisiond.yaml") << yaml;
  }
  EXPECT_EQ(ctl("compact --json", &out), 0) << out;
  const Json report = Json::parse(out);
  EXPECT_EQ(report.at("events_deleted"), 1);
  EXPECT_EQ(report.at("operations_deleted"), 0);
  EXPECT_EQ(report.at("audit_deleted"), 0);
  auto store = Store::open_read_only(dir_ / "state.db");
  EXPECT_FALSE(store->event("old").has_value());
}

// Explaining a policy on a laptop needs the policy and a worker record — no daemon config, no
// secrets, no state database: `policy explain PATH --worker FILE` and `explain --policy PATH`.
TEST(ProvisionctlOffline, ExplainNeedsOnlyThePolicyAndAWorker) {
  const fs::path dir = test::config_folder("secret_file: missing/webhook.secret", "x");
  ASSERT_FALSE(dir.empty());
  std::ofstream(dir / "jane.json")
      << R"({"workerId": "W-1", "firstName": "Jane", "lastName": "Doe", "department": "Finance",)"
      << R"( "location": "Berlin", "workerType": "Employee",)"
      << R"( "hireDate": "2020-01-01"})";
  const std::string ctl = std::string("PROVISIOND_CONFIG=") + (dir / "absent.yaml").string() +
                          " " + PROV_BINARY_DIR + "/src/cli/provisionctl ";
  const std::string policy = std::string(PROV_SOURCE_DIR) + "/policies/example.yaml";
  const std::string worker = (dir / "jane.json").string();
  std::string out;
  for (const std::string args : {"policy explain " + policy + " --worker " + worker,
                                 "explain --policy " + policy + " --worker " + worker}) {
    SCOPED_TRACE(args);
    EXPECT_EQ(test::run_command(ctl + args, &out), 0) << out;
    EXPECT_EQ(out.find("config"), std::string::npos) << out;
    EXPECT_NE(out.find("finance"), std::string::npos) << out;  // the role Finance grants
  }
  EXPECT_EQ(test::run_command(ctl + "policy explain " + policy + " --worker " + worker + " --json",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("\"groups\""), std::string::npos) << out;
  // Usage mistakes say what is missing.
  EXPECT_EQ(test::run_command(ctl + "policy explain " + policy, &out), 2) << out;
  EXPECT_NE(out.find("--worker"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(ctl + "policy explain --worker " + worker, &out), 2) << out;
  EXPECT_NE(out.find("PATH"), std::string::npos) << out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace prov

namespace prov {
namespace {

// With --config, `policy validate` checks the targets a role names against the config's
// (`directory` here); without it, only their form. Every problem points at file:line:column.
TEST_F(ProvisionctlTest, PolicyValidateWithTheConfigReportsUnknownTargets) {
  std::ifstream in(std::string(PROV_SOURCE_DIR) + "/policies/example.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string line = "    groups: [staff]\n";
  text.insert(text.find(line) + line.size(),
              "    targets: { directory: { groups: [vpn] }, crm: { groups: [crm-users] } }\n");
  const fs::path policy = dir_ / "policy.yaml";
  std::ofstream(policy) << text;
  // The line of the inserted `targets:` and the column of `crm`.
  int row = 1;
  for (std::size_t i = 0; i < text.find("    targets: {"); ++i) row += text[i] == '\n';
  const int column =
      1 + static_cast<int>(std::string("    targets: { directory: { groups: [vpn] }, ").size());

  std::string out;
  EXPECT_EQ(ctl("policy validate " + policy.string(), &out), 1) << out;
  EXPECT_NE(out.find(policy.string() + ":" + std::to_string(row) + ":" + std::to_string(column) +
                     ": error: unknown target 'crm' (the config's targets are: directory)"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("'directory'"), std::string::npos) << "directory is configured: " << out;

  EXPECT_EQ(ctl("policy validate " + policy.string(), &out, "", false), 0) << out;
  EXPECT_NE(out.find("policy OK"), std::string::npos) << out;
}

// A policy asking for initial passwords, with a directory that has no folder to deliver them:
// accounts would be made without a password that anyone can read. Refused where `initial` is
// set, naming the config key to set; with the folder configured, the same policy passes.
TEST_F(ProvisionctlTest, PolicyValidateWithTheConfigRefusesPasswordsNobodyCouldReceive) {
  const std::string policy = std::string(PROV_SOURCE_DIR) + "/policies/example.yaml";
  std::string out;
  EXPECT_EQ(ctl("policy validate " + policy, &out), 1) << out;
  EXPECT_NE(out.find("example.yaml:"), std::string::npos) << out;
  EXPECT_NE(out.find("error: initial passwords are delivered as files, but "
                     "directory.password_dir is not set"),
            std::string::npos)
      << out;
  std::ofstream(dir_ / "provisiond.yaml", std::ios::app) << "  password_dir: passwords\n";
  EXPECT_EQ(ctl("policy validate " + policy, &out), 0) << out;
  EXPECT_NE(out.find("policy OK"), std::string::npos) << out;
}

}  // namespace
}  // namespace prov
