#pragma once
// The keys of a `type: scim` target, validated by the connector itself (the config file keeps
// them as written: DirectoryConfig::options). Errors name the key: "targets[1].url: …".
#include <optional>
#include <string>
#include <vector>

#include "prov/config.h"
#include "scim/http_client.h"
#include "scim/scim_auth.h"

namespace prov::scim {

// Where a provisiond attribute goes in a SCIM User. `scim` is one of the names
// known_attributes() lists: a core attribute ("title"), a sub-attribute of name
// ("name.givenName"), the work e-mail or phone ("emails.work"), or an enterprise extension
// attribute ("enterprise.department", "enterprise.manager").
struct AttributeMapping {
  std::string scim;
  std::string attribute;  // a key of the account's attributes (policy `attributes:`)
};

struct ScimOptions {
  HttpClientOptions http;
  std::string token;                  // bearer token from token_file; never logged
  std::optional<OAuthOptions> oauth;  // instead of token_file: a client credentials grant
  int page_size = 100;                // Users per page when listing every account (reconcile)
  std::vector<AttributeMapping> attributes;
};

// The SCIM names an `attributes:` mapping may use.
const std::vector<std::string>& known_attributes();

// The mapping used when the target sets no `attributes:` (the example policy's names).
std::vector<AttributeMapping> default_attributes();

// Throws ConfigError naming the key.
ScimOptions parse_options(const DirectoryConfig& target);

}  // namespace prov::scim
