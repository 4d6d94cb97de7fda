#include "e2e/daemon_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ldap.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "hr/signature.h"
#include "prov/crypto.h"

namespace prov::testing {
namespace fs = std::filesystem;

Json HttpResult::json() const { return Json::parse(body, nullptr, false); }

HttpResult http_request(int port, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers,
                        const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return HttpResult{0, "connect failed", {}};
  }
  std::ostringstream req;
  req << method << ' ' << target << " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req << k << ": " << v << "\r\n";
  req << "Content-Length: " << body.size() << "\r\n\r\n" << body;
  std::string out = req.str();
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[8192];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  HttpResult r;
  auto head_end = resp.find("\r\n\r\n");
  if (resp.size() < 12 || head_end == std::string::npos) return r;
  r.status = std::atoi(resp.substr(9, 3).c_str());
  std::istringstream head(resp.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
    for (auto& c : k) c = static_cast<char>(std::tolower(c));
    while (!v.empty() && (v.front() == ' ')) v.erase(v.begin());
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    r.headers[k] = v;
  }
  r.body = resp.substr(head_end + 4);
  if (r.headers["transfer-encoding"] == "chunked") {  // de-chunk
    std::string plain;
    size_t pos = 0;
    while (pos < r.body.size()) {
      size_t eol = r.body.find("\r\n", pos);
      if (eol == std::string::npos) break;
      size_t len = std::stoul(r.body.substr(pos, eol - pos), nullptr, 16);
      if (len == 0) break;
      plain += r.body.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    r.body = plain;
  }
  return r;
}

std::string LdapEntry::first(const std::string& attr) const {
  auto it = attrs.find(attr);
  return it == attrs.end() || it->second.empty() ? std::string() : it->second.front();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll interval, not a wait
  }
}

Json make_worker(const std::string& id, const std::string& first, const std::string& last,
                 const std::string& department, const std::string& type) {
  return Json{{"workerId", id},           {"firstName", first},
              {"lastName", last},         {"department", department},
              {"jobTitle", "Engineer"},   {"jobCode", "ENG-1"},
              {"location", "Hamburg"},    {"country", "DE"},
              {"workerType", type},       {"hireDate", "2020-01-01"}};
}

Daemon::Daemon(const Slapd& slapd, DaemonOptions options)
    : slapd_(&slapd), options_(std::move(options)) {
  const auto& s = slapd.info();
  const std::string keys =
      "type: ldap\n  url: " + s.ldaps_url + "\n  bind_dn: " + s.bind_dn +
      "\n  password_file: bind.secret\n  base_dn: " + s.base_dn +
      "\n  password_dir: passwords\n  tls: { ca_file: " + s.ca_file + ", verify: true }\n" +
      (options_.directory_yaml.empty() ? "" : "  " + options_.directory_yaml + "\n");
  if (options_.more_targets_yaml.empty())
    write_config("directory:\n  " + keys, s.bind_pw);
  else
    write_config("targets:\n- name: " + options_.target_name + "\n  " + keys +
                     options_.more_targets_yaml,
                 s.bind_pw);
}

Daemon::Daemon(const std::string& directory_yaml, const std::string& bind_password,
               DaemonOptions options)
    : options_(std::move(options)) {
  write_config(directory_yaml, bind_password);
}

void Daemon::write_config(const std::string& directory_yaml, const std::string& bind_password) {
  char tmpl[] = "/tmp/provisiond-e2e.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  config_ = dir_ + "/provisiond.yaml";
  state_ = options_.state_path.empty() ? dir_ + "/state/state.db" : options_.state_path;
  log_ = dir_ + "/provisiond.log";
  key_ = random_password(32);
  webhook_port_ = free_port();
  admin_port_ = free_port();
  std::ofstream(dir_ + "/webhook.secret") << "whsec_" << base64_encode(key_) << "\n";
  std::ofstream(dir_ + "/bind.secret") << bind_password;
  fs::create_directories(dir_ + "/passwords");
  fs::permissions(dir_ + "/passwords", fs::perms::owner_all, fs::perm_options::replace);
  std::string policy = options_.policy_path.empty()
                           ? std::string(PROV_SOURCE_DIR) + "/policies/example.yaml"
                           : options_.policy_path;
  std::ofstream cfg(config_);
  cfg << "state: { path: " << state_
      << (options_.state_yaml.empty() ? "" : ", " + options_.state_yaml) << " }\n"
      << "hr:\n  webhook: { listen: 127.0.0.1:" << webhook_port_
      << ", secret_file: webhook.secret"
      << (options_.tolerance_s > 0 ? ", tolerance_s: " + std::to_string(options_.tolerance_s) : "")
      << (options_.webhook_yaml.empty() ? "" : ", " + options_.webhook_yaml) << " }\n"
      << "policy: { path: " << policy << " }\n"
      << directory_yaml
      << "admin: { listen: 127.0.0.1:" << admin_port_
      << (options_.admin_yaml.empty() ? "" : ", " + options_.admin_yaml) << " }\n"
      << "executor: { retry_initial_ms: 100, retry_max_ms: 1000"
      << (options_.executor_yaml.empty() ? "" : ", " + options_.executor_yaml) << " }\n"
      << "log: { level: debug, format: json }\n"
      << options_.extra_yaml << "\n";
}

Daemon::~Daemon() {
  if (running()) kill9();
  if (!std::getenv("PROV_KEEP_TEST_DIRS")) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

bool Daemon::running() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }

void Daemon::start() {
  spawn();
  bool up = eventually([&] {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return admin_get("/healthz").status == 200;
  }, std::chrono::seconds(20));
  if (!up || pid_ < 0) {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    throw std::runtime_error("provisiond did not start:\n" + ss.str());
  }
}

void Daemon::spawn() {
  // A benchmark may run another build's daemon (the release before a change) on this harness.
  const char* other = std::getenv("PROV_DAEMON_BINARY");
  const std::string bin = other != nullptr && *other != '\0'
                              ? std::string(other)
                              : std::string(PROV_BINARY_DIR) + "/src/daemon/provisiond";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& [k, v] : options_.env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<const char*> argv{bin.c_str(), "--config", config_.c_str()};
    if (!options_.now.empty()) {
      argv.push_back("--now");
      argv.push_back(options_.now.c_str());
    }
    argv.push_back(nullptr);
    execv(bin.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
}

int Daemon::wait_exit(std::chrono::milliseconds limit) {
  int status = -1;
  bool done = eventually([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, limit);
  if (!done) return -1;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int Daemon::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  return wait_exit(std::chrono::seconds(30));
}

void Daemon::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(std::chrono::seconds(10));
}

HttpResult Daemon::send(const std::string& body, const std::string& webhook_id,
                        long timestamp_offset_s) {
  std::string id = webhook_id.empty() ? "msg_" + sha256_hex(body).substr(0, 24) : webhook_id;
  auto ts = std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count() +
            timestamp_offset_s;
  return http_request(webhook_port_, "POST", "/v1/hr/events",
                      {{"content-type", "application/json"},
                       {"webhook-id", id},
                       {"webhook-timestamp", std::to_string(ts)},
                       {"webhook-signature", sign(key_, id, ts, body)}},
                      body);
}

HttpResult Daemon::send_event(const std::string& event_id, const std::string& type,
                              const Json& worker, const std::string& effective_at) {
  Json body{{"eventId", event_id},
            {"eventType", type},
            {"effectiveAt",
             effective_at.empty()
                 ? format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now()))
                 : effective_at},
            {"worker", worker}};
  return send(body.dump());
}

HttpResult Daemon::admin_get(const std::string& target) {
  if (target.rfind("/v1/", 0) != 0) return http_request(admin_port_, "GET", target, {}, "");
  if (viewer_token_.empty()) {
    std::string out;
    if (ctl("token new fixture-viewer --role viewer", &out) != 0)
      throw std::runtime_error("provisionctl token new failed: " + out);
    viewer_token_ = out.substr(out.find("pvd_"), 68);
  }
  return http_request(admin_port_, "GET", target, {{"Authorization", "Bearer " + viewer_token_}},
                      "");
}

std::string slapd_target_yaml(const Slapd& slapd, const std::string& name,
                              const std::string& extra) {
  const SlapdInfo& s = slapd.info();
  std::ofstream(s.dir + "/bind.secret") << s.bind_pw;
  return "- name: " + name + "\n  type: ldap\n  url: " + s.ldaps_url + "\n  bind_dn: " +
         s.bind_dn + "\n  password_file: " + s.dir + "/bind.secret\n  base_dn: " + s.base_dn +
         "\n  password_dir: " + s.dir + "/passwords\n  tls: { ca_file: " + s.ca_file +
         ", verify: true }\n" + (extra.empty() ? "" : "  " + extra + "\n");
}

std::string write_policy_with_grants(const std::string& dir, const std::string& target,
                                     const std::string& employee_groups,
                                     const std::string& finance_groups) {
  std::ifstream in(std::string(PROV_SOURCE_DIR) + "/policies/example.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto add_after = [&](const std::string& line, const std::string& extra) {
    const auto at = text.find(line);
    if (at == std::string::npos) throw std::runtime_error("example policy changed: " + line);
    text.insert(at + line.size(), extra);
  };
  add_after("    groups: [staff]\n",
            "    targets: { " + target + ": { groups: " + employee_groups + " } }\n");
  add_after("    groups: [finance, erp-users]\n",
            "    targets: { " + target + ": { groups: " + finance_groups + " } }\n");
  const std::string path = dir + "/policy.yaml";
  std::ofstream(path) << text;
  return path;
}

std::vector<LdapEntry> Daemon::search(const std::string& base, const std::string& filter) const {
  return search_slapd(slapd_->info(), base, filter);
}

std::vector<LdapEntry> search_slapd(const SlapdInfo& s, const std::string& base,
                                    const std::string& filter) {
  std::vector<LdapEntry> out;
  LDAP* ld = nullptr;
  if (ldap_initialize(&ld, s.url.c_str()) != LDAP_SUCCESS) return out;
  int v3 = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
  berval cred{static_cast<ber_len_t>(s.root_pw.size()), const_cast<char*>(s.root_pw.data())};
  if (ldap_sasl_bind_s(ld, s.root_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr,
                       nullptr) != LDAP_SUCCESS) {
    ldap_unbind_ext_s(ld, nullptr, nullptr);
    return out;
  }
  const char* attrs[] = {"*", "+", nullptr};
  LDAPMessage* res = nullptr;
  int rc = ldap_search_ext_s(ld, base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(),
                             const_cast<char**>(attrs), 0, nullptr, nullptr, nullptr, 0, &res);
  if (rc == LDAP_SUCCESS) {
    for (LDAPMessage* e = ldap_first_entry(ld, res); e; e = ldap_next_entry(ld, e)) {
      LdapEntry entry;
      char* dn = ldap_get_dn(ld, e);
      entry.dn = dn ? dn : "";
      ldap_memfree(dn);
      BerElement* ber = nullptr;
      for (char* a = ldap_first_attribute(ld, e, &ber); a; a = ldap_next_attribute(ld, e, ber)) {
        berval** vals = ldap_get_values_len(ld, e, a);
        for (int i = 0; vals && vals[i]; ++i)
          entry.attrs[a].emplace_back(vals[i]->bv_val, vals[i]->bv_len);
        ldap_value_free_len(vals);
        ldap_memfree(a);
      }
      if (ber) ber_free(ber, 0);
      out.push_back(std::move(entry));
    }
  }
  if (res) ldap_msgfree(res);
  ldap_unbind_ext_s(ld, nullptr, nullptr);
  return out;
}

std::optional<LdapEntry> Daemon::person(const std::string& worker_id) const {
  return person_in(slapd_->info(), worker_id);
}

std::set<std::string> Daemon::groups_of(const std::string& dn) const {
  return groups_in(slapd_->info(), dn);
}

std::optional<LdapEntry> person_in(const SlapdInfo& slapd, const std::string& worker_id) {
  auto r = search_slapd(slapd, slapd.base_dn,
                        "(&(objectClass=inetOrgPerson)(employeeNumber=" + worker_id + "))");
  if (r.empty()) return std::nullopt;
  return r.front();
}

std::set<std::string> groups_in(const SlapdInfo& slapd, const std::string& dn) {
  std::set<std::string> out;
  for (const auto& g : search_slapd(slapd, slapd.base_dn, "(objectClass=groupOfNames)")) {
    auto it = g.attrs.find("member");
    if (it == g.attrs.end()) continue;
    for (const auto& m : it->second)
      if (strcasecmp(m.c_str(), dn.c_str()) == 0) out.insert(g.first("cn"));
  }
  return out;
}

std::string Daemon::password_of(const std::string& worker_id) const {
  std::ifstream in(dir_ + "/passwords/" + worker_id + ".password");
  std::string pw;
  std::getline(in, pw);
  return pw;
}

int Daemon::ctl(const std::string& args, std::string* output) const {
  return run_command(std::string(PROV_BINARY_DIR) + "/src/cli/provisionctl --config " + config_ +
                         " " + args,
                     output);
}

Json json_lines(const std::string& text) {
  Json out{{"items", Json::array()}, {"summary", nullptr}};
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "not a JSON line: " << line;
      continue;
    }
    if (j.is_object() && j.size() == 1 && j.contains("summary"))
      out["summary"] = j["summary"];
    else
      out["items"].push_back(std::move(j));
  }
  return out;
}

}  // namespace prov::testing
