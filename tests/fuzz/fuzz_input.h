#pragma once
// Pieces shared by the fuzz targets: failing an input loudly, and cutting one input into the
// fields a target needs. Plain text fields (lines) rather than a binary layout, so seeds can be
// written by hand and crashers read in a text editor.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace prov::fuzz {

// A broken property: print it and abort. libFuzzer records the abort as a crash and saves the
// input; the replay test fails with the message in its output.
[[noreturn]] inline void fail(const char* file, int line, const char* property,
                              std::string_view detail) {
  std::fprintf(stderr, "%s:%d: property failed: %s\n", file, line, property);
  if (!detail.empty()) {
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

// Printable form of bytes for failure messages: non-printable bytes as \xNN.
inline std::string printable(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// The first `count - 1` lines of `data` and then everything after them (which may hold more
// newlines). Missing fields are empty.
inline std::vector<std::string_view> split_fields(std::string_view data, std::size_t count) {
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < count) {
    const std::size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      fields.push_back(data);
      data = {};
      continue;
    }
    fields.push_back(data.substr(0, nl));
    data.remove_prefix(nl + 1);
  }
  fields.push_back(data);
  return fields;
}

// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or values past
// U+10FFFF). Written here independently of the code under test so the two can disagree.
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t cp;
    if (b0 < 0x80) {
      ++i;
      continue;
    } else if ((b0 & 0xe0) == 0xc0) {
      len = 2;
      cp = b0 & 0x1f;
    } else if ((b0 & 0xf0) == 0xe0) {
      len = 3;
      cp = b0 & 0x0f;
    } else if ((b0 & 0xf8) == 0xf0) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

// Number of times `needle` occurs in `hay`.
inline std::size_t count_of(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = hay.find(needle); at != std::string_view::npos;
       at = hay.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

}  // namespace prov::fuzz

// Checks a property of the input under test; on failure prints the condition and `detail`.
#define PROV_FUZZ_CHECK(cond, detail)                          \
  do {                                                         \
    if (!(cond)) ::prov::fuzz::fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)
