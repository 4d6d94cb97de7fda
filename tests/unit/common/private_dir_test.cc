// The one-time password folder's checks: owner, mode 0700, not a symbolic link.
#include "common/private_dir.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "prov/config.h"

namespace prov {
namespace {
namespace fs = std::filesystem;

constexpr const char* kKey = "directory.password_dir";

class PrivateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/prov-private-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string error_of(const fs::path& dir) {
    try {
      require_private_dir(kKey, dir);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  fs::path root_;
};

TEST_F(PrivateDirTest, AcceptsItsOwnFolderWithMode0700) {
  fs::create_directory(root_ / "pw");
  chmod((root_ / "pw").c_str(), 0700);
  EXPECT_EQ(error_of(root_ / "pw"), "no error");
}

TEST_F(PrivateDirTest, CreatesAMissingFolderWithMode0700) {
  const mode_t old = umask(022);
  EXPECT_EQ(error_of(root_ / "a/pw"), "no error");
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat((root_ / "a/pw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(PrivateDirTest, RefusesGroupOrOtherAccess) {
  fs::create_directory(root_ / "pw");
  chmod((root_ / "pw").c_str(), 0750);
  const std::string e = error_of(root_ / "pw");
  EXPECT_NE(e.find(kKey), std::string::npos) << e;
  EXPECT_NE(e.find("0750"), std::string::npos) << e;
  EXPECT_NE(e.find("0700"), std::string::npos) << e;
}

TEST_F(PrivateDirTest, RefusesASymbolicLink) {
  fs::create_directory(root_ / "real");
  chmod((root_ / "real").c_str(), 0700);
  fs::create_directory_symlink(root_ / "real", root_ / "pw");
  const std::string e = error_of(root_ / "pw");
  EXPECT_NE(e.find("symbolic link"), std::string::npos) << e;
}

TEST_F(PrivateDirTest, RefusesAFile) {
  std::ofstream(root_ / "pw") << "x";
  EXPECT_NE(error_of(root_ / "pw").find("not a folder"), std::string::npos);
}

TEST_F(PrivateDirTest, RefusesAnotherOwner) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to hand the folder to another user";
  fs::create_directory(root_ / "pw");
  chmod((root_ / "pw").c_str(), 0700);
  ASSERT_EQ(chown((root_ / "pw").c_str(), 65534, 65534), 0);
  const std::string e = error_of(root_ / "pw");
  EXPECT_NE(e.find("owned by uid 65534"), std::string::npos) << e;
}

}  // namespace
}  // namespace prov
