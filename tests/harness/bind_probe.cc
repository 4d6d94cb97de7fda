#include "harness/bind_probe.h"

#include <ldap.h>
#include <sys/time.h>

namespace prov::testing {

int bind_result(const std::string& url, const std::string& dn, const std::string& password,
                const std::string& ca_file, std::string* diagnostic) {
  if (password.empty()) return LDAP_INAPPROPRIATE_AUTH;
  LDAP* ld = nullptr;
  if (ldap_initialize(&ld, url.c_str()) != LDAP_SUCCESS || ld == nullptr) return LDAP_PARAM_ERROR;
  const int version = LDAP_VERSION3;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  struct timeval tv {
    5, 0
  };
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
  ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
  if (url.rfind("ldaps://", 0) == 0) {
    const int demand = LDAP_OPT_X_TLS_DEMAND;
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    if (!ca_file.empty()) ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca_file.c_str());
    const int is_server = 0;
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
  }
  berval cred;
  cred.bv_val = const_cast<char*>(password.data());
  cred.bv_len = password.size();
  const int rc =
      ldap_sasl_bind_s(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  if (diagnostic) {
    char* message = nullptr;
    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message);
    *diagnostic = message ? message : "";
    ldap_memfree(message);
  }
  ldap_unbind_ext_s(ld, nullptr, nullptr);
  return rc;
}

bool can_bind(const std::string& url, const std::string& dn, const std::string& password,
              const std::string& ca_file) {
  return bind_result(url, dn, password, ca_file) == LDAP_SUCCESS;
}

}  // namespace prov::testing
