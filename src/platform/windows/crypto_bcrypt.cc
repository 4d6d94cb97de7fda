// BCrypt (CNG) is Windows' own crypto library: no OpenSSL to ship, patch or configure.
#include <windows.h>
// windows.h first: bcrypt.h needs its types.
#include <bcrypt.h>

#include <stdexcept>

#include "prov/crypto_primitives.h"

namespace prov::platform {
namespace {

bool ok(NTSTATUS s) { return s >= 0; }

// One hash (or HMAC, with a key) of `data` with the algorithm `alg` (BCRYPT_SHA256_ALGORITHM...).
std::string hash(const wchar_t* alg, std::string_view key, std::string_view data, bool hmac) {
  BCRYPT_ALG_HANDLE provider = nullptr;
  if (!ok(BCryptOpenAlgorithmProvider(&provider, alg, nullptr,
                                      hmac ? BCRYPT_ALG_HANDLE_HMAC_FLAG : 0)))
    throw std::runtime_error("BCryptOpenAlgorithmProvider failed");
  DWORD length = 0, got = 0;
  BCryptGetProperty(provider, BCRYPT_HASH_LENGTH, reinterpret_cast<PUCHAR>(&length), sizeof length,
                    &got, 0);
  std::string out(length, '\0');
  BCRYPT_HASH_HANDLE h = nullptr;
  auto* k = reinterpret_cast<PUCHAR>(const_cast<char*>(key.data()));
  const bool done = ok(BCryptCreateHash(provider, &h, nullptr, 0, hmac ? k : nullptr,
                                        hmac ? static_cast<ULONG>(key.size()) : 0, 0)) &&
                    ok(BCryptHashData(h, reinterpret_cast<PUCHAR>(const_cast<char*>(data.data())),
                                      static_cast<ULONG>(data.size()), 0)) &&
                    ok(BCryptFinishHash(h, reinterpret_cast<PUCHAR>(out.data()), length, 0));
  if (h) BCryptDestroyHash(h);
  BCryptCloseAlgorithmProvider(provider, 0);
  if (!done || length == 0) throw std::runtime_error("BCrypt hash failed");
  return out;
}

}  // namespace

std::string sha1(std::string_view data) { return hash(BCRYPT_SHA1_ALGORITHM, {}, data, false); }
std::string sha256(std::string_view data) { return hash(BCRYPT_SHA256_ALGORITHM, {}, data, false); }
std::string hmac_sha256(std::string_view key, std::string_view data) {
  return hash(BCRYPT_SHA256_ALGORITHM, key, data, true);
}

void random_bytes(unsigned char* out, std::size_t size) {
  if (!ok(BCryptGenRandom(nullptr, out, static_cast<ULONG>(size), BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
    throw std::runtime_error("BCryptGenRandom failed");
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

void secure_zero(void* data, std::size_t size) { SecureZeroMemory(data, size); }

}  // namespace prov::platform
