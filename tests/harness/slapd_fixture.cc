#include "harness/slapd_fixture.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace prov::testing {

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

namespace {

std::map<std::string, std::string> parse_env(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

}  // namespace

std::string slapd_script() { return std::string(PROV_HARNESS_DIR) + "/slapd.sh"; }

int run_command(const std::string& command, std::string* output) {
  const std::string full = command + " 2>&1";
  FILE* pipe = ::popen(full.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buf{};
  std::string text;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) text.append(buf.data(), n);
  const int status = ::pclose(pipe);
  if (output) *output = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::unique_ptr<Slapd> Slapd::start(const SlapdOptions& options) {
  std::unique_ptr<Slapd> s(new Slapd());
  const auto tmp = std::filesystem::temp_directory_path() / "provisiond-slapd-XXXXXX";
  std::string pattern = tmp.string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary folder for slapd");
  }
  s->root_ = pattern;
  const std::string dir = s->root_ + "/slapd";

  // Another process may take a port between our check and slapd's bind: try a few pairs.
  std::string output;
  int rc = -1;
  for (int attempt = 0; attempt < 4 && rc != 0; ++attempt) {
    const int port = free_port();
    int ldaps_port = free_port();
    while (ldaps_port == port) ldaps_port = free_port();
    const std::string cmd = "SLAPD_CERT_NAMES=" + shell_quote(options.cert_names) +
                            (options.durable ? " SLAPD_DURABLE=1" : "") +
                            (options.big_groups ? " SLAPD_BIG_GROUPS=1" : "") +
                            (options.hash_cleartext ? "" : " SLAPD_HASH_CLEARTEXT=0") +
                            " SLAPD_CHECK_QUALITY=" + std::to_string(options.check_quality) +
                            (options.tls_priority.empty()
                                 ? std::string()
                                 : " SLAPD_TLS_PRIORITY=" + shell_quote(options.tls_priority)) +
                            (options.suffix.empty()
                                 ? std::string()
                                 : " SLAPD_SUFFIX=" + shell_quote(options.suffix)) +
                            " " + shell_quote(slapd_script()) + " start " + shell_quote(dir) + " " +
                            std::to_string(port) + " " + std::to_string(ldaps_port);
    rc = run_command(cmd, &output);
  }
  if (rc != 0) {
    std::error_code ec;
    std::filesystem::remove_all(s->root_, ec);
    throw std::runtime_error("slapd.sh start failed: " + output);
  }
  auto env = parse_env(output);
  SlapdInfo& i = s->info_;
  i.url = env["URL"];
  i.ldaps_url = env["LDAPS_URL"];
  i.base_dn = env["BASE_DN"];
  i.root_dn = env["ROOT_DN"];
  i.root_pw = env["ROOT_PW"];
  i.bind_dn = env["BIND_DN"];
  i.bind_pw = env["BIND_PW"];
  i.reader_dn = env["READER_DN"];
  i.reader_pw = env["READER_PW"];
  i.ca_file = env["CA_FILE"];
  i.dir = env["DIR"];
  i.pid = std::atoi(env["PID"].c_str());
  s->running_ = true;
  if (i.url.empty() || i.ldaps_url.empty() || i.bind_pw.empty() || i.pid <= 0) {
    throw std::runtime_error("slapd.sh start printed no usable environment: " + output);
  }
  std::filesystem::create_directories(i.dir + "/passwords");
  ::chmod((i.dir + "/passwords").c_str(), 0700);
  return s;
}

Slapd& Slapd::shared() {
  static std::unique_ptr<Slapd> instance = start();
  return *instance;
}

void Slapd::stop() {
  if (!running_) return;
  std::string output;
  run_command(shell_quote(slapd_script()) + " stop " + shell_quote(info_.dir), &output);
  running_ = false;
}

Slapd::~Slapd() {
  stop();
  // Keep the folder for post-mortems when asked to.
  if (!root_.empty() && std::getenv("PROV_KEEP_SLAPD") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
}

DirectoryConfig Slapd::directory_config() const {
  DirectoryConfig c;
  c.type = "ldap";
  c.url = info_.ldaps_url;
  c.start_tls = false;
  c.bind_dn = info_.bind_dn;
  c.password = info_.bind_pw;
  c.base_dn = info_.base_dn;
  c.tls.mode = "ldaps";
  c.tls.ca_file = info_.ca_file;
  c.tls.verify = true;
  c.groups_ou = "ou=groups";
  c.lock_method = "ppolicy";
  c.password_dir = info_.dir + "/passwords";
  c.timeout_ms = 10000;
  return c;
}

}  // namespace prov::testing
