#pragma once
// Proves what an end user would experience: a real simple bind with libldap, independent of the
// connector under test. Used to show that a locked account cannot bind and an unlocked one can.
#include <string>

namespace prov::testing {

// True when `dn` binds with `password` at `url` (ldaps:// verified against ca_file, or ldap://
// on the loopback). An empty password is never a successful bind (that would be an anonymous
// bind by RFC 4513 §5.1.2).
bool can_bind(const std::string& url, const std::string& dn, const std::string& password,
              const std::string& ca_file);

// The LDAP result code of that bind (0 = success, 49 = invalid credentials, negative = client).
// `diagnostic`, when given, receives the server's message (AD: "... data 773" = the password is
// right but must be changed, "data 533" = the account is disabled).
int bind_result(const std::string& url, const std::string& dn, const std::string& password,
                const std::string& ca_file, std::string* diagnostic = nullptr);

}  // namespace prov::testing
