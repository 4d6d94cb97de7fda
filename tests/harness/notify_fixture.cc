#include "harness/notify_fixture.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "harness/slapd_fixture.h"
#include "prov/crypto.h"

namespace prov::testing {
namespace {

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

std::string temp_dir(const char* name) {
  std::string pattern = (std::filesystem::temp_directory_path() / name).string() + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a temporary folder");
  return pattern;
}

// Starts `cmd` in the background; returns its pid and waits for PORT=<n> in `ready`.
std::pair<int, int> spawn_and_wait(const std::string& cmd, const std::string& ready,
                                   const std::string& log, const std::string& what) {
  std::string output;
  if (run_command(cmd + " >" + shell_quote(log) + " 2>&1 </dev/null & echo $!", &output) != 0)
    throw std::runtime_error("cannot start the " + what + ": " + output);
  const int pid = std::atoi(output.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    const std::string line = file_text(ready);
    if (line.starts_with("PORT=") && line.back() == '\n') return {pid, std::atoi(line.c_str() + 5)};
    if (!alive(pid) || std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the " + what + " did not start: " + file_text(log));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void stop_and_remove(int pid, const std::string& dir) {
  if (alive(pid)) {
    ::kill(pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (alive(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (alive(pid)) ::kill(pid, SIGKILL);
  }
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
}

}  // namespace

std::string ReceivedMail::header(const std::string& name) const {
  std::string lower_name = name;
  std::transform(lower_name.begin(), lower_name.end(), lower_name.begin(), ::tolower);
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;  // end of the headers
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    if (key != lower_name) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    return value;
  }
  return "";
}

std::unique_ptr<SmtpSink> SmtpSink::start(bool starttls) {
  std::unique_ptr<SmtpSink> s(new SmtpSink());
  s->dir_ = temp_dir("provisiond-smtp");
  std::filesystem::create_directory(s->dir_ + "/mail");
  std::string tls_args;
  if (starttls) {
    const std::string key = s->dir_ + "/key.pem";
    s->ca_file_ = s->dir_ + "/cert.pem";
    std::string output;
    if (run_command("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                    "-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
                        shell_quote(key) + " -out " + shell_quote(s->ca_file_),
                    &output) != 0)
      throw std::runtime_error("cannot make the SMTP server's certificate: " + output);
    tls_args = " --tls-cert " + shell_quote(s->ca_file_) + " --tls-key " + shell_quote(key);
  }
  // Debian's interpreter, where python3-aiosmtpd is installed (not whatever python3 is first on
  // PATH).
  const std::string cmd = "/usr/bin/python3 " +
                          shell_quote(std::string(PROV_HARNESS_DIR) + "/notify/smtp_sink.py") +
                          " --dir " + shell_quote(s->dir_ + "/mail") + " --ready-file " +
                          shell_quote(s->dir_ + "/ready") + tls_args;
  std::tie(s->pid_, s->port_) =
      spawn_and_wait(cmd, s->dir_ + "/ready", s->dir_ + "/sink.log",
                     "SMTP server (is python3-aiosmtpd installed? scripts/deps)");
  return s;
}

SmtpSink::~SmtpSink() { stop_and_remove(pid_, dir_); }

std::vector<ReceivedMail> SmtpSink::messages() const {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/mail"))
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<ReceivedMail> out;
  for (const auto& f : files) {
    const Json j = Json::parse(file_text(f));
    out.push_back({j.value("mail_from", ""), j.value("rcpt_tos", std::vector<std::string>{}),
                   j.value("data", "")});
  }
  return out;
}

std::string SmtpSink::config_yaml(std::optional<std::string> tls_keys,
                                  const std::string& more) const {
  if (!tls_keys) tls_keys = ca_file_.empty() ? ", tls: none" : ", ca_file: " + ca_file_;
  return "notifications:\n  poll_ms: 100\n  smtp: { url: " + url() +
         ", from: provisiond@example.com" + *tls_keys + " }\n" + more;
}

std::string WebhookReceiver::config_yaml(const std::string& name,
                                         const std::string& secret_file) const {
  return "notifications:\n  poll_ms: 100\n  webhooks:\n    - { name: " + name + ", url: " + url() +
         ", secret_file: " + (secret_file.empty() ? secret_file_ : secret_file) + " }\n";
}

std::unique_ptr<WebhookReceiver> WebhookReceiver::start() {
  std::unique_ptr<WebhookReceiver> r(new WebhookReceiver());
  r->dir_ = temp_dir("provisiond-hooks");
  r->secret_file_ = r->dir_ + "/hook.secret";
  unsigned char key[32];
  std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(key), sizeof key);
  std::ofstream(r->secret_file_) << "whsec_"
                                 << base64_encode(
                                        std::string_view(reinterpret_cast<char*>(key), sizeof key))
                                 << "\n";
  const std::string cmd =
      "node " + shell_quote(std::string(PROV_HARNESS_DIR) + "/notify/webhook_receiver.mjs") +
      " --secret-file " + shell_quote(r->secret_file_) + " --out " +
      shell_quote(r->dir_ + "/received.jsonl") + " --ready-file " + shell_quote(r->dir_ + "/ready");
  std::tie(r->pid_, r->port_) =
      spawn_and_wait(cmd, r->dir_ + "/ready", r->dir_ + "/receiver.log",
                     "webhook receiver (is `scripts/deps` run, so that tests/harness/node_modules "
                     "exists?)");
  return r;
}

WebhookReceiver::~WebhookReceiver() { stop_and_remove(pid_, dir_); }

std::vector<ReceivedWebhook> WebhookReceiver::received() const {
  std::vector<ReceivedWebhook> out;
  std::istringstream in(file_text(dir_ + "/received.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    const Json j = Json::parse(line, nullptr, false);
    if (!j.is_object()) continue;  // a line still being written
    out.push_back({j["id"].is_string() ? j["id"].get<std::string>() : "",
                   j.value("verified", false),
                   j["error"].is_string() ? j["error"].get<std::string>() : "", j["payload"]});
  }
  return out;
}

std::string example_policy_with_notifications(const std::string& rules,
                                              std::pair<std::string, std::string> edit) {
  const std::string dir = temp_dir("provisiond-policy");
  std::string text = file_text(std::string(PROV_SOURCE_DIR) + "/policies/example.yaml");
  if (!edit.first.empty()) {
    const auto at = text.find(edit.first);
    if (at == std::string::npos) throw std::runtime_error("example policy: no " + edit.first);
    text.replace(at, edit.first.size(), edit.second);
  }
  std::ofstream(dir + "/policy.yaml") << text << "\nnotifications:\n" << rules;
  return dir + "/policy.yaml";
}

}  // namespace prov::testing
