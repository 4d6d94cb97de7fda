// Per-target grants: a role's `targets: { NAME: { groups: [...] } }` next to its plain `groups:`
// (the default target's); names checked against the config with file:line:column.
#include <gmock/gmock.h>

#include "policy/compiled_policy.h"
#include "policy/explain.h"
#include "policy_fixture.h"

namespace prov::policy::testing {
namespace {

using ::testing::HasSubstr;

const std::string kRoles = std::string(kLadder) +
                           "roles:\n"
                           "  - name: staff\n"
                           "    groups: [staff]\n"
                           "    targets: { crm: { groups: [crm-users] } }\n"
                           "  - name: finance\n"
                           "    when: { department: Finance }\n"
                           "    targets:\n"
                           "      crm: { groups: [crm-finance, crm-users] }\n"
                           "      erp: { groups: [ap-clerk] }\n";

class TargetsPolicyTest : public PolicyTest {};

TEST_F(TargetsPolicyTest, RolesGrantPerTargetAndPlainGroupsStayTheDefaultTargets) {
  const auto p = load(kRoles);
  const Json rec = {{"workerId", "1"}, {"firstName", "Ana"}, {"lastName", "Lima"},
                    {"department", "Finance"}};
  const Evaluation ev = p->evaluate(worker(rec), context());
  EXPECT_EQ(ev.account.groups, (std::set<std::string>{"staff"}));
  EXPECT_EQ(ev.target_groups.at("crm"), (std::set<std::string>{"crm-users", "crm-finance"}));
  EXPECT_EQ(ev.target_groups.at("erp"), (std::set<std::string>{"ap-clerk"}));
  EXPECT_EQ(ev.target_group_sources.at("crm").at("crm-users"), "staff, finance");

  EXPECT_EQ(granted_groups_in(ev, "main", true), (std::set<std::string>{"staff"}));
  EXPECT_EQ(granted_groups_in(ev, "crm", false),
            (std::set<std::string>{"crm-users", "crm-finance"}));
  EXPECT_TRUE(granted_groups_in(ev, "other", false).empty());
  EXPECT_EQ(managed_groups_in(*p, "main", true), (std::set<std::string>{"staff"}));
  EXPECT_EQ(managed_groups_in(*p, "erp", false), (std::set<std::string>{"ap-clerk"}));

  const Json other = {{"workerId", "2"}, {"firstName", "Bo"}, {"lastName", "Berg"},
                      {"department", "Sales"}};
  const Evaluation ev2 = p->evaluate(worker(other), context());
  EXPECT_EQ(ev2.target_groups.at("crm"), (std::set<std::string>{"crm-users"}));
  EXPECT_EQ(ev2.target_groups.count("erp"), 0u);
}

TEST_F(TargetsPolicyTest, ExplainShowsEachTargetsGroups) {
  const auto p = load(kRoles);
  const Json rec = {{"workerId", "1"}, {"firstName", "Ana"}, {"lastName", "Lima"},
                    {"department", "Finance"}};
  const Worker w = worker(rec);
  const Evaluation ev = p->evaluate(w, context());
  const std::string text = explain_text(*p, w, ev);
  EXPECT_THAT(text, HasSubstr("groups in target crm:\n"));
  EXPECT_THAT(text, HasSubstr("crm-finance  granted by finance"));
  EXPECT_THAT(text, HasSubstr("groups in target erp:\n  ap-clerk"));
  const Json j = explain_json(*p, w, ev);
  EXPECT_EQ(j["targets"]["erp"]["groups"][0]["name"], "ap-clerk");
  EXPECT_EQ(j["targets"]["erp"]["groups"][0]["granted_by"], "finance");
}

TEST_F(TargetsPolicyTest, UnknownTargetsAreReportedWhereTheyAreNamed) {
  const auto p = load(kRoles);
  EXPECT_TRUE(unknown_targets(*p, {"main", "crm", "erp"}).empty());
  const auto d = unknown_targets(*p, {"main", "crm"});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].file, (dir_.path() / "policy.yaml").string());
  EXPECT_EQ(d[0].line, 17);
  EXPECT_EQ(d[0].column, 7);
  EXPECT_EQ(d[0].message, "unknown target 'erp'");
  EXPECT_THAT(d[0].to_string(), HasSubstr("policy.yaml:17:7: error: unknown target 'erp'"));
  EXPECT_THAT(d[0].hint, HasSubstr("main, crm"));
}

TEST_F(TargetsPolicyTest, MalformedTargetGrantsAreErrors) {
  auto d = errors(std::string(kLadder) + "roles:\n  - name: a\n    targets: [crm]\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "role 'targets' must be a map of target: grants");
  d = errors(std::string(kLadder) + "roles:\n  - name: a\n    targets: { CRM: { groups: [x] } }\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "'CRM' is not a target name");
  d = errors(std::string(kLadder) + "roles:\n  - name: a\n    targets: { crm: { grups: [x] } }\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "unknown target grant 'grups'");
  d = errors(std::string(kLadder) + "roles:\n  - name: a\n    targets: { crm: [x] }\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "the grants of target 'crm' must be a map");
}

// A target's own attribute values: the policy's `targets:` section replaces, adds or drops a
// value there (reading the account's attributes, its own name included), and a role's
// `targets: { NAME: { attributes: } }` overrides it for the workers the role matches.
const std::string kTargetAttributes =
    std::string(kLadder) +
    "attributes:\n"
    "  sn: \"{{ worker.lastName }}\"\n"
    "  title: \"{{ worker.jobTitle }}\"\n"
    "targets:\n"
    "  crm:\n"
    "    attributes:\n"
    "      title: \"{{ title }} ({{ worker.department }})\"\n"
    "      sn: \"\"\n"
    "      nickName: \"{{ username }}\"\n"
    "roles:\n"
    "  - name: finance\n"
    "    when: { department: Finance }\n"
    "    targets: { crm: { attributes: { title: \"Ledger {{ title }}\" } } }\n";

TEST_F(TargetsPolicyTest, ATargetGetsItsOwnAttributeValues) {
  const auto p = load(kTargetAttributes);
  const Json sales = {{"workerId", "2"}, {"firstName", "Bo"}, {"lastName", "Berg"},
                      {"department", "Sales"}, {"jobTitle", "Rep"}};
  const Evaluation ev = p->evaluate(worker(sales), context());
  EXPECT_EQ(ev.account.attributes.at("title"), "Rep");
  const auto main = attributes_in(ev, "main");
  EXPECT_EQ(main.at("sn"), "Berg");
  EXPECT_EQ(main.at("title"), "Rep");
  EXPECT_EQ(main.count("nickName"), 0u);
  const auto crm = attributes_in(ev, "crm");
  EXPECT_EQ(crm.count("sn"), 0u) << "an empty value: crm gets no sn";
  EXPECT_EQ(crm.at("title"), "Rep (Sales)");
  EXPECT_EQ(crm.at("nickName"), "bberg");
  EXPECT_EQ(crm.at("employeeNumber"), "2") << "the owner link is the same everywhere";

  const Json finance = {{"workerId", "1"}, {"firstName", "Ana"}, {"lastName", "Lima"},
                        {"department", "Finance"}, {"jobTitle", "Clerk"}};
  const Worker w = worker(finance);
  const Evaluation ev2 = p->evaluate(w, context());
  EXPECT_EQ(attributes_in(ev2, "crm").at("title"), "Ledger Clerk");
  const std::string text = explain_text(*p, w, ev2);
  EXPECT_THAT(text, HasSubstr("attributes in target crm:\n"));
  EXPECT_THAT(text, HasSubstr("= Ledger Clerk\n"));
  EXPECT_THAT(text, HasSubstr("from role finance: Ledger {{ title }}"));
  EXPECT_THAT(text, HasSubstr("= (none)\n"));
  const Json j = explain_json(*p, w, ev2);
  EXPECT_EQ(j["targets"]["crm"]["attributes"]["title"]["value"], "Ledger Clerk");
  EXPECT_EQ(j["targets"]["crm"]["attributes"]["sn"]["value"], "");
}

TEST_F(TargetsPolicyTest, ATargetsSectionNamingAnUnknownTargetIsReportedWhereItIsNamed) {
  const auto p = load(kTargetAttributes);
  EXPECT_TRUE(unknown_targets(*p, {"main", "crm"}).empty());
  const auto d = unknown_targets(*p, {"main"});
  ASSERT_EQ(d.size(), 2u);  // the policy's section and the role's grant
  EXPECT_THAT(d[0].to_string(), HasSubstr("policy.yaml:13:3: error: unknown target 'crm'"));
}

TEST_F(TargetsPolicyTest, MalformedTargetAttributesAreErrors) {
  auto d = errors(std::string(kLadder) + "targets: [crm]\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "'targets' must be a map of target: settings");
  d = errors(std::string(kLadder) + "targets: { crm: { atributes: { title: x } } }\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "unknown target setting 'atributes'");
  d = errors(std::string(kLadder) + "targets:\n  crm:\n    attributes: { employeeNumber: x }\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "employeeNumber is always the workerId");
  EXPECT_EQ(d[0].line, 11);
  EXPECT_EQ(d[0].column, 19);
  d = errors(std::string(kLadder) + "targets: { crm: { attributes: { title: \"{{ nope }}\" } } }\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "unknown variable 'nope'");
  d = errors(std::string(kLadder) + "roles:\n  - name: a\n    targets: { crm: { attributes: [x] } }\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].message, "a target's 'attributes' must be a map of name: template");
}

// A policy asking for initial passwords while a directory target has no password folder used to
// create accounts without a password and tell nobody. Now it is an error at the policy's
// `initial`, naming the target's config key.
TEST_F(TargetsPolicyTest, InitialPasswordsWithoutAFolderToDeliverThemAreAnError) {
  const auto p = load(std::string(kLadder) + "password:\n  initial: true\n");
  EXPECT_TRUE(undeliverable_passwords(*p, {}).empty());
  const auto d = undeliverable_passwords(*p, {"targets[2]"});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_THAT(d[0].to_string(),
              HasSubstr("policy.yaml:10:3: error: initial passwords are delivered as files, but "
                        "targets[2].password_dir is not set"));
  EXPECT_THAT(d[0].hint, HasSubstr("initial: false"));
  const auto without = load(std::string(kLadder) + "password:\n  initial: false\n");
  EXPECT_TRUE(undeliverable_passwords(*without, {"targets[2]"}).empty());
}

}  // namespace
}  // namespace prov::policy::testing
