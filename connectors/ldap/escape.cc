#include "escape.h"

#include <cctype>
#include <cstdint>
#include <vector>

#include "prov/ascii.h"
#include "prov/utf8.h"

namespace prov::ldap {
namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, unsigned char byte) {
  out.push_back('\\');
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0x0f]);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the byte does not start one.
// Rejects overlong forms, surrogates and code points above U+10FFFF (RFC 3629).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  std::size_t j = i;
  return decode_utf8(s, j) ? j - i : 0;
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

}  // namespace

std::string escape_dn_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size();) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence_length(value, i);
      if (len == 0) {
        append_hex(out, c);
        ++i;
      } else {
        out.append(value.substr(i, len));
        i += len;
      }
      continue;
    }
    const bool first = i == 0;
    const bool last = i + 1 == value.size();
    if (is_control(c)) {
      append_hex(out, c);  // NUL → \00; other controls kept readable in logs
    } else if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' ||
               c == '=') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if ((first && (c == '#' || c == ' ')) || (last && c == ' ')) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(c));
    }
    ++i;
  }
  return out;
}

std::optional<std::string> unescape_dn_value(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out.push_back(escaped[i]);
      continue;
    }
    if (i + 1 >= escaped.size()) return std::nullopt;
    const char n = escaped[i + 1];
    const int hi = hex_value(n);
    if (hi >= 0) {
      if (i + 2 >= escaped.size()) return std::nullopt;
      const int lo = hex_value(escaped[i + 2]);
      if (lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
      continue;
    }
    switch (n) {
      case ',':
      case '+':
      case '"':
      case '\\':
      case '<':
      case '>':
      case ';':
      case '=':
      case ' ':
      case '#':
        out.push_back(n);
        ++i;
        break;
      default:
        return std::nullopt;
    }
  }
  return out;
}

std::string escape_filter_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size();) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80) {
      const std::size_t len = utf8_sequence_length(value, i);
      if (len == 0) {
        append_hex(out, c);
        ++i;
      } else {
        out.append(value.substr(i, len));
        i += len;
      }
      continue;
    }
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == 0) {
      append_hex(out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
    ++i;
  }
  return out;
}

std::optional<std::string> unescape_filter_value(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '\\') {
      out.push_back(escaped[i]);
      continue;
    }
    if (i + 2 >= escaped.size()) return std::nullopt;
    const int hi = hex_value(escaped[i + 1]);
    const int lo = hex_value(escaped[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string make_rdn(std::string_view rdn_attr, std::string_view value) {
  std::string out(rdn_attr);
  out.push_back('=');
  out += escape_dn_value(value);
  return out;
}

std::string make_dn(std::string_view rdn_attr, std::string_view value, std::string_view parent) {
  return join_dn(make_rdn(rdn_attr, value), parent);
}

std::string equality_filter(std::string_view attr, std::string_view value) {
  std::string out = "(";
  out += attr;
  out.push_back('=');
  out += escape_filter_value(value);
  out.push_back(')');
  return out;
}

std::string any_of_filter(std::string_view attr, const std::vector<std::string>& values) {
  std::string out = "(|";
  for (const auto& v : values) out += equality_filter(attr, v);
  return out + ")";
}

std::string join_dn(std::string_view relative, std::string_view base) {
  if (relative.empty()) return std::string(base);
  if (base.empty()) return std::string(relative);
  std::string out(relative);
  out.push_back(',');
  out += base;
  return out;
}

DnSplit split_dn(std::string_view dn) {
  for (std::size_t i = 0; i < dn.size(); ++i) {
    if (dn[i] == '\\') {
      ++i;  // skip the escaped character (or the first hex digit; the second is plain)
      continue;
    }
    if (dn[i] == ',') {
      return {std::string(dn.substr(0, i)), std::string(dn.substr(i + 1))};
    }
  }
  return {std::string(dn), {}};
}

namespace {

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && s[b] == ' ') ++b;
  // A trailing escaped space ("\ ") belongs to the value: keep it.
  while (e > b && s[e - 1] == ' ' && !(e >= 2 && s[e - 2] == '\\')) --e;
  return std::string(s.substr(b, e - b));
}

std::string normalise_rdn(std::string_view text) {
  const std::string rdn = trim(text);
  const auto eq = rdn.find('=');
  if (eq == std::string::npos) return ascii_lower(rdn);
  const std::string attr = ascii_lower(trim(std::string_view(rdn).substr(0, eq)));
  const std::string raw = trim(std::string_view(rdn).substr(eq + 1));
  const auto value = unescape_dn_value(raw);
  return attr + "=" + ascii_lower(value ? *value : raw);
}

std::vector<std::string> normalised_rdns(std::string_view dn) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < dn.size(); ++i) {
    if (dn[i] == '\\') {
      ++i;
    } else if (dn[i] == ',') {
      out.push_back(normalise_rdn(dn.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (start < dn.size() || !out.empty()) out.push_back(normalise_rdn(dn.substr(start)));
  return out;
}

}  // namespace

bool same_dn(std::string_view a, std::string_view b) {
  return normalised_rdns(a) == normalised_rdns(b);
}

std::string normalize_dn(std::string_view dn) {
  std::string out;
  for (const auto& rdn : normalised_rdns(dn)) {
    if (!out.empty()) out.push_back('\0');
    out += rdn;
  }
  return out;
}

}  // namespace prov::ldap
