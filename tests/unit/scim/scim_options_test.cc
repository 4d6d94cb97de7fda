#include "scim/scim_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "prov/model.h"

namespace prov::scim {
namespace {

class ScimOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("scim-options-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "app.token") << "s3cret\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DirectoryConfig target(Json options) const {
    DirectoryConfig t;
    t.name = "app";
    t.key = "targets[1]";
    t.type = "scim";
    t.config_dir = dir_;
    t.options = std::move(options);
    return t;
  }
  // The message of the ConfigError parse_options throws, "" when it accepts.
  std::string error_of(Json options) const {
    try {
      parse_options(target(std::move(options)));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return {};
  }

  std::filesystem::path dir_;
};

TEST_F(ScimOptionsTest, ReadsUrlTokenRelativeToTheConfigAndDefaults) {
  const ScimOptions o = parse_options(
      target({{"url", "https://app.example.com/scim/v2"}, {"token_file", "app.token"}}));
  EXPECT_EQ(o.http.url, "https://app.example.com/scim/v2");
  EXPECT_EQ(o.token, "s3cret");
  EXPECT_TRUE(o.http.verify);
  EXPECT_EQ(o.page_size, 100);
  EXPECT_EQ(o.attributes.size(), default_attributes().size());
}

TEST_F(ScimOptionsTest, ErrorsNameTheKey) {
  EXPECT_EQ(error_of({{"token_file", "app.token"}}).rfind("targets[1].url: is required", 0), 0u);
  EXPECT_EQ(error_of({{"url", "ldap://x"}, {"token_file", "app.token"}})
                .rfind("targets[1].url: must start with https://", 0),
            0u);
  EXPECT_EQ(error_of({{"url", "https://x"}}).rfind("targets[1].token_file:", 0), 0u);
  EXPECT_EQ(error_of({{"url", "https://x"}, {"token_file", "missing.token"}})
                .rfind("targets[1].token_file:", 0),
            0u);
  EXPECT_EQ(error_of({{"url", "https://x"}, {"token_file", "app.token"}, {"bind_dn", "cn=x"}})
                .rfind("targets[1].bind_dn: unknown key", 0),
            0u);
  EXPECT_EQ(error_of({{"url", "https://x"}, {"token_file", "app.token"}, {"page_size", 0}})
                .rfind("targets[1].page_size: must be between", 0),
            0u);
  EXPECT_EQ(
      error_of({{"url", "https://x"}, {"token_file", "app.token"}, {"tls", {{"verify", "no"}}}})
          .rfind("targets[1].tls.verify:", 0),
      0u);
  EXPECT_EQ(error_of({{"url", "https://x"},
                      {"token_file", "app.token"},
                      {"attributes", {{"name.nickname", "cn"}}}})
                .rfind("targets[1].attributes.name.nickname: not a SCIM attribute", 0),
            0u);
}

TEST_F(ScimOptionsTest, OAuthClientCredentialsInsteadOfATokenFile) {
  std::ofstream(dir_ / "oauth.secret") << "client-secret\n";
  const Json oauth = {{"token_url", "https://login.example.com/oauth/token"},
                      {"client_id", "provisiond"},
                      {"client_secret_file", "oauth.secret"},
                      {"scope", "scim"}};
  const ScimOptions o = parse_options(target({{"url", "https://x"}, {"oauth", oauth}}));
  ASSERT_TRUE(o.oauth.has_value());
  EXPECT_EQ(o.oauth->client_id, "provisiond");
  EXPECT_EQ(o.oauth->client_secret, "client-secret");
  EXPECT_EQ(o.oauth->scope, "scim");
  EXPECT_TRUE(o.token.empty());
  EXPECT_EQ(error_of({{"url", "https://x"}, {"token_file", "app.token"}, {"oauth", oauth}})
                .rfind("targets[1].oauth: and targets[1].token_file exclude each other", 0),
            0u);
  Json no_id = oauth;
  no_id.erase("client_id");
  EXPECT_EQ(error_of({{"url", "https://x"}, {"oauth", no_id}})
                .rfind("targets[1].oauth.client_id: is required", 0),
            0u);
  Json no_secret = oauth;
  no_secret["client_secret_file"] = "missing.secret";
  EXPECT_EQ(error_of({{"url", "https://x"}, {"oauth", no_secret}})
                .rfind("targets[1].oauth.client_secret_file:", 0),
            0u);
}

TEST_F(ScimOptionsTest, AnAttributesMapReplacesTheDefaults) {
  const ScimOptions o = parse_options(target({{"url", "https://x"},
                                              {"token_file", "app.token"},
                                              {"attributes", {{"enterprise.department", "ou"}}}}));
  ASSERT_EQ(o.attributes.size(), 1u);
  EXPECT_EQ(o.attributes[0].scim, "enterprise.department");
  EXPECT_EQ(o.attributes[0].attribute, "ou");
}

TEST_F(ScimOptionsTest, ToolsThatReadNoSecretsNeedNoTokenFile) {
  DirectoryConfig t = target({{"url", "https://x"}});
  t.read_secrets = false;
  EXPECT_TRUE(parse_options(t).token.empty());
}

}  // namespace
}  // namespace prov::scim
