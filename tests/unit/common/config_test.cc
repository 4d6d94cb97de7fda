#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config_fixture.h"
#include "prov/config.h"

namespace prov {
namespace {
namespace fs = std::filesystem;

class ConfigTest : public testing::ConfigFolder {
 protected:
  static std::string base(const std::string& directory_extra = "") {
    return "state: { path: state/state.db }\n"
           "hr:\n  webhook: { listen: 127.0.0.1:8080, secret_file: webhook.secret }\n"
           "policy: { path: policies }\n"
           "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
           "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: bind.secret\n"
           "  base_dn: dc=example,dc=com\n  tls: { ca_file: ca.pem }\n" +
           directory_extra;
  }
};

TEST_F(ConfigTest, LoadsContractKeysAndResolvesRelativePaths) {
  Config c = load_config(write(base()));
  EXPECT_EQ(c.state_path, dir_ / "state/state.db");
  EXPECT_EQ(c.policy_path, dir_ / "policies");
  EXPECT_EQ(c.webhook.secret, "secret-key-bytes-of-24-b");  // whsec_ is base64-decoded
  EXPECT_EQ(c.default_target().password, "bind-password");   // newline stripped
  EXPECT_EQ(c.default_target().tls.mode, "ldaps");
  EXPECT_TRUE(c.default_target().tls.verify);
  EXPECT_EQ(c.webhook.tolerance_s, 300);
  EXPECT_EQ(c.webhook.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.admin_listen, "127.0.0.1:8081");
}

TEST_F(ConfigTest, StateCommitCapsAndRetention) {
  const std::string head =
      "hr:\n  webhook: { listen: 127.0.0.1:8080, secret_file: webhook.secret }\n"
      "policy: { path: policies }\n"
      "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
      "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: bind.secret\n"
      "  base_dn: dc=example,dc=com\n  tls: { ca_file: ca.pem }\n";
  // Defaults: bounded commits, nothing deleted.
  Config d = load_config(write(base()));
  EXPECT_EQ(d.state.commit_max_events, 1000u);
  EXPECT_EQ(d.state.commit_max_bytes, 4u << 20);
  EXPECT_EQ(d.state.retention.days, 0);
  EXPECT_EQ(d.state.retention.audit_days, 0);
  EXPECT_EQ(d.state.retention.interval, std::chrono::hours(1));
  EXPECT_EQ(d.state.retention.batch_rows, 500);

  Config c = load_config(write(
      "state:\n  path: state.db\n  commit_max_events: 500\n  commit_max_bytes: 1048576\n"
      "  retention:\n    days: 90\n    audit_days: 400\n    audit_export_file: export/audit.jsonl\n"
      "    interval: 15m\n    batch_rows: 1000\n" +
      head));
  EXPECT_EQ(c.state.commit_max_events, 500u);
  EXPECT_EQ(c.state.commit_max_bytes, 1048576u);
  EXPECT_EQ(c.state.retention.days, 90);
  EXPECT_EQ(c.state.retention.audit_days, 400);
  EXPECT_EQ(c.state.retention.audit_export_file, dir_ / "export/audit.jsonl");
  EXPECT_EQ(c.state.retention.interval, std::chrono::minutes(15));
  EXPECT_EQ(c.state.retention.batch_rows, 1000);

  const auto state = [&](const std::string& keys) {
    return error_of("state:\n  path: state.db\n" + keys + head);
  };
  EXPECT_NE(state("  commit_max_events: 0\n").find("state.commit_max_events: must be between"),
            std::string::npos);
  EXPECT_NE(state("  commit_max_bytes: 100\n").find("state.commit_max_bytes: must be between"),
            std::string::npos);
  EXPECT_NE(state("  retention: { days: -1 }\n").find("state.retention.days: must be"),
            std::string::npos);
  // The audit is evidence: deleting it needs an export first.
  EXPECT_NE(state("  retention: { audit_days: 30 }\n")
                .find("state.retention.audit_export_file: is required when "
                      "state.retention.audit_days is set"),
            std::string::npos);
  EXPECT_NE(state("  retention: { audit_export_file: a.jsonl }\n")
                .find("state.retention.audit_days: "),
            std::string::npos);
  EXPECT_NE(state("  retention: { interval: 0s }\n").find("state.retention.interval: must be"),
            std::string::npos);
  EXPECT_NE(state("  retention: { batch_rows: 5 }\n").find("state.retention.batch_rows: must be"),
            std::string::npos);
  EXPECT_NE(state("  retention: { dayz: 5 }\n").find("state.retention.dayz: unknown key"),
            std::string::npos);
}

TEST_F(ConfigTest, WebhookConnectionCaps) {
  Config d = load_config(write(base()));
  EXPECT_EQ(d.webhook.max_connections, 256);
  EXPECT_EQ(d.webhook.max_connections_per_source, 32);
  EXPECT_EQ(d.webhook.max_requests_per_connection, 1000);
  const std::string webhook = "  webhook: { listen: 127.0.0.1:8080, secret_file: webhook.secret";
  auto with = [&](const std::string& keys) {
    std::string yaml = base();
    yaml.replace(yaml.find(webhook), webhook.size(), webhook + ", " + keys);
    return yaml;
  };
  Config c = load_config(write(with("max_connections: 10, max_connections_per_source: 2, "
                                    "max_requests_per_connection: 5")));
  EXPECT_EQ(c.webhook.max_connections, 10);
  EXPECT_EQ(c.webhook.max_connections_per_source, 2);
  EXPECT_EQ(c.webhook.max_requests_per_connection, 5);
  EXPECT_NE(error_of(with("max_connections: 0")).find("hr.webhook.max_connections:"),
            std::string::npos);
  EXPECT_NE(error_of(with("max_connections: 10, max_connections_per_source: 11"))
                .find("hr.webhook.max_connections_per_source"),
            std::string::npos);
  EXPECT_NE(error_of(with("max_requests_per_connection: 0"))
                .find("hr.webhook.max_requests_per_connection"),
            std::string::npos);
}

TEST_F(ConfigTest, SecretsNotAskedForAreNotRead) {
  fs::remove(dir_ / "webhook.secret");
  fs::remove(dir_ / "bind.secret");
  EXPECT_NE(error_of(base()).find("hr.webhook.secret_file"), std::string::npos);
  Config c = load_config(write(base()), ConfigSecrets{false, false});
  EXPECT_TRUE(c.webhook.secret.empty());
  EXPECT_TRUE(c.default_target().password.empty());
  EXPECT_EQ(c.state_path, dir_ / "state/state.db");
  try {
    load_config(write(base()), ConfigSecrets{false, true});
    FAIL() << "the bind password was not read";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("directory.password_file"), std::string::npos);
  }
}

TEST_F(ConfigTest, RawSecretIsUsedAsBytes) {
  std::ofstream(dir_ / "webhook.secret", std::ios::trunc) << "plain-secret-of-24-bytes";
  EXPECT_EQ(load_config(write(base())).webhook.secret, "plain-secret-of-24-bytes");
}

TEST_F(ConfigTest, CredentialsDirectoryWins) {
  fs::create_directories(dir_ / "creds");
  std::ofstream(dir_ / "creds/bind.secret") << "from-systemd";
  setenv("CREDENTIALS_DIRECTORY", (dir_ / "creds").c_str(), 1);
  EXPECT_EQ(load_config(write(base())).default_target().password, "from-systemd");
  unsetenv("CREDENTIALS_DIRECTORY");
}

TEST_F(ConfigTest, ErrorsNameTheKey) {
  EXPECT_NE(error_of(base() + "bogus: 1\n").find("bogus: unknown key"), std::string::npos);
  EXPECT_NE(error_of(base("  pasword_file: x\n")).find("directory.pasword_file: unknown key"),
            std::string::npos);
  std::string b = base();
  EXPECT_NE(error_of(b.replace(b.find("ldaps://"), 8, "http://")).find("directory.url"),
            std::string::npos);
  EXPECT_NE(error_of("state: { path: x.db }\n").find("hr.webhook.secret_file"), std::string::npos);
  fs::remove(dir_ / "bind.secret");
  EXPECT_NE(error_of(base()).find("directory.password_file: cannot read"), std::string::npos);
}

TEST_F(ConfigTest, PlainLdapNeedsAnExplicitOptOut) {
  std::string b = base();
  b.replace(b.find("ldaps://ldap.example.com:636"), 28, "ldap://ldap.example.com:389");
  EXPECT_NE(error_of(b).find("plain ldap://"), std::string::npos);
  std::string starttls = b + "  start_tls: true\n";
  EXPECT_EQ(load_config(write(starttls)).default_target().tls.mode, "starttls");
  std::string b2 = b;
  b2.replace(b2.find("tls: { ca_file: ca.pem }"), 24, "tls: { mode: none }");
  EXPECT_EQ(load_config(write(b2)).default_target().tls.mode, "none");
}

TEST_F(ConfigTest, WrongTypeAndBadValuesAreRejected) {
  EXPECT_NE(error_of(base() + "safety: { max_destructive: lots }\n").find("safety.max_destructive"),
            std::string::npos);
  EXPECT_NE(error_of(base() + "safety: { window: 3w }\n").find("safety.window"), std::string::npos);
  EXPECT_EQ(load_config(write(base() + "safety: { window: 15m }\n")).safety.window,
            std::chrono::minutes(15));
  EXPECT_NE(error_of(base() + "log: { level: chatty }\n").find("log.level"), std::string::npos);
  EXPECT_NE(error_of("state: [\n").find(":"), std::string::npos);
}

TEST_F(ConfigTest, TimezoneMustBeAZoneOfTheDatabase) {
  EXPECT_EQ(load_config(write(base())).timezone, "UTC");
  EXPECT_EQ(load_config(write(base() + "engine: { timezone: Europe/Berlin }\n")).timezone,
            "Europe/Berlin");
  for (const char* bad : {"Europe/Berln", "CEST+2", "../../etc/passwd", "zone.tab"}) {
    const std::string error = error_of(base() + "engine: { timezone: \"" + bad + "\" }\n");
    EXPECT_NE(error.find("engine.timezone"), std::string::npos) << bad << ": " << error;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace prov

namespace prov {
namespace {

TEST_F(ConfigTest, AdminAccessDefaultsNextToTheStateAndRefusesUnknownRoles) {
  Config c = load_config(write(base()));
  EXPECT_EQ(c.admin.socket, dir_ / "state/admin.sock");
  EXPECT_EQ(c.admin.tokens_file, dir_ / "state/api-tokens.jsonl");
  EXPECT_EQ(c.admin.auth_failures_per_minute, 10);
  EXPECT_TRUE(c.admin.socket_roles.empty());
  c = load_config(write(base() + "admin: { socket: '', socket_roles: { alice: approver }, "
                                 "tokens_file: t.jsonl }\n"));
  EXPECT_TRUE(c.admin.socket.empty());  // turned off
  EXPECT_EQ(c.admin.socket_roles.at("alice"), "approver");
  EXPECT_EQ(c.admin.tokens_file, dir_ / "t.jsonl");
  EXPECT_NE(error_of(base() + "admin: { socket_roles: { alice: root } }\n")
                .find("admin.socket_roles.alice: must be viewer, approver or admin"),
            std::string::npos);
  EXPECT_NE(error_of(base() + "admin: { tls: { cert_file: a.pem } }\n").find("admin.tls.key_file"),
            std::string::npos);
  EXPECT_NE(error_of(base() + "admin: { auth_failures_per_minute: 0 }\n")
                .find("admin.auth_failures_per_minute"),
            std::string::npos);
}

}  // namespace
}  // namespace prov
