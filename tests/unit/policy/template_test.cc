// Every filter, observed through attributes of a loaded policy.
#include "policy_fixture.h"

namespace prov::policy::testing {
namespace {

class FilterTest : public PolicyTest {
 protected:
  // Renders one attribute template for `record`.
  std::string render(const std::string& tmpl, const Json& record) {
    const auto policy = load(std::string(kLadder) + "attributes:\n  out: '" + tmpl + "'\n");
    const auto ev = policy->evaluate(worker(record), context());
    const auto it = ev.account.attributes.find("out");
    return it == ev.account.attributes.end() ? "" : it->second;
  }
  Json jose = {{"workerId", "1"},
               {"firstName", "José"},
               {"lastName", "Núñez"},
               {"jobCode", "FIN-ACC-2"},
               {"title", "  Senior  "},
               {"hireDate", "2026-12-01"},
               {"age", 42},
               {"manager", true},
               {"address", {{"city", "Berlin"}}}};
};

TEST_F(FilterTest, LowerAndUpper) {
  EXPECT_EQ(render("{{ worker.lastName | lower }}", jose), "núñez");
  EXPECT_EQ(render("{{ worker.lastName | upper }}", jose), "NÚÑEZ");
}

TEST_F(FilterTest, AsciiAndAlnum) {
  EXPECT_EQ(render("{{ worker.firstName | ascii }}", jose), "Jose");
  EXPECT_EQ(render("{{ worker.jobCode | alnum }}", jose), "FIN-ACC-2");
  EXPECT_EQ(render("{{ worker.title | alnum }}", jose), "Senior");
}

TEST_F(FilterTest, FirstTakesCharacters) {
  EXPECT_EQ(render("{{ worker.lastName | first(2) }}", jose), "Nú");
  EXPECT_EQ(render("{{ worker.lastName | first(0) }}x", jose), "x");
}

TEST_F(FilterTest, DefaultUsesVariableOrLiteralWhenEmpty) {
  EXPECT_EQ(render("{{ worker.nickname | default(worker.firstName) }}", jose), "José");
  EXPECT_EQ(render("{{ worker.nickname | default(\"n/a\") }}", jose), "n/a");
  EXPECT_EQ(render("{{ worker.lastName | default(\"n/a\") }}", jose), "Núñez");
}

TEST_F(FilterTest, ReplaceEveryOccurrence) {
  EXPECT_EQ(render("{{ worker.jobCode | replace(\"-\", \" \") }}", jose), "FIN ACC 2");
  EXPECT_EQ(render("{{ worker.jobCode | replace(\"ACC\", \"\") }}", jose), "FIN--2");
}

TEST_F(FilterTest, Trim) { EXPECT_EQ(render("[{{ worker.title | trim }}]", jose), "[Senior]"); }

TEST_F(FilterTest, DateFormats) {
  EXPECT_EQ(render("{{ worker.hireDate | date(\"%d.%m.%Y\") }}", jose), "01.12.2026");
  EXPECT_EQ(render("{{ worker.hireDate | date(\"%Y%m%d%H%M%SZ\") }}", jose), "20261201000000Z");
  EXPECT_EQ(render("{{ worker.jobCode | date(\"%Y\") }}x", jose), "x");  // not a date
}

TEST_F(FilterTest, ChainsApplyLeftToRight) {
  EXPECT_EQ(render("{{ worker.firstName | ascii | upper | first(2) }}", jose), "JO");
}

TEST_F(FilterTest, ScalarsNestedFieldsAndLiterals) {
  EXPECT_EQ(render("{{ worker.age }}/{{ worker.manager }}", jose), "42/true");
  EXPECT_EQ(render("{{ worker.address.city }}", jose), "Berlin");
  EXPECT_EQ(render("{{ \"Mr\" | upper }} {{ worker.lastName }}", jose), "MR Núñez");
  EXPECT_EQ(render("a{{ worker.missing }}b", jose), "ab");
}

}  // namespace
}  // namespace prov::policy::testing
