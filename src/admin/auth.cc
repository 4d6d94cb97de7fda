#include "admin/auth.h"

#include "prov/log.h"

namespace prov {
namespace {

constexpr auto kWindow = std::chrono::minutes(1);
constexpr std::string_view kBearer = "Bearer ";

HttpResponse unauthorized(const std::string& detail) {
  HttpResponse r = problem(401, "Unauthorized", detail, "authorization");
  r.headers.emplace_back("WWW-Authenticate", R"(Bearer realm="provisiond")");
  return r;
}

}  // namespace

AdminAuth::AdminAuth(const AdminConfig& config, uid_t daemon_uid)
    : config_(config), daemon_uid_(daemon_uid), tokens_(config.tokens_file) {}

std::variant<Identity, HttpResponse> AdminAuth::authenticate(const HttpRequest& request) {
  if (request.peer_uid >= 0) return by_socket_peer(request);
  return by_token(request);
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

std::variant<Identity, HttpResponse> AdminAuth::by_token(const HttpRequest& request) {
  const std::string& source = request.peer;
  if (auto refusal = locked_out(source)) return *refusal;
  const std::string header = request.header("authorization");
  if (header.empty())
    return unauthorized("send Authorization: Bearer <token> (provisionctl token new)");
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0)
    return failed(source, unauthorized("the Authorization header is not a Bearer token"));
  const auto token = tokens_.find(std::string_view(header).substr(kBearer.size()));
  // The token itself never reaches a log line; where it came from does.
  if (!token) {
    log::warn("admin API: unknown token refused", {{"source", source}});
    return failed(source, unauthorized("unknown or revoked token"));
  }
  return Identity{"token:" + token->name, token->role};
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
  {
    std::lock_guard lock(mu_);
    const auto now = Steady::now();
    // Forget finished windows, so a scan from many addresses cannot grow the map for ever.
    if (failures_.size() > 10000)
      std::erase_if(failures_, [&](const auto& kv) { return kv.second.window_start + kWindow <= now; });
    auto& f = failures_[source];
    if (f.count == 0 || f.window_start + kWindow <= now) f = Failures{now, 0};
    ++f.count;
  }
  return refusal;
}

}  // namespace prov
