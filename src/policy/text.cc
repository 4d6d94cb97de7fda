#include "policy/text.h"

#include <array>

#include "prov/utf8.h"

namespace prov::policy {
namespace {

// Decodes one UTF-8 sequence at in[i]; advances i. Returns -1 for an invalid sequence (one
// byte consumed).
int32_t next_code_point(std::string_view in, std::size_t& i) {
  if (auto cp = decode_utf8(in, i)) return static_cast<int32_t>(*cp);
  ++i;
  return -1;
}

void append_utf8(int32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// ASCII spelling of U+00C0..U+017F; "" drops the character (× ÷).
constexpr std::array<const char*, 0x180 - 0xC0> kFold = {
    // U+00C0
    "A",
    "A",
    "A",
    "A",
    "A",
    "A",
    "AE",
    "C",
    "E",
    "E",
    "E",
    "E",
    "I",
    "I",
    "I",
    "I",
    // U+00D0
    "D",
    "N",
    "O",
    "O",
    "O",
    "O",
    "O",
    "",
    "O",
    "U",
    "U",
    "U",
    "U",
    "Y",
    "TH",
    "ss",
    // U+00E0
    "a",
    "a",
    "a",
    "a",
    "a",
    "a",
    "ae",
    "c",
    "e",
    "e",
    "e",
    "e",
    "i",
    "i",
    "i",
    "i",
    // U+00F0
    "d",
    "n",
    "o",
    "o",
    "o",
    "o",
    "o",
    "",
    "o",
    "u",
    "u",
    "u",
    "u",
    "y",
    "th",
    "y",
    // U+0100
    "A",
    "a",
    "A",
    "a",
    "A",
    "a",
    "C",
    "c",
    "C",
    "c",
    "C",
    "c",
    "C",
    "c",
    "D",
    "d",
    // U+0110
    "D",
    "d",
    "E",
    "e",
    "E",
    "e",
    "E",
    "e",
    "E",
    "e",
    "E",
    "e",
    "G",
    "g",
    "G",
    "g",
    // U+0120
    "G",
    "g",
    "G",
    "g",
    "H",
    "h",
    "H",
    "h",
    "I",
    "i",
    "I",
    "i",
    "I",
    "i",
    "I",
    "i",
    // U+0130
    "I",
    "i",
    "IJ",
    "ij",
    "J",
    "j",
    "K",
    "k",
    "k",
    "L",
    "l",
    "L",
    "l",
    "L",
    "l",
    "L",
    // U+0140
    "l",
    "L",
    "l",
    "N",
    "n",
    "N",
    "n",
    "N",
    "n",
    "n",
    "N",
    "n",
    "O",
    "o",
    "O",
    "o",
    // U+0150
    "O",
    "o",
    "OE",
    "oe",
    "R",
    "r",
    "R",
    "r",
    "R",
    "r",
    "S",
    "s",
    "S",
    "s",
    "S",
    "s",
    // U+0160
    "S",
    "s",
    "T",
    "t",
    "T",
    "t",
    "T",
    "t",
    "U",
    "u",
    "U",
    "u",
    "U",
    "u",
    "U",
    "u",
    // U+0170
    "U",
    "u",
    "U",
    "u",
    "W",
    "w",
    "Y",
    "y",
    "Y",
    "Z",
    "z",
    "Z",
    "z",
    "Z",
    "z",
    "s",
};

int32_t lower_cp(int32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;
  if (cp == 0x130) return 'i';
  if (cp >= 0x100 && cp <= 0x137) return (cp % 2 == 0) ? cp + 1 : cp;
  if (cp >= 0x139 && cp <= 0x148) return (cp % 2 == 1) ? cp + 1 : cp;
  if (cp >= 0x14A && cp <= 0x177) return (cp % 2 == 0) ? cp + 1 : cp;
  if (cp == 0x178) return 0xFF;
  if (cp >= 0x179 && cp <= 0x17E) return (cp % 2 == 1) ? cp + 1 : cp;
  return cp;
}

int32_t upper_cp(int32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
  if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) return cp - 0x20;
  if (cp == 0xFF) return 0x178;
  if (cp == 0x131) return 'I';
  if (cp >= 0x100 && cp <= 0x137) return (cp % 2 == 1) ? cp - 1 : cp;
  if (cp >= 0x139 && cp <= 0x148) return (cp % 2 == 0) ? cp - 1 : cp;
  if (cp >= 0x14A && cp <= 0x177) return (cp % 2 == 1) ? cp - 1 : cp;
  if (cp >= 0x179 && cp <= 0x17E) return (cp % 2 == 0) ? cp - 1 : cp;
  return cp;
}

bool all_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

void fold_ascii(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const int32_t cp = next_code_point(in, i);
    if (cp < 0) continue;
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp >= 0xC0 && cp < 0x180) {
      out += kFold[cp - 0xC0];
    } else if (cp == 0x218 || cp == 0x21A) {  // Ș Ț
      out.push_back(cp == 0x218 ? 'S' : 'T');
    } else if (cp == 0x219 || cp == 0x21B) {  // ș ț
      out.push_back(cp == 0x219 ? 's' : 't');
    } else if (cp == 0x1E9E) {  // capital sharp s
      out += "SS";
    }
    // Everything else (combining marks, apostrophes, other scripts) is dropped.
  }
}

void to_lower(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  if (all_ascii(in)) {
    for (char c : in) out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
    return;
  }
  std::size_t i = 0;
  while (i < in.size()) {
    const int32_t cp = next_code_point(in, i);
    if (cp >= 0) append_utf8(lower_cp(cp), out);
  }
}

void to_upper(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  if (all_ascii(in)) {
    for (char c : in) out.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c);
    return;
  }
  std::size_t i = 0;
  while (i < in.size()) {
    const int32_t cp = next_code_point(in, i);
    if (cp >= 0) append_utf8(upper_cp(cp), out);
  }
}

void keep_alnum(std::string_view in, std::string& out) {
  const std::size_t start = out.size();
  for (char c : in) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    const bool separator = c == '.' || c == '-' || c == '_';
    if (alnum || (separator && out.size() > start)) out.push_back(c);
  }
  while (out.size() > start) {
    const char c = out.back();
    if (c != '.' && c != '-' && c != '_') break;
    out.pop_back();
  }
}

std::string_view first_chars(std::string_view in, std::int64_t n) {
  if (n <= 0) return {};
  std::size_t i = 0;
  std::int64_t count = 0;
  while (i < in.size() && count < n) {
    next_code_point(in, i);
    ++count;
  }
  return in.substr(0, i);
}

std::string_view trim(std::string_view in) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!in.empty() && space(in.front())) in.remove_prefix(1);
  while (!in.empty() && space(in.back())) in.remove_suffix(1);
  return in;
}

}  // namespace prov::policy
