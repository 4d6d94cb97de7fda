// The shared connector contract against a real SCIM 2.0 service (the harness's SCIMMY app, over
// TLS with a certificate made for it), through the cases that apply to an application without
// placement or passwords.
#include <fstream>

#include "connector_contract.h"
#include "harness/scim_fixture.h"
#include "scim/scim_connector.h"

namespace prov::testing {
namespace {

ScimServer& contract_app() {
  static std::unique_ptr<ScimServer> app = ScimServer::start(ScimServerOptions{.tls = true});
  return *app;
}

ContractTarget scim_contract_target() {
  ContractTarget t;
  t.name = "scim";
  t.config = [] {
    DirectoryConfig c = contract_app().target_config("app");
    // The contract's values by the names a directory gives them; the app keeps them here.
    c.options["attributes"] = {{"name.givenName", "givenName"}, {"name.familyName", "sn"},
                               {"name.formatted", "cn"},        {"displayName", "displayName"},
                               {"title", "title"},              {"emails.work", "mail"},
                               {"nickName", "description"}};
    return c;
  };
  t.make = [](const DirectoryConfig& c) { return make_scim_connector(c); };
  t.placement = false;
  t.batch_removals_tell_already_done = false;
  t.paging_count = 250;  // past two of the connector's pages of 100
  t.refused_credentials = [](DirectoryConfig c) {
    const std::string file = contract_app().dir() + "/refused.token";
    std::ofstream(file) << "not-the-token\n";
    c.options["token_file"] = file;
    return c;
  };
  t.refused_says = "refused the token";
  t.refused_secret = "not-the-token";
  t.at_port = [](DirectoryConfig c, int port, int timeout_ms) {
    c.options["url"] = "https://127.0.0.1:" + std::to_string(port) + "/scim/v2";
    c.options["timeout_ms"] = timeout_ms;
    return c;
  };
  t.trusting = [](DirectoryConfig c, const std::string& ca_file) {
    c.options["tls"] = {{"ca_file", ca_file}};
    return c;
  };
  return t;
}

INSTANTIATE_TEST_SUITE_P(Scim, ConnectorContract, ::testing::Values(scim_contract_target()),
                         ContractTargetName());

}  // namespace
}  // namespace prov::testing
