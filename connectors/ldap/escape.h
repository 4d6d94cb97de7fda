#pragma once
// Escaping of values placed in DNs (RFC 4514) and search filters (RFC 4515). Every value that
// comes from HR data or configuration goes through one of these before it reaches the wire.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace prov::ldap {

// RFC 4514 §2.4 attribute value escaping: `,` `+` `"` `\` `<` `>` `;` `=` get a backslash, a
// leading `#` or space and a trailing space get a backslash, NUL becomes \00, and bytes that are
// not part of valid UTF-8 (and other control characters) become \XX hex pairs.
std::string escape_dn_value(std::string_view value);

// Reverses escape_dn_value() (accepts both `\,` and `\2C` forms). nullopt on a malformed escape.
std::optional<std::string> unescape_dn_value(std::string_view escaped);

// RFC 4515 §3 assertion value escaping: `*` `(` `)` `\` NUL → \2a \28 \29 \5c \00. Bytes that are
// not valid UTF-8 are hex-escaped too so the filter string stays valid UTF-8.
std::string escape_filter_value(std::string_view value);

// Reverses escape_filter_value() (any \XX pair). nullopt on a malformed escape.
std::optional<std::string> unescape_filter_value(std::string_view escaped);

// "<attr>=<escaped value>,<parent>" (parent may be empty: the RDN alone).
std::string make_dn(std::string_view rdn_attr, std::string_view value, std::string_view parent);

// "<attr>=<escaped value>" — the RDN alone, e.g. for a rename's new RDN.
std::string make_rdn(std::string_view rdn_attr, std::string_view value);

// "(<attr>=<escaped value>)".
std::string equality_filter(std::string_view attr, std::string_view value);
// (|(attr=v1)(attr=v2)…), every value escaped.
std::string any_of_filter(std::string_view attr, const std::vector<std::string>& values);

// Joins a relative DN and a base: ("ou=people", "dc=example,dc=com") →
// "ou=people,dc=example,dc=com". Either side may be empty.
std::string join_dn(std::string_view relative, std::string_view base);

// Splits off the first RDN: "uid=a\,b,ou=people,dc=x" → {"uid=a\,b", "ou=people,dc=x"}.
// Respects escapes. parent is empty for a single RDN.
struct DnSplit {
  std::string rdn;
  std::string parent;
};
DnSplit split_dn(std::string_view dn);

// Case-insensitive comparison of two DNs after normalising spacing around `,` and `=` and
// unescaping values. Good enough for the DNs we build; not a full RFC 4514 matching rule.
bool same_dn(std::string_view a, std::string_view b);

// The normalised form same_dn() compares: "uid=a\2cb , OU=People" → "uid=a,b,ou=people" with
// values unescaped and lowercased (RDNs joined by a NUL byte, so values may contain commas).
std::string normalize_dn(std::string_view dn);

}  // namespace prov::ldap
