#pragma once
// The OpenLDAP connector (directory.type "ldap"): accounts are inetOrgPerson entries
// `uid=<username>,<ou>,<base_dn>` anchored on entryUUID and owned via employeeNumber = worker id;
// groups are groupOfNames `cn=<group>,<groups_ou>,<base_dn>`; locking uses the ppolicy overlay
// (pwdAccountLockedTime). Initial passwords go only over TLS, with the Password Modify extended
// operation (the server hashes them), after the entry is added.
#include <memory>

#include "ldap/ldap_session.h"
#include "prov/connector.h"

namespace prov {

// Builds the connector; nothing touches the network until connect().
std::unique_ptr<DirectoryConnector> make_ldap_connector(const DirectoryConfig& config);

namespace ldap {

// Result code → Outcome kind for OpenLDAP (the standard table: transport failures, busy and
// unavailable are retryable, everything else permanent).
const ResultCodeTable& openldap_result_codes();

// ppolicy's "locked until an administrator unlocks" value.
inline constexpr const char* kPermanentLockTime = "000001010000Z";

// Session options for a directory configuration (url, StartTLS, TLS, timeout).
SessionOptions session_options(const DirectoryConfig& config);

}  // namespace ldap
}  // namespace prov
