// RFC 4514 DN value and RFC 4515 filter value escaping. The whole input is one attribute value
// from HR data. Properties: escaping round-trips exactly, leaves no special character unescaped,
// keeps the output valid UTF-8, and a DN built from the value splits back into the same value.
// The raw input is also fed to the unescapers and DN helpers, which read directory-supplied DNs.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "ldap/escape.h"

namespace {

using prov::fuzz::printable;

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Every character RFC 4514 §2.4 requires escaped appears only behind a backslash; a backslash is
// followed by a special or two hex digits; a leading '#'/space and a trailing space are escaped.
// Returns the first offending offset, or npos.
std::size_t unescaped_dn_special(std::string_view s) {
  std::size_t last_plain = std::string_view::npos;  // offset of the last unescaped character
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
        i += 2;
        continue;
      }
      if (i + 1 >= s.size()) return i;
      const char n = s[i + 1];
      if (std::string_view(",+\"\\<>;= #").find(n) == std::string_view::npos) return i;
      ++i;
      continue;
    }
    if (std::string_view(",+\"<>;=").find(static_cast<char>(c)) != std::string_view::npos) return i;
    if (c < 0x20 || c == 0x7f) return i;  // NUL and other controls must be \XX
    if (i == 0 && (c == '#' || c == ' ')) return i;
    last_plain = i;
  }
  if (last_plain != std::string_view::npos && last_plain + 1 == s.size() && s[last_plain] == ' ')
    return last_plain;
  return std::string_view::npos;
}

// RFC 4515 §3: `*` `(` `)` `\` NUL only as \XX; a backslash always starts a \XX pair.
std::size_t unescaped_filter_special(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      if (i + 2 >= s.size()) return i;
      if (!is_hex(s[i + 1]) || !is_hex(s[i + 2])) return i;
      i += 2;
      continue;
    }
    if (c == '*' || c == '(' || c == ')' || c == '\0') return i;
  }
  return std::string_view::npos;
}

void check_dn(std::string_view value) {
  const std::string escaped = prov::ldap::escape_dn_value(value);
  const auto back = prov::ldap::unescape_dn_value(escaped);
  PROV_FUZZ_CHECK(back.has_value(), "escape_dn_value output does not unescape: " +
                                        printable(escaped));
  PROV_FUZZ_CHECK(*back == value, "DN round trip: " + printable(value) + " -> " +
                                      printable(escaped) + " -> " + printable(*back));
  const std::size_t bad = unescaped_dn_special(escaped);
  PROV_FUZZ_CHECK(bad == std::string_view::npos,
                  "unescaped special at " + std::to_string(bad) + " in " + printable(escaped));
  PROV_FUZZ_CHECK(prov::fuzz::valid_utf8(escaped), "escaped DN value is not UTF-8: " +
                                                       printable(escaped));

  // A DN built from the value splits back into exactly that RDN and parent.
  const std::string parent = "ou=people,dc=example,dc=com";
  const std::string dn = prov::ldap::make_dn("uid", value, parent);
  const auto split = prov::ldap::split_dn(dn);
  PROV_FUZZ_CHECK(split.rdn == "uid=" + escaped, "split_dn rdn of " + printable(dn) + " is " +
                                                     printable(split.rdn));
  PROV_FUZZ_CHECK(split.parent == parent, "split_dn parent of " + printable(dn) + " is " +
                                              printable(split.parent));
  PROV_FUZZ_CHECK(prov::ldap::same_dn(dn, dn), "a DN differs from itself: " + printable(dn));
  // The two escape forms (\, and \2c) name the same DN.
  std::string hex_form = "uid=";
  for (const char c : value) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex_form += '\\';
    hex_form += kHex[static_cast<unsigned char>(c) >> 4];
    hex_form += kHex[static_cast<unsigned char>(c) & 0xf];
  }
  hex_form += "," + parent;
  PROV_FUZZ_CHECK(prov::ldap::same_dn(dn, hex_form),
                  "escaped and all-hex forms differ: " + printable(dn) + " vs " + hex_form);
}

void check_filter(std::string_view value) {
  const std::string escaped = prov::ldap::escape_filter_value(value);
  const auto back = prov::ldap::unescape_filter_value(escaped);
  PROV_FUZZ_CHECK(back.has_value(), "escape_filter_value output does not unescape: " +
                                        printable(escaped));
  PROV_FUZZ_CHECK(*back == value, "filter round trip: " + printable(value) + " -> " +
                                      printable(escaped) + " -> " + printable(*back));
  const std::size_t bad = unescaped_filter_special(escaped);
  PROV_FUZZ_CHECK(bad == std::string_view::npos,
                  "unescaped filter special at " + std::to_string(bad) + " in " +
                      printable(escaped));
  PROV_FUZZ_CHECK(prov::fuzz::valid_utf8(escaped), "escaped filter value is not UTF-8: " +
                                                       printable(escaped));
  const std::string filter = prov::ldap::equality_filter("uid", value);
  PROV_FUZZ_CHECK(filter == "(uid=" + escaped + ")", "equality_filter: " + printable(filter));
}

// Text that comes back from a directory or a config file: must not crash, and what unescapes
// must survive another escape/unescape round.
void check_raw(std::string_view raw) {
  if (const auto v = prov::ldap::unescape_dn_value(raw)) {
    PROV_FUZZ_CHECK(prov::ldap::unescape_dn_value(prov::ldap::escape_dn_value(*v)) == *v,
                    "re-escaped DN value does not round trip: " + printable(*v));
  }
  if (const auto v = prov::ldap::unescape_filter_value(raw)) {
    PROV_FUZZ_CHECK(prov::ldap::unescape_filter_value(prov::ldap::escape_filter_value(*v)) == *v,
                    "re-escaped filter value does not round trip: " + printable(*v));
  }
  const auto split = prov::ldap::split_dn(raw);
  PROV_FUZZ_CHECK(split.rdn.size() + split.parent.size() <= raw.size(),
                  "split_dn grew its input: " + printable(raw));
  (void)prov::ldap::normalize_dn(raw);
  (void)prov::ldap::same_dn(raw, "uid=x,dc=example,dc=com");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  check_dn(value);
  check_filter(value);
  check_raw(value);
  return 0;
}
