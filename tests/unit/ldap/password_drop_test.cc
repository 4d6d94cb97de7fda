#include "ldap/password_drop.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
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

// The folder is checked on every delivery, not only at start-up: it may be replaced while the
// daemon runs.
TEST_F(PasswordDropTest, RefusesAFolderOthersCanEnter) {
  fs::create_directories(dir_);
  ::chmod(dir_.c_str(), 0755);
  auto drop = PasswordDrop::stage(dir_, "1", "pw");
  ASSERT_FALSE(drop);
  EXPECT_NE(drop.error().message.find("0755"), std::string::npos) << drop.error().message;
  EXPECT_NE(drop.error().message.find("0700"), std::string::npos) << drop.error().message;
  EXPECT_EQ(file_count(), 0u);
}

TEST_F(PasswordDropTest, RefusesASymbolicLinkInPlaceOfTheFolder) {
  const fs::path real = dir_.string() + "-real";
  fs::create_directories(real);
  ::chmod(real.c_str(), 0700);
  fs::create_directory_symlink(real, dir_);
  auto drop = PasswordDrop::stage(dir_, "1", "pw");
  const bool refused = !drop;
  const std::size_t written = static_cast<std::size_t>(
      std::distance(fs::directory_iterator(real), fs::directory_iterator()));
  fs::remove(dir_);
  fs::remove_all(real);
  ASSERT_TRUE(refused);
  EXPECT_NE(drop.error().message.find("symbolic link"), std::string::npos) << drop.error().message;
  EXPECT_EQ(written, 0u);
}

// A batch opens the folder once: every file it stages and commits lands in that folder, even
// when the path is swapped for a link to somewhere else between the files.
TEST_F(PasswordDropTest, AFolderOpenedForABatchKeepsItsFilesWhenThePathIsSwapped) {
  auto folder = PasswordFolder::open(dir_);
  ASSERT_TRUE(folder) << folder.error().message;
  auto first = PasswordDrop::stage(*folder, "1", "one", PasswordDrop::Durability::Deferred);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->commit());

  const fs::path moved = dir_.string() + "-moved", elsewhere = dir_.string() + "-elsewhere";
  fs::rename(dir_, moved);
  fs::create_directories(elsewhere);
  ::chmod(elsewhere.c_str(), 0700);
  fs::create_directory_symlink(elsewhere, dir_);
  auto second = PasswordDrop::stage(*folder, "2", "two", PasswordDrop::Durability::Deferred);
  const bool staged = static_cast<bool>(second);
  const bool committed = staged && second->commit().ok();
  const std::string one = read(moved / "1.password"), two = read(moved / "2.password");
  const bool leaked = fs::exists(elsewhere / "2.password");
  fs::remove(dir_);
  fs::remove_all(moved);
  fs::remove_all(elsewhere);
  ASSERT_TRUE(committed);
  EXPECT_EQ(one, "one\n");
  EXPECT_EQ(two, "two\n");
  EXPECT_FALSE(leaked);
}

// The folder of a batch is checked when it is opened, as a single drop's is.
TEST_F(PasswordDropTest, AFolderOthersCanEnterIsRefusedForABatch) {
  fs::create_directories(dir_);
  ::chmod(dir_.c_str(), 0750);
  auto folder = PasswordFolder::open(dir_);
  ASSERT_FALSE(folder);
  EXPECT_NE(folder.error().message.find("0750"), std::string::npos) << folder.error().message;
}

TEST_F(PasswordDropTest, RefusesAFolderOfAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand the folder to another user";
  fs::create_directories(dir_);
  ::chmod(dir_.c_str(), 0700);
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  auto drop = PasswordDrop::stage(dir_, "1", "pw");
  ASSERT_FALSE(drop);
  EXPECT_NE(drop.error().message.find("owned by uid 65534"), std::string::npos)
      << drop.error().message;
  EXPECT_EQ(file_count(), 0u);
}

TEST_F(PasswordDropTest, CreatesAMissingFolderWithMode0700) {
  const mode_t old = ::umask(022);
  auto drop = PasswordDrop::stage(dir_, "1", "pw");
  ::umask(old);
  ASSERT_TRUE(drop) << drop.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

// A crash between staging and commit leaves a temporary file holding a password nobody was
// given; the sweep at start-up removes those and nothing else.
TEST_F(PasswordDropTest, RemoveStaleDeletesOnlyTemporaryFiles) {
  {
    auto delivered = PasswordDrop::stage(dir_, "7", "kept");
    ASSERT_TRUE(delivered) << delivered.error().message;
    ASSERT_TRUE(delivered->commit());
  }
  auto crashed = PasswordDrop::stage(dir_, "8", "lost");
  ASSERT_TRUE(crashed) << crashed.error().message;
  std::ofstream(dir_ / "notes.txt") << "not ours";
  std::ofstream(dir_ / ".9.password.12345") << "left by a crash\n";
  // What the crashed process left: its temporary file stays when the object is not destroyed.
  alignas(PasswordDrop) unsigned char storage[sizeof(PasswordDrop)];
  new (storage) PasswordDrop(std::move(*crashed));
  EXPECT_EQ(file_count(), 4u);

  auto removed = PasswordDrop::remove_stale(dir_);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ(file_count(), 2u);
  EXPECT_EQ(read(dir_ / "7.password"), "kept\n");
  EXPECT_TRUE(fs::exists(dir_ / "notes.txt"));
  auto missing = PasswordDrop::remove_stale(dir_ / "missing");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_EQ(*missing, 0u);
}

TEST_F(PasswordDropTest, WithdrawRemovesOnlyThatWorkersDeliveredFile) {
  for (const char* id : {"5", "6"}) {
    auto drop = PasswordDrop::stage(dir_, id, "pw");
    ASSERT_TRUE(drop) << drop.error().message;
    ASSERT_TRUE(drop->commit());
  }
  PasswordDrop::withdraw(dir_, "5");
  PasswordDrop::withdraw(dir_, "../6");  // never a path outside the folder
  EXPECT_FALSE(fs::exists(dir_ / "5.password"));
  EXPECT_TRUE(fs::exists(dir_ / "6.password"));
}

}  // namespace
}  // namespace prov::ad
