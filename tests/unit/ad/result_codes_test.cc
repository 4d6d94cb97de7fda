#include <gtest/gtest.h>

#include "ad/ad_connector.h"

namespace prov::ad {
namespace {

namespace code = ldap::code;

TEST(AdResultCodes, TransientFailuresAreRetryable) {
  for (int c : {code::kBusy, code::kUnavailable, code::kServerDown, code::kTimeout,
                code::kConnectError, 3}) {
    EXPECT_EQ(result_codes().kind(c), Outcome::Kind::Retryable) << c;
  }
}

TEST(AdResultCodes, RefusalsArePermanent) {
  for (int c : {code::kConstraintViolation, code::kNoSuchObject, code::kUnwillingToPerform,
                code::kEntryAlreadyExists, code::kInsufficientAccess, code::kInvalidCredentials,
                code::kObjectClassViolation, 12345}) {
    EXPECT_EQ(result_codes().kind(c), Outcome::Kind::Permanent) << c;
  }
  EXPECT_EQ(result_codes().kind(code::kSuccess), Outcome::Kind::Ok);
}

TEST(AdResultCodes, OutcomeCarriesTheLdapCodeAndContext) {
  ldap::LdapResult r;
  r.code = code::kConstraintViolation;
  r.message = "0000052D: Constraint violation";
  const Outcome o = result_codes().to_outcome(r, "create: set initial password");
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(o.code, "ldap:19");
  EXPECT_NE(o.message.find("create: set initial password"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("0000052D"), std::string::npos) << o.message;
}

}  // namespace
}  // namespace prov::ad
