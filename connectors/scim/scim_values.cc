#include "scim/scim_values.h"

#include <ctime>
#include <iomanip>
#include <optional>
#include <sstream>

namespace prov::scim {
namespace {

// Where one known SCIM name lives in a User: a core attribute, a sub-attribute of a complex
// one, the `work` entry of a multi-valued one, or an enterprise extension attribute.
struct Place {
  enum class Kind { Core, Sub, Work, Enterprise } kind;
  std::string outer, inner;
};

Place place_of(const std::string& scim) {
  if (scim.starts_with("enterprise.")) return {Place::Kind::Enterprise, scim.substr(11), {}};
  const auto dot = scim.find('.');
  if (dot == std::string::npos) return {Place::Kind::Core, scim, {}};
  if (scim.substr(dot + 1) == "work") return {Place::Kind::Work, scim.substr(0, dot), {}};
  return {Place::Kind::Sub, scim.substr(0, dot), scim.substr(dot + 1)};
}

Json work_entry(const std::string& value) {
  return Json::array({{{"value", value}, {"type", "work"}, {"primary", true}}});
}

void put(Json& user, const Place& p, const std::string& value) {
  switch (p.kind) {
    case Place::Kind::Core:
      user[p.outer] = value;
      break;
    case Place::Kind::Sub:
      user[p.outer][p.inner] = value;
      break;
    case Place::Kind::Work:
      user[p.outer] = work_entry(value);
      break;
    case Place::Kind::Enterprise:
      // manager is complex: its value is the manager's resource id.
      if (p.outer == "manager") {
        user[kEnterpriseSchema]["manager"] = {{"value", value}};
      } else {
        user[kEnterpriseSchema][p.outer] = value;
      }
      break;
  }
}

std::optional<std::string> string_in(const Json& j, const std::string& name) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::string> get(const Json& user, const Place& p) {
  switch (p.kind) {
    case Place::Kind::Core:
      return string_in(user, p.outer);
    case Place::Kind::Sub:
      return user.contains(p.outer) ? string_in(user[p.outer], p.inner) : std::nullopt;
    case Place::Kind::Work: {
      auto it = user.find(p.outer);
      if (it == user.end() || !it->is_array()) return std::nullopt;
      for (const auto& e : *it)
        if (string_in(e, "type") == "work") return string_in(e, "value");
      return std::nullopt;
    }
    case Place::Kind::Enterprise: {
      auto it = user.find(kEnterpriseSchema);
      if (it == user.end()) return std::nullopt;
      if (p.outer == "manager")
        return it->contains("manager") ? string_in((*it)["manager"], "value") : std::nullopt;
      return string_in(*it, p.outer);
    }
  }
  return std::nullopt;
}

// The PatchOp path of a place (RFC 7644 §3.5.2): extension attributes by their schema URN.
std::string path_of(const Place& p, bool removing) {
  switch (p.kind) {
    case Place::Kind::Core:
      return p.outer;
    case Place::Kind::Sub:
      return p.outer + "." + p.inner;
    case Place::Kind::Work:
      return removing ? p.outer + "[type eq \"work\"]" : p.outer;
    case Place::Kind::Enterprise:
      return std::string(kEnterpriseSchema) + ":" + p.outer;
  }
  return p.outer;
}

Json patch_message(Json operations) {
  return {{"schemas", Json::array({kPatchOpSchema})}, {"Operations", std::move(operations)}};
}

}  // namespace

std::string filter_literal(std::string_view value) {
  // nlohmann's dump() writes exactly a JSON string: \" \\ and \u00XX for control characters.
  return Json(std::string(value)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string eq_filter_query(std::string_view attribute, std::string_view value) {
  return "filter=" + percent_encode(std::string(attribute) + " eq " + filter_literal(value));
}

std::string lookup_filter_query(std::string_view attribute, std::string_view value) {
  const auto special = value.find_first_of("\"\\");
  if (special == std::string_view::npos) return eq_filter_query(attribute, value);
  if (special == 0) return "filter=" + percent_encode(std::string(attribute) + " pr");
  return "filter=" +
         percent_encode(std::string(attribute) + " sw " + filter_literal(value.substr(0, special)));
}

Json user_resource(const std::string& username, const std::string& worker_id, bool active,
                   const std::map<std::string, std::string>& attributes,
                   const std::vector<AttributeMapping>& mappings) {
  Json user = {{"schemas", Json::array({kUserSchema, kEnterpriseSchema})},
               {"userName", username},
               {"externalId", worker_id},
               {"active", active}};
  for (const auto& m : mappings) {
    auto it = attributes.find(m.attribute);
    if (it != attributes.end() && !it->second.empty()) put(user, place_of(m.scim), it->second);
  }
  if (user.contains(kEnterpriseSchema) && user[kEnterpriseSchema].empty())
    user.erase(kEnterpriseSchema);
  return user;
}

Json patch_attributes(const std::map<std::string, std::string>& changed,
                      const std::vector<AttributeMapping>& mappings) {
  Json ops = Json::array();
  for (const auto& m : mappings) {
    auto it = changed.find(m.attribute);
    if (it == changed.end()) continue;
    const Place p = place_of(m.scim);
    if (it->second.empty()) {
      ops.push_back({{"op", "remove"}, {"path", path_of(p, true)}});
      continue;
    }
    Json holder = Json::object();
    put(holder, p, it->second);
    // The value at the path: the leaf for a sub-attribute, else what put() wrote there.
    Json value = p.kind == Place::Kind::Sub          ? holder[p.outer][p.inner]
                 : p.kind == Place::Kind::Enterprise ? holder[kEnterpriseSchema][p.outer]
                                                     : holder[p.outer];
    ops.push_back({{"op", "replace"}, {"path", path_of(p, false)}, {"value", value}});
  }
  return patch_message(std::move(ops));
}

Json patch_active(bool active) {
  return patch_message(Json::array({{{"op", "replace"}, {"path", "active"}, {"value", active}}}));
}

Json patch_members(bool add, const std::string& user_id) {
  return patch_members(add, std::vector<std::string>{user_id});
}

Json patch_members(bool add, const std::vector<std::string>& user_ids) {
  Json ops = Json::array();
  if (add) {
    Json values = Json::array();
    for (const auto& id : user_ids) values.push_back({{"value", id}});
    ops.push_back({{"op", "add"}, {"path", "members"}, {"value", std::move(values)}});
  } else {
    for (const auto& id : user_ids)
      ops.push_back({{"op", "remove"}, {"path", "members[value eq " + filter_literal(id) + "]"}});
  }
  return patch_message(std::move(ops));
}

Account account_from(const Json& user, const std::vector<AttributeMapping>& mappings) {
  Account a;
  a.anchor = string_in(user, "id").value_or("");
  a.dn = a.anchor;
  a.worker_id = string_in(user, "externalId").value_or("");
  a.username = string_in(user, "userName").value_or("");
  auto active = user.find("active");
  a.enabled = active == user.end() || !active->is_boolean() || active->get<bool>();
  for (const auto& m : mappings)
    if (auto v = get(user, place_of(m.scim))) a.attributes[m.attribute] = *v;
  if (auto g = user.find("groups"); g != user.end() && g->is_array())
    for (const auto& e : *g)
      if (auto name = string_in(e, "display")) a.groups.insert(*name);
  return a;
}

std::chrono::milliseconds retry_after(const std::string& header,
                                      std::chrono::system_clock::time_point now) {
  if (header.empty()) return std::chrono::milliseconds(0);
  if (header.find_first_not_of("0123456789") == std::string::npos && header.size() < 10)
    return std::chrono::seconds(std::stoll(header));
  std::tm tm{};
  std::istringstream in(header);
  in.imbue(std::locale::classic());
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return std::chrono::milliseconds(0);
  const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
  return at > now ? std::chrono::duration_cast<std::chrono::milliseconds>(at - now)
                  : std::chrono::milliseconds(0);
}

Outcome outcome_of(const HttpReply& reply, const std::string& what) {
  const int s = reply.status;
  if (s >= 200 && s < 300) return Outcome::ok();
  std::string scim_type, detail;
  try {
    const Json body = Json::parse(reply.body);
    scim_type = string_in(body, "scimType").value_or("");
    detail = string_in(body, "detail").value_or("");
  } catch (const Json::exception&) {
    // Not a SCIM error body (a proxy's page): the status alone decides.
  }
  const std::string message = what + ": HTTP " + std::to_string(s) +
                              (scim_type.empty() ? "" : " " + scim_type) +
                              (detail.empty() ? "" : ": " + detail);
  if (s == 429 || s == 503) {
    Outcome o = Outcome::retryable("scim:" + std::to_string(s), message);
    o.retry_after = retry_after(reply.header("retry-after"), std::chrono::system_clock::now());
    return o;
  }
  if (s == 500 || s == 502 || s == 504 || s == 412 || s == 401)
    return Outcome::retryable("scim:" + std::to_string(s), message);
  if (s == 409 && scim_type == "uniqueness") return Outcome::permanent("scim:uniqueness", message);
  if (s == 400 && scim_type == "invalidValue")
    return Outcome::permanent("scim:invalidValue", message);
  return Outcome::permanent("scim:" + std::to_string(s), message);
}

}  // namespace prov::scim
