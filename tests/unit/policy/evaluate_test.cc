// Evaluation: username ladder, attributes, placement, groups, entitlements.
#include "policy_fixture.h"

namespace prov::policy::testing {
namespace {

class EvaluateTest : public PolicyTest {
 protected:
  std::shared_ptr<const Policy> example() {
    return Policy::load(PROV_SOURCE_DIR "/policies/example.yaml");
  }
  static Json person(const std::string& id, const std::string& first, const std::string& last) {
    return {{"workerId", id}, {"firstName", first}, {"lastName", last}, {"workerType", "Employee"}};
  }
};

TEST_F(EvaluateTest, FoldsDiacriticsIntoTheUsername) {
  const auto ev = example()->evaluate(worker(person("1", "José", "Núñez")), context());
  EXPECT_EQ(ev.account.username, "jnunez");
  ASSERT_EQ(ev.username_trail.size(), 1u);
  EXPECT_EQ(ev.username_trail[0].verdict, "chosen");
  EXPECT_FALSE(ev.hold_reason);
}

TEST_F(EvaluateTest, NamesThatFoldAlikeCollide) {
  const auto policy = example();
  std::set<std::string> taken;
  const auto first = policy->evaluate(worker(person("1", "José", "Núñez")), context(taken));
  taken.insert(first.account.username);
  const auto second = policy->evaluate(worker(person("2", "Jose", "Nunez")), context(taken));
  EXPECT_EQ(first.account.username, "jnunez");
  EXPECT_EQ(second.account.username, "jose.nunez");
  ASSERT_EQ(second.username_trail.size(), 2u);
  EXPECT_EQ(second.username_trail[0].candidate, "jnunez");
  EXPECT_EQ(second.username_trail[0].verdict, "taken");
}

TEST_F(EvaluateTest, FiveJohnSmithsWalkTheLadder) {
  const auto policy = example();
  std::set<std::string> taken;
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    const auto ev =
        policy->evaluate(worker(person(std::to_string(i), "John", "Smith")), context(taken));
    names.push_back(ev.account.username);
    taken.insert(ev.account.username);
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"jsmith", "john.smith", "jsmith2", "jsmith3", "jsmith4"}));
}

TEST_F(EvaluateTest, ExistingUsernameIsKept) {
  EvalContext ctx = context({"jsmith"});
  ctx.existing_username = "js-legacy";
  const auto ev = example()->evaluate(worker(person("1", "John", "Smith")), ctx);
  EXPECT_EQ(ev.account.username, "js-legacy");
  ASSERT_EQ(ev.username_trail.size(), 1u);
  EXPECT_EQ(ev.username_trail[0].verdict, "kept");
  EXPECT_EQ(ev.account.attributes.at("mail"), "js-legacy@example.com");
}

TEST_F(EvaluateTest, ExhaustedLadderHoldsTheWorker) {
  EvalContext ctx = context();
  int asked = 0;
  ctx.username_free = [&](const std::string&) {
    ++asked;
    return false;
  };
  const auto ev = example()->evaluate(worker(person("1", "John", "Smith")), ctx);
  EXPECT_TRUE(ev.account.username.empty());
  ASSERT_TRUE(ev.hold_reason);
  EXPECT_EQ(asked, 2 + 98);  // two plain candidates, then n = 2..99
  EXPECT_EQ(ev.username_trail.back().candidate, "jsmith99");
}

TEST_F(EvaluateTest, LongNamesAreShortenedBeforeTheNumber) {
  const auto policy = load(std::string(kLadder));
  const auto ev = policy->evaluate(worker(person("1", "Maximilian", "Wolfeschlegelsteinhausen")),
                                   context({"mwolfeschlegelsteinh"}));
  EXPECT_EQ(ev.username_trail[0].candidate, "mwolfeschlegelsteinh");  // 20 characters
  EXPECT_EQ(ev.username_trail[1].candidate, "maximilian.wolfeschl");
  EXPECT_EQ(ev.account.username, "maximilian.wolfeschl");
  const auto third = policy->evaluate(worker(person("1", "Maximilian", "Wolfeschlegelsteinhausen")),
                                      context({"mwolfeschlegelsteinh", "maximilian.wolfeschl"}));
  EXPECT_EQ(third.account.username, "mwolfeschlegelstein2");
}

TEST_F(EvaluateTest, EmptyCandidatesAreSkipped) {
  const auto policy = load(
      "version: 1\n"
      "username:\n"
      "  candidates: [\"{{ worker.nickname }}\", \"{{ worker.lastName }}{{ n }}\"]\n"
      "  transform: [lower]\n");
  const auto ev = policy->evaluate(worker(person("1", "A", "Bo")), context());
  EXPECT_EQ(ev.username_trail[0].verdict, "empty");
  EXPECT_EQ(ev.account.username, "bo2");
}

TEST_F(EvaluateTest, AttributesFollowTheirDependencies) {
  Json w = person("100234", "José", "Núñez");
  w["preferredFirstName"] = "Pepe";
  w["jobTitle"] = "Accountant";
  w["managerId"] = "100001";
  const auto ev = example()->evaluate(worker(w), context());
  const auto& a = ev.account.attributes;
  EXPECT_EQ(a.at("givenName"), "Pepe");
  EXPECT_EQ(a.at("cn"), "Pepe Núñez");
  EXPECT_EQ(a.at("displayName"), "Pepe Núñez");
  EXPECT_EQ(a.at("mail"), "jnunez@example.com");
  EXPECT_EQ(a.at("title"), "Accountant");
  EXPECT_EQ(a.at("employeeNumber"), "100234");
  EXPECT_EQ(a.count("description"), 0u);  // only contractors get one
  EXPECT_EQ(ev.account.manager_worker_id, "100001");
  EXPECT_TRUE(ev.account.set_initial_password);
  EXPECT_EQ(ev.attributes.at("cn").source, "{{ givenName }} {{ sn }}");
}

TEST_F(EvaluateTest, CandidatesMayUseAttributes) {
  const auto policy = load(
      "version: 1\n"
      "attributes:\n"
      "  given: \"{{ worker.preferredFirstName | default(worker.firstName) }}\"\n"
      "  mail: \"{{ username }}@x.test\"\n"
      "username:\n"
      "  candidates: [\"{{ given }}{{ n }}\"]\n"
      "  transform: [ascii, lower]\n");
  Json w = person("1", "Robert", "Roe");
  w["preferredFirstName"] = "Bob";
  const auto ev = policy->evaluate(worker(w), context());
  EXPECT_EQ(ev.account.username, "bob2");
  EXPECT_EQ(ev.account.attributes.at("mail"), "bob2@x.test");
}

TEST_F(EvaluateTest, FirstMatchingRoleDecidesOuAndAttributeOverrides) {
  const auto policy = load(std::string(kLadder) +
                           "ou: ou=people\n"
                           "attributes:\n"
                           "  description: \"Staff\"\n"
                           "roles:\n"
                           "  - name: a\n"
                           "    when: { workerType: Contractor }\n"
                           "    ou: ou=contractors\n"
                           "    attributes: { description: \"Contractor {{ worker.lastName }}\" }\n"
                           "  - name: b\n"
                           "    when: { lastName: Roe }\n"
                           "    ou: ou=b\n"
                           "    attributes: { description: \"B\" }\n");
  Json w = person("1", "Ann", "Roe");
  auto ev = policy->evaluate(worker(w), context());
  EXPECT_EQ(ev.account.ou, "ou=b");
  EXPECT_EQ(ev.account.attributes.at("description"), "B");
  w["workerType"] = "Contractor";
  ev = policy->evaluate(worker(w), context());
  EXPECT_EQ(ev.account.ou, "ou=contractors");
  EXPECT_EQ(ev.account.attributes.at("description"), "Contractor Roe");
  EXPECT_EQ(ev.attributes.at("description").source, "role a: Contractor {{ worker.lastName }}");
  w["lastName"] = "Doe";
  w["workerType"] = "Employee";
  ev = policy->evaluate(worker(w), context());
  EXPECT_EQ(ev.account.ou, "ou=people");
  EXPECT_EQ(ev.account.attributes.at("description"), "Staff");
}

TEST_F(EvaluateTest, GroupsAndEntitlementsAreTheUnionWithSources) {
  Json w = person("1", "Ann", "Lee");
  w["department"] = "Finance";
  w["location"] = "Berlin";
  EvalContext ctx = context();
  ctx.is_manager = [](const std::string&) { return true; };
  const auto policy = example();
  const auto ev = policy->evaluate(worker(w), ctx);
  EXPECT_EQ(ev.account.groups,
            (std::set<std::string>{"staff", "finance", "erp-users", "office-berlin", "managers"}));
  EXPECT_EQ(ev.account.entitlements, std::set<std::string>{"license:erp"});
  EXPECT_EQ(ev.group_sources.at("erp-users"), "finance");
  EXPECT_EQ(ev.entitlement_sources.at("license:erp"), "finance");
  EXPECT_EQ(policy->managed_groups(),
            (std::set<std::string>{"staff", "finance", "erp-users", "contractors", "office-berlin",
                                   "managers"}));
}

TEST_F(EvaluateTest, SharedGroupsNameEveryGrantingRole) {
  const auto policy = load(std::string(kLadder) +
                           "roles:\n"
                           "  - { name: a, when: { x: 1 }, groups: [vpn] }\n"
                           "  - { name: b, when: { y: 1 }, groups: [vpn, wiki] }\n");
  Json w = person("1", "Ann", "Lee");
  w["x"] = 1;
  w["y"] = 1;
  const auto ev = policy->evaluate(worker(w), context());
  EXPECT_EQ(ev.group_sources.at("vpn"), "a, b");
  EXPECT_EQ(ev.group_sources.at("wiki"), "b");
}

TEST_F(EvaluateTest, WithoutExplanationTheAccountIsTheSame) {
  Json w = person("1", "Ann", "Lee");
  w["department"] = "Sales";
  const auto policy = example();
  EvalContext quiet = context();
  quiet.explain = false;
  const auto full = policy->evaluate(worker(w), context());
  const auto fast = policy->evaluate(worker(w), quiet);
  EXPECT_EQ(fast.account.username, full.account.username);
  EXPECT_EQ(fast.account.attributes, full.account.attributes);
  EXPECT_EQ(fast.account.groups, full.account.groups);
  EXPECT_EQ(fast.account.ou, full.account.ou);
  EXPECT_TRUE(fast.attributes.empty());
  EXPECT_TRUE(fast.group_sources.empty());
  EXPECT_FALSE(full.roles.at(1).failed_condition.empty());
  EXPECT_TRUE(fast.roles.at(1).failed_condition.empty());
}

TEST_F(EvaluateTest, LifecyclePasswordAndReservationAreLoaded) {
  const auto policy = example();
  EXPECT_EQ(policy->lifecycle().prehire_days, 7);
  EXPECT_EQ(policy->lifecycle().leave, "lock");
  EXPECT_EQ(policy->lifecycle().termination_lock, "immediately");
  EXPECT_TRUE(policy->lifecycle().termination_remove_groups);
  EXPECT_EQ(policy->lifecycle().termination_move_to, "ou=disabled");
  EXPECT_EQ(policy->lifecycle().delete_after_days, 90);
  EXPECT_EQ(policy->lifecycle().rehire, "reuse_account");
  EXPECT_TRUE(policy->password().initial);
  EXPECT_EQ(policy->password().deliver, "file");
  EXPECT_EQ(policy->reserve_days(), 365);
}

TEST_F(EvaluateTest, ReloadingIsSafeAndTheDigestFollowsTheText) {
  const auto path = dir_.write("p.yaml", std::string(kLadder));
  const auto a = Policy::load(path);
  const auto b = Policy::load(path);
  EXPECT_EQ(a->digest(), b->digest());
  dir_.write("p.yaml", std::string(kLadder) + "ou: ou=x\n");
  const auto c = Policy::load(path);
  EXPECT_NE(a->digest(), c->digest());
  EXPECT_EQ(a->evaluate(worker(person("1", "A", "B")), context()).account.username, "ab");
}

}  // namespace
}  // namespace prov::policy::testing
