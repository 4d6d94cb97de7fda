// `targets:` in the config: a list of {name, type, ...}; `directory:` stays the one target named
// `directory`; both at once, duplicate or malformed names and bad options are errors naming the
// key (targets[1].url).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config_fixture.h"
#include "prov/config.h"

namespace prov {
namespace {

class TargetsConfigTest : public testing::ConfigFolder {
 protected:
  void SetUp() override {
    ConfigFolder::SetUp();
    std::ofstream(dir_ / "crm.secret") << "second-password\n";
  }

  static std::string head() {
    return "state: { path: state.db }\n"
           "hr:\n  webhook: { listen: 127.0.0.1:8080, secret_file: webhook.secret }\n"
           "policy: { path: policies }\n";
  }
  // One list item: an LDAP target with every required key; `extra` adds or overrides keys.
  static std::string item(const std::string& name, const std::string& secret,
                          const std::string& extra = "") {
    return "- name: " + name +
           "\n  type: ldap\n  url: ldaps://" + name + ".example.com:636\n"
           "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: " + secret +
           "\n  base_dn: dc=" + name + ",dc=com\n" + extra;
  }
  Config load(const std::string& yaml) { return load_config(write(yaml)); }
};

TEST_F(TargetsConfigTest, ListOfTargetsInOrderWithTheirOwnOptions) {
  const Config c = load(head() + "targets:\n" + item("main", "bind.secret") +
                        item("crm", "crm.secret", "  timeout_ms: 2000\n"));
  ASSERT_EQ(c.targets.size(), 2u);
  EXPECT_EQ(c.targets[0].name, "main");
  EXPECT_EQ(c.targets[0].key, "targets[0]");
  EXPECT_EQ(c.targets[0].password, "bind-password");
  EXPECT_EQ(c.targets[1].name, "crm");
  EXPECT_EQ(c.targets[1].base_dn, "dc=crm,dc=com");
  EXPECT_EQ(c.targets[1].password, "second-password");
  EXPECT_EQ(c.targets[1].timeout_ms, 2000);
  EXPECT_EQ(c.default_target().name, "main");
  ASSERT_NE(c.target("crm"), nullptr);
  EXPECT_EQ(c.target("crm")->url, "ldaps://crm.example.com:636");
  EXPECT_EQ(c.target("nope"), nullptr);
}

TEST_F(TargetsConfigTest, DirectorySectionIsTheTargetNamedDirectory) {
  const Config c = load(head() +
                        "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
                        "  bind_dn: cn=svc,dc=example,dc=com\n  password_file: bind.secret\n"
                        "  base_dn: dc=example,dc=com\n");
  ASSERT_EQ(c.targets.size(), 1u);
  EXPECT_EQ(c.targets[0].name, "directory");
  EXPECT_EQ(c.targets[0].key, "directory");
  EXPECT_EQ(c.targets[0].password, "bind-password");
}

TEST_F(TargetsConfigTest, DirectoryAndTargetsTogetherAreAnError) {
  const std::string e = error_of(head() +
                                 "directory:\n  type: ldap\n  url: ldaps://ldap.example.com:636\n"
                                 "  bind_dn: cn=svc,dc=example,dc=com\n"
                                 "  password_file: bind.secret\n  base_dn: dc=example,dc=com\n"
                                 "targets:\n" + item("crm", "crm.secret"));
  EXPECT_NE(e.find("targets: cannot be used together with directory"), std::string::npos) << e;
}

TEST_F(TargetsConfigTest, NeitherIsAnError) {
  EXPECT_NE(error_of(head()).find("targets: is required"), std::string::npos) << error_of(head());
  EXPECT_NE(error_of(head() + "targets: []\n").find("targets: must be a list of at least one"),
            std::string::npos);
}

TEST_F(TargetsConfigTest, ErrorsNameTheTargetsKey) {
  std::string bad_url = item("crm", "crm.secret");
  bad_url.replace(bad_url.find("ldaps://"), 8, "https://");
  std::string e = error_of(head() + "targets:\n" + item("main", "bind.secret") + bad_url);
  EXPECT_NE(e.find("targets[1].url: must start with ldap:// or ldaps://"), std::string::npos) << e;

  e = error_of(head() + "targets:\n" + item("main", "bind.secret") +
               item("crm", "crm.secret", "  colour: blue\n"));
  EXPECT_NE(e.find("targets[1].colour: unknown key"), std::string::npos) << e;

  e = error_of(head() + "targets:\n" + item("main", "missing.secret"));
  EXPECT_NE(e.find("targets[0].password_file: cannot read"), std::string::npos) << e;

  e = error_of(head() + "targets:\n" + item("main", "bind.secret", "  tls: { mode: sometimes }\n"));
  EXPECT_NE(e.find("targets[0].tls.mode: must be ldaps, starttls or none"), std::string::npos) << e;
}

TEST_F(TargetsConfigTest, NamesAreRequiredUniqueAndLowercase) {
  std::string e = error_of(head() + "targets:\n" + item("main", "bind.secret") +
                           item("main", "crm.secret"));
  EXPECT_NE(e.find("targets[1].name: 'main' is the name of an earlier target"), std::string::npos)
      << e;
  for (const std::string name : {"CRM", "crm_app", "crm app", "crm.app"}) {
    e = error_of(head() + "targets:\n" + item("\"" + name + "\"", "bind.secret"));
    EXPECT_NE(e.find("targets[0].name: '" + name + "' must be 1-63 characters of a-z, 0-9 and -"),
              std::string::npos)
        << name << ": " << e;
  }
  std::string nameless = item("main", "bind.secret");
  nameless.replace(0, nameless.find('\n') + 1, "- type: ldap\n");
  nameless.replace(nameless.find("  type: ldap\n"), 13, "");
  e = error_of(head() + "targets:\n" + nameless);
  EXPECT_NE(e.find("targets[0].name: is required"), std::string::npos) << e;
  EXPECT_TRUE(is_target_name("crm-2"));
  EXPECT_FALSE(is_target_name(""));
  EXPECT_FALSE(is_target_name(std::string(64, 'a')));
}

TEST_F(TargetsConfigTest, TypeIsRequiredInTheList) {
  std::string typeless = item("main", "bind.secret");
  typeless.replace(typeless.find("  type: ldap\n"), 13, "");
  const std::string e = error_of(head() + "targets:\n" + typeless);
  EXPECT_NE(e.find("targets[0].type: is required"), std::string::npos) << e;
}

TEST_F(TargetsConfigTest, EachTargetsInsecureChoiceIsWarnedAboutByItsKey) {
  const Config c = load(head() + "targets:\n" + item("main", "bind.secret") +
                        item("crm", "crm.secret", "  tls: { verify: false }\n"));
  const auto warnings = startup_warnings(c);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].rfind("targets[1].tls.verify is false", 0), 0u) << warnings[0];
}

// A target outside the LDAP family keeps its keys for its connector to validate (the scim
// connector's own tests check those); the LDAP keys are not asked of it.
TEST_F(TargetsConfigTest, AScimTargetKeepsItsOwnKeysForItsConnector) {
  const Config c = load(head() + "targets:\n" + item("main", "bind.secret") +
                        "- name: app\n  type: scim\n  url: https://app.example.com/scim/v2\n"
                        "  token_file: app.token\n  page_size: 50\n"
                        "  tls: { verify: false }\n  attributes: { title: title }\n");
  ASSERT_EQ(c.targets.size(), 2u);
  const DirectoryConfig& app = c.targets[1];
  EXPECT_EQ(app.type, "scim");
  EXPECT_EQ(app.key, "targets[1]");
  EXPECT_EQ(app.url, "https://app.example.com/scim/v2");
  EXPECT_FALSE(app.tls.verify);
  EXPECT_EQ(app.options["token_file"], "app.token");
  EXPECT_EQ(app.options["page_size"], 50);
  EXPECT_EQ(app.options["tls"]["verify"], false);
  EXPECT_EQ(app.options["attributes"]["title"], "title");
  EXPECT_FALSE(app.options.contains("name"));
  EXPECT_EQ(app.config_dir, dir_);
  EXPECT_TRUE(app.password.empty());
  // Its unverified certificate is warned about by its key, as a directory's is.
  const auto warnings = startup_warnings(c);
  ASSERT_FALSE(warnings.empty());
  EXPECT_EQ(warnings[0].rfind("targets[1].tls.verify is false", 0), 0u) << warnings[0];
}

TEST_F(TargetsConfigTest, AScimTargetWithoutTlsIsWarnedAboutByItsUrl) {
  const Config c = load(head() + "targets:\n" + item("main", "bind.secret") +
                        "- name: app\n  type: scim\n  url: http://app.example.com/scim\n");
  const auto warnings = startup_warnings(c);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "targets[1].url is http://app.example.com/scim: the token and personal data cross "
            "the network unencrypted");
}

// An AD target keeps few requests in flight unless told otherwise, so a lock is never queued on
// the server behind a lane's whole window of creates; LDAP targets keep the deeper default.
TEST_F(TargetsConfigTest, AnAdTargetDefaultsToAShallowPipelineWindow) {
  auto as_ad = [](std::string target) {
    target.replace(target.find("type: ldap"), 10, "type: ad");
    return target;
  };
  const Config c = load(head() + "targets:\n" + item("main", "bind.secret") +
                        as_ad(item("corp", "crm.secret")) +
                        as_ad(item("tuned", "crm.secret", "  pipeline_window: 32\n")));
  ASSERT_EQ(c.targets.size(), 3u);
  EXPECT_EQ(c.targets[0].pipeline_window, 64);
  EXPECT_EQ(c.targets[1].pipeline_window, kAdPipelineWindow);
  EXPECT_EQ(c.targets[2].pipeline_window, 32);
}

TEST_F(TargetsConfigTest, AQuotedScalarStaysAString) {
  const Config c = load(head() + "targets:\n" + item("main", "bind.secret") +
                        "- name: app\n  type: scim\n  url: https://x\n  page_size: \"50\"\n");
  EXPECT_EQ(c.targets[1].options["page_size"], "50");
}

}  // namespace
}  // namespace prov
