#pragma once
// The Active Directory connector (directory.type "ad"), for Windows AD and Samba AD DCs.
//
// Accounts are `user` objects named cn=<display name> — cn=<display name> (<username>) when that
// cn is taken in the OU — with sAMAccountName = username, userPrincipalName = username@<suffix>
// (directory.upn_suffix, default the DNS name of the base DN) and employeeID = worker id, which
// is how the connector recognises its own accounts. Anchors are objectGUIDs in string form; they
// survive renames and moves. Groups are global security `group` objects named by cn under
// directory.groups_ou, created on first use. Disabled means bit 0x2 of userAccountControl; every
// other bit an administrator set is preserved.
//
// Initial passwords are generated here, set over TLS only (unicodePwd) and delivered to
// <password_dir>/<worker_id>.password (0600). They never reach a log or an Outcome.
//
// Not thread-safe (one connector per executor thread, like every DirectoryConnector).
#include <cstddef>
#include <memory>

#include "ldap/ldap_session.h"
#include "prov/connector.h"

namespace prov {

namespace ad {

struct AdOptions {
  // Set pwdLastSet=0 after the initial password so the person must choose their own at first
  // logon. AD then refuses simple binds with the one-time password (49, "data 773"): that is
  // the point — the one-time password only ever serves an interactive password change.
  bool must_change_password = true;
  std::size_t password_length = 20;
};

// LDAP result code → Outcome kind on AD. Retryable: busy (51), unavailable (52), time limit (3),
// server down, timeout, connect error. Everything else — constraint (19), no such object (32),
// unwilling to perform (53), already exists (68), ... — is permanent.
const ldap::ResultCodeTable& result_codes();

// Builds the connector; nothing touches the network until connect() or the first call.
std::unique_ptr<DirectoryConnector> make_connector(const DirectoryConfig& config,
                                                   const AdOptions& options);

}  // namespace ad

// The registry's factory for type "ad" (default AdOptions).
std::unique_ptr<DirectoryConnector> make_ad_connector(const DirectoryConfig& config);

}  // namespace prov
