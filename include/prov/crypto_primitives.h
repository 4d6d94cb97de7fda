#pragma once
// The few primitives prov/crypto.h is built on, provided by the platform's own crypto library:
// OpenSSL on POSIX (src/platform/posix/crypto_openssl.cc), BCrypt on Windows
// (src/platform/windows/crypto_bcrypt.cc). Everything above them (hex, base64, password
// generation, {SSHA}) is portable and lives in src/common/crypto.cc.
#include <cstddef>
#include <string>
#include <string_view>

namespace prov::platform {

std::string sha1(std::string_view data);                               // raw 20 bytes
std::string sha256(std::string_view data);                             // raw 32 bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
// Fills `out` from the system's cryptographic generator; throws std::runtime_error on failure.
void random_bytes(unsigned char* out, std::size_t size);
bool constant_time_equal(std::string_view a, std::string_view b);
// Overwrites `size` bytes at `data` in a way the optimiser keeps.
void secure_zero(void* data, std::size_t size);

}  // namespace prov::platform
