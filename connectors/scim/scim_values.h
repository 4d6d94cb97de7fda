#pragma once
// What the SCIM connector sends and how it reads answers, without a network: filter strings,
// User resources, PatchOp messages, and the one table that maps an HTTP reply to an Outcome.
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "prov/model.h"
#include "scim/http_client.h"
#include "scim/scim_options.h"

namespace prov::scim {

inline constexpr const char* kUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr const char* kGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr const char* kEnterpriseSchema =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
inline constexpr const char* kPatchOpSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

// A value as a filter's string literal (RFC 7644 §3.4.2.2: a JSON string): quotes, backslashes
// and control characters escaped, so `a" or userName pr` stays one value.
std::string filter_literal(std::string_view value);
// `attribute eq "value"`, percent-encoded for a query string.
std::string eq_filter_query(std::string_view attribute, std::string_view value);
std::string percent_encode(std::string_view s);
// The filter a look-up of `attribute` = `value` sends. Servers disagree on escapes inside
// filter strings (SCIMMY 1.3 reads neither \" nor \\), so a value containing " or \ is asked
// for by its longest prefix without them (`sw`, or `pr` when that prefix is empty) and the
// caller compares the answers exactly; any other value by `eq`.
std::string lookup_filter_query(std::string_view attribute, std::string_view value);

// The User resource for a create or a replace: userName, externalId = worker id, active, and
// every mapped attribute that has a value.
Json user_resource(const std::string& username, const std::string& worker_id, bool active,
                   const std::map<std::string, std::string>& attributes,
                   const std::vector<AttributeMapping>& mappings);

// A PatchOp that sets changed attributes (an empty value removes one). Attributes no mapping
// names are left out; an empty Operations list means nothing to send.
Json patch_attributes(const std::map<std::string, std::string>& changed,
                      const std::vector<AttributeMapping>& mappings);
Json patch_active(bool active);
Json patch_members(bool add, const std::string& user_id);
// Several members in one PatchOp: one `add` with every value, or one `remove` per member (a
// value filter each), so the request changes the group once.
Json patch_members(bool add, const std::vector<std::string>& user_ids);

// An Account from a User resource: anchor and dn are the resource id, worker_id the externalId,
// groups the displayNames of its `groups`.
Account account_from(const Json& user, const std::vector<AttributeMapping>& mappings);

// The error table: one place decides what each answer means for the executor.
//   2xx                         → Ok
//   429, 503 (Retry-After)      → Retryable, retry_after set from the header
//   500, 502, 504, 412          → Retryable (412: the resource changed under us; read again)
//   401                         → Retryable "scim:401": the token is checked again on reconnect,
//                                 which stops the target's executor (see ScimConnector)
//   409 scimType uniqueness     → Permanent "scim:uniqueness"
//   400 scimType invalidValue   → Permanent "scim:invalidValue" with the server's detail
//   anything else               → Permanent "scim:<status>"
Outcome outcome_of(const HttpReply& reply, const std::string& what);
// Retry-After as a delay: delta-seconds or an HTTP date; 0 when absent or unreadable.
std::chrono::milliseconds retry_after(const std::string& header,
                                      std::chrono::system_clock::time_point now);

}  // namespace prov::scim
