// The shared connector contract against a real slapd (one server per test process).
#include "connector_contract.h"
#include "harness/bind_probe.h"
#include "harness/slapd_fixture.h"
#include "ldap/ldap_connector.h"

namespace prov::testing {
namespace {

ContractTarget ldap_contract_target() {
  ContractTarget t;
  t.name = "ldap";
  t.config = [] { return Slapd::shared().directory_config(); };
  t.make = [](const DirectoryConfig& c) { return make_ldap_connector(c); };
  t.can_bind = [](const std::string& dn, const std::string& password) {
    const SlapdInfo& info = Slapd::shared().info();
    return can_bind(info.ldaps_url, dn, password, info.ca_file);
  };
  return t;
}

INSTANTIATE_TEST_SUITE_P(Ldap, ConnectorContract, ::testing::Values(ldap_contract_target()),
                         ContractTargetName());

}  // namespace
}  // namespace prov::testing
