#include "hr/signature.h"

#include <gtest/gtest.h>

#include "prov/crypto.h"

namespace prov {
namespace {

// The published Standard Webhooks test vector (standard-webhooks/standard-webhooks libraries).
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t kTimestamp = 1614265330;
constexpr std::string_view kPayload = R"({"test": 2432232314})";
constexpr std::string_view kExpected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
constexpr std::chrono::seconds kTolerance{300};

TimePoint at(std::int64_t unix_seconds) { return from_unix_ms(unix_seconds * 1000); }

std::string key() { return *signing_key(kSecret); }

SignatureVerdict check(std::string_view signature, std::string_view body = kPayload,
                       std::int64_t now = kTimestamp, std::vector<std::string> keys = {key()}) {
  const std::string ts = std::to_string(kTimestamp);
  return verify_signature({kId, ts, signature, body}, keys, at(now), kTolerance);
}

TEST(SigningKey, WhsecPrefixIsBase64Decoded) {
  auto decoded = signing_key(kSecret);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, *base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  EXPECT_EQ(decoded->size(), 24u);
}

TEST(SigningKey, OtherSecretsAreRawBytes) {
  EXPECT_EQ(signing_key("plain secret"), std::optional<std::string>("plain secret"));
  // Only the exact prefix counts.
  EXPECT_EQ(signing_key("WHSEC_abcd"), std::optional<std::string>("WHSEC_abcd"));
}

TEST(SigningKey, WhsecWithBadBase64IsRejected) {
  EXPECT_FALSE(signing_key("whsec_not*base64").has_value());
}

TEST(Sign, ReproducesTheReferenceVector) {
  EXPECT_EQ(sign(key(), kId, kTimestamp, kPayload), kExpected);
}

TEST(Sign, RawSecretGivesADifferentSignatureThanItsDecodedKey) {
  EXPECT_NE(sign(std::string(kSecret), kId, kTimestamp, kPayload), kExpected);
}

TEST(VerifySignature, AcceptsTheReferenceVector) {
  SignatureVerdict v = check(kExpected);
  EXPECT_TRUE(v.ok()) << v.detail;
  EXPECT_EQ(v.check, SignatureCheck::Ok);
}

TEST(VerifySignature, AcceptsWhenOneOfSeveralValuesMatches) {
  const std::string other = sign("another key", kId, kTimestamp, kPayload);
  const std::string header = other + " v1a,c29tZXRoaW5nIGVsc2U= " + std::string(kExpected);
  EXPECT_TRUE(check(header).ok());
}

TEST(VerifySignature, AcceptsAnyOfSeveralKeysForRotation) {
  EXPECT_TRUE(check(kExpected, kPayload, kTimestamp, {"old key", key()}).ok());
  EXPECT_TRUE(check(kExpected, kPayload, kTimestamp, {key(), "next key"}).ok());
}

TEST(VerifySignature, RejectsATamperedBody) {
  SignatureVerdict v = check(kExpected, R"({"test": 2432232315})");
  EXPECT_EQ(v.check, SignatureCheck::NoMatch);
  EXPECT_EQ(v.header, "webhook-signature");
}

TEST(VerifySignature, RejectsTheWrongSecret) {
  EXPECT_EQ(check(kExpected, kPayload, kTimestamp, {"whsec_wrong"}).check, SignatureCheck::NoMatch);
  EXPECT_EQ(check(kExpected, kPayload, kTimestamp, {}).check, SignatureCheck::NoMatch);
}

TEST(VerifySignature, ToleranceIsInclusiveAtTheEdges) {
  EXPECT_TRUE(check(kExpected, kPayload, kTimestamp + 300).ok());
  EXPECT_TRUE(check(kExpected, kPayload, kTimestamp - 300).ok());
}

TEST(VerifySignature, RejectsATimestamp301SecondsOld) {
  SignatureVerdict v = check(kExpected, kPayload, kTimestamp + 301);
  EXPECT_EQ(v.check, SignatureCheck::TooOld);
  EXPECT_EQ(v.header, "webhook-timestamp");
}

TEST(VerifySignature, RejectsATimestamp301SecondsAhead) {
  SignatureVerdict v = check(kExpected, kPayload, kTimestamp - 301);
  EXPECT_EQ(v.check, SignatureCheck::TooNew);
  EXPECT_EQ(v.header, "webhook-timestamp");
}

TEST(VerifySignature, RejectsMissingHeadersNamingEach) {
  const std::string ts = std::to_string(kTimestamp);
  const std::vector<std::string> keys = {key()};
  struct Case {
    SignedMessage message;
    std::string header;
  } cases[] = {
      {{"", ts, kExpected, kPayload}, "webhook-id"},
      {{kId, "", kExpected, kPayload}, "webhook-timestamp"},
      {{kId, ts, "", kPayload}, "webhook-signature"},
  };
  for (const Case& c : cases) {
    SignatureVerdict v = verify_signature(c.message, keys, at(kTimestamp), kTolerance);
    EXPECT_EQ(v.check, SignatureCheck::MissingHeader) << c.header;
    EXPECT_EQ(v.header, c.header);
    EXPECT_NE(v.detail.find(c.header), std::string::npos) << v.detail;
  }
}

TEST(VerifySignature, RejectsTimestampsThatAreNotUnixSeconds) {
  const std::vector<std::string> keys = {key()};
  for (std::string_view ts : {"yesterday", "1614265330.5", "-1614265330", "1614265330 "}) {
    SignatureVerdict v =
        verify_signature({kId, ts, kExpected, kPayload}, keys, at(kTimestamp), kTolerance);
    EXPECT_EQ(v.check, SignatureCheck::BadTimestamp) << ts;
  }
}

TEST(VerifySignature, RejectsBadBase64AsMalformed) {
  EXPECT_EQ(check("v1,!!!not-base64!!!").check, SignatureCheck::Malformed);
  EXPECT_EQ(check("v1,c2hvcnQ=").check, SignatureCheck::Malformed);  // decodes, wrong length
  EXPECT_EQ(check("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=").check,
            SignatureCheck::Malformed);  // no version
}

TEST(VerifySignature, IgnoresOtherVersions) {
  const std::string body_sig = std::string(kExpected).substr(3);
  EXPECT_EQ(check("v2," + body_sig).check, SignatureCheck::Malformed);
  EXPECT_TRUE(check("v2," + body_sig + "  " + std::string(kExpected)).ok());
}

TEST(VerifySignature, SignedIdAndTimestampMatter) {
  const std::vector<std::string> keys = {key()};
  const std::string ts = std::to_string(kTimestamp);
  EXPECT_EQ(
      verify_signature({"msg_other", ts, kExpected, kPayload}, keys, at(kTimestamp), kTolerance)
          .check,
      SignatureCheck::NoMatch);
  const std::string later = std::to_string(kTimestamp + 1);
  EXPECT_EQ(
      verify_signature({kId, later, kExpected, kPayload}, keys, at(kTimestamp), kTolerance).check,
      SignatureCheck::NoMatch);
}

}  // namespace
}  // namespace prov
