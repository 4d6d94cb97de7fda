// The first-run path an admin takes: provisiond --check-config names every secret file it cannot
// read, with the command that creates it; provisionctl secret writes them (mode 0600, atomically,
// never over an existing file without --force) in the format provisiond accepts.
#include <gtest/gtest.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "cli_test_support.h"
#include "prov/config.h"
#include "prov/crypto.h"

namespace prov {
namespace {
namespace fs = std::filesystem;
using test::run_command;

const std::string kCtl = std::string(PROV_BINARY_DIR) + "/src/cli/provisionctl";
const std::string kDaemon = std::string(PROV_BINARY_DIR) + "/src/daemon/provisiond";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

class SecretFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::config_folder(
        "secret_file: webhook.secret, extra_secret_files: [webhook.next.secret]", "bind.secret");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override { fs::remove_all(dir_); }

  int check_config(std::string* out) {
    return run_command(kDaemon + " --check-config --config " + (dir_ / "provisiond.yaml").string(),
                       out);
  }

  fs::path dir_;
};

TEST_F(SecretFilesTest, NewWebhookKeyIsWhsecOf32RandomBytesWithMode0600) {
  const fs::path file = dir_ / "webhook.secret";
  std::string out;
  // A permissive umask must not widen the file.
  ASSERT_EQ(run_command("umask 000; " + kCtl + " secret new webhook " + file.string(), &out), 0)
      << out;
  EXPECT_EQ(mode_of(file), 0600u);
  const std::string text = slurp(file);
  ASSERT_TRUE(std::regex_match(text, std::regex("whsec_[A-Za-z0-9+/]{43}=\n"))) << text;
  EXPECT_EQ(base64_decode(text.substr(6, 44))->size(), 32u);
  EXPECT_EQ(out.find(text.substr(6, 44)), std::string::npos) << "the key is not printed";

  // The daemon's loader, which the webhook verifier gets its key from, takes it as it is.
  std::ofstream(dir_ / "bind.secret") << "pw\n";
  fs::copy_file(file, dir_ / "webhook.next.secret");
  const Config c = load_config(dir_ / "provisiond.yaml");
  EXPECT_EQ(c.webhook.secret, *base64_decode(text.substr(6, 44)));

  // Two keys are never the same.
  ASSERT_EQ(run_command(kCtl + " secret new webhook " + (dir_ / "second").string(), &out), 0);
  EXPECT_NE(slurp(dir_ / "second"), text);
}

TEST_F(SecretFilesTest, KeepsAnExistingFileUnlessForced) {
  const fs::path file = dir_ / "webhook.secret";
  std::ofstream(file) << "the admin's key\n";
  std::string out;
  EXPECT_EQ(run_command(kCtl + " secret new webhook " + file.string(), &out), 1) << out;
  EXPECT_NE(out.find("--force"), std::string::npos) << out;
  EXPECT_EQ(slurp(file), "the admin's key\n");

  EXPECT_EQ(run_command(kCtl + " secret new webhook " + file.string() + " --force", &out), 0)
      << out;
  EXPECT_EQ(slurp(file).rfind("whsec_", 0), 0u);
  EXPECT_EQ(mode_of(file), 0600u);
  // Nothing is left behind next to it.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 2) << "provisiond.yaml and webhook.secret only";
}

TEST_F(SecretFilesTest, NewBindPasswordAndSetFromStdin) {
  std::string out;
  ASSERT_EQ(run_command(kCtl + " secret new bind " + (dir_ / "bind.secret").string(), &out), 0)
      << out;
  EXPECT_EQ(mode_of(dir_ / "bind.secret"), 0600u);
  EXPECT_TRUE(std::regex_match(slurp(dir_ / "bind.secret"), std::regex("[^\\s]{32}\n")));

  ASSERT_EQ(run_command(
                "printf 'token value\\n' | " + kCtl + " secret set " + (dir_ / "hr.token").string(),
                &out),
            0)
      << out;
  EXPECT_EQ(slurp(dir_ / "hr.token"), "token value\n");
  EXPECT_EQ(mode_of(dir_ / "hr.token"), 0600u);

  EXPECT_EQ(run_command(kCtl + " secret set " + (dir_ / "empty").string() + " </dev/null", &out),
            1);
  EXPECT_FALSE(fs::exists(dir_ / "empty"));
  EXPECT_EQ(run_command(kCtl + " secret new ssh", &out), 2) << out;
}

TEST_F(SecretFilesTest, CheckConfigNamesEveryMissingSecretAndHowToCreateIt) {
  std::ofstream(dir_ / "webhook.next.secret") << "";  // present but empty: as good as missing
  std::string out;
  ASSERT_EQ(check_config(&out), 1) << out;
  for (const std::string name : {"webhook.secret", "webhook.next.secret", "bind.secret"})
    EXPECT_NE(out.find((dir_ / name).string()), std::string::npos) << name << "\n" << out;
  EXPECT_NE(out.find("3 secret file(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("is empty"), std::string::npos) << out;
  EXPECT_NE(out.find("provisionctl secret new webhook " + (dir_ / "webhook.secret").string()),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("provisionctl secret set " + (dir_ / "bind.secret").string()),
            std::string::npos)
      << out;

  // Following the advice makes the config good.
  for (const std::string file : {"webhook.secret", "webhook.next.secret"})
    ASSERT_EQ(run_command(kCtl + " secret new webhook --force " + (dir_ / file).string(), &out), 0)
        << out;
  ASSERT_EQ(check_config(&out), 1) << out;
  EXPECT_NE(out.find("1 secret file(s)"), std::string::npos) << out;
  EXPECT_EQ(out.find("webhook"), std::string::npos) << out;
  ASSERT_EQ(run_command(kCtl + " secret new bind " + (dir_ / "bind.secret").string(), &out), 0);
  // The secrets are all there; the example policy's initial passwords still need a folder.
  ASSERT_EQ(check_config(&out), 1) << out;
  EXPECT_NE(out.find("directory.password_dir is not set"), std::string::npos) << out;
  fs::create_directory(dir_ / "passwords");
  fs::permissions(dir_ / "passwords", fs::perms::owner_all, fs::perm_options::replace);
  std::ofstream(dir_ / "provisiond.yaml", std::ios::app) << "  password_dir: passwords\n";
  EXPECT_EQ(check_config(&out), 0) << out;
  EXPECT_NE(out.find("config ok"), std::string::npos) << out;
}

TEST_F(SecretFilesTest, MissingSecretsAreReportedAlongsideAnotherConfigError) {
  std::ofstream(dir_ / "provisiond.yaml", std::ios::app) << "log: { level: loud }\n";
  std::string out;
  ASSERT_EQ(check_config(&out), 1) << out;
  EXPECT_NE(out.find("log.level"), std::string::npos) << out;
  EXPECT_NE(out.find((dir_ / "bind.secret").string()), std::string::npos) << out;
}

// The packaged layout: the password folder belongs to the service's user, and the admin checks
// the config as root (only root reads the secret files). The folder is the service's to check
// when it starts as its user; as root, check-config must not fail on its owner.
TEST_F(SecretFilesTest, CheckConfigAsRootAcceptsAPasswordFolderOfTheServiceUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to hand the folder to another user";
  const passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  fs::create_directory(dir_ / "passwords");
  fs::permissions(dir_ / "passwords", fs::perms::owner_all, fs::perm_options::replace);
  ASSERT_EQ(::chown((dir_ / "passwords").c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  std::ofstream(dir_ / "provisiond.yaml", std::ios::app) << "  password_dir: passwords\n";
  std::string out;
  for (const std::string kind : {"webhook", "bind"})
    ASSERT_EQ(run_command(kCtl + " secret new " + kind + " " + (dir_ / (kind + ".secret")).string(),
                          &out),
              0);
  ASSERT_EQ(
      run_command(kCtl + " secret new webhook " + (dir_ / "webhook.next.secret").string(), &out),
      0);
  EXPECT_EQ(check_config(&out), 0) << out;
}

// systemd's credentials folder is only the service's to enter. A process that may not look into
// $CREDENTIALS_DIRECTORY (an admin's shell that inherited it, a mistyped path) must fall back to
// the configured files and say what it cannot read, not abort on an uncaught exception.
TEST_F(SecretFilesTest, ACredentialsFolderItMayNotEnterIsNoCrash) {
  const fs::path creds = dir_ / "credentials";
  fs::create_directory(creds);
  fs::permissions(creds, fs::perms::none, fs::perm_options::replace);
  fs::permissions(dir_,
                  fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec |
                      fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  // Root enters any folder: the check then runs as nobody, whom the mode keeps out.
  const std::string as_other =
      geteuid() == 0 ? "setpriv --reuid=nobody --regid=nogroup --clear-groups " : "";
  std::string out;
  const int rc = run_command("CREDENTIALS_DIRECTORY=" + creds.string() + " " + as_other + kDaemon +
                                 " --check-config --config " + (dir_ / "provisiond.yaml").string(),
                             &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find((dir_ / "webhook.secret").string()), std::string::npos) << out;
  fs::permissions(creds, fs::perms::owner_all, fs::perm_options::replace);
}

}  // namespace
}  // namespace prov
