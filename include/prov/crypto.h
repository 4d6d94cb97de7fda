#pragma once
// Small crypto helpers shared by the webhook signature check, the inbox digest and password
// generation.
#include <optional>
#include <string>
#include <string_view>

namespace prov {

std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);  // nullopt on bad input
bool constant_time_equal(std::string_view a, std::string_view b);
// `bytes` bytes from the system's CSPRNG, as lower-case hex (2 × bytes characters).
std::string random_hex(std::size_t bytes);
// A random password of `length` characters with upper, lower, digit and symbol classes.
std::string random_password(std::size_t length = 20);
// `password` as an LDAP userPassword value in the {SSHA} scheme (RFC 2307 style, salted SHA-1,
// 8 random salt bytes): what OpenLDAP's own default password-hash produces, verified natively by
// every OpenLDAP server. Only for random one-time passwords: their entropy, not the hash's cost,
// is what resists guessing.
std::string ssha_password(std::string_view password);

}  // namespace prov
