#pragma once
// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
#include <string>

namespace prov::cli {

inline std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace prov::cli
