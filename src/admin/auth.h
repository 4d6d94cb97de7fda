#pragma once
// Who is asking the admin API: a bearer token on the TCP listener, the peer's user on the local
// socket. Failed authentications are counted per source, and a source over
// admin.auth_failures_per_minute is refused (429) for the rest of that minute, whatever it sends.
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

  // The caller, or the answer to send instead: 401 (no or unknown token; WWW-Authenticate set),
  // 403 (a socket user without a role), 429 (too many failures from this source; Retry-After).
  std::variant<Identity, HttpResponse> authenticate(const HttpRequest& request);

 private:
  std::variant<Identity, HttpResponse> by_socket_peer(const HttpRequest& request);
  std::variant<Identity, HttpResponse> by_token(const HttpRequest& request);
  // Counts a failure from `source`; the answer is `refusal`, or 429 once over the limit.
  HttpResponse failed(const std::string& source, HttpResponse refusal);
  std::optional<HttpResponse> locked_out(const std::string& source);

  AdminConfig config_;
  uid_t daemon_uid_;
  ApiTokenCheck tokens_;
  using Steady = std::chrono::steady_clock;
  struct Failures {
    Steady::time_point window_start;
    int count = 0;
  };
  std::mutex mu_;
  std::map<std::string, Failures> failures_;  // by source address
};

}  // namespace prov
