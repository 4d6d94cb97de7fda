#include "scim/scim_auth.h"

#include <nlohmann/json.hpp>

#include "prov/crypto.h"
#include "scim/scim_values.h"

namespace prov::scim {
namespace {

class FixedToken final : public Credentials {
 public:
  explicit FixedToken(std::string token) : token_(std::move(token)) {}
  Result<std::string> bearer() override { return token_; }
  void refused() override {}

 private:
  std::string token_;
};

class ClientCredentials final : public Credentials {
 public:
  explicit ClientCredentials(OAuthOptions options) : options_(std::move(options)) {}

  Result<std::string> bearer() override {
    const auto now = std::chrono::steady_clock::now();
    if (!token_.empty() && now < renew_at_) return token_;
    if (!client_) {
      HttpClientOptions http = options_.http;
      http.url = options_.token_url;
      auto made = HttpClient::create(http);
      if (!made.ok()) return made.error();
      client_ = std::move(made.value());
    }
    // RFC 6749 §2.3.1: client id and secret form-encoded, then as HTTP Basic credentials.
    const std::string basic = base64_encode(percent_encode(options_.client_id) + ":" +
                                            percent_encode(options_.client_secret));
    HttpCall call{"POST",
                  "",
                  {{"Authorization", "Basic " + basic},
                   {"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}},
                  "grant_type=client_credentials" +
                      (options_.scope.empty() ? "" : "&scope=" + percent_encode(options_.scope))};
    auto reply = client_->send(call);
    if (!reply.ok())
      return Error{"OAuth token endpoint: " + reply.error().message, reply.error().retryable};
    nlohmann::json body = nlohmann::json::parse(reply->body, nullptr, false);
    if (reply->status != 200) {
      const std::string why = body.is_object() ? body.value("error", "") : std::string();
      const bool retry = reply->status == 429 || reply->status >= 500;
      return Error{"OAuth token endpoint refused the client credentials grant: HTTP " +
                       std::to_string(reply->status) + (why.empty() ? "" : " " + why),
                   retry};
    }
    if (!body.is_object() || !body.contains("access_token") || !body["access_token"].is_string())
      return Error{"OAuth token endpoint: no access_token in the answer", true};
    token_ = body["access_token"].get<std::string>();
    const long expires = body.value("expires_in", 3600L);
    // Renewed a little early, so a token never expires on its way to the service.
    renew_at_ = now + std::chrono::seconds(std::max(0L, expires - std::min(60L, expires / 10)));
    return token_;
  }

  void refused() override { token_.clear(); }

 private:
  OAuthOptions options_;
  std::unique_ptr<HttpClient> client_;
  std::string token_;
  std::chrono::steady_clock::time_point renew_at_{};
};

}  // namespace

std::unique_ptr<Credentials> Credentials::fixed(std::string token) {
  return std::make_unique<FixedToken>(std::move(token));
}

std::unique_ptr<Credentials> Credentials::client_credentials(OAuthOptions options) {
  return std::make_unique<ClientCredentials>(std::move(options));
}

}  // namespace prov::scim
