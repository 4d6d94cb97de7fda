#include <gtest/gtest.h>

#include "ldap/ldap_connector.h"
#include "ldap/ldap_session.h"

namespace prov::ldap {
namespace {

TEST(OpenLdapResultCodes, TransientFailuresAreRetryable) {
  const ResultCodeTable& t = openldap_result_codes();
  for (int c :
       {code::kServerDown, code::kConnectError, code::kTimeout, code::kBusy, code::kUnavailable}) {
    EXPECT_EQ(t.kind(c), Outcome::Kind::Retryable) << c;
  }
}

TEST(OpenLdapResultCodes, RefusalsArePermanent) {
  const ResultCodeTable& t = openldap_result_codes();
  for (int c : {code::kConstraintViolation, code::kNoSuchObject, code::kInvalidCredentials,
                code::kInsufficientAccess, code::kEntryAlreadyExists, code::kObjectClassViolation,
                code::kUnwillingToPerform}) {
    EXPECT_EQ(t.kind(c), Outcome::Kind::Permanent) << c;
  }
  EXPECT_EQ(t.kind(code::kSuccess), Outcome::Kind::Ok);
}

TEST(OpenLdapResultCodes, OutcomeCarriesCodeAndContext) {
  LdapResult r;
  r.code = code::kEntryAlreadyExists;
  r.message = "entry exists";
  const Outcome o = openldap_result_codes().to_outcome(r, "create uid=x");
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(o.code, "ldap:68");
  EXPECT_NE(o.message.find("create uid=x"), std::string::npos);
  EXPECT_NE(o.message.find("entry exists"), std::string::npos);
  EXPECT_TRUE(openldap_result_codes().to_outcome(LdapResult{}, "x").is_ok());
}

TEST(ResultCodeTable, PerConnectorTablesOverrideTheFallback) {
  const ResultCodeTable t({{code::kOther, Outcome::Kind::Retryable}}, Outcome::Kind::Permanent);
  EXPECT_EQ(t.kind(code::kOther), Outcome::Kind::Retryable);
  EXPECT_EQ(t.kind(code::kBusy), Outcome::Kind::Permanent);
}

}  // namespace
}  // namespace prov::ldap
