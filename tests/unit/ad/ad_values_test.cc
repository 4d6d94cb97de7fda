#include "ad/ad_values.h"

#include <gtest/gtest.h>

#include <string>

#include "prov/crypto.h"

namespace prov::ad {
namespace {

using namespace std::string_literals;

TEST(UnicodePwd, QuotesAndEncodesAsUtf16le) {
  auto encoded = encode_unicode_pwd("ab");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(*encoded, "\x22\x00\x61\x00\x62\x00\x22\x00"s);
}

TEST(UnicodePwd, MatchesTheDocumentedLdifForm) {
  // The example from Microsoft's "Set a Windows Active Directory user password via LDAP".
  auto encoded = encode_unicode_pwd("newPassword");
  ASSERT_TRUE(encoded);
  EXPECT_EQ(base64_encode(*encoded), "IgBuAGUAdwBQAGEAcwBzAHcAbwByAGQAIgA=");
}

TEST(UnicodePwd, EncodesNonAsciiAndSurrogatePairs) {
  auto encoded = encode_unicode_pwd("\xc3\xa9\xf0\x9f\x98\x80");  // é U+1F600
  ASSERT_TRUE(encoded);
  EXPECT_EQ(*encoded, "\x22\x00\xe9\x00\x3d\xd8\x00\xde\x22\x00"s);
}

TEST(UnicodePwd, RejectsInvalidUtf8) {
  EXPECT_FALSE(encode_unicode_pwd("ab\xff"));
  EXPECT_FALSE(encode_unicode_pwd("\xc3"));          // truncated
  EXPECT_FALSE(encode_unicode_pwd("\xed\xa0\x80"));  // encoded surrogate
  EXPECT_FALSE(encode_unicode_pwd("\xc0\xaf"));      // overlong '/'
}

TEST(UserAccountControl, ParsesSignedDecimal) {
  EXPECT_EQ(parse_uac("512"), 512u);
  EXPECT_EQ(parse_uac("-2147483646"), 0x80000002u);
  EXPECT_EQ(parse_uac("4294967295"), 0xffffffffu);
  EXPECT_FALSE(parse_uac(""));
  EXPECT_FALSE(parse_uac("512x"));
  EXPECT_FALSE(parse_uac("abc"));
  EXPECT_FALSE(parse_uac("-2147483649"));
  EXPECT_FALSE(parse_uac("4294967296"));
}

TEST(UserAccountControl, FormatsAsSignedDecimal) {
  EXPECT_EQ(format_uac(514), "514");
  EXPECT_EQ(format_uac(0x80000002u), "-2147483646");
  EXPECT_EQ(parse_uac(format_uac(0x80000200u)), 0x80000200u);
}

TEST(UserAccountControl, DisableFlipsOnlyBitTwo) {
  const std::uint32_t no_expiry = kUacNormalAccount | kUacDontExpirePassword;  // 66048
  const std::uint32_t disabled = with_disabled(no_expiry, true);
  EXPECT_EQ(disabled, 66050u);
  EXPECT_TRUE(is_disabled(disabled));
  EXPECT_EQ(with_disabled(disabled, false), no_expiry);
  EXPECT_FALSE(is_disabled(with_disabled(disabled, false)));
  EXPECT_EQ(with_disabled(disabled, true), disabled);  // idempotent
  EXPECT_EQ(with_disabled(512, false), 512u);
  EXPECT_EQ(kUacNewDisabledUser, 514u);
}

TEST(ObjectGuid, StringFormSwapsTheFirstThreeFields) {
  const std::string bytes = "\x33\x22\x11\x00\x55\x44\x77\x66\x88\x99\xaa\xbb\xcc\xdd\xee\xff"s;
  EXPECT_EQ(guid_to_string(bytes), "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_EQ(guid_from_string("00112233-4455-6677-8899-aabbccddeeff"), bytes);
  EXPECT_EQ(guid_from_string("{00112233-4455-6677-8899-AABBCCDDEEFF}"), bytes);
}

TEST(ObjectGuid, RoundTripsEveryByteValue) {
  for (int start = 0; start < 256; start += 16) {
    std::string bytes;
    for (int k = 0; k < 16; ++k) bytes.push_back(static_cast<char>(start + k));
    auto text = guid_to_string(bytes);
    ASSERT_TRUE(text);
    EXPECT_EQ(text->size(), 36u);
    EXPECT_EQ(guid_from_string(*text), bytes) << *text;
  }
}

TEST(ObjectGuid, RejectsMalformedInput) {
  EXPECT_FALSE(guid_to_string("short"));
  EXPECT_FALSE(guid_to_string(std::string(17, 'x')));
  EXPECT_FALSE(guid_from_string(""));
  EXPECT_FALSE(guid_from_string("00112233-4455-6677-8899-aabbccddeef"));    // 35 chars
  EXPECT_FALSE(guid_from_string("00112233-4455-6677-8899-aabbccddeefg"));   // not hex
  EXPECT_FALSE(guid_from_string("001122334-455-6677-8899-aabbccddeeff"));   // dash misplaced
  EXPECT_FALSE(guid_from_string("{00112233-4455-6677-8899-aabbccddeeff"));  // one brace
}

TEST(ObjectGuid, FilterEscapesEveryByte) {
  const std::string bytes = "()*\\\0abcdefghijk"s;
  ASSERT_EQ(bytes.size(), 16u);
  EXPECT_EQ(guid_filter(bytes),
            "(objectGUID=\\28\\29\\2a\\5c\\00\\61\\62\\63\\64\\65\\66\\67\\68\\69\\6a\\6b)");
}

TEST(SamAccountName, AcceptsOrdinaryNames) {
  EXPECT_TRUE(validate_sam_account_name("alovelace"));
  EXPECT_TRUE(validate_sam_account_name("a.lovelace-2_x"));
  EXPECT_TRUE(validate_sam_account_name(std::string(20, 'a')));
  // The limit counts characters, not bytes: 20 × 'é' is 40 bytes.
  std::string accented;
  for (int i = 0; i < 20; ++i) accented += "\xc3\xa9";
  EXPECT_TRUE(validate_sam_account_name(accented));
}

TEST(SamAccountName, RefusesMoreThanTwentyCharactersAndSaysSo) {
  Status s = validate_sam_account_name(std::string(21, 'a'));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("21 characters"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("at most 20"), std::string::npos) << s.error().message;
  EXPECT_FALSE(s.error().retryable);
}

TEST(SamAccountName, RefusesEachForbiddenCharacter) {
  for (char c : std::string("\"/\\[]:;|=,+*?<>@")) {
    const std::string name = std::string("ab") + c + "cd";
    Status s = validate_sam_account_name(name);
    ASSERT_FALSE(s) << name;
    EXPECT_NE(s.error().message.find(std::string("'") + c + "'"), std::string::npos)
        << s.error().message;
  }
}

TEST(SamAccountName, RefusesTrailingDotEmptyDotsAndControls) {
  EXPECT_FALSE(validate_sam_account_name(""));
  EXPECT_FALSE(validate_sam_account_name("alice."));
  EXPECT_FALSE(validate_sam_account_name(". ."));
  EXPECT_FALSE(validate_sam_account_name("al\tice"));
  EXPECT_FALSE(validate_sam_account_name("al\xff"));
  EXPECT_TRUE(validate_sam_account_name("al.ice"));
}

TEST(SamAccountName, GroupAccountNamesAreMadeValid) {
  EXPECT_EQ(group_account_name("erp-users"), "erp-users");
  EXPECT_EQ(group_account_name("g1,cn=admins*)("), "g1_cn_admins_)(");
  EXPECT_EQ(group_account_name("a\"b/c\\d[e]f:g;h|i+j?k<l>m@n"), "a_b_c_d_e_f_g_h_i_j_k_l_m_n");
  EXPECT_EQ(group_account_name("team. "), "team");
  EXPECT_EQ(group_account_name("..."), "group");
  EXPECT_EQ(utf16_length(group_account_name(std::string(100, 'g'))), 64u);
  EXPECT_TRUE(validate_cn(group_account_name("Caf\xc3\xa9 crew")));
}

TEST(EmployeeId, HoldsAtMostSixteenCharacters) {
  EXPECT_TRUE(validate_employee_id("100234"));
  EXPECT_TRUE(validate_employee_id(std::string(16, '9')));
  Status s = validate_employee_id(std::string(17, '9'));
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("at most 16"), std::string::npos) << s.error().message;
  EXPECT_FALSE(validate_employee_id(""));
  EXPECT_FALSE(validate_employee_id("12\xff"));
}

TEST(Cn, EnforcesSixtyFourCharacters) {
  EXPECT_TRUE(validate_cn(std::string(64, 'x')));
  EXPECT_FALSE(validate_cn(std::string(65, 'x')));
  EXPECT_FALSE(validate_cn(""));
  EXPECT_FALSE(validate_cn("a\nb"));
  EXPECT_TRUE(
      validate_cn("Jos\xc3\xa9 N\xc3\xba\xc3\xb1"
                  "ez, Jr."));
}

TEST(Cn, UserCnPrefersDisplayNameAndSuffixesTheUsernameOnCollision) {
  EXPECT_EQ(user_cn("Ada Lovelace", "alovelace", false), "Ada Lovelace");
  EXPECT_EQ(user_cn("  ", "alovelace", false), "alovelace");
  EXPECT_EQ(user_cn("Ada Lovelace", "alovelace", true), "Ada Lovelace (alovelace)");
}

TEST(Cn, UserCnStaysWithinTheLimit) {
  const std::string long_name(70, 'n');
  EXPECT_EQ(user_cn(long_name, "u", false), std::string(64, 'n'));
  const std::string collided = user_cn(long_name, "alovelace", true);
  EXPECT_EQ(utf16_length(collided), 64u);
  EXPECT_TRUE(collided.ends_with(" (alovelace)")) << collided;
  EXPECT_TRUE(validate_cn(collided));
}

TEST(Utf16, CountsAndTruncatesAtCharacterBoundaries) {
  const std::string smiley = "\xf0\x9f\x98\x80";  // two UTF-16 units
  EXPECT_EQ(utf16_length("abc"), 3u);
  EXPECT_EQ(utf16_length("\xc3\xa9"), 1u);
  EXPECT_EQ(utf16_length(smiley), 2u);
  EXPECT_EQ(truncate_utf16("a" + smiley, 2), "a");  // the pair does not fit: not split
  EXPECT_EQ(truncate_utf16("a" + smiley, 3), "a" + smiley);
  EXPECT_EQ(truncate_utf16("\xc3\xa9\xc3\xa9", 1), "\xc3\xa9");
}

TEST(Upn, RealmComesFromTheDcComponents) {
  EXPECT_EQ(realm_from_base_dn("DC=example,DC=test"), "example.test");
  EXPECT_EQ(realm_from_base_dn("ou=Staff, dc=Corp , DC=Example,dc=COM"), "corp.example.com");
  EXPECT_EQ(realm_from_base_dn("o=acme"), "");
}

TEST(Upn, BuildsUsernameAtSuffix) {
  auto upn = build_upn("alovelace", "example.test");
  ASSERT_TRUE(upn);
  EXPECT_EQ(*upn, "alovelace@example.test");
  auto with_at = build_upn("alovelace", "@corp.example.com");
  ASSERT_TRUE(with_at);
  EXPECT_EQ(*with_at, "alovelace@corp.example.com");
  EXPECT_FALSE(build_upn("alovelace", ""));
  EXPECT_FALSE(build_upn("", "example.test"));
  EXPECT_FALSE(build_upn("alovelace", "exa mple.test"));
}

TEST(BindDiagnostics, ExtractsTheDataCode) {
  EXPECT_EQ(bind_data_code("80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext "
                           "error, data 773, v4563"),
            "773");
  EXPECT_EQ(bind_data_code("... data 52E, v1db1"), "52e");
  EXPECT_FALSE(bind_data_code("Invalid credentials"));
  EXPECT_FALSE(bind_data_code("data , x"));
  EXPECT_EQ(describe_bind_data_code("533"), "account disabled");
  EXPECT_EQ(describe_bind_data_code("zzz"), "");
}

}  // namespace
}  // namespace prov::ad
