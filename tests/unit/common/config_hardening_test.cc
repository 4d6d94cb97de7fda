// Config values that would fail open or silently: short webhook keys, unbounded time windows,
// bearer tokens over plain HTTP, initial passwords over an unencrypted directory connection.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "prov/config.h"

namespace prov {
namespace {
namespace fs = std::filesystem;

class ConfigHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("prov-config-hardening-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "policies");
    secret("webhook.secret", "a webhook key of 32 bytes length");
    secret("bind.secret", "bind-password");
    secret("hr.token", "bearer-token");
    unsetenv("CREDENTIALS_DIRECTORY");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void secret(const std::string& name, const std::string& value) {
    std::ofstream(dir_ / name, std::ios::trunc) << value << "\n";
  }
  // A valid config with `webhook_keys` added to hr.webhook and `hr_extra` to hr.
  std::string config(const std::string& webhook_keys = "", const std::string& hr_extra = "") {
    return "state: { path: state.db }\n"
           "hr:\n  webhook: { listen: 127.0.0.1:8080, secret_file: webhook.secret" +
           (webhook_keys.empty() ? "" : ", " + webhook_keys) + " }\n" + hr_extra +
           "policy: { path: policies }\n"
           "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
           "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: bind.secret\n"
           "  base_dn: dc=example,dc=com\n";
  }
  std::string error_of(const std::string& yaml) {
    std::ofstream(dir_ / "provisiond.yaml", std::ios::trunc) << yaml;
    try {
      load_config(dir_ / "provisiond.yaml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path dir_;
};

TEST_F(ConfigHardeningTest, WebhookKeysShorterThan24BytesAreRefused) {
  EXPECT_EQ(error_of(config()), "no error");
  secret("webhook.secret", "whsec_");  // decodes to an empty key
  EXPECT_NE(error_of(config()).find("hr.webhook.secret_file: the key is 0 bytes"),
            std::string::npos)
      << error_of(config());
  secret("webhook.secret", "whsec_c2hvcnQta2V5");  // "short-key"
  EXPECT_NE(error_of(config()).find("hr.webhook.secret_file"), std::string::npos);
  secret("webhook.secret", "23 bytes of raw key....");
  EXPECT_NE(error_of(config()).find("at least 24"), std::string::npos) << error_of(config());
  secret("webhook.secret", "24 bytes of raw key.....");
  EXPECT_EQ(error_of(config()), "no error");
  secret("old.secret", "whsec_");
  EXPECT_NE(error_of(config("extra_secret_files: [old.secret]"))
                .find("hr.webhook.extra_secret_files"),
            std::string::npos);
}

TEST_F(ConfigHardeningTest, ToleranceAndRequestTimeoutAreCapped) {
  EXPECT_EQ(error_of(config("tolerance_s: 3600, request_timeout_ms: 60000")), "no error");
  EXPECT_NE(error_of(config("tolerance_s: 86400")).find("hr.webhook.tolerance_s:"),
            std::string::npos);
  EXPECT_NE(error_of(config("request_timeout_ms: 0")).find("hr.webhook.request_timeout_ms:"),
            std::string::npos);
  EXPECT_NE(error_of(config("request_timeout_ms: -5")).find("hr.webhook.request_timeout_ms:"),
            std::string::npos);
  EXPECT_NE(error_of(config("request_timeout_ms: 3600000")).find("hr.webhook.request_timeout_ms:"),
            std::string::npos);
}

TEST_F(ConfigHardeningTest, TokenOverPlainHttpNeedsAnExplicitOptIn) {
  const std::string plain =
      "  sources:\n    - { name: hr, type: http, url: 'http://hr.example.com/workers', "
      "token_file: hr.token";
  EXPECT_NE(error_of(config("", plain + " }\n")).find("hr.sources[0].url"), std::string::npos)
      << error_of(config("", plain + " }\n"));
  EXPECT_EQ(error_of(config("", plain + ", allow_plain_http: true }\n")), "no error");
  // Without a token, or over https, nothing secret crosses the wire in clear.
  EXPECT_EQ(error_of(config("", "  sources:\n    - { name: hr, type: http, url: "
                                "'http://hr.example.com/workers' }\n")),
            "no error");
  EXPECT_EQ(error_of(config("", "  sources:\n    - { name: hr, type: http, url: "
                                "'https://hr.example.com/workers', token_file: hr.token }\n")),
            "no error");
}

// password_dir exists only to deliver initial passwords, and those are never sent unencrypted:
// a config that asks for both is refused at start-up (and by --check-config).
TEST_F(ConfigHardeningTest, PasswordFolderNeedsAnEncryptedDirectoryConnection) {
  std::string plain = config();
  plain.replace(plain.find("ldaps://ldap.example.com:636"), 28, "ldap://ldap.example.com:389");
  plain += "  tls: { mode: none }\n";
  EXPECT_EQ(error_of(plain), "no error");
  const std::string e = error_of(plain + "  password_dir: passwords\n");
  EXPECT_NE(e.find("directory.password_dir"), std::string::npos) << e;
  EXPECT_NE(e.find("TLS"), std::string::npos) << e;
  EXPECT_EQ(error_of(config() + "  password_dir: passwords\n"), "no error");
  std::string start_tls = config();
  start_tls.replace(start_tls.find("ldaps://ldap.example.com:636"), 28,
                    "ldap://ldap.example.com:389");
  EXPECT_EQ(error_of(start_tls + "  start_tls: true\n  password_dir: passwords\n"), "no error");
}

TEST_F(ConfigHardeningTest, InitialPasswordMethodsAreForOpenLdapOnly) {
  const auto method_of = [&](const std::string& yaml) {
    std::ofstream(dir_ / "provisiond.yaml", std::ios::trunc) << yaml;
    return load_config(dir_ / "provisiond.yaml").targets.front().password_method;
  };
  EXPECT_EQ(method_of(config()), PasswordMethod::HashedInAdd);
  EXPECT_EQ(method_of(config() + "  initial_password: password_modify\n"),
            PasswordMethod::PasswordModify);
  EXPECT_EQ(method_of(config() + "  initial_password: cleartext_in_add\n"),
            PasswordMethod::CleartextInAdd);
  // The older key keeps its meaning: true sent the cleartext in the add, false (its default)
  // meant Password Modify.
  EXPECT_EQ(method_of(config() + "  password_in_add: true\n"), PasswordMethod::CleartextInAdd);
  EXPECT_EQ(method_of(config() + "  password_in_add: false\n"), PasswordMethod::PasswordModify);

  std::string e = error_of(config() + "  initial_password: plain\n");
  EXPECT_NE(e.find("directory.initial_password: must be hashed_in_add, password_modify or "
                   "cleartext_in_add, got 'plain'"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("line "), std::string::npos) << e;
  e = error_of(config() + "  initial_password: hashed_in_add\n  password_in_add: true\n");
  EXPECT_NE(e.find("directory.password_in_add"), std::string::npos) << e;

  std::string ad = config();
  ad.replace(ad.find("type: ldap"), 10, "type: ad");
  EXPECT_EQ(error_of(ad), "no error");
  e = error_of(ad + "  password_in_add: true\n");
  EXPECT_NE(e.find("directory.password_in_add: applies to type ldap only"),
            std::string::npos)
      << e;
  e = error_of(ad + "  initial_password: hashed_in_add\n");
  EXPECT_NE(e.find("directory.initial_password: applies to type ldap only"),
            std::string::npos)
      << e;
}

// An audit anchor beside the state database proves nothing: whoever rewrites one rewrites both.
TEST_F(ConfigHardeningTest, AuditAnchorFileMustLiveOutsideTheStateFolder) {
  const auto with_state = [&](const std::string& state) {
    std::string yaml = config();
    yaml.replace(0, yaml.find('\n'), "state: { path: state.db, " + state + " }");
    return error_of(yaml);
  };
  const std::string e = with_state("audit_anchor_file: anchors.jsonl");
  EXPECT_NE(e.find("state.audit_anchor_file: must not be in the state database's folder"),
            std::string::npos)
      << e;
  EXPECT_EQ(with_state("audit_anchor_file: evidence/anchors.jsonl"), "no error");
  EXPECT_EQ(with_state("audit_anchor_interval: 1h"), "no error");
  EXPECT_NE(with_state("audit_anchor_interval: 0s").find("state.audit_anchor_interval"),
            std::string::npos);
}

TEST_F(ConfigHardeningTest, WarnsAboutAWebhookBeyondLoopbackWithoutTls) {
  std::ofstream(dir_ / "provisiond.yaml", std::ios::trunc) << config();
  EXPECT_TRUE(startup_warnings(load_config(dir_ / "provisiond.yaml")).empty());
  std::string open = config();
  open.replace(open.find("127.0.0.1:8080"), 14, "0.0.0.0:8080");
  std::ofstream(dir_ / "provisiond.yaml", std::ios::trunc) << open;
  const auto warnings = startup_warnings(load_config(dir_ / "provisiond.yaml"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("hr.webhook.listen"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("TLS"), std::string::npos) << warnings[0];
  for (const std::string loopback : {"localhost:8080", "'[::1]:8080'", "127.0.0.2:8080"}) {
    std::string yaml = config();
    yaml.replace(yaml.find("127.0.0.1:8080"), 14, loopback);
    std::ofstream(dir_ / "provisiond.yaml", std::ios::trunc) << yaml;
    EXPECT_TRUE(startup_warnings(load_config(dir_ / "provisiond.yaml")).empty()) << loopback;
  }
}

}  // namespace
}  // namespace prov
