// Every condition operator and combinator, observed through role matching.
#include "policy_fixture.h"

namespace prov::policy::testing {
namespace {

class ConditionTest : public PolicyTest {
 protected:
  // Loads a policy with one role `r` whose condition is `when`, evaluates `record`.
  RoleTrace role(const std::string& when, const Json& record, EvalContext ctx = context()) {
    const auto policy = load(std::string(kLadder) + "roles:\n  - name: r\n    when: " + when +
                             "\n    groups: [g]\n");
    const auto ev = policy->evaluate(worker(record), ctx);
    EXPECT_EQ(ev.account.groups.count("g") == 1, ev.roles.at(0).matched);
    return ev.roles.at(0);
  }
  bool matches(const std::string& when, const Json& record) { return role(when, record).matched; }

  Json w = {{"workerId", "7"},
            {"firstName", "Ann"},
            {"lastName", "Lee"},
            {"department", "Sales"},
            {"jobCode", "INT-2026"},
            {"email", "ann@corp.example"},
            {"level", 5},
            {"hireDate", "2024-03-01"},
            {"contractor", false},
            {"site", {{"city", "Berlin"}}}};
};

TEST_F(ConditionTest, Equality) {
  EXPECT_TRUE(matches("{ department: Sales }", w));
  const auto r = role("{ department: Finance }", w);
  EXPECT_FALSE(r.matched);
  EXPECT_EQ(r.failed_condition, "department: 'Sales' is not 'Finance'");
  EXPECT_TRUE(matches("{ level: 5 }", w));
  EXPECT_TRUE(matches("{ level: 5.0 }", w));
  EXPECT_TRUE(matches("{ contractor: false }", w));
  EXPECT_TRUE(matches("{ site.city: Berlin }", w));
  EXPECT_TRUE(matches("{ worker.department: Sales }", w));
}

TEST_F(ConditionTest, ListMeansAnyOf) {
  EXPECT_TRUE(matches("{ department: [Finance, Sales] }", w));
  EXPECT_TRUE(matches("{ department: { in: [Sales] } }", w));
  const auto r = role("{ department: [Finance, Accounting] }", w);
  EXPECT_FALSE(r.matched);
  EXPECT_EQ(r.failed_condition, "department: 'Sales' is not one of [Finance, Accounting]");
}

TEST_F(ConditionTest, PrefixSuffixRegex) {
  EXPECT_TRUE(matches("{ jobCode: { prefix: \"INT-\" } }", w));
  EXPECT_FALSE(matches("{ jobCode: { prefix: \"FIN-\" } }", w));
  EXPECT_TRUE(matches("{ email: { suffix: \"@corp.example\" } }", w));
  EXPECT_FALSE(matches("{ email: { suffix: \"@other.example\" } }", w));
  EXPECT_TRUE(matches("{ jobCode: { regex: \"^INT-[0-9]{4}$\" } }", w));
  const auto r = role("{ jobCode: { regex: \"^FIN\" } }", w);
  EXPECT_EQ(r.failed_condition, "jobCode: 'INT-2026' does not match /^FIN/");
}

TEST_F(ConditionTest, Exists) {
  EXPECT_TRUE(matches("{ department: { exists: true } }", w));
  EXPECT_FALSE(matches("{ terminationDate: { exists: true } }", w));
  EXPECT_TRUE(matches("{ terminationDate: { exists: false } }", w));
  Json blank = w;
  blank["terminationDate"] = nullptr;
  blank["costCenter"] = "";
  EXPECT_TRUE(matches("{ terminationDate: { exists: false } }", blank));
  EXPECT_TRUE(matches("{ costCenter: { exists: false } }", blank));
}

TEST_F(ConditionTest, NumericComparisons) {
  EXPECT_TRUE(matches("{ level: { lt: 6 } }", w));
  EXPECT_FALSE(matches("{ level: { lt: 5 } }", w));
  EXPECT_TRUE(matches("{ level: { lte: 5 } }", w));
  EXPECT_TRUE(matches("{ level: { gt: 4 } }", w));
  EXPECT_FALSE(matches("{ level: { gt: 5 } }", w));
  EXPECT_TRUE(matches("{ level: { gte: 5 } }", w));
  EXPECT_TRUE(matches("{ level: { eq: 5 } }", w));
  EXPECT_TRUE(matches("{ level: { ne: 4 } }", w));
  EXPECT_FALSE(matches("{ level: { ne: 5 } }", w));
  EXPECT_TRUE(matches("{ level: { gte: 3, lt: 10 } }", w));
  EXPECT_EQ(role("{ level: { gt: 9 } }", w).failed_condition, "level: 5 is not > 9");
}

TEST_F(ConditionTest, DateComparisons) {
  EXPECT_TRUE(matches("{ hireDate: { lt: 2025-01-01 } }", w));
  EXPECT_FALSE(matches("{ hireDate: { gt: 2025-01-01 } }", w));
  EXPECT_TRUE(matches("{ hireDate: { gte: 2024-03-01, lte: 2024-03-01 } }", w));
  EXPECT_TRUE(matches("{ hireDate: { eq: 2024-03-01 } }", w));
  EXPECT_TRUE(matches("{ hireDate: { ne: 2024-03-02 } }", w));
  EXPECT_EQ(role("{ department: { lt: 2025-01-01 } }", w).failed_condition,
            "department: 'Sales' is not a date (expected < 2025-01-01)");
}

TEST_F(ConditionTest, MissingFieldIsFalseForEveryTestButExistsFalse) {
  for (const char* when :
       {"{ office: Berlin }", "{ office: [a, b] }", "{ office: { prefix: B } }",
        "{ office: { ne: x } }", "{ office: { lt: 3 } }", "{ office: { regex: \".*\" } }"}) {
    EXPECT_FALSE(matches(when, w)) << when;
  }
  EXPECT_EQ(role("{ office: Berlin }", w).failed_condition,
            "office: missing, so it is not 'Berlin'");
}

TEST_F(ConditionTest, Combinators) {
  EXPECT_TRUE(matches("{ all: [ { department: Sales }, { level: { gte: 5 } } ] }", w));
  EXPECT_FALSE(matches("{ all: [ { department: Sales }, { level: { gte: 6 } } ] }", w));
  EXPECT_TRUE(matches("{ any: [ { department: Finance }, { level: 5 } ] }", w));
  EXPECT_FALSE(matches("{ any: [ { department: Finance }, { level: 4 } ] }", w));
  EXPECT_TRUE(matches("{ not: { department: Finance } }", w));
  EXPECT_FALSE(matches("{ not: { jobCode: { prefix: \"INT-\" } } }", w));
  // Several keys in one map must all hold.
  EXPECT_TRUE(matches("{ department: Sales, level: 5 }", w));
  EXPECT_FALSE(matches("{ department: Sales, level: 4 }", w));
}

TEST_F(ConditionTest, CombinatorFailuresExplainThemselves) {
  EXPECT_EQ(role("{ not: { jobCode: { prefix: \"INT-\" } } }", w).failed_condition,
            "not (jobCode: 'INT-2026' starts with 'INT-')");
  EXPECT_EQ(role("{ any: [ { department: Finance }, { level: 4 } ] }", w).failed_condition,
            "none of: department: 'Sales' is not 'Finance'; level: 5 is not 4");
  EXPECT_EQ(role("{ all: [ { department: Sales }, { level: { gte: 6 } } ] }", w).failed_condition,
            "level: 5 is not >= 6");
}

TEST_F(ConditionTest, RoleWithoutWhenAppliesToEveryone) {
  const auto policy =
      load(std::string(kLadder) + "roles:\n  - name: everyone\n    groups: [all]\n");
  const auto ev = policy->evaluate(worker(w), context());
  EXPECT_EQ(ev.account.groups, std::set<std::string>{"all"});
}

TEST_F(ConditionTest, DerivedFacts) {
  EvalContext ctx = context();
  ctx.is_manager = [](const std::string& id) { return id == "7"; };
  EXPECT_TRUE(role("{ isManager: true }", w, ctx).matched);
  Json other = w;
  other["workerId"] = "8";
  EXPECT_FALSE(role("{ isManager: true }", worker(other).record, ctx).matched);
  EXPECT_EQ(role("{ isManager: true }", other, ctx).failed_condition,
            "isManager: false is not true");

  // now = 2026-12-01, hireDate 2024-03-01: 1005 days of tenure.
  EXPECT_TRUE(role("{ tenureDays: 1005 }", w, ctx).matched);
  EXPECT_TRUE(role("{ tenureDays: { gte: 365 } }", w, ctx).matched);
  EXPECT_TRUE(role("{ daysUntilStart: -1005 }", w, ctx).matched);
  Json future = w;
  future["hireDate"] = "2026-12-15";
  EXPECT_TRUE(role("{ daysUntilStart: { gt: 0, lte: 14 } }", future, ctx).matched);
  EXPECT_TRUE(role("{ tenureDays: { lt: 0 } }", future, ctx).matched);
  Json unknown = w;
  unknown.erase("hireDate");
  EXPECT_FALSE(role("{ tenureDays: { gte: 0 } }", unknown, ctx).matched);
  EXPECT_TRUE(role("{ tenureDays: { exists: false } }", unknown, ctx).matched);
}

}  // namespace
}  // namespace prov::policy::testing
