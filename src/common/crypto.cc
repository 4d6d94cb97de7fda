// The portable part of prov/crypto.h; hashing and randomness come from the platform's crypto
// library (prov/crypto_primitives.h).
#include "prov/crypto.h"

#include <algorithm>

#include "prov/crypto_primitives.h"

namespace prov {
namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string to_hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char ch : raw) {
    out.push_back(kDigits[ch >> 4]);
    out.push_back(kDigits[ch & 15]);
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) { return to_hex(platform::sha256(data)); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  return platform::hmac_sha256(key, data);
}

std::string base64_encode(std::string_view raw) {
  std::string out;
  out.reserve(4 * ((raw.size() + 2) / 3));
  for (std::size_t i = 0; i < raw.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, raw.size() - i);
    unsigned v = static_cast<unsigned char>(raw[i]) << 16;
    if (n > 1) v |= static_cast<unsigned char>(raw[i + 1]) << 8;
    if (n > 2) v |= static_cast<unsigned char>(raw[i + 2]);
    out.push_back(kBase64[(v >> 18) & 63]);
    out.push_back(kBase64[(v >> 12) & 63]);
    out.push_back(n > 1 ? kBase64[(v >> 6) & 63] : '=');
    out.push_back(n > 2 ? kBase64[v & 63] : '=');
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // Strict: whole quartets, only the alphabet, padding (at most two) only at the end.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      if (i + 2 < text.size()) return std::nullopt;
      ++pad;
      continue;
    }
    if (base64_value(text[i]) < 0 || pad) return std::nullopt;
  }
  std::string out;
  out.reserve(3 * text.size() / 4);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    unsigned v = 0;
    for (std::size_t j = 0; j < 4; ++j)
      v = (v << 6) | (text[i + j] == '=' ? 0u : static_cast<unsigned>(base64_value(text[i + j])));
    out.push_back(static_cast<char>((v >> 16) & 255));
    out.push_back(static_cast<char>((v >> 8) & 255));
    out.push_back(static_cast<char>(v & 255));
  }
  out.resize(out.size() - pad);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return platform::constant_time_equal(a, b);
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  platform::random_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return to_hex(raw);
}

std::string random_password(std::size_t length) {
  static constexpr std::string_view kClasses[] = {
      "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-.:=?@_"};
  if (length < 4) length = 4;
  std::string out;
  out.reserve(length);
  unsigned char buf[256];
  platform::random_bytes(buf, sizeof buf);
  // First one of each class so every directory complexity rule is met, then any class.
  for (size_t i = 0; i < length; ++i) {
    std::string_view cls = kClasses[i < 4 ? i : buf[i % sizeof buf] % 4];
    out.push_back(cls[buf[(i * 7 + 3) % sizeof buf] % cls.size()]);
  }
  // Shuffle so the class order is not predictable.
  for (size_t i = length - 1; i > 0; --i)
    std::swap(out[i], out[buf[(200 + i) % sizeof buf] % (i + 1)]);
  return out;
}

std::string ssha_password(std::string_view password) {
  unsigned char salt[8];
  platform::random_bytes(salt, sizeof salt);
  std::string salted(password);
  salted.append(reinterpret_cast<char*>(salt), sizeof salt);
  std::string raw = platform::sha1(salted);
  raw.append(reinterpret_cast<char*>(salt), sizeof salt);
  std::string out = "{SSHA}" + base64_encode(raw);
  platform::secure_zero(raw.data(), raw.size());
  platform::secure_zero(salted.data(), salted.size());
  return out;
}

}  // namespace prov
