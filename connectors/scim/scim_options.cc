#include "scim/scim_options.h"

#include <algorithm>
#include <filesystem>

namespace prov::scim {
namespace {

[[noreturn]] void fail(const std::string& key, const std::string& problem) {
  throw ConfigError(key + ": " + problem);
}

std::string list_of(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void check_keys(const nlohmann::json& map, const std::string& key,
                const std::vector<std::string>& known) {
  if (!map.is_object()) fail(key, "must be a mapping");
  for (const auto& [k, v] : map.items())
    if (std::find(known.begin(), known.end(), k) == known.end())
      fail(key + "." + k, "unknown key (known here: " + list_of(known) + ")");
}

std::string string_at(const nlohmann::json& map, const std::string& name, const std::string& key,
                      std::string fallback = {}) {
  auto it = map.find(name);
  if (it == map.end() || it->is_null()) return fallback;
  if (!it->is_string()) fail(key + "." + name, "must be a string");
  return it->get<std::string>();
}

int int_at(const nlohmann::json& map, const std::string& name, const std::string& key, int fallback,
           int min, int max) {
  auto it = map.find(name);
  if (it == map.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) fail(key + "." + name, "must be a whole number");
  const auto v = it->get<long long>();
  if (v < min || v > max)
    fail(key + "." + name,
         "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return static_cast<int>(v);
}

std::filesystem::path resolve(const DirectoryConfig& t, const std::string& p) {
  if (p.empty()) return {};
  std::filesystem::path path(p);
  return path.is_absolute() ? path : (t.config_dir / path).lexically_normal();
}

}  // namespace

const std::vector<std::string>& known_attributes() {
  static const std::vector<std::string> names{"displayName",
                                              "nickName",
                                              "title",
                                              "userType",
                                              "preferredLanguage",
                                              "locale",
                                              "timezone",
                                              "profileUrl",
                                              "name.givenName",
                                              "name.familyName",
                                              "name.middleName",
                                              "name.formatted",
                                              "emails.work",
                                              "phoneNumbers.work",
                                              "enterprise.employeeNumber",
                                              "enterprise.costCenter",
                                              "enterprise.organization",
                                              "enterprise.division",
                                              "enterprise.department",
                                              "enterprise.manager"};
  return names;
}

std::vector<AttributeMapping> default_attributes() {
  return {{"name.givenName", "givenName"},
          {"name.familyName", "sn"},
          {"displayName", "displayName"},
          {"title", "title"},
          {"emails.work", "mail"},
          {"enterprise.employeeNumber", "employeeNumber"},
          {"enterprise.department", "department"},
          {"enterprise.costCenter", "costCenter"},
          {"enterprise.manager", "manager"}};
}

ScimOptions parse_options(const DirectoryConfig& t) {
  const std::string& key = t.key;
  const nlohmann::json& o = t.options;
  check_keys(o, key,
             {"url", "token_file", "oauth", "tls", "timeout_ms", "page_size", "attributes"});
  ScimOptions s;
  s.http.url = string_at(o, "url", key);
  if (s.http.url.empty()) fail(key + ".url", "is required (https://host/scim/v2)");
  if (!s.http.url.starts_with("https://") && !s.http.url.starts_with("http://"))
    fail(key + ".url", "must start with https:// (or http://), got '" + s.http.url + "'");
  if (s.http.url.find_first_of("?#") != std::string::npos)
    fail(key + ".url", "must be the service's base URL, without a query or fragment");
  if (auto it = o.find("tls"); it != o.end() && !it->is_null()) {
    check_keys(*it, key + ".tls", {"ca_file", "verify"});
    s.http.ca_file = resolve(t, string_at(*it, "ca_file", key + ".tls")).string();
    if (!s.http.ca_file.empty() && !std::filesystem::exists(s.http.ca_file))
      fail(key + ".tls.ca_file", "file not found: " + s.http.ca_file);
    if (auto v = it->find("verify"); v != it->end() && !v->is_null()) {
      if (!v->is_boolean()) fail(key + ".tls.verify", "must be true or false");
      s.http.verify = v->get<bool>();
    }
  }
  s.http.timeout = std::chrono::milliseconds(int_at(o, "timeout_ms", key, 10000, 100, 600000));
  s.page_size = int_at(o, "page_size", key, 100, 1, 1000);
  const std::string token_file = string_at(o, "token_file", key);
  if (auto it = o.find("oauth"); it != o.end() && !it->is_null()) {
    if (!token_file.empty())
      fail(key + ".oauth", "and " + key + ".token_file exclude each other: choose one");
    const std::string at = key + ".oauth";
    check_keys(*it, at, {"token_url", "client_id", "client_secret_file", "scope"});
    OAuthOptions oauth;
    oauth.token_url = string_at(*it, "token_url", at);
    if (!oauth.token_url.starts_with("https://") && !oauth.token_url.starts_with("http://"))
      fail(at + ".token_url", "is required and must start with https://");
    oauth.client_id = string_at(*it, "client_id", at);
    if (oauth.client_id.empty()) fail(at + ".client_id", "is required");
    oauth.scope = string_at(*it, "scope", at);
    if (t.read_secrets)
      oauth.client_secret = read_secret(at + ".client_secret_file",
                                        resolve(t, string_at(*it, "client_secret_file", at)),
                                        "oauth-" + t.name + ".secret");
    oauth.http = s.http;  // the same trust anchors and timeout as the service
    s.oauth = std::move(oauth);
  } else if (t.read_secrets) {
    s.token =
        read_secret(key + ".token_file", resolve(t, token_file), "token-" + t.name + ".secret");
  }
  if (auto it = o.find("attributes"); it != o.end() && !it->is_null()) {
    if (!it->is_object() || it->empty())
      fail(key + ".attributes", "must map SCIM attributes to account attributes");
    for (const auto& [scim, attr] : it->items()) {
      const auto& known = known_attributes();
      if (std::find(known.begin(), known.end(), scim) == known.end())
        fail(key + ".attributes." + scim,
             "not a SCIM attribute provisiond writes (known: " + list_of(known) + ")");
      if (!attr.is_string() || attr.get<std::string>().empty())
        fail(key + ".attributes." + scim, "must name an account attribute");
      s.attributes.push_back({scim, attr.get<std::string>()});
    }
  } else {
    s.attributes = default_attributes();
  }
  return s;
}

}  // namespace prov::scim
