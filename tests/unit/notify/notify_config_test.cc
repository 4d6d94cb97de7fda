// The daemon config's notifications: block: what loads, and errors that name the key.
#include <gtest/gtest.h>

#include "../common/config_fixture.h"
#include "prov/secret_files.h"

namespace prov {
namespace {

class NotifyConfig : public testing::ConfigFolder {
 protected:
  static std::string with(const std::string& notifications) {
    return "state: { path: state/state.db }\n"
           "hr:\n  webhook: { listen: 127.0.0.1:8080, secret_file: webhook.secret }\n"
           "policy: { path: policies }\n"
           "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
           "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: bind.secret\n"
           "  base_dn: dc=example,dc=com\n  tls: { ca_file: ca.pem }\n"
           "notifications:\n" +
           notifications;
  }
};

TEST_F(NotifyConfig, LoadsSmtpAndWebhooksWithSecretsFromFiles) {
  std::ofstream(dir_ / "smtp.secret") << "mail-password\n";
  std::ofstream(dir_ / "hook.secret") << "whsec_c2VjcmV0LWtleS1ieXRlcy1vZi0yNC1i\n";
  const Config c = load_config(write(
      with("  smtp: { url: \"smtp://mail.example.com:587\", from: pd@example.com, username: pd,"
           " password_file: smtp.secret }\n"
           "  webhooks:\n    - { name: tickets, url: \"https://t.example.com/h\","
           " secret_file: hook.secret }\n")));
  EXPECT_EQ(c.notifications.smtp.tls, "starttls");  // STARTTLS required by default
  EXPECT_TRUE(c.notifications.smtp.verify);
  EXPECT_EQ(c.notifications.smtp.password, "mail-password");
  ASSERT_EQ(c.notifications.webhooks.size(), 1u);
  EXPECT_EQ(c.notifications.webhooks[0].secret, "secret-key-bytes-of-24-b");  // whsec_ decoded
}

TEST_F(NotifyConfig, ErrorsNameTheKey) {
  EXPECT_NE(error_of(with("  smtp: { url: \"http://x\", from: a@b.c }\n"))
                .find("notifications.smtp.url: must start with smtp:// or smtps://"),
            std::string::npos);
  EXPECT_NE(error_of(with("  smtp: { url: \"smtp://x:25\", from: nobody }\n"))
                .find("notifications.smtp.from: must be a plain address"),
            std::string::npos);
  EXPECT_NE(error_of(with("  smtp: { url: \"smtp://x:25\", from: a@b.c, tls: plain }\n"))
                .find("notifications.smtp.tls: must be starttls, smtps or none"),
            std::string::npos);
  EXPECT_NE(error_of(with("  smtp: { url: \"smtp://x:25\", from: a@b.c, username: u }\n"))
                .find("notifications.smtp.password_file: username and password_file go together"),
            std::string::npos);
  EXPECT_NE(error_of(with("  webhooks:\n    - { name: t, url: \"https://x\" }\n"))
                .find("notifications.webhooks[0].secret_file: is required"),
            std::string::npos);
  std::ofstream(dir_ / "short.secret") << "whsec_c2hvcnQ=\n";  // "short": 5 bytes
  EXPECT_NE(error_of(with("  webhooks:\n    - { name: t, url: \"https://x\","
                          " secret_file: short.secret }\n"))
                .find("notifications.webhooks[0].secret_file: the key is 5 bytes; at least 24"),
            std::string::npos);
  EXPECT_NE(error_of(with("  smpt: {}\n")).find("notifications.smpt: unknown key"),
            std::string::npos);
}

TEST_F(NotifyConfig, AMissingWebhookSecretIsListedWithTheCommandThatMakesIt) {
  MissingSecrets missing;
  load_config(
      write(with("  webhooks:\n    - { name: t, url: \"https://x\","
                 " secret_file: nowhere.secret }\n")));
  ASSERT_EQ(missing.list().size(), 1u);
  EXPECT_EQ(missing.list()[0].key, "notifications.webhooks[0].secret_file");
  EXPECT_EQ(how_to_create(missing.list()[0]),
            "provisionctl secret new webhook " + (dir_ / "nowhere.secret").string());
}

TEST_F(NotifyConfig, PlainMailAndUnencryptedWebhooksAreWarnedAbout) {
  std::ofstream(dir_ / "hook.secret") << "whsec_c2VjcmV0LWtleS1ieXRlcy1vZi0yNC1i\n";
  const Config c = load_config(
      write(with("  smtp: { url: \"smtp://127.0.0.1:2525\", from: pd@example.com, tls: none }\n"
                 "  webhooks:\n    - { name: t, url: \"http://t.example.com/h\", secret_file: "
                 "hook.secret }\n")));
  std::string all;
  for (const auto& w : startup_warnings(c)) all += w + "\n";
  EXPECT_NE(all.find("notifications.smtp.tls is none"), std::string::npos) << all;
  EXPECT_NE(all.find("notifications.webhooks[0].url is http://t.example.com/h"), std::string::npos)
      << all;
}

}  // namespace
}  // namespace prov
