#include "prov/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "prov/crypto.h"
#include "prov/secret_files.h"
#include "prov/timezone.h"

namespace prov {
namespace fs = std::filesystem;

namespace {

std::string where(const YAML::Node& n) {
  auto m = n.Mark();
  if (m.line < 0) return {};
  return " (line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1) + ")";
}

[[noreturn]] void fail(const std::string& key, const std::string& problem,
                       const YAML::Node& at = YAML::Node()) {
  throw ConfigError(key + ": " + problem + (at.IsDefined() ? where(at) : ""));
}

// Rejects keys we do not know: a typo must not silently become a default.
void check_keys(const YAML::Node& map, const std::string& prefix,
                const std::set<std::string>& known) {
  if (!map.IsDefined() || map.IsNull()) return;
  if (!map.IsMap()) fail(prefix, "must be a mapping", map);
  for (const auto& kv : map) {
    auto k = kv.first.as<std::string>();
    if (!known.count(k)) {
      std::string list;
      for (const auto& s : known) list += (list.empty() ? "" : ", ") + s;
      fail(prefix.empty() ? k : prefix + "." + k, "unknown key (known here: " + list + ")",
           kv.first);
    }
  }
}

template <class T>
T get(const YAML::Node& parent, const std::string& key, const std::string& path, T fallback) {
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) return fallback;
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    fail(path, "has the wrong type", n);
  }
}

fs::path resolve(const fs::path& base, const std::string& p) {
  if (p.empty()) return {};
  fs::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

}  // namespace

std::string read_secret(const std::string& key, const fs::path& path,
                        const std::string& credential_name) {
  fs::path file = path;
  std::error_code ec;  // a folder this process may not enter holds no credential for it
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY");
      creds && !credential_name.empty() && fs::exists(fs::path(creds) / credential_name, ec)) {
    file = fs::path(creds) / credential_name;  // systemd LoadCredential= wins
  }
  if (file.empty()) throw ConfigError(key + ": no secret file given");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return secret_unreadable(
        key, file,
        key + ": cannot read secret file " + file.string() + " (" + std::strerror(errno) + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty())
    return secret_unreadable(key, file, key + ": secret file " + file.string() + " is empty");
  return s;
}

bool is_ldap_family(const std::string& type) { return type == "ldap" || type == "ad"; }

std::vector<std::string> targets_without_password_folder(const std::vector<DirectoryConfig>& targets) {
  std::vector<std::string> out;
  for (const auto& t : targets)
    if ((t.type == "ldap" || t.type == "ad") && t.password_dir.empty()) out.push_back(t.key);
  return out;
}

bool is_target_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
}

namespace {

// One LDAP-family target at `key` ("directory" or "targets[1]"); errors name the key.
// <key>.initial_password, and the older <key>.password_in_add (true: cleartext inside the add;
// false: Password Modify, which was the default when that key was written).
PasswordMethod initial_password_method(const YAML::Node& dir, const std::string& type,
                                       const std::string& key) {
  const YAML::Node method = dir["initial_password"], in_add = dir["password_in_add"];
  const bool has_method = method.IsDefined() && !method.IsNull();
  const bool has_in_add = in_add.IsDefined() && !in_add.IsNull();
  if (type != "ldap" && (has_method || has_in_add))
    fail(has_method ? key + ".initial_password" : key + ".password_in_add",
         "applies to type ldap only (AD sets unicodePwd in its own way)",
         has_method ? method : in_add);
  if (has_method && has_in_add)
    fail(key + ".password_in_add",
         "is the older spelling of " + key + ".initial_password; set only initial_password",
         in_add);
  if (has_in_add)
    return get<bool>(dir, "password_in_add", key + ".password_in_add", false)
               ? PasswordMethod::CleartextInAdd
               : PasswordMethod::PasswordModify;
  const std::string name =
      get<std::string>(dir, "initial_password", key + ".initial_password", "hashed_in_add");
  if (name == "hashed_in_add") return PasswordMethod::HashedInAdd;
  if (name == "password_modify") return PasswordMethod::PasswordModify;
  if (name == "cleartext_in_add") return PasswordMethod::CleartextInAdd;
  fail(key + ".initial_password",
       "must be hashed_in_add, password_modify or cleartext_in_add, got '" + name + "'", method);
}

// A YAML subtree as JSON for a connector that validates its own keys: a quoted scalar stays a
// string, a plain one becomes a bool or an integer when it reads as one.
nlohmann::json to_json(const YAML::Node& n) {
  if (n.IsMap()) {
    auto out = nlohmann::json::object();
    for (const auto& kv : n) out[kv.first.as<std::string>()] = to_json(kv.second);
    return out;
  }
  if (n.IsSequence()) {
    auto out = nlohmann::json::array();
    for (const auto& item : n) out.push_back(to_json(item));
    return out;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string text = n.Scalar();
  if (n.Tag() != "!") {
    if (text == "true") return true;
    if (text == "false") return false;
    if (!text.empty() && text.size() < 18 &&
        std::all_of(text.begin() + (text[0] == '-' ? 1 : 0), text.end(),
                    [](char c) { return c >= '0' && c <= '9'; }) &&
        text != "-")
      return std::stoll(text);
  }
  return text;
}

std::string target_name(const YAML::Node& dir, const std::string& key) {
  auto name = get<std::string>(dir, "name", key + ".name", "");
  if (name.empty()) fail(key + ".name", "is required");
  if (!is_target_name(name))
    fail(key + ".name", "'" + name + "' must be 1-63 characters of a-z, 0-9 and -", dir["name"]);
  return name;
}

// A target whose connector parses its own keys (see DirectoryConfig::options).
DirectoryConfig connector_target(const YAML::Node& dir, DirectoryConfig d, const fs::path& base,
                                 const ConfigSecrets& secrets) {
  d.options = to_json(dir);
  d.options.erase("name");
  d.options.erase("type");
  d.config_dir = base;
  d.read_secrets = secrets.directory;
  if (auto url = d.options.find("url"); url != d.options.end() && url->is_string()) d.url = *url;
  if (auto tls = d.options.find("tls"); tls != d.options.end() && tls->is_object()) {
    if (auto v = tls->find("verify"); v != tls->end() && v->is_boolean()) d.tls.verify = *v;
  }
  d.tls.mode = d.url.starts_with("https://") ? "https" : "none";
  return d;
}

DirectoryConfig parse_target(YAML::Node dir, const std::string& key, const fs::path& base,
                             const ConfigSecrets& secrets, bool listed) {
  if (listed && dir.IsMap() && dir["type"].IsDefined() &&
      !is_ldap_family(get<std::string>(dir, "type", key + ".type", ""))) {
    DirectoryConfig d;
    d.key = key;
    d.name = target_name(dir, key);
    d.type = get<std::string>(dir, "type", key + ".type", "");
    return connector_target(dir, std::move(d), base, secrets);
  }
  std::set<std::string> keys{"type", "url", "start_tls", "bind_dn", "password_file", "base_dn",
                             "tls", "groups_ou", "lock_method", "password_dir", "initial_password",
                             "password_in_add", "upn_suffix", "timeout_ms", "pipeline_window"};
  if (listed) keys.insert("name");
  check_keys(dir, key, keys);
  if (!dir.IsMap()) fail(key, "must be a mapping", dir);
  DirectoryConfig d;
  d.key = key;
  if (listed) {
    d.name = target_name(dir, key);
    if (!dir["type"].IsDefined()) fail(key + ".type", "is required (ldap, ad or scim)");
  }
  // Secrets of the target named `directory` keep their credential name; others get their own.
  const std::string credential =
      d.name == "directory" ? "bind.secret" : "bind-" + d.name + ".secret";
  d.type = get<std::string>(dir, "type", key + ".type", "ldap");
  d.url = get<std::string>(dir, "url", key + ".url", "");
  if (d.url.rfind("ldap://", 0) != 0 && d.url.rfind("ldaps://", 0) != 0)
    fail(key + ".url", "must start with ldap:// or ldaps://, got '" + d.url + "'");
  d.start_tls = get<bool>(dir, "start_tls", key + ".start_tls", false);
  d.bind_dn = get<std::string>(dir, "bind_dn", key + ".bind_dn", "");
  if (d.bind_dn.empty()) fail(key + ".bind_dn", "is required");
  const std::string password_file =
      get<std::string>(dir, "password_file", key + ".password_file", "");
  if (secrets.directory)
    d.password = read_secret(key + ".password_file", resolve(base, password_file),
                             credential);
  d.base_dn = get<std::string>(dir, "base_dn", key + ".base_dn", "");
  if (d.base_dn.empty()) fail(key + ".base_dn", "is required");
  YAML::Node tls = dir["tls"];
  check_keys(tls, key + ".tls", {"ca_file", "verify", "mode"});
  d.tls.ca_file =
      resolve(base, get<std::string>(tls, "ca_file", key + ".tls.ca_file", "")).string();
  if (!d.tls.ca_file.empty() && !fs::exists(d.tls.ca_file))
    fail(key + ".tls.ca_file", "file not found: " + d.tls.ca_file);
  d.tls.verify = get<bool>(tls, "verify", key + ".tls.verify", true);
  std::string derived_mode = d.url.rfind("ldaps://", 0) == 0 ? "ldaps"
                             : d.start_tls                   ? "starttls"
                                                             : "";
  d.tls.mode = get<std::string>(tls, "mode", key + ".tls.mode", derived_mode);
  if (d.tls.mode.empty())
    fail(key + ".url",
         "plain ldap:// without TLS; set " + key + ".start_tls: true, use ldaps://, or set " +
             key + ".tls.mode: none to accept an unencrypted connection");
  if (d.tls.mode != "ldaps" && d.tls.mode != "starttls" && d.tls.mode != "none")
    fail(key + ".tls.mode", "must be ldaps, starttls or none");
  d.groups_ou = get<std::string>(dir, "groups_ou", key + ".groups_ou", d.groups_ou);
  d.lock_method = get<std::string>(dir, "lock_method", key + ".lock_method", d.lock_method);
  d.password_dir =
      resolve(base, get<std::string>(dir, "password_dir", key + ".password_dir", "")).string();
  // The folder only serves initial passwords, and those are never sent unencrypted: asking for
  // both cannot work, so it is refused here rather than failing every hire later.
  if (!d.password_dir.empty() && d.tls.mode == "none")
    fail(key + ".password_dir",
         "initial passwords are only sent over TLS, but " + key + ".tls.mode is none; use "
         "ldaps:// or start_tls, or remove password_dir");
  d.password_method = initial_password_method(dir, d.type, key);
  d.upn_suffix = get<std::string>(dir, "upn_suffix", key + ".upn_suffix", "");
  d.timeout_ms = get<int>(dir, "timeout_ms", key + ".timeout_ms", d.timeout_ms);
  // Samba applies one write at a time: a deep window only queues a lane's creates on the server
  // ahead of the lock lane's lock (measured: a leaver's lock waited p99 4.5 s behind a burst of
  // hires with 64, see operations.md), and 8 in flight already keep it busy.
  const int default_window = d.type == "ad" ? kAdPipelineWindow : d.pipeline_window;
  d.pipeline_window = get<int>(dir, "pipeline_window", key + ".pipeline_window", default_window);
  if (d.pipeline_window < 1 || d.pipeline_window > 1024)
    fail(key + ".pipeline_window", "must be between 1 and 1024");

  return d;
}

void parse_targets(YAML::Node root, const fs::path& base, const ConfigSecrets& secrets,
                   Config& c) {
  YAML::Node dir = root["directory"], list = root["targets"];
  if (dir.IsDefined() && list.IsDefined())
    fail("targets", "cannot be used together with directory: move the directory into targets: "
                    "as the target named directory", list);
  if (dir.IsDefined()) {
    c.targets.push_back(parse_target(dir, "directory", base, secrets, false));
    return;
  }
  if (!list.IsDefined()) fail("targets", "is required (or directory: for a single directory)");
  if (!list.IsSequence() || list.size() == 0)
    fail("targets", "must be a list of at least one target ({name, type, ...})", list);
  std::set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string key = "targets[" + std::to_string(i) + "]";
    DirectoryConfig d = parse_target(list[i], key, base, secrets, true);
    if (!names.insert(d.name).second)
      fail(key + ".name", "'" + d.name + "' is the name of an earlier target; names are unique",
           list[i]["name"]);
    c.targets.push_back(std::move(d));
  }
}

}  // namespace

namespace {

// An HMAC key short enough to guess is no authentication: a bare "whsec_" decodes to an empty
// key anyone can sign with. Standard Webhooks issues 24 to 64 random bytes.
constexpr std::size_t kMinWebhookKeyBytes = 24;

// Standard Webhooks: a secret written as whsec_<base64> is the base64 of the key bytes.
std::string webhook_key(const std::string& key, const std::string& text) {
  std::string bytes = text;
  if (text.rfind("whsec_", 0) == 0) {
    auto raw = base64_decode(text.substr(6));
    if (!raw) throw ConfigError(key + ": whsec_ secret is not valid base64");
    bytes = *raw;
  }
  if (bytes.size() < kMinWebhookKeyBytes)
    throw ConfigError(key + ": the key is " + std::to_string(bytes.size()) +
                      " bytes; at least " + std::to_string(kMinWebhookKeyBytes) +
                      " are required (e.g. whsec_$(openssl rand -base64 32))");
  return bytes;
}

void validate_listen(const std::string& key, const std::string& v) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) fail(key, "must be host:port, got '" + v + "'");
  const std::string port = v.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end || p < 0 || p > 65535) fail(key, "invalid port '" + port + "'");
}

std::chrono::seconds parse_duration(const std::string& key, const std::string& text) {
  if (text.empty()) fail(key, "empty duration");
  char* end = nullptr;
  long n = std::strtol(text.c_str(), &end, 10);
  std::string unit(end);
  if (n < 0 || end == text.c_str()) fail(key, "invalid duration '" + text + "' (e.g. 30s, 15m, 1h, 1d)");
  if (unit.empty() || unit == "s") return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::minutes(n);
  if (unit == "h") return std::chrono::hours(n);
  if (unit == "d") return std::chrono::hours(24 * n);
  fail(key, "invalid duration unit '" + unit + "' (use s, m, h or d)");
}


}  // namespace

namespace {

// admin.tls, admin.socket, admin.socket_roles, admin.tokens_file, admin.auth_failures_per_minute.
void parse_admin_access(const YAML::Node& section, const fs::path& base, Config& c) {
  AdminConfig& a = c.admin;
  // Non-const nodes: yaml-cpp's const operator[] answers a missing key with a node that throws
  // at the next look-up. No admin: section at all reads as an empty one.
  YAML::Node admin =
      section.IsDefined() && section.IsMap() ? section : YAML::Node(YAML::NodeType::Map);
  YAML::Node tls = admin["tls"];
  check_keys(tls, "admin.tls", {"cert_file", "key_file"});
  a.tls_cert_file =
      resolve(base, get<std::string>(tls, "cert_file", "admin.tls.cert_file", "")).string();
  a.tls_key_file =
      resolve(base, get<std::string>(tls, "key_file", "admin.tls.key_file", "")).string();
  if (a.tls_cert_file.empty() != a.tls_key_file.empty())
    fail(a.tls_cert_file.empty() ? "admin.tls.cert_file" : "admin.tls.key_file",
         "is required with the other admin.tls key", tls);
  const fs::path state_dir = c.state_path.parent_path();
  a.socket = resolve(base, get<std::string>(admin, "socket", "admin.socket",
                                            (state_dir / "admin.sock").string()));
  // sockaddr_un holds 107 bytes and a NUL.
  if (a.socket.string().size() > 107)
    fail("admin.socket", "is longer than a Unix socket path may be (107 bytes)", admin["socket"]);
  YAML::Node roles = admin["socket_roles"];
  if (roles.IsDefined() && !roles.IsNull()) {
    if (!roles.IsMap()) fail("admin.socket_roles", "must map user names to roles", roles);
    for (const auto& kv : roles) {
      const std::string user = kv.first.as<std::string>();
      const std::string role = kv.second.IsScalar() ? kv.second.as<std::string>() : "";
      if (role != "viewer" && role != "approver" && role != "admin")
        fail("admin.socket_roles." + user, "must be viewer, approver or admin", kv.second);
      a.socket_roles[user] = role;
    }
  }
  a.tokens_file = resolve(base, get<std::string>(admin, "tokens_file", "admin.tokens_file",
                                                 (state_dir / "api-tokens.jsonl").string()));
  a.auth_failures_per_minute = get<int>(admin, "auth_failures_per_minute",
                                        "admin.auth_failures_per_minute",
                                        a.auth_failures_per_minute);
  if (a.auth_failures_per_minute < 1 || a.auth_failures_per_minute > 10000)
    fail("admin.auth_failures_per_minute", "must be between 1 and 10000");
}

// notifications.*: where the policy's notifications go (docs/notifications.md). Its secrets are
// read with the HR ones: only the daemon sends, provisionctl reads neither.
void parse_notifications(const YAML::Node& n, const fs::path& base, bool read_secrets,
                         NotificationsConfig& out) {
  check_keys(n, "notifications", {"smtp", "webhooks", "poll_ms", "retry_initial_ms",
                                  "retry_max_ms", "max_attempts", "password_handover"});
  if (!n.IsDefined() || n.IsNull()) return;
  out.poll_ms = get<int>(n, "poll_ms", "notifications.poll_ms", out.poll_ms);
  if (out.poll_ms < 50 || out.poll_ms > 60000)
    fail("notifications.poll_ms", "must be between 50 and 60000", n["poll_ms"]);
  out.retry_initial_ms =
      get<int>(n, "retry_initial_ms", "notifications.retry_initial_ms", out.retry_initial_ms);
  out.retry_max_ms = get<int>(n, "retry_max_ms", "notifications.retry_max_ms", out.retry_max_ms);
  if (out.retry_initial_ms <= 0 || out.retry_max_ms < out.retry_initial_ms)
    fail("notifications.retry_max_ms", "must be >= notifications.retry_initial_ms > 0");
  out.max_attempts = get<int>(n, "max_attempts", "notifications.max_attempts", out.max_attempts);
  if (out.max_attempts < 0) fail("notifications.max_attempts", "must be 0 (for ever) or more");
  out.password_handover = get<std::string>(n, "password_handover",
                                           "notifications.password_handover",
                                           out.password_handover);
  if (const YAML::Node smtp = n["smtp"]; smtp.IsDefined() && !smtp.IsNull()) {
    check_keys(smtp, "notifications.smtp", {"url", "from", "username", "password_file", "tls",
                                            "ca_file", "verify", "timeout_ms"});
    SmtpConfig& m = out.smtp;
    m.url = get<std::string>(smtp, "url", "notifications.smtp.url", "");
    if (!m.url.starts_with("smtp://") && !m.url.starts_with("smtps://"))
      fail("notifications.smtp.url", "must start with smtp:// or smtps://", smtp["url"]);
    m.from = get<std::string>(smtp, "from", "notifications.smtp.from", "");
    const auto at = m.from.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == m.from.size() ||
        m.from.find_first_of(" <>\r\n,") != std::string::npos)
      fail("notifications.smtp.from", "must be a plain address, user@domain", smtp["from"]);
    // The URL's scheme decides unless tls is given; `none` is never implied by a URL, so mail
    // goes out in clear only when the config says so in as many words.
    m.tls = get<std::string>(smtp, "tls", "notifications.smtp.tls",
                             m.url.starts_with("smtps://") ? "smtps" : "starttls");
    if (m.tls != "starttls" && m.tls != "smtps" && m.tls != "none")
      fail("notifications.smtp.tls", "must be starttls, smtps or none", smtp["tls"]);
    if ((m.tls == "smtps") != m.url.starts_with("smtps://"))
      fail("notifications.smtp.tls", "smtps goes with an smtps:// url, starttls and none with "
           "smtp://", smtp["tls"]);
    m.ca_file = resolve(base, get<std::string>(smtp, "ca_file", "notifications.smtp.ca_file", ""))
                    .string();
    m.verify = get<bool>(smtp, "verify", "notifications.smtp.verify", true);
    m.timeout_ms = get<int>(smtp, "timeout_ms", "notifications.smtp.timeout_ms", m.timeout_ms);
    if (m.timeout_ms < 100 || m.timeout_ms > 600000)
      fail("notifications.smtp.timeout_ms", "must be between 100 and 600000");
    m.username = get<std::string>(smtp, "username", "notifications.smtp.username", "");
    const std::string pw = get<std::string>(smtp, "password_file",
                                            "notifications.smtp.password_file", "");
    if (m.username.empty() != pw.empty())
      fail(pw.empty() ? "notifications.smtp.password_file" : "notifications.smtp.username",
           "username and password_file go together (SMTP AUTH)");
    if (!pw.empty() && read_secrets)
      m.password = read_secret("notifications.smtp.password_file", resolve(base, pw),
                               "smtp.secret");
  }
  if (const YAML::Node hooks = n["webhooks"]; hooks.IsDefined() && !hooks.IsNull()) {
    if (!hooks.IsSequence()) fail("notifications.webhooks", "must be a list", hooks);
    std::set<std::string> names;
    for (std::size_t i = 0; i < hooks.size(); ++i) {
      const std::string key = "notifications.webhooks[" + std::to_string(i) + "]";
      const YAML::Node h = hooks[i];
      check_keys(h, key, {"name", "url", "secret_file", "ca_file", "timeout_ms"});
      if (!h.IsMap()) fail(key, "must be a mapping", h);
      NotifyWebhookConfig w;
      w.name = get<std::string>(h, "name", key + ".name", "");
      if (!is_target_name(w.name))
        fail(key + ".name", "must be 1-63 characters of a-z, 0-9 and -", h["name"]);
      if (!names.insert(w.name).second)
        fail(key + ".name", "'" + w.name + "' is used twice", h["name"]);
      w.url = get<std::string>(h, "url", key + ".url", "");
      if (!w.url.starts_with("https://") && !w.url.starts_with("http://"))
        fail(key + ".url", "must start with https:// or http://", h["url"]);
      w.ca_file = resolve(base, get<std::string>(h, "ca_file", key + ".ca_file", "")).string();
      w.timeout_ms = get<int>(h, "timeout_ms", key + ".timeout_ms", w.timeout_ms);
      if (w.timeout_ms < 100 || w.timeout_ms > 600000)
        fail(key + ".timeout_ms", "must be between 100 and 600000");
      const std::string file = get<std::string>(h, "secret_file", key + ".secret_file", "");
      if (file.empty()) fail(key + ".secret_file", "is required (the whsec_ signing secret)");
      if (read_secrets) {
        const std::string secret =
            read_secret(key + ".secret_file", resolve(base, file), "notify-" + w.name + ".secret");
        // As hr.webhook's: whsec_<base64> (what Standard Webhooks receivers are given) is
        // decoded, anything else is the key's raw bytes; 24 bytes at least.
        w.secret = webhook_key(key + ".secret_file", secret);
      }
      out.webhooks.push_back(std::move(w));
    }
  }
}

}  // namespace

Config load_config(const fs::path& file, ConfigSecrets secrets) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw ConfigError("cannot read config file " + file.string());
  } catch (const YAML::Exception& e) {
    throw ConfigError(file.string() + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw ConfigError(file.string() + ": the config must be a YAML mapping");
  const fs::path base = fs::absolute(file).parent_path();
  Config c;
  c.file = fs::absolute(file);

  check_keys(root, "", {"state", "hr", "policy", "directory", "targets", "admin", "log", "engine",
                        "safety", "executor", "notifications"});

  // state
  YAML::Node state = root["state"];
  check_keys(state, "state",
             {"path", "commit_max_events", "commit_max_bytes", "retention",
              "audit_anchor_interval", "audit_anchor_file"});
  std::string state_path = get<std::string>(state, "path", "state.path", "");
  if (state_path.empty()) fail("state.path", "is required (the SQLite state database)");
  c.state_path = resolve(base, state_path);
  // Everything queued behind an ingest commit waits for it: these bound how long that is.
  c.state.commit_max_events = get<std::size_t>(state, "commit_max_events",
                                               "state.commit_max_events", c.state.commit_max_events);
  if (c.state.commit_max_events < 1 || c.state.commit_max_events > 100000)
    fail("state.commit_max_events", "must be between 1 and 100000");
  c.state.commit_max_bytes = get<std::size_t>(state, "commit_max_bytes", "state.commit_max_bytes",
                                              c.state.commit_max_bytes);
  if (c.state.commit_max_bytes < (64u << 10) || c.state.commit_max_bytes > (256u << 20))
    fail("state.commit_max_bytes", "must be between 65536 and 268435456 bytes");
  c.state.audit_anchor_interval =
      parse_duration("state.audit_anchor_interval",
                     get<std::string>(state, "audit_anchor_interval",
                                      "state.audit_anchor_interval", "10m"));
  if (c.state.audit_anchor_interval.count() < 1)
    fail("state.audit_anchor_interval", "must be at least 1s");
  c.state.audit_anchor_file = resolve(
      base, get<std::string>(state, "audit_anchor_file", "state.audit_anchor_file", ""));
  // An anchor next to the database proves nothing: whoever rewrites one rewrites both.
  if (!c.state.audit_anchor_file.empty() &&
      c.state.audit_anchor_file.parent_path() == c.state_path.parent_path())
    fail("state.audit_anchor_file",
         "must not be in the state database's folder (" + c.state_path.parent_path().string() +
             "): an anchor is only worth something where the database's writers cannot reach");
  YAML::Node ret = state["retention"];
  check_keys(ret, "state.retention",
             {"days", "audit_days", "audit_export_file", "interval", "batch_rows"});
  auto& r = c.state.retention;
  r.days = get<int>(ret, "days", "state.retention.days", r.days);
  if (r.days < 0 || r.days > 36500)
    fail("state.retention.days", "must be between 0 (keep everything) and 36500");
  r.audit_days = get<int>(ret, "audit_days", "state.retention.audit_days", r.audit_days);
  if (r.audit_days < 0 || r.audit_days > 36500)
    fail("state.retention.audit_days", "must be between 0 (keep the audit) and 36500");
  r.audit_export_file = resolve(
      base, get<std::string>(ret, "audit_export_file", "state.retention.audit_export_file", ""));
  // The audit is evidence: it leaves the database only after it was written somewhere else.
  if (r.audit_days > 0 && r.audit_export_file.empty())
    fail("state.retention.audit_export_file",
         "is required when state.retention.audit_days is set (audit rows are exported before "
         "they are deleted)");
  if (r.audit_days == 0 && !r.audit_export_file.empty())
    fail("state.retention.audit_days",
         "must be set (> 0) for state.retention.audit_export_file to mean anything");
  if (ret["interval"].IsDefined())
    r.interval = parse_duration("state.retention.interval", ret["interval"].as<std::string>());
  if (r.interval.count() < 1) fail("state.retention.interval", "must be at least 1s");
  r.batch_rows = get<int>(ret, "batch_rows", "state.retention.batch_rows", r.batch_rows);
  if (r.batch_rows < 100 || r.batch_rows > 100000)
    fail("state.retention.batch_rows", "must be between 100 and 100000");

  // hr
  YAML::Node hr = root["hr"];
  check_keys(hr, "hr", {"webhook", "mapping_file", "sources"});
  YAML::Node wh = hr["webhook"];
  check_keys(wh, "hr.webhook", {"listen", "secret_file", "extra_secret_files", "tls", "tolerance_s",
                                "max_body_bytes", "request_timeout_ms", "inbox_high_water",
                                "max_connections", "max_connections_per_source",
                                "max_requests_per_connection"});
  c.webhook.listen = get<std::string>(wh, "listen", "hr.webhook.listen", c.webhook.listen);
  validate_listen("hr.webhook.listen", c.webhook.listen);
  std::string secret_file = get<std::string>(wh, "secret_file", "hr.webhook.secret_file", "");
  if (secrets.hr)
    c.webhook.secret = webhook_key(
        "hr.webhook.secret_file",
        read_secret("hr.webhook.secret_file", resolve(base, secret_file), "webhook.secret"));
  if (wh["extra_secret_files"].IsDefined()) {
    if (!wh["extra_secret_files"].IsSequence())
      fail("hr.webhook.extra_secret_files", "must be a list of files", wh["extra_secret_files"]);
    for (const auto& f : wh["extra_secret_files"])
      if (secrets.hr)
        c.webhook.extra_secrets.push_back(webhook_key(
          "hr.webhook.extra_secret_files",
          read_secret("hr.webhook.extra_secret_files", resolve(base, f.as<std::string>()), "")));
  }
  YAML::Node wtls = wh["tls"];
  check_keys(wtls, "hr.webhook.tls", {"cert_file", "key_file"});
  if (wtls.IsDefined()) {
    c.webhook.tls_cert_file =
        resolve(base, get<std::string>(wtls, "cert_file", "hr.webhook.tls.cert_file", ""))
            .string();
    c.webhook.tls_key_file =
        resolve(base, get<std::string>(wtls, "key_file", "hr.webhook.tls.key_file", ""))
            .string();
    if (c.webhook.tls_cert_file.empty() != c.webhook.tls_key_file.empty())
      fail("hr.webhook.tls", "cert_file and key_file must be given together", wtls);
  }
  // A wide window lets a captured request be replayed for that long; an hour covers any sane
  // clock skew or delivery queue.
  c.webhook.tolerance_s = get<int>(wh, "tolerance_s", "hr.webhook.tolerance_s", 300);
  if (c.webhook.tolerance_s <= 0 || c.webhook.tolerance_s > 3600)
    fail("hr.webhook.tolerance_s", "must be between 1 and 3600 seconds");
  c.webhook.max_body_bytes =
      get<std::size_t>(wh, "max_body_bytes", "hr.webhook.max_body_bytes", 1 << 20);
  if (c.webhook.max_body_bytes < 256) fail("hr.webhook.max_body_bytes", "must be >= 256");
  // Each connection may hold its slot this long between reads, so it bounds how long idle or
  // slow peers occupy the listener's connection caps.
  c.webhook.request_timeout_ms =
      get<int>(wh, "request_timeout_ms", "hr.webhook.request_timeout_ms", 10000);
  if (c.webhook.request_timeout_ms < 100 || c.webhook.request_timeout_ms > 60000)
    fail("hr.webhook.request_timeout_ms", "must be between 100 and 60000 ms");
  c.webhook.inbox_high_water =
      get<std::size_t>(wh, "inbox_high_water", "hr.webhook.inbox_high_water",
                            c.webhook.inbox_high_water);
  c.webhook.max_connections = get<int>(wh, "max_connections", "hr.webhook.max_connections",
                                       c.webhook.max_connections);
  if (c.webhook.max_connections < 1 || c.webhook.max_connections > 65536)
    fail("hr.webhook.max_connections", "must be between 1 and 65536");
  c.webhook.max_connections_per_source =
      get<int>(wh, "max_connections_per_source", "hr.webhook.max_connections_per_source",
               c.webhook.max_connections_per_source);
  if (c.webhook.max_connections_per_source < 1 ||
      c.webhook.max_connections_per_source > c.webhook.max_connections)
    fail("hr.webhook.max_connections_per_source",
         "must be between 1 and hr.webhook.max_connections");
  c.webhook.max_requests_per_connection =
      get<int>(wh, "max_requests_per_connection", "hr.webhook.max_requests_per_connection",
               c.webhook.max_requests_per_connection);
  if (c.webhook.max_requests_per_connection < 1)
    fail("hr.webhook.max_requests_per_connection", "must be at least 1");
  std::string mapping = get<std::string>(hr, "mapping_file", "hr.mapping_file", "");
  if (!mapping.empty()) {
    c.mapping_file = resolve(base, mapping);
    if (!fs::exists(c.mapping_file))
      fail("hr.mapping_file", "file not found: " + c.mapping_file.string());
  }

  // full-snapshot sources
  if (YAML::Node sources = hr["sources"]; sources.IsDefined() && !sources.IsNull()) {
    if (!sources.IsSequence()) fail("hr.sources", "must be a list", sources);
    std::set<std::string> names;
    for (size_t i = 0; i < sources.size(); ++i) {
      const YAML::Node n = sources[i];
      const std::string at = "hr.sources[" + std::to_string(i) + "]";
      check_keys(n, at, {"name", "type", "url", "token_file", "records_pointer", "path",
                         "interval", "missing_means_terminated", "ca_file",
                         "allow_plain_http"});
      SnapshotSourceConfig s;
      s.name = get<std::string>(n, "name", at + ".name", "");
      if (s.name.empty()) fail(at + ".name", "is required", n);
      if (!names.insert(s.name).second) fail(at + ".name", "duplicate source name '" + s.name + "'", n);
      s.type = get<std::string>(n, "type", at + ".type", "");
      if (s.type == "http") {
        s.url = get<std::string>(n, "url", at + ".url", "");
        if (s.url.rfind("http://", 0) != 0 && s.url.rfind("https://", 0) != 0)
          fail(at + ".url", "must be an http:// or https:// URL", n);
        std::string token_file = get<std::string>(n, "token_file", at + ".token_file", "");
        if (!token_file.empty() && secrets.hr)
          s.token = read_secret(at + ".token_file", resolve(base, token_file), s.name + ".token");
        // A bearer token over plain HTTP is readable by anyone on the path, and with it the
        // whole workforce's records.
        if (!token_file.empty() && s.url.rfind("http://", 0) == 0 &&
            !get<bool>(n, "allow_plain_http", at + ".allow_plain_http", false))
          fail(at + ".url",
               "sends the token_file's bearer token over plain http://; use https:// or set " +
                   at + ".allow_plain_http: true",
               n);
        s.ca_file = resolve(base, get<std::string>(n, "ca_file", at + ".ca_file", "")).string();
      } else if (s.type == "file") {
        s.path = resolve(base, get<std::string>(n, "path", at + ".path", ""));
        if (s.path.empty()) fail(at + ".path", "is required for a file source", n);
      } else {
        fail(at + ".type", "must be http or file", n);
      }
      s.records_pointer = get<std::string>(n, "records_pointer", at + ".records_pointer", "");
      if (n["interval"].IsDefined())
        s.interval = parse_duration(at + ".interval", n["interval"].as<std::string>());
      if (s.interval.count() < 1) fail(at + ".interval", "must be at least 1s");
      s.missing_means_terminated =
          get<bool>(n, "missing_means_terminated", at + ".missing_means_terminated", false);
      c.sources.push_back(std::move(s));
    }
  }

  // policy
  YAML::Node pol = root["policy"];
  check_keys(pol, "policy", {"path"});
  std::string ppath = get<std::string>(pol, "path", "policy.path", "");
  if (ppath.empty()) fail("policy.path", "is required (a policy file or a folder of *.yaml)");
  c.policy_path = resolve(base, ppath);
  if (!fs::exists(c.policy_path)) fail("policy.path", "not found: " + c.policy_path.string());

  // targets (or the one `directory:` of older configs, which is the target named `directory`)
  parse_targets(root, base, secrets, c);

  // admin, log, engine
  YAML::Node admin = root["admin"];
  check_keys(admin, "admin", {"listen", "tls", "socket", "socket_roles", "tokens_file",
                              "auth_failures_per_minute"});
  c.admin_listen = get<std::string>(admin, "listen", "admin.listen", c.admin_listen);
  validate_listen("admin.listen", c.admin_listen);
  parse_admin_access(admin, base, c);
  YAML::Node logn = root["log"];
  check_keys(logn, "log", {"level", "format"});
  c.log_level = get<std::string>(logn, "level", "log.level", c.log_level);
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error"};
  if (!levels.count(c.log_level)) fail("log.level", "must be one of trace, debug, info, warn, error");
  c.log_format = get<std::string>(logn, "format", "log.format", c.log_format);
  if (c.log_format != "json" && c.log_format != "text") fail("log.format", "must be json or text");
  YAML::Node engine = root["engine"];
  check_keys(engine, "engine", {"timezone"});
  c.timezone = get<std::string>(engine, "timezone", "engine.timezone", c.timezone);
  if (!TimeZone::load(c.timezone))
    fail("engine.timezone", "'" + c.timezone + "' is not a time zone in the system zone database " +
                                "(an IANA name such as Europe/Berlin; is tzdata installed?)",
         engine["timezone"]);
  for (auto& s : c.sources) s.timezone = c.timezone;

  // safety brake and executor
  YAML::Node safety = root["safety"];
  check_keys(safety, "safety", {"max_destructive", "max_destructive_percent", "window"});
  c.safety.max_destructive = get<int>(safety, "max_destructive", "safety.max_destructive",
                                      c.safety.max_destructive);
  c.safety.max_destructive_percent =
      get<double>(safety, "max_destructive_percent", "safety.max_destructive_percent",
                  c.safety.max_destructive_percent);
  if (safety["window"].IsDefined())
    c.safety.window = parse_duration("safety.window", safety["window"].as<std::string>());
  YAML::Node ex = root["executor"];
  check_keys(ex, "executor", {"retry_initial_ms", "retry_max_ms", "max_attempts", "batch_size",
                                   "connections"});
  c.executor.retry_initial_ms = get<int>(ex, "retry_initial_ms", "executor.retry_initial_ms", 500);
  c.executor.retry_max_ms = get<int>(ex, "retry_max_ms", "executor.retry_max_ms", 60000);
  c.executor.max_attempts = get<int>(ex, "max_attempts", "executor.max_attempts", 0);
  if (c.executor.retry_initial_ms <= 0 || c.executor.retry_max_ms < c.executor.retry_initial_ms)
    fail("executor.retry_max_ms", "must be >= executor.retry_initial_ms > 0");
  c.executor.batch_size = get<int>(ex, "batch_size", "executor.batch_size", c.executor.batch_size);
  if (c.executor.batch_size < 1 || c.executor.batch_size > 10000)
    fail("executor.batch_size", "must be between 1 and 10000");
  c.executor.connections =
      get<int>(ex, "connections", "executor.connections", c.executor.connections);
  if (c.executor.connections < 1 || c.executor.connections > 16)
    fail("executor.connections", "must be between 1 and 16");
  parse_notifications(root["notifications"], base, secrets.hr, c.notifications);
  return c;
}

}  // namespace prov
