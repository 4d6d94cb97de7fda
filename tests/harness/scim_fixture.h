#pragma once
// A real SCIM 2.0 service for tests: tests/harness/scim/server.mjs (SCIMMY with in-memory
// Users and Groups), started with node on 127.0.0.1 on a port it picks itself, with a bearer
// token of its own, optionally over TLS with a certificate made for it. Stopped (and its folder
// removed) when the ScimServer object dies.
//
//   auto app = prov::testing::ScimServer::start();
//   auto connector = make_scim_connector(app->target_config("app"));
//
// The test's own view of the app goes through curl, not through the connector under test.
// Start-up failures throw std::runtime_error with the server's output.
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "prov/config.h"
#include "prov/model.h"

namespace prov::testing {

struct ScimServerOptions {
  bool tls = false;       // https with a self-signed certificate (ca_file() trusts it)
  int keep_alive_ms = 0;  // > 0: idle connections are closed after this long (node: 5000)
  // An OAuth 2.0 token endpoint (client credentials) at oauth_token_url(), for the client
  // "provisiond" whose secret is in oauth_secret_file().
  bool oauth = false;
};

struct ScimReply {
  int status = 0;  // 0: no answer at all
  Json body;       // parsed JSON, null when the body was not JSON
};

class ScimServer {
 public:
  static std::unique_ptr<ScimServer> start(const ScimServerOptions& options = {});
  ~ScimServer();
  ScimServer(const ScimServer&) = delete;
  ScimServer& operator=(const ScimServer&) = delete;

  std::string url() const;  // http(s)://127.0.0.1:PORT/scim/v2
  const std::string& token() const { return token_; }
  const std::string& token_file() const { return token_file_; }
  const std::string& ca_file() const { return ca_file_; }  // "" without TLS
  std::string oauth_token_url() const;
  const std::string& oauth_secret_file() const { return oauth_secret_file_; }
  // Every token the OAuth endpoint gave is refused from now on (as when they expire).
  void expire_oauth_tokens();
  const std::string& dir() const { return dir_; }

  // A `type: scim` target for this server, as load_config() would produce it (with oauth: its
  // oauth keys instead of token_file).
  DirectoryConfig target_config(const std::string& name = "app") const;
  // The same as an item of a config's `targets:` list (absolute paths).
  std::string target_yaml(const std::string& name) const;

  // The next `count` SCIM requests (0: all until clear_failures) are answered `status` with
  // Retry-After: retry_after_s.
  void fail_requests(int status, int retry_after_s, int count = 0);
  void clear_failures();
  // SCIM requests must carry `token` from now on (the token file is left as it is).
  void accept_token(const std::string& token);
  // {"requests": n, "refused": n, "users": n, "groups": n, "connections": n (open now, the
  // asking one included), "readBytes": n (the bytes of every answer to a GET)}
  Json stats() const;

  // A request with the server's token (path below url()), marked as the test's own look: the
  // switches above never refuse it and stats() does not count it.
  ScimReply request(const std::string& method, const std::string& path,
                    const Json& body = nullptr) const;
  std::optional<Json> user_by_external_id(const std::string& worker_id) const;
  // displayNames of the groups that list `user_id` as a member.
  std::set<std::string> groups_of(const std::string& user_id) const;

  void stop();

 private:
  ScimServer() = default;
  ScimReply call(const std::string& method, const std::string& url, const Json& body) const;
  std::string base() const;  // http(s)://127.0.0.1:PORT

  std::string dir_, token_, token_file_, ca_file_, oauth_secret_file_;
  int port_ = 0;
  int pid_ = 0;
  bool tls_ = false;
};

}  // namespace prov::testing
