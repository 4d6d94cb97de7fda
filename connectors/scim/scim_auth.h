#pragma once
// Where the SCIM connector's bearer token comes from: a fixed token read from a file, or an
// OAuth 2.0 client credentials grant (RFC 6749 §4.4) that is asked again shortly before the
// token it gave expires, and at once after the service refused it.
#include <chrono>
#include <memory>
#include <string>

#include "prov/result.h"
#include "scim/http_client.h"

namespace prov::scim {

struct OAuthOptions {
  std::string token_url;  // https://…/oauth/token
  std::string client_id;
  std::string client_secret;  // from client_secret_file; never logged
  std::string scope;          // optional
  HttpClientOptions http;     // TLS settings of the token endpoint (the target's own)
};

class Credentials {
 public:
  static std::unique_ptr<Credentials> fixed(std::string token);
  static std::unique_ptr<Credentials> client_credentials(OAuthOptions options);
  virtual ~Credentials() = default;

  // The token to send now. Errors: the token endpoint could not be reached (retryable) or
  // refused the client (not retryable).
  virtual Result<std::string> bearer() = 0;
  // The service refused the token: the next bearer() gets a new one (a fixed token stays).
  virtual void refused() = 0;
};

}  // namespace prov::scim
