#include "ldap/password_drop.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace prov::ldap {
namespace {

namespace fs = std::filesystem;

class PasswordDropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("prov-pwdrop-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::size_t file_count() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }

  fs::path dir_;
};

TEST_F(PasswordDropTest, CommitDeliversTheFileWithMode0600) {
  auto drop = PasswordDrop::stage(dir_, "100234", "S3cret!pass");
  ASSERT_TRUE(drop) << drop.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "100234.password"));  // not visible before commit
  ASSERT_TRUE(drop->commit());
  const fs::path file = dir_ / "100234.password";
  EXPECT_EQ(drop->final_path(), file);
  EXPECT_EQ(read(file), "S3cret!pass\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(file_count(), 1u);
}

TEST_F(PasswordDropTest, UncommittedDropLeavesNothingBehind) {
  {
    auto drop = PasswordDrop::stage(dir_, "100234", "never-used");
    ASSERT_TRUE(drop);
    EXPECT_EQ(file_count(), 1u);
  }
  EXPECT_EQ(file_count(), 0u);
}

TEST_F(PasswordDropTest, LaterDeliveryReplacesTheEarlierOne) {
  auto first = PasswordDrop::stage(dir_, "7", "first");
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->commit());
  auto second = PasswordDrop::stage(dir_, "7", "second");
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->commit());
  EXPECT_EQ(read(dir_ / "7.password"), "second\n");
  EXPECT_FALSE(second->commit());  // only once
}

TEST_F(PasswordDropTest, RefusesWorkerIdsThatAreNotPlainFileNames) {
  for (const char* id : {"", "../etc/passwd", "a/b", ".hidden"}) {
    auto drop = PasswordDrop::stage(dir_, id, "pw");
    EXPECT_FALSE(drop) << id;
  }
  EXPECT_FALSE(PasswordDrop::stage("", "1", "pw"));
}

TEST_F(PasswordDropTest, ErrorsNeverContainThePassword) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "not-a-dir") << "x";
  auto drop = PasswordDrop::stage(dir_ / "not-a-dir", "1", "TopSecretValue");
  ASSERT_FALSE(drop);
  EXPECT_EQ(drop.error().message.find("TopSecretValue"), std::string::npos);
}

}  // namespace
}  // namespace prov::ad
