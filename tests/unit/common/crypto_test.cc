#include <gtest/gtest.h>

#include <set>
#include <vector>

#include <openssl/sha.h>

#include "prov/crypto.h"

namespace prov {
namespace {

TEST(Crypto, Sha256KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, HmacSha256Rfc4231Case2) {
  auto mac = hmac_sha256("Jefe", "what do ya want for nothing?");
  std::string hex;
  for (unsigned char c : mac) {
    static const char* d = "0123456789abcdef";
    hex += d[c >> 4];
    hex += d[c & 15];
  }
  EXPECT_EQ(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, Base64RoundTripAndRejectsGarbage) {
  for (std::string s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar",
                                                std::string("\0\xff", 2)})
    EXPECT_EQ(base64_decode(base64_encode(s)).value(), s);
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("Zm9v!mFy").has_value());
  EXPECT_FALSE(base64_decode("Zm9").has_value());
  EXPECT_FALSE(base64_decode("Z=9v").has_value());
}

// {SSHA}: base64 of SHA-1(password + salt) followed by the salt (what slapd verifies a bind
// against; the integration tests bind with such passwords), and a fresh salt every time.
TEST(Crypto, SshaPasswordIsSaltedSha1InTheLdapScheme) {
  const std::string password = "Correct-Horse-9";
  const std::string value = ssha_password(password);
  ASSERT_EQ(value.rfind("{SSHA}", 0), 0u) << value;
  const auto raw = base64_decode(value.substr(6));
  ASSERT_TRUE(raw.has_value());
  ASSERT_EQ(raw->size(), 28u);  // 20 bytes of digest, 8 of salt
  const std::string salted = password + raw->substr(20);
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(salted.data()), salted.size(), md);
  EXPECT_EQ(raw->substr(0, 20), std::string(reinterpret_cast<char*>(md), sizeof md));
  EXPECT_NE(ssha_password(password), value);
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Crypto, RandomPasswordsHaveEveryClassAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto p = random_password(20);
    ASSERT_EQ(p.size(), 20u);
    bool up = false, low = false, dig = false, sym = false;
    for (char c : p) {
      up |= std::isupper(static_cast<unsigned char>(c)) != 0;
      low |= std::islower(static_cast<unsigned char>(c)) != 0;
      dig |= std::isdigit(static_cast<unsigned char>(c)) != 0;
      sym |= !std::isalnum(static_cast<unsigned char>(c));
    }
    EXPECT_TRUE(up && low && dig && sym) << p;
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 50u);
}

}  // namespace
}  // namespace prov
