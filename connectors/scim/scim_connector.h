#pragma once
// The SCIM 2.0 connector (RFC 7643/7644): a worker's account in a SaaS application is a User
// resource whose externalId is the worker id; policy groups are Group resources found by
// displayName (created on first use, as the LDAP connector creates groupOfNames), membership
// changed by PatchOp add/remove of `members`. The resource id is the account's anchor and also
// stands where LDAP has a DN (so a report's manager.value is the manager's id).
//
// Lock = `active: false`; unlock = `active: true`; move has nothing to do in SCIM and succeeds.
// Every write is idempotent: the current resource is read first, and a write whose effect is
// already there is not sent (SCIM servers differ in what a repeated PATCH add does).
//
// Authentication: a bearer token read from token_file, or one an OAuth 2.0 client credentials
// grant gives (renewed before it expires). A 401 on any request makes the next connect() check
// the token again (with a new one from the grant); a token the server refuses there, or a grant
// the token endpoint refuses, is a permanent connect error, which stops this target's executor
// (the operations wait, nothing is dropped) until the setting is fixed. Not thread-safe; the
// executor owns one per lane.
#include <memory>

#include "prov/connector.h"

namespace prov {

// Throws ConfigError naming the key (targets[N].url: …) for invalid options.
std::unique_ptr<DirectoryConnector> make_scim_connector(const DirectoryConfig& config);

}  // namespace prov
