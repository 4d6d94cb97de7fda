// provisionctl on a state database: commands that only read or decide from it need none of the
// secrets (the webhook key, the bind password), and the actor it records is the real user.
#include <gtest/gtest.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "prov/store.h"

namespace prov {
namespace {
namespace fs = std::filesystem;

class ProvisionctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/prov-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // The secret files named here do not exist: as when they are readable by the daemon only.
    std::ofstream(dir_ / "provisiond.yaml")
        << "state: { path: state.db }\n"
        << "hr:\n  webhook: { listen: 127.0.0.1:8080, secret_file: missing/webhook.secret }\n"
        << "policy: { path: " << PROV_SOURCE_DIR << "/policies/example.yaml }\n"
        << "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
        << "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: missing/bind.secret\n"
        << "  base_dn: dc=example,dc=com\n";
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
    const std::string command =
        env + " " + PROV_BINARY_DIR + "/src/cli/provisionctl " + config + args + " 2>&1";
    FILE* p = popen(command.c_str(), "r");
    std::array<char, 4096> buf{};
    out->clear();
    while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out->append(buf.data(), n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
  EXPECT_EQ(ctl("reject " + std::to_string(held_id_), &out), 0) << out;
  EXPECT_EQ(ctl("retry --all", &out), 0) << out;
}

TEST_F(ProvisionctlTest, ReconcileStillNeedsTheBindPassword) {
  std::string out;
  EXPECT_EQ(ctl("reconcile", &out), 1) << out;
  EXPECT_NE(out.find("directory.password_file"), std::string::npos) << out;
}

TEST_F(ProvisionctlTest, ActorIsTheRealUserNotTheEnvironment) {
  fs::create_directories(dir_ / "missing");  // readable secrets: only the actor is in question
  std::ofstream(dir_ / "missing/webhook.secret") << "a webhook key of enough bytes\n";
  std::ofstream(dir_ / "missing/bind.secret") << "bind-password\n";
  std::string out;
  ASSERT_EQ(ctl("approve " + std::to_string(held_id_), &out, "USER=mallory SUDO_USER=mallory"),
            0)
      << out;
  const passwd* pw = getpwuid(getuid());
  ASSERT_NE(pw, nullptr);
  auto store = Store::open_read_only(dir_ / "state.db");
  bool seen = false;
  for (const auto& a : store->audit_log("", 100)) {
    if (a.action != "op.approved") continue;
    seen = true;
    EXPECT_EQ(a.detail.value("actor", ""), std::string("provisionctl:") + pw->pw_name);
  }
  EXPECT_TRUE(seen);
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

}  // namespace
}  // namespace prov
