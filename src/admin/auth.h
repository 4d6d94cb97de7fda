#pragma once
// Who is asking the admin API: a bearer token on the TCP listener, the peer's user on the local
// socket, or a console session (a cookie made from a token by POST /v1/session, whose every
// state change must carry the session's CSRF token). Failed authentications are counted per
// source, and a source over admin.auth_failures_per_minute is refused (429) for the rest of
// that minute, whatever it sends.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <variant>

#include "prov/admin_identity.h"
#include "prov/config.h"
#include "prov/http.h"

namespace prov {

class AdminAuth {
 public:
  // `daemon_uid`: the daemon's own user, admin on the socket unless admin.socket_roles says
  // otherwise (as root is).
  AdminAuth(const AdminConfig& config, uid_t daemon_uid);

  // The caller, or the answer to send instead: 401 (no or unknown token or session;
  // WWW-Authenticate set), 403 (a socket user without a role; a console state change without
  // its CSRF token), 429 (too many failures from this source; Retry-After).
  std::variant<Identity, HttpResponse> authenticate(const HttpRequest& request);

  // POST /v1/session with {"token": "pvd_…"}: 200 with the identity and the session's CSRF
  // token, and the session cookie (HttpOnly, SameSite=Strict, Secure over TLS); or the refusal.
  HttpResponse login(const HttpRequest& request);
  // GET /v1/session: the cookie's session again (the console reloaded); POST
  // /v1/session/logout ends it. Both after authenticate().
  HttpResponse session_info(const HttpRequest& request);
  HttpResponse logout(const HttpRequest& request);

 private:
  using Steady = std::chrono::steady_clock;
  struct Session {
    Identity who;
    std::string token_sha256;  // the session ends when its token is revoked
    std::string csrf;
    Steady::time_point expires;
  };

  std::variant<Identity, HttpResponse> by_socket_peer(const HttpRequest& request);
  std::variant<Identity, HttpResponse> by_token(const std::string& source,
                                                std::string_view presented);
  std::variant<Identity, HttpResponse> by_session(const HttpRequest& request,
                                                  const std::string& id);
  // Counts a failure from `source`; the answer is `refusal`, or 429 once over the limit.
  HttpResponse failed(const std::string& source, HttpResponse refusal);
  std::optional<HttpResponse> locked_out(const std::string& source);
  std::string cookie(const std::string& value, int max_age_s) const;

  AdminConfig config_;
  uid_t daemon_uid_;
  ApiTokenCheck tokens_;
  struct Failures {
    Steady::time_point window_start;
    int count = 0;
  };
  std::mutex mu_;
  std::map<std::string, Failures> failures_;  // by source address
  std::map<std::string, Session> sessions_;   // by session id (the cookie's value)
};

}  // namespace prov
