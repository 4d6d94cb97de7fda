#include "scim/scim_values.h"

#include <gtest/gtest.h>

namespace prov::scim {
namespace {

TEST(FilterLiteral, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(filter_literal("plain"), "\"plain\"");
  EXPECT_EQ(filter_literal("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(filter_literal("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(filter_literal("x\" or userName pr or \"y"), "\"x\\\" or userName pr or \\\"y\"");
  EXPECT_EQ(filter_literal(std::string("a\nb")), "\"a\\nb\"");
}

TEST(FilterLiteral, TheWholeFilterIsPercentEncoded) {
  EXPECT_EQ(eq_filter_query("externalId", "1 & 2"), "filter=externalId%20eq%20%221%20%26%202%22");
  EXPECT_EQ(eq_filter_query("userName", ") or ("), "filter=userName%20eq%20%22%29%20or%20%28%22");
}

TEST(LookupFilter, AValueWithQuotesOrBackslashesIsAskedForByItsPlainPrefix) {
  EXPECT_EQ(lookup_filter_query("externalId", "100"), eq_filter_query("externalId", "100"));
  EXPECT_EQ(lookup_filter_query("externalId", "ab\\c\"d"), "filter=externalId%20sw%20%22ab%22");
  EXPECT_EQ(lookup_filter_query("userName", "\"x"), "filter=userName%20pr");
}

TEST(UserResource, MapsAttributesIntoCoreAndEnterprisePlaces) {
  const Json u = user_resource("jnunez", "100234", false,
                               {{"givenName", "José"},
                                {"sn", "Núñez"},
                                {"mail", "jnunez@example.com"},
                                {"employeeNumber", "100234"},
                                {"department", "Finance"},
                                {"manager", "id-of-boss"},
                                {"title", ""},
                                {"unmapped", "x"}},
                               default_attributes());
  EXPECT_EQ(u["userName"], "jnunez");
  EXPECT_EQ(u["externalId"], "100234");
  EXPECT_EQ(u["active"], false);
  EXPECT_EQ(u["name"]["givenName"], "José");
  EXPECT_EQ(u["name"]["familyName"], "Núñez");
  EXPECT_EQ(u["emails"][0]["type"], "work");
  EXPECT_EQ(u["emails"][0]["value"], "jnunez@example.com");
  EXPECT_EQ(u[kEnterpriseSchema]["department"], "Finance");
  EXPECT_EQ(u[kEnterpriseSchema]["employeeNumber"], "100234");
  EXPECT_EQ(u[kEnterpriseSchema]["manager"]["value"], "id-of-boss");
  EXPECT_FALSE(u.contains("title"));  // empty: not sent
  EXPECT_FALSE(u.dump().find("unmapped") != std::string::npos);
}

TEST(UserResource, ReadsBackAsTheSameAccount) {
  Json u = user_resource("jnunez", "100234", true,
                         {{"givenName", "José"}, {"mail", "j@x"}, {"manager", "m1"}},
                         default_attributes());
  u["id"] = "abc";
  u["groups"] = Json::array({{{"value", "g1"}, {"display", "staff"}}});
  const Account a = account_from(u, default_attributes());
  EXPECT_EQ(a.anchor, "abc");
  EXPECT_EQ(a.dn, "abc");
  EXPECT_EQ(a.worker_id, "100234");
  EXPECT_EQ(a.username, "jnunez");
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.attributes.at("givenName"), "José");
  EXPECT_EQ(a.attributes.at("mail"), "j@x");
  EXPECT_EQ(a.attributes.at("manager"), "m1");
  EXPECT_EQ(a.groups, std::set<std::string>{"staff"});
}

TEST(PatchAttributes, ReplacesChangedAndRemovesEmptiedAttributes) {
  const Json p =
      patch_attributes({{"title", "Boss"}, {"mail", ""}, {"department", "Ops"}, {"unmapped", "x"}},
                       default_attributes());
  EXPECT_EQ(p["schemas"][0], kPatchOpSchema);
  const Json& ops = p["Operations"];
  ASSERT_EQ(ops.size(), 3u);
  std::map<std::string, Json> by_path;
  for (const auto& op : ops) by_path[op["path"]] = op;
  EXPECT_EQ(by_path["title"]["op"], "replace");
  EXPECT_EQ(by_path["title"]["value"], "Boss");
  EXPECT_EQ(by_path["emails[type eq \"work\"]"]["op"], "remove");
  EXPECT_EQ(by_path[std::string(kEnterpriseSchema) + ":department"]["value"], "Ops");
}

TEST(PatchMembers, RemovesByAnEscapedValueFilter) {
  const Json p = patch_members(false, "a\"b");
  EXPECT_EQ(p["Operations"][0]["path"], "members[value eq \"a\\\"b\"]");
  const Json add = patch_members(true, "u1");
  EXPECT_EQ(add["Operations"][0]["op"], "add");
  EXPECT_EQ(add["Operations"][0]["value"][0]["value"], "u1");
}

TEST(PatchMembers, ManyMembersChangeTheGroupInOneMessage) {
  const Json add = patch_members(true, std::vector<std::string>{"u1", "u2", "u3"});
  ASSERT_EQ(add["Operations"].size(), 1u);
  EXPECT_EQ(add["Operations"][0]["value"].size(), 3u);
  EXPECT_EQ(add["Operations"][0]["value"][2]["value"], "u3");
  const Json remove = patch_members(false, std::vector<std::string>{"u1", "u2"});
  ASSERT_EQ(remove["Operations"].size(), 2u);
  EXPECT_EQ(remove["Operations"][1]["op"], "remove");
  EXPECT_EQ(remove["Operations"][1]["path"], "members[value eq \"u2\"]");
}

HttpReply reply(int status, const std::string& body = {},
                std::map<std::string, std::string> headers = {}) {
  HttpReply r;
  r.status = status;
  r.body = body;
  r.headers = std::move(headers);
  return r;
}

TEST(ErrorTable, MapsEveryClassOfAnswer) {
  EXPECT_TRUE(outcome_of(reply(201), "x").is_ok());
  EXPECT_TRUE(outcome_of(reply(204), "x").is_ok());
  const Outcome throttled = outcome_of(reply(429, "", {{"retry-after", "7"}}), "x");
  EXPECT_EQ(throttled.kind, Outcome::Kind::Retryable);
  EXPECT_EQ(throttled.retry_after, std::chrono::seconds(7));
  EXPECT_EQ(outcome_of(reply(503), "x").kind, Outcome::Kind::Retryable);
  EXPECT_EQ(outcome_of(reply(502, "<html>"), "x").kind, Outcome::Kind::Retryable);
  EXPECT_EQ(outcome_of(reply(412), "x").kind, Outcome::Kind::Retryable);
  const Outcome taken = outcome_of(
      reply(409, R"({"status":"409","scimType":"uniqueness","detail":"taken"})"), "create");
  EXPECT_EQ(taken.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(taken.code, "scim:uniqueness");
  const Outcome invalid = outcome_of(
      reply(400, R"({"status":"400","scimType":"invalidValue","detail":"bad email"})"), "update");
  EXPECT_EQ(invalid.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(invalid.code, "scim:invalidValue");
  EXPECT_NE(invalid.message.find("bad email"), std::string::npos);
  EXPECT_EQ(outcome_of(reply(404), "x").code, "scim:404");
  EXPECT_EQ(outcome_of(reply(403), "x").kind, Outcome::Kind::Permanent);
}

TEST(RetryAfter, ReadsSecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);  // 2023-11-14 22:13:20
  EXPECT_EQ(retry_after("120", now), std::chrono::seconds(120));
  EXPECT_EQ(retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now), std::chrono::seconds(30));
  EXPECT_EQ(retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now), std::chrono::seconds(0));
  EXPECT_EQ(retry_after("soon", now), std::chrono::seconds(0));
  EXPECT_EQ(retry_after("", now), std::chrono::seconds(0));
}

}  // namespace
}  // namespace prov::scim
