// The Windows implementations of the platform faces, run under wine in CI (and on Windows by
// hand): BCrypt against published vectors, FlushFileBuffers durability, owner-only access lists
// and the LockFileEx state lock.
#include <gtest/gtest.h>
#include <windows.h>

#include <fstream>
#include <sstream>

#include "common/private_dir.h"
#include "platform/windows/owner_only_acl.h"
#include "platform/windows/service_host.h"
#include "prov/config.h"
#include "prov/crypto.h"
#include "prov/crypto_primitives.h"
#include "prov/durable_file.h"
#include "store/state_lock.h"

namespace prov {
namespace {

std::string hex(std::string_view raw) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// A fresh folder under the temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("prov-test-" + std::to_string(GetCurrentProcessId()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(BcryptCrypto, Sha256AndSha1KnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(platform::sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(BcryptCrypto, HmacSha256Rfc4231Cases) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Case 6: a 131-byte key, longer than the hash's block, is hashed first.
  EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'),
                            "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(BcryptCrypto, RandomBytesDiffer) {
  unsigned char a[32] = {}, b[32] = {};
  platform::random_bytes(a, sizeof a);
  platform::random_bytes(b, sizeof b);
  EXPECT_NE(std::string(reinterpret_cast<char*>(a), 32),
            std::string(reinterpret_cast<char*>(b), 32));
  EXPECT_NE(random_password(), random_password());
}

TEST(BcryptCrypto, SshaIsSaltedSha1) {
  const std::string value = ssha_password("Correct-Horse-9");
  ASSERT_EQ(value.rfind("{SSHA}", 0), 0u);
  const auto raw = base64_decode(value.substr(6));
  ASSERT_TRUE(raw.has_value());
  ASSERT_EQ(raw->size(), 28u);
  EXPECT_EQ(raw->substr(0, 20), platform::sha1("Correct-Horse-9" + raw->substr(20)));
}

TEST(DurableFile, AppendsAndFlushes) {
  TempDir dir;
  const auto file = dir.path() / "audit.jsonl";
  ASSERT_TRUE(append_synced(file, "one\n").ok());
  ASSERT_TRUE(append_synced(file, "two\n").ok());
  EXPECT_EQ(read_all(file), "one\ntwo\n");
}

TEST(DurableFile, ErrorNamesTheFileAndTheStep) {
  TempDir dir;
  const auto file = dir.path() / "missing-folder" / "audit.jsonl";
  const Status st = append_synced(file, "x\n");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find(file.string() + " cannot be opened"), std::string::npos)
      << st.error().message;
}

TEST(PrivateDir, CreatedWithAnOwnerOnlyAccessList) {
  TempDir dir;
  const auto secrets = dir.path() / "passwords";
  auto opened = open_private_dir(secrets);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_TRUE(std::filesystem::is_directory(secrets));
  auto user = ProcessUser::current();
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(owner_only_problem(secrets, *user), "");
  // Checked again on the second call, as every writer does.
  EXPECT_TRUE(open_private_dir(secrets).ok());
}

TEST(PrivateDir, AnInheritingFolderIsRefusedWithTheKey) {
  TempDir dir;
  const auto open_folder = dir.path() / "shared";
  std::filesystem::create_directories(open_folder);  // the default, inherited access list
  try {
    require_private_dir("directory.password_dir", open_folder);
    FAIL() << "an inheriting folder was accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("directory.password_dir: " + open_folder.string(), 0), 0u) << what;
  }
}

TEST(PrivateDir, AFileIsNotAFolder) {
  TempDir dir;
  const auto file = dir.path() / "plain";
  std::ofstream(file) << "x";
  auto opened = open_private_dir(file);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("is not a folder"), std::string::npos);
}

TEST(StateLock, SecondHolderIsRefusedWithThePidOfTheFirst) {
  TempDir dir;
  const auto state = dir.path() / "state.db";
  auto first = StateLock::acquire(state);
  try {
    StateLock::acquire(state);
    FAIL() << "second lock granted";
  } catch (const StateInUse& e) {
    EXPECT_EQ(e.holder(), static_cast<pid_t>(GetCurrentProcessId()));
    EXPECT_NE(std::string(e.what()).find(state.string()), std::string::npos);
  }
}

TEST(StateLock, ReleasedWhenTheHolderEnds) {
  TempDir dir;
  const auto state = dir.path() / "state.db";
  { auto first = StateLock::acquire(state); }
  EXPECT_NO_THROW(StateLock::acquire(state));
}

// Wine never delivers SHUTDOWN or PRESHUTDOWN; the mapping that sends them down the orderly stop
// path is checked here, and the path itself under wine's SCM through the probe control.
TEST(ServiceControls, ShutdownAndPreshutdownTakeTheStopPath) {
  using Kind = LifeRequest::Kind;
  const struct {
    DWORD control;
    Kind kind;
    const char* cause;
  } cases[] = {
      {SERVICE_CONTROL_STOP, Kind::Stop, "service stop"},
      {SERVICE_CONTROL_SHUTDOWN, Kind::Stop, "system shutdown"},
      {SERVICE_CONTROL_PRESHUTDOWN, Kind::Stop, "system preshutdown"},
      {windows::kPreshutdownProbeControl, Kind::Stop, "system preshutdown (probe control)"},
      {SERVICE_CONTROL_PARAMCHANGE, Kind::Reload, "service paramchange"},
  };
  for (const auto& c : cases) {
    const auto request = windows::request_for_control(c.control);
    ASSERT_TRUE(request.has_value()) << c.control;
    EXPECT_EQ(request->kind, c.kind) << c.control;
    EXPECT_EQ(request->cause, c.cause) << c.control;
  }
  EXPECT_FALSE(windows::request_for_control(SERVICE_CONTROL_PAUSE).has_value());
  EXPECT_FALSE(windows::request_for_control(201).has_value());
}

}  // namespace
}  // namespace prov
