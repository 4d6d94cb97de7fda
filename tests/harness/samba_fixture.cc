#include "harness/samba_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <utility>

#include "harness/slapd_fixture.h"

namespace prov::testing {
namespace {

std::map<std::string, std::string> read_env(const std::string& path) {
  std::map<std::string, std::string> env;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// Fills `info` from <dir>/env when it names a live process.
bool load_running(const std::string& dir, SambaInfo& info) {
  auto env = read_env(dir + "/env");
  if (env.empty() || env["PID"].empty()) return false;
  const int pid = std::atoi(env["PID"].c_str());
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  info.ldaps_url = env["LDAPS_URL"];
  info.base_dn = env["BASE_DN"];
  info.realm = env["REALM"];
  info.bind_dn = env["BIND_DN"];
  info.bind_pw = env["BIND_PW"];
  info.ca_file = env["CA_FILE"];
  info.dir = dir;
  info.pid = pid;
  return true;
}

// A DC this process started (binary run outside ctest); stopped when the process exits.
class OwnedDc {
 public:
  explicit OwnedDc(std::string dir) : dir_(std::move(dir)) {}
  OwnedDc(const OwnedDc&) = delete;
  OwnedDc& operator=(const OwnedDc&) = delete;
  ~OwnedDc() {
    std::string output;
    run_command(shell_quote(samba_script()) + " stop " + shell_quote(dir_), &output);
  }

 private:
  std::string dir_;
};

std::string base36(unsigned long long v) {
  constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), kDigits[v % 36]);
    v /= 36;
  } while (v != 0);
  return out;
}

}  // namespace

DirectoryConfig SambaInfo::directory_config() const {
  DirectoryConfig c;
  c.type = "ad";
  c.url = ldaps_url;
  c.bind_dn = bind_dn;
  c.password = bind_pw;
  c.base_dn = base_dn;
  c.tls.mode = "ldaps";
  c.tls.ca_file = ca_file;
  c.tls.verify = true;
  c.groups_ou = "OU=Groups";
  c.password_dir = dir + "/passwords";
  c.timeout_ms = 10000;
  return c;
}

std::string samba_dir() {
  if (const char* dir = std::getenv("PROV_SAMBA_DIR"); dir != nullptr && *dir != '\0') return dir;
  return std::string(PROV_BINARY_DIR) + "/samba";
}

std::string samba_script() { return std::string(PROV_HARNESS_DIR) + "/samba.sh"; }

const SambaInfo& samba() {
  static std::unique_ptr<OwnedDc> owned;
  static SambaInfo info;
  static bool ready = false;
  static std::string failure;  // a failed start is not retried by every test of the binary
  if (ready) return info;
  if (!failure.empty()) throw std::runtime_error(failure);
  const std::string dir = samba_dir();
  if (!load_running(dir, info)) {
    std::string output;
    const int rc = run_command(shell_quote(samba_script()) + " start " + shell_quote(dir), &output);
    if (rc != 0) {
      failure = "samba.sh start " + dir + " failed: " + output;
      throw std::runtime_error(failure);
    }
    owned = std::make_unique<OwnedDc>(dir);
    if (!load_running(dir, info)) {
      failure = "samba.sh start " + dir + " wrote no usable env: " + output;
      throw std::runtime_error(failure);
    }
  }
  ready = true;
  return info;
}

std::string unique_name(std::string_view prefix) {
  static unsigned counter = 0;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  // pid tells concurrent processes apart, the clock tells runs apart, the counter tests apart.
  return std::string(prefix) + base36(static_cast<unsigned long long>(::getpid()) % 1679616) +
         base36(static_cast<unsigned long long>(now) % 1679616) + base36(counter++);
}

}  // namespace prov::testing
