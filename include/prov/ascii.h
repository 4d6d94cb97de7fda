#pragma once
// ASCII case folding for protocol tokens: HTTP header names and media types, LDAP attribute
// names and DN fragments, status words, file extensions. These compare case-insensitively in
// ASCII only; std::tolower would follow the process locale.
#include <string>
#include <string_view>

namespace prov {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace prov
