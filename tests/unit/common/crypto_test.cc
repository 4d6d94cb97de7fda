#include <gtest/gtest.h>

#include <set>
#include <vector>

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
