// What the daemon checks and sets about its own files at start-up: everything it creates is
// private to its user whatever umask it was started with, and the one-time password folder must
// be a private folder of its own.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "e2e/daemon_fixture.h"

namespace prov::testing {
namespace {
namespace fs = std::filesystem;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 07777;
}

TEST(StartupHardening, FilesTheDaemonCreatesArePrivate) {
  const mode_t old = umask(022);  // a typical login umask, inherited by the daemon
  Daemon daemon(Slapd::shared());
  daemon.start();
  umask(old);
  EXPECT_EQ(daemon.send_event("evt-umask-1", "HIRE", make_worker("710001", "Grace", "Hopper"))
                .status,
            202);
  for (const std::string& path : {daemon.state_path(), daemon.state_path() + "-wal",
                                  daemon.state_path() + "-shm",
                                  fs::path(daemon.state_path()).parent_path().string()}) {
    EXPECT_EQ(mode_of(path) & 077, 0u) << path << " has mode 0" << std::oct << mode_of(path);
  }
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(StartupHardening, PasswordFolderOpenToOthersIsRefused) {
  Daemon daemon(Slapd::shared());
  fs::permissions(daemon.password_dir(), fs::perms(0755), fs::perm_options::replace);
  daemon.spawn();
  EXPECT_EQ(daemon.wait_exit(std::chrono::seconds(10)), 1);
  const std::string log = read_file(daemon.log_path());
  EXPECT_NE(log.find("directory.password_dir"), std::string::npos) << log;
  EXPECT_NE(log.find("0755"), std::string::npos) << log;
}

TEST(StartupHardening, PasswordFolderThatIsASymlinkIsRefused) {
  Daemon daemon(Slapd::shared());
  const std::string real = daemon.password_dir() + ".real";
  fs::rename(daemon.password_dir(), real);
  fs::create_directory_symlink(real, daemon.password_dir());
  daemon.spawn();
  EXPECT_EQ(daemon.wait_exit(std::chrono::seconds(10)), 1);
  const std::string log = read_file(daemon.log_path());
  EXPECT_NE(log.find("symbolic link"), std::string::npos) << log;
}

// A crash between writing a one-time password and naming it leaves a temporary file holding a
// password nobody was given; the next start removes it (and nothing delivered).
TEST(StartupHardening, TemporaryPasswordFilesLeftByACrashAreRemoved) {
  Daemon daemon(Slapd::shared());
  const std::string stale = daemon.password_dir() + "/.710020.password.123456";
  const std::string delivered = daemon.password_dir() + "/710021.password";
  std::ofstream(stale) << "never handed out\n";
  std::ofstream(delivered) << "handed out\n";
  daemon.start();
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(delivered));
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace prov::testing
