// Validation: every error names file:line:column (1-based) and what to do; all errors at once.
#include <gmock/gmock.h>

#include "policy_fixture.h"

namespace prov::policy::testing {
namespace {

using ::testing::HasSubstr;

class LoaderTest : public PolicyTest {
 protected:
  // The single error of `text`, as "line:column message".
  std::string only_error(const std::string& text) {
    const auto d = errors(text);
    if (d.size() != 1) {
      std::string all;
      for (const auto& x : d) all += "\n  " + x.to_string();
      ADD_FAILURE() << "expected one error, got " << d.size() << all;
      return {};
    }
    EXPECT_EQ(d[0].file, (dir_.path() / "policy.yaml").string());
    EXPECT_FALSE(d[0].hint.empty()) << "every error says what to do";
    return std::to_string(d[0].line) + ":" + std::to_string(d[0].column) + " " + d[0].message;
  }
};

TEST_F(LoaderTest, UnknownKeys) {
  EXPECT_EQ(only_error(std::string(kLadder) + "rolez: []\n"), "9:1 unknown policy section 'rolez'");
  EXPECT_EQ(only_error(std::string(kLadder) + "roles:\n  - name: a\n    grups: [x]\n"),
            "11:5 unknown role key 'grups'");
  EXPECT_EQ(only_error("version: 1\nusername:\n  candidates: [\"{{ n }}\"]\n  maxlen: 3\n"),
            "4:3 unknown username key 'maxlen'");
  const auto d = errors(std::string(kLadder) + "roles:\n  - name: a\n    grups: [x]\n");
  EXPECT_EQ(d.at(0).hint, "did you mean 'groups'?");
}

TEST_F(LoaderTest, WrongTypes) {
  EXPECT_EQ(only_error("version: 1\nusername:\n  candidates: [\"{{ n }}\"]\n  max_length: ten\n"),
            "4:15 'max_length' must be a whole number >= 1");
  EXPECT_EQ(only_error(std::string(kLadder) + "roles: { name: a }\n"),
            "9:8 'roles' must be a list");
  EXPECT_EQ(only_error(std::string(kLadder) + "roles:\n  - name: a\n    groups: staff\n"),
            "11:13 'groups' must be a list");
  EXPECT_EQ(only_error(std::string(kLadder) + "lifecycle:\n  leave: maybe\n"),
            "10:10 'leave' must be one of: lock | none (got 'maybe')");
  EXPECT_EQ(only_error(std::string(kLadder) + "password: { initial: sometimes }\n"),
            "9:22 'initial' must be true or false");
  EXPECT_EQ(only_error(std::string(kLadder) + "attributes:\n  sn: [a, b]\n"),
            "10:7 'sn' must be a template string");
  EXPECT_EQ(only_error(std::string(kLadder) + "version: 2\n"),
            "9:1 'version' appears twice in the same map");
}

// `brake:` says per kind of destructive operation when it is held for approval.
TEST_F(LoaderTest, BrakeRules) {
  EXPECT_EQ(only_error(std::string(kLadder) + "brake:\n  remove_member: sometimes\n"),
            "10:18 'remove_member' must be one of: over_threshold | policy_change | always "
            "(got 'sometimes')");
  EXPECT_EQ(only_error(std::string(kLadder) + "brake:\n  lock: always\n"),
            "10:3 unknown brake key 'lock'");
  EXPECT_EQ(only_error(std::string(kLadder) + "brake: always\n"), "9:8 'brake' must be a map");
  // Defaults: what a policy change removes is held; locks and moves only above the threshold.
  const auto defaults = load(kLadder)->brake();
  EXPECT_EQ(defaults.rule(OpKind::RemoveMember), HoldRule::PolicyChange);
  EXPECT_EQ(defaults.rule(OpKind::Delete), HoldRule::PolicyChange);
  EXPECT_EQ(defaults.rule(OpKind::Disable), HoldRule::OverThreshold);
  EXPECT_EQ(defaults.rule(OpKind::Move), HoldRule::OverThreshold);
  const auto set = load(std::string(kLadder) +
                        "brake: { disable: always, move: policy_change, delete: over_threshold, "
                        "remove_member: always }\n")
                       ->brake();
  EXPECT_EQ(set.rule(OpKind::Disable), HoldRule::Always);
  EXPECT_EQ(set.rule(OpKind::Move), HoldRule::PolicyChange);
  EXPECT_EQ(set.rule(OpKind::Delete), HoldRule::OverThreshold);
  EXPECT_EQ(set.rule(OpKind::RemoveMember), HoldRule::Always);
}

// `release_groups` hands groups provisiond granted back to the administrators; a group a role
// still grants cannot be released.
TEST_F(LoaderTest, ReleaseGroups) {
  const std::string roles = "roles:\n  - name: a\n    groups: [staff]\n";
  EXPECT_EQ(only_error(std::string(kLadder) + roles + "release_groups: [old, staff]\n"),
            "12:23 group 'staff' is granted by role 'a' and cannot be released");
  EXPECT_EQ(only_error(std::string(kLadder) + "release_groups: old\n"),
            "9:17 'release_groups' must be a list");
  const auto p = load(std::string(kLadder) + roles + "release_groups: [old, office-berlin]\n");
  EXPECT_EQ(p->released_groups(), (std::set<std::string>{"old", "office-berlin"}));
  EXPECT_TRUE(load(kLadder)->released_groups().empty());
}

TEST_F(LoaderTest, UnknownFilterPointsIntoTheTemplate) {
  // Column 29 is the 'l' of 'lowr' inside the quoted template.
  EXPECT_EQ(
      only_error(std::string(kLadder) + "attributes:\n  sn: \"{{ worker.lastName | lowr }}\"\n"),
      "10:29 unknown filter 'lowr'");
  EXPECT_EQ(
      only_error(std::string(kLadder) + "attributes:\n  sn: \"{{ worker.lastName | first }}\"\n"),
      "10:29 filter 'first' takes 1 argument, got 0");
  EXPECT_EQ(only_error(std::string(kLadder) + "attributes:\n  sn: \"{{ worker.lastName \"\n"),
            "10:8 '{{' is never closed");
  EXPECT_EQ(only_error(std::string(kLadder) +
                       "attributes:\n  d: '{{ worker.hireDate | date(\"%Q\") }}'\n"),
            "10:33 date format directive '%Q' is not supported");
}

TEST_F(LoaderTest, UnknownVariables) {
  EXPECT_EQ(only_error(std::string(kLadder) + "attributes:\n  sn: \"{{ lastName }}\"\n"),
            "10:11 unknown variable 'lastName'");
  EXPECT_EQ(only_error(std::string(kLadder) + "attributes:\n  x: \"{{ worker }}\"\n"),
            "10:10 'worker' alone is not a value");
  EXPECT_EQ(only_error(std::string(kLadder) + "attributes:\n  x: \"a{{ n }}\"\n"),
            "10:11 {{ n }} is only available in username candidates");
  EXPECT_EQ(only_error("version: 1\nusername:\n  candidates: [\"{{ username }}{{ n }}\"]\n"),
            "3:20 a username candidate cannot use {{ username }}");
  // Known names: attributes, username, facts.
  EXPECT_NO_THROW(load(std::string(kLadder) +
                       "attributes:\n  a: \"{{ b }} {{ username }} {{ isManager }} {{ tenureDays }}"
                       " {{ daysUntilStart }}\"\n  b: \"{{ worker.x.y }}\"\n"));
}

TEST_F(LoaderTest, AttributeCycles) {
  EXPECT_EQ(only_error(std::string(kLadder) +
                       "attributes:\n  cn: \"{{ displayName }}\"\n  displayName: \"{{ cn }}\"\n"),
            "10:7 templates depend on each other in a cycle: cn -> displayName -> cn");
  EXPECT_EQ(only_error(std::string(kLadder) + "attributes:\n  cn: \"{{ cn }}\"\n"),
            "10:11 attribute 'cn' refers to itself");
  // username -> given -> username
  EXPECT_EQ(only_error("version: 1\n"
                       "attributes:\n  given: \"{{ username }}\"\n"
                       "username:\n  candidates: [\"{{ given }}{{ n }}\"]\n"),
            "3:10 templates depend on each other in a cycle: given -> username -> given");
}

TEST_F(LoaderTest, UnreachableRoles) {
  EXPECT_EQ(only_error(std::string(kLadder) +
                       "roles:\n  - name: r\n    when: { all: [ { dept: X }, { dept: Y } ] }\n"),
            "11:5 role 'r' can never match: dept cannot both be 'X' and 'Y'");
  EXPECT_EQ(only_error(std::string(kLadder) +
                       "roles:\n  - name: r\n    when: { dept: [A, B], all: [ { dept: C } ] }\n"),
            "11:5 role 'r' can never match: dept cannot both be one of [A, B] and 'C'");
  EXPECT_THAT(only_error(std::string(kLadder) +
                         "roles:\n  - name: r\n    when: { dept: A, not: { dept: A } }\n"),
              HasSubstr("11:5 role 'r' can never match"));
  EXPECT_THAT(
      only_error(
          std::string(kLadder) +
          "roles:\n  - name: r\n    when: { code: X-1, all: [ { code: { prefix: Y } } ] }\n"),
      HasSubstr("11:5 role 'r' can never match"));
  // Satisfiable combinations load.
  EXPECT_NO_THROW(load(std::string(kLadder) +
                       "roles:\n  - name: r\n    when: { dept: [A, B], all: [ { dept: B } ] }\n"));
}

TEST_F(LoaderTest, DuplicateRoleNames) {
  const std::string text = std::string(kLadder) + "roles:\n  - name: a\n  - name: a\n";
  EXPECT_EQ(only_error(text), "11:11 duplicate role name 'a' (first defined at " +
                                  (dir_.path() / "policy.yaml").string() + ":10:11)");
}

TEST_F(LoaderTest, InvalidRegexAndOperators) {
  EXPECT_THAT(only_error(std::string(kLadder) +
                         "roles:\n  - name: a\n    when: { code: { regex: \"[\" } }\n"),
              HasSubstr("11:28 invalid regex '['"));
  EXPECT_EQ(only_error(std::string(kLadder) +
                       "roles:\n  - name: a\n    when: { code: { startswith: X } }\n"),
            "11:21 unknown operator 'startswith'");
  EXPECT_EQ(only_error(std::string(kLadder) + "roles:\n  - name: a\n    when: { prefix: X }\n"),
            "11:13 'prefix' is an operator, not a field");
  EXPECT_EQ(only_error(std::string(kLadder) +
                       "roles:\n  - name: a\n    when: { code: { exists: maybe } }\n"),
            "11:29 'exists' needs true or false");
}

TEST_F(LoaderTest, LadderWithoutCounter) {
  EXPECT_EQ(only_error("version: 1\nusername:\n  candidates:\n    - \"{{ worker.lastName }}\"\n"),
            "3:3 no username candidate uses {{ n }}, so the ladder can run out of names");
}

TEST_F(LoaderTest, MissingSectionsAndSyntaxErrors) {
  EXPECT_EQ(only_error("username:\n  candidates: [\"{{ n }}\"]\n"),
            "1:1 the policy has no 'version'");
  EXPECT_EQ(only_error("version: 1\n"), "1:1 the policy has no 'username' section");
  EXPECT_THAT(only_error("version: 1\nroles: [\n  { name: a\n"), HasSubstr("YAML syntax error"));
}

TEST_F(LoaderTest, EveryErrorIsReportedInFileOrder) {
  const auto d = errors(
      "version: 1\n"
      "attributes:\n"
      "  sn: \"{{ worker.lastName | nope }}\"\n"
      "  cn: \"{{ missing }}\"\n"
      "username:\n"
      "  candidates: [\"{{ worker.lastName }}\"]\n"
      "roles:\n"
      "  - name: a\n"
      "    when: { x: { regex: \"(\" } }\n"
      "  - name: a\n");
  ASSERT_EQ(d.size(), 5u);
  std::vector<int> lines;
  for (const auto& x : d) lines.push_back(x.line);
  EXPECT_EQ(lines, (std::vector<int>{3, 4, 6, 9, 10}));
  EXPECT_THAT(d[0].to_string(), HasSubstr("policy.yaml:3:29: error: unknown filter 'nope' ("));
}

TEST_F(LoaderTest, FolderMergesSectionsAcrossFiles) {
  TempDir folder;
  folder.write("00-base.yaml", std::string(kLadder) +
                                   "ou: ou=people\n"
                                   "attributes:\n  sn: \"{{ worker.lastName }}\"\n");
  folder.write("10-roles.yml",
               "roles:\n  - { name: staff, when: { t: E }, groups: [staff] }\n"
               "attributes:\n  mail: \"{{ username }}@x.test\"\n");
  folder.write("20-more.yaml", "roles:\n  - { name: fin, when: { d: F }, groups: [fin] }\n");
  folder.write("notes.txt", "not a policy");
  const auto policy = Policy::load(folder.path());
  EXPECT_EQ(policy->managed_groups(), (std::set<std::string>{"staff", "fin"}));
  Json w = {{"workerId", "1"}, {"firstName", "A"}, {"lastName", "Bee"}, {"t", "E"}, {"d", "F"}};
  const auto ev = policy->evaluate(worker(w), context());
  EXPECT_EQ(ev.account.attributes.at("mail"), "abee@x.test");
  EXPECT_EQ(ev.account.groups, (std::set<std::string>{"staff", "fin"}));
  ASSERT_EQ(ev.roles.size(), 2u);
  EXPECT_EQ(ev.roles[0].name, "staff");  // files in name order
}

TEST_F(LoaderTest, FolderRejectsDuplicatesAcrossFiles) {
  TempDir folder;
  const auto a = folder.write("a.yaml", std::string(kLadder) + "roles:\n  - name: staff\n");
  const auto b = folder.write("b.yaml", "roles:\n  - name: staff\nou: x\nusername: {}\n");
  try {
    Policy::load(folder.path());
    FAIL() << "duplicates accepted";
  } catch (const PolicyLoadError& e) {
    std::vector<std::string> got;
    for (const auto& d : e.diagnostics()) got.push_back(d.to_string());
    ASSERT_EQ(got.size(), 2u);
    EXPECT_THAT(got[0], HasSubstr(b.string() +
                                  ":2:11: error: duplicate role name 'staff' "
                                  "(first defined at " +
                                  a.string() + ":10:11)"));
    EXPECT_THAT(got[1], HasSubstr(b.string() +
                                  ":4:1: error: section 'username' is already "
                                  "defined at " +
                                  a.string() + ":2:1"));
  }
}

TEST_F(LoaderTest, UnreadablePathIsAnError) {
  try {
    Policy::load(dir_.path() / "missing.yaml");
    FAIL();
  } catch (const PolicyLoadError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].message, "cannot read the policy file");
  }
}

TEST_F(LoaderTest, ExamplePolicyIsValid) {
  EXPECT_NO_THROW(Policy::load(PROV_SOURCE_DIR "/policies/example.yaml"));
}

}  // namespace
}  // namespace prov::policy::testing
