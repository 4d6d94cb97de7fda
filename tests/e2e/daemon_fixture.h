#pragma once
// End-to-end fixture: a real slapd (harness), the real provisiond binary started as a process with
// a generated config, and a small HTTP client that signs webhooks the way an HR system does.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "harness/slapd_fixture.h"
#include "prov/model.h"

namespace prov::testing {

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
  Json json() const;
};

// One blocking HTTP/1.1 request over a fresh loopback connection.
HttpResult http_request(int port, const std::string& method, const std::string& target,
                        const std::map<std::string, std::string>& headers,
                        const std::string& body);

struct LdapEntry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attrs;
  std::string first(const std::string& attr) const;
};

struct DaemonOptions {
  std::string policy_path;         // default: the repository's policies/example.yaml
  std::string extra_yaml;          // appended to the generated config (e.g. a safety: section)
  std::string now;                 // --now override
  std::map<std::string, std::string> env;  // extra environment (fault injection)
  int tolerance_s = 0;             // > 0: hr.webhook.tolerance_s (signature timestamp window)
  std::string state_path;          // default: a state.db in the daemon's own temporary folder
  std::string webhook_yaml;        // more hr.webhook keys, e.g. "max_connections_per_source: 256"
  std::string directory_yaml;      // more directory keys (slapd), e.g. "password_in_add: true"
  std::string executor_yaml;       // more executor keys, e.g. "batch_size: 1024"
  std::string state_yaml;          // more state keys, e.g. "audit_anchor_file: /tmp/a.jsonl"
  std::string admin_yaml;          // more admin keys, e.g. "auth_failures_per_minute: 3"
  // More targets (items of the `targets:` list). When set, the slapd is the first target, named
  // `target_name`, in a `targets:` list instead of a `directory:` section.
  std::string more_targets_yaml;
  std::string target_name = "directory";
};

// A `targets:` item for another slapd: ldaps with its CA, its own bind secret (written to
// <server dir>/bind.secret) and password folder. `extra`: more keys, e.g. "timeout_ms: 2000".
std::string slapd_target_yaml(const Slapd& slapd, const std::string& name,
                              const std::string& extra = {});

// The example policy with grants in the target `target`: every employee gets `employee_groups`
// there, finance people `finance_groups` too (YAML flow lists, e.g. "[staff-there]"); the plain
// `groups:` stay the default target's. Written to DIR/policy.yaml; returns its path.
std::string write_policy_with_grants(const std::string& dir, const std::string& target,
                                     const std::string& employee_groups,
                                     const std::string& finance_groups);

// Searches any slapd as its root (what the helpers of Daemon do with the daemon's own slapd).
std::vector<LdapEntry> search_slapd(const SlapdInfo& slapd, const std::string& base,
                                    const std::string& filter);
std::optional<LdapEntry> person_in(const SlapdInfo& slapd, const std::string& worker_id);
std::set<std::string> groups_in(const SlapdInfo& slapd, const std::string& dn);

class Daemon {
 public:
  Daemon(const Slapd& slapd, DaemonOptions options = {});
  // Against another directory (e.g. a Samba AD DC): `directory_yaml` is the config's whole
  // `directory:` section, relative paths resolved in the daemon's folder (bind.secret holds
  // `bind_password`). search(), person(), groups_of() and slapd() need a slapd: not available.
  Daemon(const std::string& directory_yaml, const std::string& bind_password,
         DaemonOptions options = {});
  ~Daemon();

  void start();          // spawns and waits until /healthz answers (throws on failure)
  void spawn();          // starts the process and returns at once
  int stop();            // SIGTERM; returns the exit status
  void kill9();          // SIGKILL, no clean-up: a crash
  int wait_exit(std::chrono::milliseconds limit);  // exit status, -1 on timeout
  bool running() const;

  // Signs `body` with the configured secret and POSTs it to /v1/hr/events.
  HttpResult send(const std::string& body, const std::string& webhook_id = {},
                  long timestamp_offset_s = 0);
  HttpResult send_event(const std::string& event_id, const std::string& type,
                        const Json& worker, const std::string& effective_at = {});
  // GET on the admin listener; under /v1/ with a viewer token made for the purpose.
  HttpResult admin_get(const std::string& target);

  std::vector<LdapEntry> search(const std::string& base, const std::string& filter) const;
  std::optional<LdapEntry> person(const std::string& worker_id) const;  // by employeeNumber
  std::set<std::string> groups_of(const std::string& dn) const;         // cn of groups listing dn
  std::string password_of(const std::string& worker_id) const;          // delivered one-time pw

  // provisionctl with this daemon's config; returns exit status, fills output.
  int ctl(const std::string& args, std::string* output) const;

  const std::string& secret_key() const { return key_; }
  const std::string& config_path() const { return config_; }
  const std::string& state_path() const { return state_; }
  const std::string& log_path() const { return log_; }
  std::string password_dir() const { return dir_ + "/passwords"; }
  int webhook_port() const { return webhook_port_; }
  int admin_port() const { return admin_port_; }
  pid_t pid() const { return pid_; }  // -1 when not running
  const Slapd& slapd() const { return *slapd_; }
  const std::string& dir() const { return dir_; }  // config, state, log, delivered passwords

 private:
  void write_config(const std::string& directory_yaml, const std::string& bind_password);

  const Slapd* slapd_ = nullptr;
  DaemonOptions options_;
  std::string dir_, config_, state_, log_, key_;
  int webhook_port_ = 0, admin_port_ = 0;
  pid_t pid_ = -1;
  std::string viewer_token_;  // made by the first admin_get under /v1/
};

// The whole content of a text file ("" when it cannot be read), e.g. a daemon's log.
std::string read_file(const std::string& path);
// provisionctl's streaming --json output (one object per line, a last `{"summary": …}` line
// when the command has totals) as {"items": [...], "summary": …}. A line that is not JSON fails
// the test.
Json json_lines(const std::string& text);

// Polls `condition` every 10 ms until it holds or `limit` passes. Returns whether it held.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(20));

// A minimal worker record for tests.
Json make_worker(const std::string& id, const std::string& first, const std::string& last,
                 const std::string& department = "Engineering",
                 const std::string& type = "Employee");

}  // namespace prov::testing
