#include "harness/scim_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/slapd_fixture.h"

namespace prov::testing {
namespace {

std::string random_token() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[24];
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

}  // namespace

std::unique_ptr<ScimServer> ScimServer::start(const ScimServerOptions& options) {
  std::unique_ptr<ScimServer> s(new ScimServer());
  std::string pattern =
      (std::filesystem::temp_directory_path() / "provisiond-scim-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a temporary folder for the SCIM server");
  s->dir_ = pattern;
  s->tls_ = options.tls;
  s->token_ = random_token();
  s->token_file_ = s->dir_ + "/token";
  std::ofstream(s->token_file_) << s->token_ << "\n";
  std::string output;
  std::string tls_args;
  if (options.tls) {
    const std::string key = s->dir_ + "/key.pem";
    s->ca_file_ = s->dir_ + "/cert.pem";
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
        shell_quote(key) + " -out " + shell_quote(s->ca_file_);
    if (run_command(cmd, &output) != 0)
      throw std::runtime_error("cannot make the SCIM server's certificate: " + output);
    tls_args = " --tls-cert " + shell_quote(s->ca_file_) + " --tls-key " + shell_quote(key);
  }
  std::string oauth_args;
  if (options.oauth) {
    s->oauth_secret_file_ = s->dir_ + "/oauth.secret";
    std::ofstream(s->oauth_secret_file_) << random_token() << "\n";
    oauth_args =
        " --client-id provisiond --client-secret-file " + shell_quote(s->oauth_secret_file_);
  }
  const std::string ready = s->dir_ + "/ready", log = s->dir_ + "/server.log";
  const std::string cmd =
      "node " + shell_quote(std::string(PROV_HARNESS_DIR) + "/scim/server.mjs") +
      " --port 0 --token-file " + shell_quote(s->token_file_) + " --ready-file " +
      shell_quote(ready) + tls_args + oauth_args +
      (options.keep_alive_ms > 0 ? " --keep-alive-ms " + std::to_string(options.keep_alive_ms)
                                 : std::string()) +
      " >" + shell_quote(log) + " 2>&1 </dev/null & echo $!";
  if (run_command(cmd, &output) != 0) throw std::runtime_error("cannot start node: " + output);
  s->pid_ = std::atoi(output.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    const std::string line = file_text(ready);
    if (line.starts_with("PORT=") && line.back() == '\n') {
      s->port_ = std::atoi(line.c_str() + 5);
      break;
    }
    if (!alive(s->pid_) || std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(
          "the SCIM server did not start (is `scripts/deps` run, so that "
          "tests/harness/node_modules exists?): " +
          file_text(log));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return s;
}

ScimServer::~ScimServer() {
  stop();
  if (!dir_.empty() && std::getenv("PROV_KEEP_SCIM") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void ScimServer::stop() {
  if (!alive(pid_)) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (alive(pid_) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (alive(pid_)) ::kill(pid_, SIGKILL);
  pid_ = 0;
}

std::string ScimServer::base() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string ScimServer::url() const { return base() + "/scim/v2"; }

std::string ScimServer::oauth_token_url() const { return base() + "/oauth/token"; }

void ScimServer::expire_oauth_tokens() {
  if (call("POST", base() + "/_test/expire", Json::object()).status != 204)
    throw std::runtime_error("SCIM server: /_test/expire failed");
}

DirectoryConfig ScimServer::target_config(const std::string& name) const {
  DirectoryConfig c;
  c.name = name;
  c.key = "targets[1]";
  c.type = "scim";
  c.url = url();
  c.options = {{"url", url()}, {"token_file", token_file_}, {"timeout_ms", 5000}};
  if (!oauth_secret_file_.empty()) {
    c.options.erase("token_file");
    c.options["oauth"] = {{"token_url", oauth_token_url()},
                          {"client_id", "provisiond"},
                          {"client_secret_file", oauth_secret_file_}};
  }
  if (tls_) c.options["tls"] = {{"ca_file", ca_file_}};
  return c;
}

std::string ScimServer::target_yaml(const std::string& name) const {
  std::string y = "- name: " + name + "\n  type: scim\n  url: " + url() +
                  "\n  token_file: " + token_file_ + "\n  timeout_ms: 5000\n";
  if (tls_) y += "  tls: { ca_file: " + ca_file_ + " }\n";
  return y;
}

ScimReply ScimServer::call(const std::string& method, const std::string& url,
                           const Json& body) const {
  const std::string body_file = dir_ + "/request-" + std::to_string(::getpid()) + ".json";
  std::string cmd = "curl -sS --max-time 10 -o - -w '\\n%{http_code}' -X " + method + " -H " +
                    shell_quote("Authorization: Bearer " + token_) +
                    " -H 'Content-Type: application/scim+json' -H 'X-Harness-Observer: 1'";
  if (!ca_file_.empty()) cmd += " --cacert " + shell_quote(ca_file_);
  if (!body.is_null()) {
    std::ofstream(body_file) << body.dump();
    cmd += " --data-binary @" + shell_quote(body_file);
  }
  cmd += " " + shell_quote(url);
  std::string output;
  run_command(cmd, &output);
  ScimReply r;
  const auto nl = output.rfind('\n');
  if (nl == std::string::npos) return r;
  r.status = std::atoi(output.c_str() + nl + 1);
  r.body = Json::parse(output.substr(0, nl), nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  return r;
}

ScimReply ScimServer::request(const std::string& method, const std::string& path,
                              const Json& body) const {
  return call(method, url() + path, body);
}

void ScimServer::fail_requests(int status, int retry_after_s, int count) {
  auto r = call("POST", base() + "/_test/fail",
                {{"status", status}, {"retryAfter", retry_after_s}, {"count", count}});
  if (r.status != 204) throw std::runtime_error("SCIM server: /_test/fail failed");
}

void ScimServer::clear_failures() {
  if (call("POST", base() + "/_test/clear", Json::object()).status != 204)
    throw std::runtime_error("SCIM server: /_test/clear failed");
}

void ScimServer::accept_token(const std::string& token) {
  if (call("POST", base() + "/_test/token", {{"token", token}}).status != 204)
    throw std::runtime_error("SCIM server: /_test/token failed");
  token_ = token;
}

Json ScimServer::stats() const { return call("GET", base() + "/_test/stats", nullptr).body; }

std::optional<Json> ScimServer::user_by_external_id(const std::string& worker_id) const {
  // The harness's own look-up: every user, compared here (no filter of ours to trust).
  auto r = request("GET", "/Users?count=1000");
  if (r.status != 200) throw std::runtime_error("SCIM server: GET /Users failed");
  for (const auto& u : r.body.value("Resources", Json::array()))
    if (u.value("externalId", "") == worker_id) return u;
  return std::nullopt;
}

std::set<std::string> ScimServer::groups_of(const std::string& user_id) const {
  auto r = request("GET", "/Groups?count=1000");
  if (r.status != 200) throw std::runtime_error("SCIM server: GET /Groups failed");
  std::set<std::string> out;
  for (const auto& g : r.body.value("Resources", Json::array()))
    for (const auto& m : g.value("members", Json::array()))
      if (m.value("value", "") == user_id) out.insert(g.value("displayName", ""));
  return out;
}

}  // namespace prov::testing
