#include "admin/auth.h"

#include "prov/crypto.h"
#include "prov/log.h"
#include "prov/model.h"

namespace prov {
namespace {

constexpr auto kWindow = std::chrono::minutes(1);
constexpr auto kSessionLifetime = std::chrono::hours(8);
constexpr std::size_t kMaxSessions = 10000;
constexpr std::string_view kBearer = "Bearer ";
constexpr std::string_view kCookieName = "prov_session";

HttpResponse unauthorized(const std::string& detail) {
  HttpResponse r = problem(401, "Unauthorized", detail, "authorization");
  r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="provisiond")");
  return r;
}

// The value of cookie `name` in a Cookie header ("a=1; prov_session=…"), "" when absent.
std::string cookie_value(const std::string& header, std::string_view name) {
  std::string_view rest = header;
  while (!rest.empty()) {
    const auto semi = rest.find(';');
    std::string_view pair = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
  }
  return {};
}

}  // namespace

AdminAuth::AdminAuth(const AdminConfig& config, uid_t daemon_uid)
    : config_(config), daemon_uid_(daemon_uid), tokens_(config.tokens_file) {}

std::variant<Identity, HttpResponse> AdminAuth::authenticate(const HttpRequest& request) {
  if (request.peer_uid >= 0) return by_socket_peer(request);
  if (auto refusal = locked_out(request.peer)) return *refusal;
  const std::string header = request.header("authorization");
  if (!header.empty()) {
    if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0)
      return failed(request.peer, unauthorized("the Authorization header is not a Bearer token"));
    return by_token(request.peer, std::string_view(header).substr(kBearer.size()));
  }
  if (auto id = cookie_value(request.header("cookie"), kCookieName); !id.empty())
    return by_session(request, id);
  return unauthorized("send Authorization: Bearer <token> (provisionctl token new)");
}

std::variant<Identity, HttpResponse> AdminAuth::by_socket_peer(const HttpRequest& request) {
  const auto uid = static_cast<uid_t>(request.peer_uid);
  const std::string name = user_name(uid);
  Identity who{"uid:" + name, Role::Viewer};
  if (auto it = config_.socket_roles.find(name); it != config_.socket_roles.end()) {
    who.role = *parse_role(it->second);  // validated when the config was loaded
    return who;
  }
  if (uid == 0 || uid == daemon_uid_) {
    who.role = Role::Admin;
    return who;
  }
  log::warn("admin socket: user without a role refused", {{"user", name}});
  return problem(403, "Forbidden",
                 "user " + name + " has no role on the admin socket (admin.socket_roles)");
}

std::variant<Identity, HttpResponse> AdminAuth::by_token(const std::string& source,
                                                         std::string_view presented) {
  const auto token = tokens_.find(presented);
  // The token itself never reaches a log line; where it came from does.
  if (!token) {
    log::warn("admin API: unknown token refused", {{"source", source}});
    return failed(source, unauthorized("unknown or revoked token"));
  }
  return Identity{"token:" + token->name, token->role};
}

std::variant<Identity, HttpResponse> AdminAuth::by_session(const HttpRequest& request,
                                                           const std::string& id) {
  Session session;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second.expires <= Steady::now()) {
      if (it != sessions_.end()) sessions_.erase(it);
      it = sessions_.end();
    } else {
      session = it->second;
    }
    if (it == sessions_.end()) {
      HttpResponse r = unauthorized("the console session ended; log in again");
      r.headers.emplace_back("Set-Cookie", cookie("", 0));
      return r;
    }
  }
  if (!tokens_.find_hash(session.token_sha256)) {
    std::lock_guard lock(mu_);
    sessions_.erase(id);
    return unauthorized("the session's token was revoked");
  }
  // A cookie rides along with any request the browser sends, whoever made it send it: a state
  // change must also prove it comes from the console's own page.
  if (request.method != "GET" &&
      !constant_time_equal(request.header("x-csrf-token"), session.csrf))
    return problem(403, "Forbidden", "the CSRF token is missing or wrong (X-CSRF-Token)",
                   "x-csrf-token");
  return session.who;
}

HttpResponse AdminAuth::login(const HttpRequest& request) {
  if (auto refusal = locked_out(request.peer)) return *refusal;
  std::string presented;
  try {
    const Json body = Json::parse(request.body);
    presented = body.at("token").get<std::string>();
  } catch (const Json::exception&) {
    return problem(400, "Bad Request", "send {\"token\": \"pvd_…\"}", "token");
  }
  auto who = by_token(request.peer, presented);
  if (auto* refusal = std::get_if<HttpResponse>(&who)) return std::move(*refusal);
  Session s{std::get<Identity>(who), sha256_hex(presented), random_hex(32),
            Steady::now() + kSessionLifetime};
  const std::string id = random_hex(32);
  {
    std::lock_guard lock(mu_);
    const auto now = Steady::now();
    std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires <= now; });
    if (sessions_.size() >= kMaxSessions)
      return problem(503, "Service Unavailable", "too many console sessions; try later");
    sessions_[id] = s;
  }
  log::info("admin console: session opened", {{"actor", s.who.name}, {"source", request.peer}});
  HttpResponse r;
  r.body = Json{{"identity", s.who.name}, {"role", to_string(s.who.role)}, {"csrf", s.csrf}}.dump();
  r.headers.emplace_back("Set-Cookie", cookie(id, static_cast<int>(std::chrono::seconds(
                                                      kSessionLifetime).count())));
  return r;
}

HttpResponse AdminAuth::session_info(const HttpRequest& request) {
  const std::string id = cookie_value(request.header("cookie"), kCookieName);
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (id.empty() || it == sessions_.end())
    return problem(404, "Not Found", "no console session (authenticated otherwise)");
  HttpResponse r;
  r.body = Json{{"identity", it->second.who.name},
                {"role", to_string(it->second.who.role)},
                {"csrf", it->second.csrf}}
               .dump();
  return r;
}

HttpResponse AdminAuth::logout(const HttpRequest& request) {
  const std::string id = cookie_value(request.header("cookie"), kCookieName);
  {
    std::lock_guard lock(mu_);
    sessions_.erase(id);
  }
  HttpResponse r;
  r.body = R"({"status":"logged out"})";
  r.headers.emplace_back("Set-Cookie", cookie("", 0));
  return r;
}

std::string AdminAuth::cookie(const std::string& value, int max_age_s) const {
  std::string c = std::string(kCookieName) + "=" + value +
                  "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s);
  if (!config_.tls_cert_file.empty()) c += "; Secure";
  return c;
}

std::optional<HttpResponse> AdminAuth::locked_out(const std::string& source) {
  std::lock_guard lock(mu_);
  const auto now = Steady::now();
  auto it = failures_.find(source);
  if (it == failures_.end()) return std::nullopt;
  const auto left = it->second.window_start + kWindow - now;
  if (left <= Steady::duration::zero()) {
    failures_.erase(it);
    return std::nullopt;
  }
  if (it->second.count < config_.auth_failures_per_minute) return std::nullopt;
  HttpResponse r = problem(429, "Too Many Requests",
                           "too many failed authentications from " + source + "; wait");
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(left).count();
  r.headers.emplace_back("Retry-After", std::to_string(std::max<long long>(1, seconds)));
  return r;
}

HttpResponse AdminAuth::failed(const std::string& source, HttpResponse refusal) {
  std::lock_guard lock(mu_);
  const auto now = Steady::now();
  // Forget finished windows, so a scan from many addresses cannot grow the map for ever.
  if (failures_.size() > 10000)
    std::erase_if(failures_,
                  [&](const auto& kv) { return kv.second.window_start + kWindow <= now; });
  auto& f = failures_[source];
  if (f.count == 0 || f.window_start + kWindow <= now) f = Failures{now, 0};
  ++f.count;
  return refusal;
}

}  // namespace prov
