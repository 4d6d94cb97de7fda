// The shared connector contract against a real Samba AD DC (one DC per test run, see
// harness/samba_fixture.h).
#include "ad/ad_connector.h"
#include "connector_contract.h"
#include "harness/bind_probe.h"
#include "harness/samba_fixture.h"

namespace prov::testing {
namespace {

ContractTarget ad_contract_target() {
  ContractTarget t;
  t.name = "ad";
  t.config = [] { return samba().directory_config(); };
  // The contract proves binds with the delivered password, so the account must not demand a
  // password change first; ad_connector_test covers the default (must change, "data 773").
  t.make = [](const DirectoryConfig& c) {
    return ad::make_connector(c, ad::AdOptions{.must_change_password = false});
  };
  t.can_bind = [](const std::string& dn, const std::string& password) {
    const SambaInfo& dc = samba();
    return can_bind(dc.ldaps_url, dn, password, dc.ca_file);
  };
  t.people_ou = "OU=People";
  t.other_ou = "OU=Contractors";
  // More than one page of the session's paged search (250), so the iteration must follow the
  // paged-results cookie. (Samba, unlike Windows, does not cap unpaged results at 1000, so a
  // bigger count would prove nothing more here and AD creates are slow on a CI machine.)
  t.paging_count = 300;
  t.usernames_allow_dn_specials = false;  // sAMAccountName forbids , + " \ < > ; = and more
  return t;
}

INSTANTIATE_TEST_SUITE_P(Ad, ConnectorContract, ::testing::Values(ad_contract_target()),
                         ContractTargetName());

}  // namespace
}  // namespace prov::testing
