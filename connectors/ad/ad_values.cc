#include "ad_values.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>

#include "prov/ascii.h"
#include "prov/utf8.h"

namespace prov::ad {
namespace {

constexpr char kHex[] = "0123456789abcdef";
// Characters a sAMAccountName cannot hold.
constexpr std::string_view kSamForbidden = "\"/\\[]:;|=,+*?<>@";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::uint32_t> next_code_point(std::string_view s, std::size_t& i) {
  return decode_utf8(s, i);
}

void append_utf16le(std::string& out, std::uint32_t cp) {
  auto unit = [&out](std::uint32_t u) {
    out.push_back(static_cast<char>(u & 0xff));
    out.push_back(static_cast<char>((u >> 8) & 0xff));
  };
  if (cp < 0x10000) {
    unit(cp);
  } else {
    cp -= 0x10000;
    unit(0xd800 + (cp >> 10));
    unit(0xdc00 + (cp & 0x3ff));
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string> encode_unicode_pwd(std::string_view utf8_password) {
  std::string out;
  out.reserve((utf8_password.size() + 2) * 2);
  append_utf16le(out, '"');
  for (std::size_t i = 0; i < utf8_password.size();) {
    auto cp = next_code_point(utf8_password, i);
    if (!cp) return std::nullopt;
    append_utf16le(out, *cp);
  }
  append_utf16le(out, '"');
  return out;
}

std::optional<std::uint32_t> parse_uac(std::string_view text) {
  std::int64_t v = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (text.empty() || ec != std::errc() || ptr != last) return std::nullopt;
  if (v < std::numeric_limits<std::int32_t>::min() || v > std::numeric_limits<std::uint32_t>::max())
    return std::nullopt;
  return static_cast<std::uint32_t>(v);
}

std::string format_uac(std::uint32_t uac) { return std::to_string(static_cast<std::int32_t>(uac)); }

// Byte order of the string form: Data1 (4 bytes LE), Data2 (2 LE), Data3 (2 LE), then 8 bytes as
// they are stored.
constexpr std::array<int, 16> kGuidTextOrder = {3, 2, 1,  0,  5,  4,  7,  6,
                                                8, 9, 10, 11, 12, 13, 14, 15};

std::optional<std::string> guid_to_string(std::string_view bytes) {
  if (bytes.size() != 16) return std::nullopt;
  std::string out;
  out.reserve(36);
  for (std::size_t k = 0; k < 16; ++k) {
    if (k == 4 || k == 6 || k == 8 || k == 10) out.push_back('-');
    const auto b = static_cast<unsigned char>(bytes[kGuidTextOrder[k]]);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

std::optional<std::string> guid_from_string(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') {
    text = text.substr(1, 36);
  }
  if (text.size() != 36) return std::nullopt;
  std::string bytes(16, '\0');
  std::size_t pos = 0;
  for (std::size_t k = 0; k < 16; ++k) {
    if (k == 4 || k == 6 || k == 8 || k == 10) {
      if (text[pos] != '-') return std::nullopt;
      ++pos;
    }
    const int hi = hex_value(text[pos]);
    const int lo = hex_value(text[pos + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[kGuidTextOrder[k]] = static_cast<char>((hi << 4) | lo);
    pos += 2;
  }
  return bytes;
}

std::string guid_filter(std::string_view bytes) {
  std::string out = "(objectGUID=";
  for (unsigned char b : bytes) {
    out.push_back('\\');
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  out.push_back(')');
  return out;
}

std::size_t utf16_length(std::string_view utf8) {
  std::size_t units = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    auto cp = next_code_point(utf8, i);
    if (!cp) {
      ++i;
      ++units;
    } else {
      units += *cp >= 0x10000 ? 2 : 1;
    }
  }
  return units;
}

std::string truncate_utf16(std::string_view utf8, std::size_t max_units) {
  std::size_t units = 0;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t next = i;
    auto cp = next_code_point(utf8, next);
    std::size_t width = 1;
    if (!cp) {
      next = i + 1;
    } else if (*cp >= 0x10000) {
      width = 2;
    }
    if (units + width > max_units) break;
    units += width;
    i = next;
  }
  return std::string(utf8.substr(0, i));
}

Status validate_sam_account_name(std::string_view name) {
  if (name.empty()) return Error{"sAMAccountName is empty", false};
  const std::size_t length = utf16_length(name);
  if (length > kMaxSamAccountName) {
    return Error{"sAMAccountName '" + std::string(name) + "' has " + std::to_string(length) +
                     " characters; Active Directory allows at most " +
                     std::to_string(kMaxSamAccountName) + " for users",
                 false};
  }
  for (std::size_t i = 0; i < name.size();) {
    const std::size_t at = i;
    auto cp = next_code_point(name, i);
    if (!cp) return Error{"sAMAccountName is not valid UTF-8", false};
    if (*cp < 0x20 || *cp == 0x7f) {
      return Error{"sAMAccountName contains a control character", false};
    }
    if (*cp < 0x80 && kSamForbidden.find(static_cast<char>(*cp)) != std::string_view::npos) {
      return Error{"sAMAccountName '" + std::string(name) + "' contains '" + name[at] +
                       "', which Active Directory does not allow (forbidden: " +
                       std::string(kSamForbidden) + ")",
                   false};
    }
  }
  if (name.back() == '.') {
    return Error{"sAMAccountName '" + std::string(name) + "' ends with '.'", false};
  }
  if (name.find_first_not_of(". ") == std::string_view::npos) {
    return Error{"sAMAccountName consists only of dots and spaces", false};
  }
  return Status::Ok();
}

Status validate_employee_id(std::string_view worker_id) {
  if (worker_id.empty()) return Error{"worker id is empty", false};
  for (std::size_t i = 0; i < worker_id.size();) {
    if (!next_code_point(worker_id, i)) return Error{"worker id is not valid UTF-8", false};
  }
  const std::size_t length = utf16_length(worker_id);
  if (length > kMaxEmployeeId) {
    return Error{"worker id '" + std::string(worker_id) + "' has " + std::to_string(length) +
                     " characters; Active Directory's employeeID holds at most " +
                     std::to_string(kMaxEmployeeId),
                 false};
  }
  return Status::Ok();
}

std::string group_account_name(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    const std::size_t at = i;
    auto cp = next_code_point(name, i);
    if (!cp) {
      ++i;
      out.push_back('_');
    } else if (*cp < 0x20 || *cp == 0x7f ||
               (*cp < 0x80 &&
                kSamForbidden.find(static_cast<char>(*cp)) != std::string_view::npos)) {
      out.push_back('_');
    } else {
      out.append(name.substr(at, i - at));
    }
  }
  out = truncate_utf16(out, 64);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  return out.empty() ? "group" : out;
}

Status validate_cn(std::string_view cn) {
  if (cn.empty()) return Error{"cn is empty", false};
  for (std::size_t i = 0; i < cn.size();) {
    auto cp = next_code_point(cn, i);
    if (!cp) return Error{"cn is not valid UTF-8", false};
    if (*cp < 0x20 || *cp == 0x7f) return Error{"cn contains a control character", false};
  }
  const std::size_t length = utf16_length(cn);
  if (length > kMaxCn) {
    return Error{"cn has " + std::to_string(length) + " characters; at most " +
                     std::to_string(kMaxCn) + " are allowed",
                 false};
  }
  return Status::Ok();
}

std::string user_cn(std::string_view display_name, std::string_view username, bool collision) {
  std::string_view base = trim(display_name);
  if (base.empty()) base = username;
  if (!collision) return truncate_utf16(base, kMaxCn);
  const std::string suffix = " (" + std::string(username) + ")";
  const std::size_t suffix_units = utf16_length(suffix);
  if (suffix_units >= kMaxCn) return truncate_utf16(username, kMaxCn);
  std::string head = truncate_utf16(base, kMaxCn - suffix_units);
  head.erase(head.find_last_not_of(' ') + 1);  // "Ada " + " (x)" would read oddly
  return head + suffix;
}

std::string realm_from_base_dn(std::string_view base_dn) {
  std::string realm;
  std::size_t pos = 0;
  while (pos <= base_dn.size()) {
    // Split on unescaped commas; DC values never contain escapes in practice.
    std::size_t end = base_dn.find(',', pos);
    if (end == std::string_view::npos) end = base_dn.size();
    std::string_view rdn = trim(base_dn.substr(pos, end - pos));
    const auto eq = rdn.find('=');
    if (eq != std::string_view::npos && ascii_lower(trim(rdn.substr(0, eq))) == "dc") {
      if (!realm.empty()) realm.push_back('.');
      realm += ascii_lower(trim(rdn.substr(eq + 1)));
    }
    pos = end + 1;
  }
  return realm;
}

Result<std::string> build_upn(std::string_view username, std::string_view suffix) {
  if (!suffix.empty() && suffix.front() == '@') suffix.remove_prefix(1);
  if (username.empty()) return Error{"userPrincipalName: username is empty", false};
  if (suffix.empty()) return Error{"userPrincipalName: suffix is empty (set upn_suffix)", false};
  for (unsigned char c : suffix) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c >= 0x80)) {
      return Error{"userPrincipalName suffix '" + std::string(suffix) +
                       "' contains a character a domain name cannot hold",
                   false};
    }
  }
  return std::string(username) + "@" + std::string(suffix);
}

std::optional<std::string> bind_data_code(std::string_view diagnostic) {
  constexpr std::string_view kMarker = "data ";
  const auto at = diagnostic.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = at + kMarker.size();
  std::size_t end = i;
  while (end < diagnostic.size() && hex_value(diagnostic[end]) >= 0) ++end;
  if (end == i) return std::nullopt;
  return ascii_lower(diagnostic.substr(i, end - i));
}

std::string_view describe_bind_data_code(std::string_view code) {
  if (code == "525") return "user not found";
  if (code == "52e") return "wrong password";
  if (code == "530") return "logon not permitted at this time";
  if (code == "531") return "logon not permitted from this workstation";
  if (code == "532") return "password expired";
  if (code == "533") return "account disabled";
  if (code == "701") return "account expired";
  if (code == "773") return "password must be changed before first logon";
  if (code == "775") return "account locked out";
  return "";
}

}  // namespace prov::ad
