// Policy tests (`provisionctl policy test`) and `policy validate`.
#include "policy/policy_cases.h"

#include <gmock/gmock.h>

#include "cli/policy_commands.h"
#include "policy_fixture.h"

namespace prov::policy::testing {
namespace {

using ::testing::HasSubstr;

const char* kExample = PROV_SOURCE_DIR "/policies/example.yaml";

TEST(PolicyCases, ExampleCasesPass) {
  const auto policy = Policy::load(kExample);
  const auto cases = load_cases(find_case_files(PROV_SOURCE_DIR "/policies/tests"));
  ASSERT_GE(cases.size(), 8u);
  for (const auto& c : cases) {
    const auto r = run_case(*policy, c, *parse_time("2026-12-01"));
    EXPECT_TRUE(r.passed) << c.name << ": " << (r.differences.empty() ? "" : r.differences[0]);
  }
}

TEST(PolicyCases, FailingCasePrintsADiff) {
  TempDir dir;
  dir.write("tests/t.yaml",
            "- name: wrong on purpose\n"
            "  worker: { workerId: \"1\", firstName: Ann, lastName: Lee, workerType: Employee,"
            " department: Sales }\n"
            "  taken: [alee]\n"
            "  expect:\n"
            "    roles: [employees, finance]\n"
            "    groups: [staff]\n"
            "    username: alee\n"
            "    ou: ou=people\n"
            "    attributes: { mail: alee@example.com }\n"
            "- name: right\n"
            "  worker: { workerId: \"2\", firstName: Bo, lastName: Ek, workerType: Employee }\n"
            "  expect: { username: bek }\n");
  std::ostringstream out, err;
  const int rc = cmd_policy_test({kExample, "--tests", (dir.path() / "tests").string()}, out, err);
  EXPECT_EQ(rc, 1);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("FAIL  wrong on purpose  (" + (dir.path() / "tests/t.yaml").string() +
                              ":1:3)"));
  EXPECT_THAT(
      text, HasSubstr("roles: expected [employees, finance], got [employees]; missing [finance]"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "role finance did not match: department: 'Sales' is not one of [Finance, Accounting]"));
  EXPECT_THAT(text, HasSubstr("username: expected \"alee\", got \"ann.lee\""));
  EXPECT_THAT(text, HasSubstr("candidate alee: taken"));
  EXPECT_THAT(
      text,
      HasSubstr("attributes.mail: expected \"alee@example.com\", got \"ann.lee@example.com\""));
  EXPECT_THAT(text, HasSubstr("ok    right"));
  EXPECT_THAT(text, HasSubstr("2 cases: 1 passed, 1 failed"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("groups:")));  // matching keys stay quiet
}

TEST(PolicyCases, MalformedCasesAreReportedWithPositions) {
  TempDir dir;
  const auto file = dir.write("t.yaml",
                              "- name: a\n"
                              "  worker: { firstName: A }\n"
                              "  expect: { usename: x }\n"
                              "- name: b\n"
                              "  wroker: {}\n");
  try {
    load_cases({file});
    FAIL();
  } catch (const PolicyLoadError& e) {
    ASSERT_EQ(e.diagnostics().size(), 2u);
    EXPECT_EQ(
        e.diagnostics()[0].to_string(),
        file.string() + ":3:13: error: unknown expect key 'usename' (did you mean 'username'?)");
    EXPECT_EQ(e.diagnostics()[1].line, 5);
    EXPECT_EQ(e.diagnostics()[1].column, 3);
  }
}

TEST(PolicyCases, TestsAreFoundNextToThePolicy) {
  std::ostringstream out, err;
  EXPECT_EQ(cmd_policy_test({kExample}, out, err), 0) << out.str() << err.str();
  EXPECT_THAT(out.str(), HasSubstr(" passed, 0 failed"));
  TempDir empty;
  const auto p = empty.write("p.yaml", kLadder);
  std::ostringstream out2, err2;
  EXPECT_EQ(cmd_policy_test({p.string()}, out2, err2), 1);
  EXPECT_THAT(err2.str(), HasSubstr("no policy tests"));
  EXPECT_EQ(cmd_policy_test({}, out2, err2), 2);
}

TEST(PolicyValidate, ExitCodesAndOutput) {
  std::ostringstream out, err;
  EXPECT_EQ(cmd_policy_validate({kExample}, out, err), 0);
  EXPECT_THAT(out.str(), HasSubstr("policy OK"));
  EXPECT_THAT(out.str(), HasSubstr("5 roles, 6 managed groups"));
  EXPECT_TRUE(err.str().empty());

  TempDir dir;
  const auto bad = dir.write("bad.yaml", std::string(kLadder) +
                                             "roles:\n  - name: a\n    grups: []\n"
                                             "  - name: a\n");
  std::ostringstream out2, err2;
  EXPECT_EQ(cmd_policy_validate({bad.string()}, out2, err2), 1);
  EXPECT_TRUE(out2.str().empty());
  EXPECT_THAT(err2.str(), HasSubstr(bad.string() + ":11:5: error: unknown role key 'grups'"));
  EXPECT_THAT(err2.str(), HasSubstr(bad.string() + ":12:11: error: duplicate role name 'a'"));
  EXPECT_THAT(err2.str(), HasSubstr("2 errors"));
  EXPECT_EQ(cmd_policy_validate({}, out2, err2), 2);
}

}  // namespace
}  // namespace prov::policy::testing
