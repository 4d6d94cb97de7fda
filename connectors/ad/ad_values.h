#pragma once
// Active Directory value encodings and naming rules, free of any connection so they can be tested
// alone: unicodePwd, userAccountControl, objectGUID, sAMAccountName / cn limits, UPNs and the
// "data NNN" codes AD puts in bind failures.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prov/result.h"

namespace prov::ad {

// --- unicodePwd ---------------------------------------------------------------------------------
// The value AD expects in a unicodePwd replace: the password surrounded by double quotes, encoded
// as UTF-16LE (raw bytes; LDIF shows them base64). nullopt when `utf8_password` is not valid
// UTF-8. Characters outside the BMP become surrogate pairs.
std::optional<std::string> encode_unicode_pwd(std::string_view utf8_password);

// --- userAccountControl --------------------------------------------------------------------------
inline constexpr std::uint32_t kUacAccountDisable = 0x0002;
inline constexpr std::uint32_t kUacPasswordNotRequired = 0x0020;
inline constexpr std::uint32_t kUacNormalAccount = 0x0200;
inline constexpr std::uint32_t kUacDontExpirePassword = 0x10000;
// A new user before its password is set: a normal account, disabled (514).
inline constexpr std::uint32_t kUacNewDisabledUser = kUacNormalAccount | kUacAccountDisable;

// AD sends userAccountControl as a signed 32-bit decimal. nullopt on anything else.
std::optional<std::uint32_t> parse_uac(std::string_view text);
// The decimal form AD accepts (signed 32-bit, so bit 31 comes out negative).
std::string format_uac(std::uint32_t uac);
// `uac` with only the ACCOUNTDISABLE bit changed: every other flag an administrator set survives.
constexpr std::uint32_t with_disabled(std::uint32_t uac, bool disabled) {
  return disabled ? (uac | kUacAccountDisable) : (uac & ~kUacAccountDisable);
}
constexpr bool is_disabled(std::uint32_t uac) { return (uac & kUacAccountDisable) != 0; }

// --- objectGUID ----------------------------------------------------------------------------------
// objectGUID is 16 bytes whose first three fields are little-endian; the string form is the
// familiar "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lowercase here). nullopt unless 16 bytes.
std::optional<std::string> guid_to_string(std::string_view bytes);
// Reverse of guid_to_string(); accepts either case and optional surrounding braces.
std::optional<std::string> guid_from_string(std::string_view text);
// "(objectGUID=\xx\xx...)": every byte hex-escaped (RFC 4515), so any value is safe in a filter.
std::string guid_filter(std::string_view bytes);

// --- naming --------------------------------------------------------------------------------------
inline constexpr std::size_t kMaxSamAccountName = 20;  // user objects (pre-Windows 2000 logon)
inline constexpr std::size_t kMaxCn = 64;
inline constexpr std::size_t kMaxEmployeeId = 16;  // rangeUpper of employeeID in AD's schema

// Number of UTF-16 code units `utf8` takes (AD's length limits count these). Invalid UTF-8 bytes
// count one each.
std::size_t utf16_length(std::string_view utf8);
// The longest prefix of `utf8` of at most `max_units` UTF-16 code units, cut at a character
// boundary.
std::string truncate_utf16(std::string_view utf8, std::size_t max_units);

// sAMAccountName of a user: 1..20 characters, none of  " / \ [ ] : ; | = , + * ? < > @  nor
// control characters, not ending in '.', not only dots and spaces. The error names the rule.
Status validate_sam_account_name(std::string_view name);
// A valid sAMAccountName for a group named `name`: characters sAMAccountName forbids become '_',
// trailing dots and spaces go, at most 64 characters; "group" when nothing is left.
std::string group_account_name(std::string_view name);
// employeeID (the worker id): 1..16 characters, valid UTF-8. AD refuses longer values with
// "invalid syntax"; this says why instead.
Status validate_employee_id(std::string_view worker_id);
// cn: 1..64 characters, valid UTF-8, no control characters.
Status validate_cn(std::string_view cn);
// The cn for a new user: the display name (or the username when there is none), cut to 64.
// With `collision` the username is appended in parentheses — "Ada Lovelace (alovelace)" — and
// the display part is shortened so the whole still fits in 64.
std::string user_cn(std::string_view display_name, std::string_view username, bool collision);

// "DC=example,DC=test" → "example.test" (the DC components in order, any case); empty when the
// DN has none.
std::string realm_from_base_dn(std::string_view base_dn);
// "<username>@<suffix>", suffix without a leading '@'. Error when either part is empty or the
// suffix contains characters a UPN suffix cannot hold.
Result<std::string> build_upn(std::string_view username, std::string_view suffix);

// --- bind diagnostics
// ----------------------------------------------------------------------------- AD explains an
// invalidCredentials (49) bind in the diagnostic message: "80090308: LdapErr: DSID-0C09041C,
// comment: AcceptSecurityContext error, data 773, v4563". Returns the hex code after "data " ("52e"
// wrong password, "533" disabled, "773" must change password, "775" locked out, "532" password
// expired, "701" account expired), lowercased.
std::optional<std::string> bind_data_code(std::string_view diagnostic);
// A short human phrase for a bind data code, or "" when unknown.
std::string_view describe_bind_data_code(std::string_view code);

}  // namespace prov::ad
