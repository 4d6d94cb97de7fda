#include "ldap/escape.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace prov::ldap {
namespace {

using namespace std::string_literals;

TEST(EscapeDnValue, EscapesEverySpecialCharacter) {
  EXPECT_EQ(escape_dn_value("a,b"), "a\\,b");
  EXPECT_EQ(escape_dn_value("a+b"), "a\\+b");
  EXPECT_EQ(escape_dn_value("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(escape_dn_value("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_dn_value("<tag>"), "\\<tag\\>");
  EXPECT_EQ(escape_dn_value("a;b=c"), "a\\;b\\=c");
}

TEST(EscapeDnValue, EscapesLeadingHashAndSpacesAtTheEnds) {
  EXPECT_EQ(escape_dn_value("#1"), "\\#1");
  EXPECT_EQ(escape_dn_value("a#1"), "a#1");  // only a leading # is special
  EXPECT_EQ(escape_dn_value(" lead"), "\\ lead");
  EXPECT_EQ(escape_dn_value("trail "), "trail\\ ");
  EXPECT_EQ(escape_dn_value("in side"), "in side");
  EXPECT_EQ(escape_dn_value(" "), "\\ ");
}

TEST(EscapeDnValue, HexEscapesNulControlsAndInvalidUtf8) {
  EXPECT_EQ(escape_dn_value("a\0b"s), "a\\00b");
  EXPECT_EQ(escape_dn_value("tab\there"), "tab\\09here");
  EXPECT_EQ(escape_dn_value("\xff\xfe"), "\\ff\\fe");
  EXPECT_EQ(escape_dn_value("\xc3"), "\\c3");                  // truncated sequence
  EXPECT_EQ(escape_dn_value("\xc0\xaf"), "\\c0\\af");          // overlong '/'
  EXPECT_EQ(escape_dn_value("\xed\xa0\x80"), "\\ed\\a0\\80");  // UTF-16 surrogate
}

TEST(EscapeDnValue, KeepsValidUtf8) {
  EXPECT_EQ(escape_dn_value("José Núñez"), "José Núñez");
  EXPECT_EQ(escape_dn_value("王小明"), "王小明");
  EXPECT_EQ(escape_dn_value("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

TEST(EscapeDnValue, InjectionStringsStayInsideTheValue) {
  const std::string dn = make_dn("uid", "x,ou=admins", "ou=people,dc=example,dc=com");
  EXPECT_EQ(dn, "uid=x\\,ou\\=admins,ou=people,dc=example,dc=com");
  const DnSplit split = split_dn(dn);
  EXPECT_EQ(split.rdn, "uid=x\\,ou\\=admins");
  EXPECT_EQ(split.parent, "ou=people,dc=example,dc=com");
}

TEST(UnescapeDnValue, AcceptsBothEscapeForms) {
  EXPECT_EQ(unescape_dn_value("a\\,b"), "a,b");
  EXPECT_EQ(unescape_dn_value("a\\2Cb"), "a,b");
  EXPECT_EQ(unescape_dn_value("\\23x"), "#x");
  EXPECT_EQ(unescape_dn_value("nul\\00"), "nul\0"s);
}

TEST(UnescapeDnValue, RejectsMalformedEscapes) {
  EXPECT_EQ(unescape_dn_value("dangling\\"), std::nullopt);
  EXPECT_EQ(unescape_dn_value("bad\\zz"), std::nullopt);
  EXPECT_EQ(unescape_dn_value("half\\4"), std::nullopt);
}

TEST(EscapeFilterValue, EscapesRfc4515Characters) {
  EXPECT_EQ(escape_filter_value("*"), "\\2a");
  EXPECT_EQ(escape_filter_value("(x)"), "\\28x\\29");
  EXPECT_EQ(escape_filter_value("a\\b"), "a\\5cb");
  EXPECT_EQ(escape_filter_value("a\0b"s), "a\\00b");
  EXPECT_EQ(escape_filter_value("plain value,+=#"), "plain value,+=#");
  EXPECT_EQ(escape_filter_value("\xff"), "\\ff");
  EXPECT_EQ(escape_filter_value("Núñez"), "Núñez");
}

TEST(AnyOfFilter, EveryValueIsOneEscapedAssertion) {
  EXPECT_EQ(any_of_filter("uid", {"jsmith", "*)(uid=*"}),
            "(|(uid=jsmith)(uid=\\2a\\29\\28uid=\\2a))");
  EXPECT_EQ(any_of_filter("uid", {}), "(|)");
}

TEST(EscapeFilterValue, InjectionBecomesOneLiteralAssertion) {
  const std::string filter = equality_filter("uid", "*)(uid=*");
  EXPECT_EQ(filter, "(uid=\\2a\\29\\28uid=\\2a)");
  // No unescaped parenthesis or asterisk remains between the outer parentheses.
  const std::string inner = filter.substr(1, filter.size() - 2);
  EXPECT_EQ(inner.find_first_of("()*"), std::string::npos);
}

TEST(UnescapeFilterValue, RejectsMalformedEscapes) {
  EXPECT_EQ(unescape_filter_value("\\2"), std::nullopt);
  EXPECT_EQ(unescape_filter_value("\\g0"), std::nullopt);
  EXPECT_EQ(unescape_filter_value("\\2a\\28"), "*(");
}

TEST(DnHelpers, JoinAndCompare) {
  EXPECT_EQ(join_dn("ou=people", "dc=example,dc=com"), "ou=people,dc=example,dc=com");
  EXPECT_EQ(join_dn("", "dc=example,dc=com"), "dc=example,dc=com");
  EXPECT_EQ(join_dn("ou=people", ""), "ou=people");
  EXPECT_TRUE(
      same_dn("UID=A\\2cB, OU=People,dc=Example,dc=com", "uid=a\\,b,ou=people,dc=example,dc=com"));
  EXPECT_FALSE(
      same_dn("uid=a,ou=people,dc=example,dc=com", "uid=a,ou=contractors,dc=example,dc=com"));
  EXPECT_FALSE(same_dn("uid=a\\,ou=people", "uid=a,ou=people"));
  EXPECT_EQ(split_dn("dc=com").parent, "");
}

// Property: for any byte string, unescape(escape(v)) == v, and the escaped form never contains
// a character that would end the value early.
class EscapeRoundTrip : public ::testing::TestWithParam<unsigned> {};

std::string random_bytes(std::mt19937& rng) {
  static const std::string kInteresting = ",+\"\\<>;=# *()\0\x7f\xc3\xa9\xff\xe2\x82\xac"s;
  std::uniform_int_distribution<int> len(0, 24);
  std::uniform_int_distribution<int> pick(0, 3);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::size_t> special(0, kInteresting.size() - 1);
  std::string s;
  const int n = len(rng);
  for (int i = 0; i < n; ++i) {
    s.push_back(pick(rng) == 0 ? static_cast<char>(byte(rng)) : kInteresting[special(rng)]);
  }
  return s;
}

TEST_P(EscapeRoundTrip, DnAndFilterEscapingRoundTrip) {
  std::mt19937 rng(GetParam());
  for (int i = 0; i < 2000; ++i) {
    const std::string v = random_bytes(rng);
    const std::string dn_escaped = escape_dn_value(v);
    ASSERT_EQ(unescape_dn_value(dn_escaped), v) << dn_escaped;
    // The escaped value splits as one RDN: no unescaped ',' leaks out.
    const std::string dn = make_dn("cn", v, "dc=example,dc=com");
    ASSERT_EQ(split_dn(dn).parent, "dc=example,dc=com") << dn;
    ASSERT_TRUE(same_dn(dn, "CN=" + dn_escaped + ",DC=example,DC=com"));

    const std::string filter_escaped = escape_filter_value(v);
    ASSERT_EQ(unescape_filter_value(filter_escaped), v) << filter_escaped;
    ASSERT_EQ(filter_escaped.find_first_of("()*"s + '\0'), std::string::npos) << filter_escaped;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, EscapeRoundTrip, ::testing::Values(1u, 42u, 2026u, 31337u));

}  // namespace
}  // namespace prov::ldap
