#pragma once
// provisiond's configuration (CONTRACT §2). Loaded once at start-up; an invalid file is a startup
// error (ConfigError naming the key), never a silent default.
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace prov {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How the ldap connector gives a new account its initial password.
enum class PasswordMethod {
  // userPassword inside the add, hashed by provisiond ({SSHA}): one write per new account, and
  // the password never crosses the wire at all. The default.
  HashedInAdd,
  // The Password Modify extended operation (RFC 3062) after the add: the server hashes with its
  // own password-hash and checks its own quality rules; two writes per new account.
  PasswordModify,
  // userPassword inside the add, in clear: only for servers that hash a cleartext userPassword
  // themselves (ppolicy_hash_cleartext); others store it as sent.
  CleartextInAdd,
};

struct TlsConfig {
  std::string mode = "ldaps";  // ldaps | starttls | none (derived from url/start_tls when unset)
  std::string ca_file;         // trust anchors; empty = system store
  bool verify = true;          // false only with a loud warning
};

// One target: a directory provisiond keeps accounts in (`targets[]`, or `directory:` for a
// config with one, which is the target named `directory`).
struct DirectoryConfig;
// The `key`s of the directory targets (ldap, ad) that have no password_dir: they cannot deliver
// the one-time passwords a policy may ask for (see undeliverable_passwords).
std::vector<std::string> targets_without_password_folder(const std::vector<DirectoryConfig>& targets);

struct DirectoryConfig {
  std::string name = "directory";  // unique, [a-z0-9-]; carried by accounts and operations
  std::string key = "directory";   // where the config sets it ("targets[1]"), for messages
  std::string type = "ldap";  // registry name: ldap | ad
  std::string url;            // ldap://host:port or ldaps://host:port
  bool start_tls = false;
  std::string bind_dn;
  std::string password;       // read from password_file / $CREDENTIALS_DIRECTORY; never logged
  std::string base_dn;
  TlsConfig tls;
  std::string groups_ou = "ou=groups";        // where policy-managed groups live (relative)
  std::string lock_method = "ppolicy";        // ldap: ppolicy (pwdAccountLockedTime)
  std::string password_dir;                   // where one-time passwords are delivered (0600)
  // ldap: how a new account's initial password reaches the server (directory.initial_password).
  PasswordMethod password_method = PasswordMethod::HashedInAdd;
  std::string upn_suffix;                     // ad: userPrincipalName suffix (default from base)
  int timeout_ms = 10000;                     // network timeout per operation
  int pipeline_window = 64;                   // outstanding async operations per connection
                                              // (ad: kAdPipelineWindow unless set)
  // A type outside the LDAP family (scim) validates its own keys: `options` are the target's
  // keys as written (scalars typed as YAML reads them), relative paths in them resolve against
  // `config_dir`, and `read_secrets` says whether the caller wants its secret files read
  // (ConfigSecrets::directory). The LDAP fields above stay unset for such a target, except
  // url and tls.verify, which config.cc copies for messages and start-up warnings.
  nlohmann::json options;
  std::filesystem::path config_dir;
  bool read_secrets = true;
};

// directory.pipeline_window of an `ad` target unless the config sets it.
inline constexpr int kAdPipelineWindow = 8;

// Whether `type` is one whose keys load_config() parses into DirectoryConfig itself.
bool is_ldap_family(const std::string& type);

struct WebhookConfig {
  std::string listen = "127.0.0.1:8080";
  std::string secret;              // key bytes after whsec_ decoding; from secret_file
  std::vector<std::string> extra_secrets;  // further accepted secrets (rotation)
  std::string tls_cert_file;
  std::string tls_key_file;
  int tolerance_s = 300;
  std::size_t max_body_bytes = 1 << 20;
  int request_timeout_ms = 10000;
  std::size_t inbox_high_water = 250000;  // 503 above this many unprocessed inbox rows
  // Listener caps before authentication (see HttpServerOptions).
  int max_connections = 256;
  int max_connections_per_source = 32;
  int max_requests_per_connection = 1000;
};

// A full-snapshot HR source (hr.sources[]): polled, diffed against stored worker records, and
// turned into HIRE / CHANGE / TERMINATION events in the same inbox as webhooks.
struct SnapshotSourceConfig {
  std::string name;                 // unique; event ids and audit rows carry it
  std::string type;                 // http | file
  std::string url;                  // http: the JSON endpoint (a list of worker records)
  std::string token;                // http: bearer token from token_file (never logged)
  std::string records_pointer;      // JSON pointer to the list inside the response ("" = root)
  std::filesystem::path path;       // file: a folder where *.json / *.csv snapshots are dropped
  std::chrono::seconds interval{900};
  bool missing_means_terminated = false;  // even then, terminations pass the safety brake
  std::string ca_file;              // http: trust anchors for https
  std::string timezone = "UTC";     // engine.timezone: plain dates in records are local to it
};

// The mass-change brake. Both rules count people with destructive operations in the window.
// The defaults never trip on a busy day (about 0.5 % of a workforce leaving) and trip on a bad
// import (5 % within minutes): docs/lifecycle.md explains the trade-off.
struct SafetyConfig {
  int max_destructive = 1000;
  double max_destructive_percent = 2.0;
  std::chrono::seconds window{3600};
};

struct ExecutorConfig {
  int retry_initial_ms = 500;
  int retry_max_ms = 60000;
  int max_attempts = 0;  // 0 = retry retryable failures forever (an outage delays, never drops)
  int batch_size = 256;  // operations per executor batch (pipelined pipeline_window at a time)
  // Write lanes, each with its own directory connection (the lock lane has one more). Two keep
  // a 2-core machine's directory busy while a slow batch (a big group's modify) finishes.
  int connections = 2;
};

// What the state database keeps (state.retention). Nothing is deleted by default.
struct RetentionConfig {
  int days = 0;        // applied inbox rows and done operations older than this; 0 = keep
  int audit_days = 0;  // audit rows older than this, exported first; 0 = keep the audit
  std::filesystem::path audit_export_file;  // JSON lines, appended to; required with audit_days
  std::chrono::seconds interval{3600};      // how often the daemon deletes
  int batch_rows = 500;                     // rows looked at per transaction
};

struct StateConfig {
  // One ingest transaction holds at most this many events and bytes of event bodies.
  std::size_t commit_max_events = 1000;
  std::size_t commit_max_bytes = 4u << 20;
  RetentionConfig retention;
  // Anchors of the audit's hash chain (its newest row's id and hash): logged at start, at an
  // orderly stop and at most this often while the audit grows; also appended to this file (JSON
  // lines, synced) when set — somewhere the state database's writers cannot rewrite.
  std::chrono::seconds audit_anchor_interval{600};
  std::filesystem::path audit_anchor_file;
};

// The admin API's access (admin.*; admin.listen is Config::admin_listen). docs/admin-api.md.
struct AdminConfig {
  std::string tls_cert_file;  // both set → the admin listener speaks HTTPS only
  std::string tls_key_file;
  // The local socket, whose peer's user (SO_PEERCRED) is the identity; "" = none. Default: next
  // to the state database. Mode 0660: the daemon's user and group connect.
  std::filesystem::path socket;
  // Socket users → role. Root and the daemon's own user are admin unless listed; anyone else
  // not listed is refused.
  std::map<std::string, std::string> socket_roles;
  // The named API tokens (SHA-256 hashes; provisionctl token new|list|revoke). Default: next
  // to the state database.
  std::filesystem::path tokens_file;
  // Failed authentications one source may make per minute before it gets 429 for the rest of it.
  int auth_failures_per_minute = 10;
};

// Delivery of the policy's notifications (notifications.*; docs/notifications.md). The rules
// themselves are policy; this is where mail and webhooks go and with which credentials.
struct SmtpConfig {
  std::string url;       // smtp://host:port (STARTTLS) or smtps://host:port; empty = no mail
  std::string from;      // the envelope and header sender, user@domain
  std::string username;  // with password (from password_file): SMTP AUTH
  std::string password;  // never logged
  std::string tls = "starttls";  // starttls | smtps | none (none only when set explicitly)
  std::string ca_file;           // trust anchors; empty = system store
  bool verify = true;
  int timeout_ms = 30000;
};
struct NotifyWebhookConfig {
  std::string name;    // what policy rules name under `webhook:`
  std::string url;     // https:// (http:// only with a warning)
  std::string secret;  // key bytes (whsec_… decoded) from secret_file; never logged
  std::string ca_file;
  int timeout_ms = 10000;
};
struct NotificationsConfig {
  SmtpConfig smtp;
  std::vector<NotifyWebhookConfig> webhooks;
  int poll_ms = 1000;  // how often the audit is looked at for new happenings
  int retry_initial_ms = 1000;
  int retry_max_ms = 300000;
  int max_attempts = 0;  // 0 = retry retryable failures for ever
  // What an account-ready mail says about the one-time password (never the password itself).
  std::string password_handover =
      "The one-time password is not sent by mail: the service desk hands it over from the "
      "password folder on the provisioning server.";
};

struct Config {
  std::filesystem::path file;        // the config file itself
  std::filesystem::path state_path;  // state.path
  StateConfig state;                 // the rest of state.*
  WebhookConfig webhook;
  std::filesystem::path mapping_file;  // hr.mapping_file (optional)
  std::vector<SnapshotSourceConfig> sources;  // hr.sources (optional)
  std::filesystem::path policy_path;   // policy.path
  // At least one, names unique. The first is the default target: a role's plain `groups:`
  // grant there (docs/policy-reference.md).
  std::vector<DirectoryConfig> targets;
  const DirectoryConfig& default_target() const { return targets.front(); }
  // nullptr when no target has this name.
  const DirectoryConfig* target(const std::string& name) const {
    for (const auto& t : targets)
      if (t.name == name) return &t;
    return nullptr;
  }
  std::string admin_listen = "127.0.0.1:8081";
  AdminConfig admin;
  std::string log_level = "info";
  std::string log_format = "json";
  std::string timezone = "UTC";  // engine.timezone
  SafetyConfig safety;
  ExecutorConfig executor;
  NotificationsConfig notifications;
};

// Which secrets load_config() reads. The daemon needs all of them; a tool that only reads or
// decides from the state database needs none, and must keep working where the secret files are
// readable by the daemon alone. A secret not read stays empty.
struct ConfigSecrets {
  bool hr = true;         // hr.webhook.secret_file, extra_secret_files, hr.sources[].token_file
  bool directory = true;  // every target's password_file (directory.password_file)
};

// A target's name: 1-63 characters of a-z, 0-9 and - (it appears in metrics labels, audit
// records, provisionctl output and as a key under a role's `targets:`).
bool is_target_name(const std::string& name);

// Reads and validates FILE. Relative paths resolve against FILE's folder. Secrets come from
// `*_file` keys or from $CREDENTIALS_DIRECTORY/<name>. Throws ConfigError("key: problem").
Config load_config(const std::filesystem::path& file, ConfigSecrets secrets = {});

// What a valid config still does insecurely, one sentence each, for the log at start-up (e.g.
// an unverified directory certificate, a webhook open to the network without TLS).
std::vector<std::string> startup_warnings(const Config& config);

// Reads a secret file (trailing newline stripped). `name` is looked up in
// $CREDENTIALS_DIRECTORY first when `path` is empty. Throws ConfigError naming `key`.
std::string read_secret(const std::string& key, const std::filesystem::path& path,
                        const std::string& credential_name);

}  // namespace prov
