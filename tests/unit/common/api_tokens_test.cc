// The tokens file: hashes only, mode 0600, every line checked (a damaged file names its line),
// and the daemon's check sees a revoke at the next look-up.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "prov/admin_identity.h"
#include "prov/crypto.h"

namespace prov {
namespace {
namespace fs = std::filesystem;

class ApiTokensTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/prov-tokens.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    file_ = dir_ / "api-tokens.jsonl";
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_, file_;
};

TEST_F(ApiTokensTest, TheFileHoldsHashesAndTheCheckFollowsItsChanges) {
  const std::string token = new_api_token();
  EXPECT_EQ(token.rfind("pvd_", 0), 0u);
  EXPECT_EQ(token.size(), 4u + 64u);
  EXPECT_NE(token, new_api_token());
  ASSERT_TRUE(write_api_tokens(file_, {{"alice", Role::Approver, sha256_hex(token), {}}}).ok());
  std::ifstream in(file_);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.find(token), std::string::npos);
  EXPECT_NE(text.find(sha256_hex(token)), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ApiTokenCheck check(file_);
  auto found = check.find(token);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->name, "alice");
  EXPECT_EQ(found->role, Role::Approver);
  EXPECT_FALSE(check.find(token + "x"));
  EXPECT_FALSE(check.find(sha256_hex(token)));  // the hash is not the token
  ASSERT_TRUE(write_api_tokens(file_, {}).ok());
  EXPECT_FALSE(check.find(token));
}

TEST_F(ApiTokensTest, ADamagedFileNamesItsLineAndAMissingOneHoldsNothing) {
  auto none = read_api_tokens(file_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  const std::string hash(64, 'a');
  std::ofstream(file_) << R"({"name":"a","role":"viewer","sha256":")" << hash << "\"}\n"
                       << R"({"name":"b","role":"root","sha256":")" << hash << "\"}\n";
  auto bad = read_api_tokens(file_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("api-tokens.jsonl:2: role"), std::string::npos)
      << bad.error().message;
  ApiTokenCheck check(file_);
  EXPECT_FALSE(check.find("anything"));
}

TEST(Roles, AreOrderedAndNamed) {
  EXPECT_LT(Role::Viewer, Role::Approver);
  EXPECT_LT(Role::Approver, Role::Admin);
  for (Role r : {Role::Viewer, Role::Approver, Role::Admin}) EXPECT_EQ(parse_role(to_string(r)), r);
  EXPECT_FALSE(parse_role("root"));
  EXPECT_FALSE(is_token_name("Alice"));
  EXPECT_FALSE(is_token_name(""));
  EXPECT_TRUE(is_token_name("ci-bot.2"));
}

}  // namespace
}  // namespace prov
