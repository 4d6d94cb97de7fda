#include <gtest/gtest.h>

#include "prov/plan.h"

namespace prov {
namespace {

DesiredAccount desired() {
  DesiredAccount d;
  d.worker_id = "1";
  d.username = "jdoe";
  d.ou = "ou=people";
  d.attributes = {{"sn", "Doe"}, {"givenName", "Jane"}};
  d.groups = {"staff", "finance"};
  return d;
}

std::vector<std::string> kinds(const std::vector<Operation>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops)
    out.push_back(std::string(to_string(op.kind)) + (op.group.empty() ? "" : ":" + op.group));
  return out;
}

PlanContext managed(std::set<std::string> groups) { return PlanContext{std::move(groups), {}}; }

TEST(Plan, NoAccountCreatesThenAddsGroups) {
  auto ops = plan(desired(), std::nullopt, managed({"staff", "finance"}));
  EXPECT_EQ(kinds(ops), (std::vector<std::string>{"create", "add_member:finance", "add_member:staff"}));
  EXPECT_EQ(ops[0].username, "jdoe");
  EXPECT_EQ(ops[0].attributes.at("sn"), "Doe");
}

TEST(Plan, NoUsernameMeansNothingHalfCreated) {
  auto d = desired();
  d.username.clear();
  EXPECT_TRUE(plan(d, std::nullopt, managed({"staff"})).empty());
}

TEST(Plan, KnownAccountInDesiredStateNeedsNothing) {
  Account known;
  for (const auto& op : plan(desired(), std::nullopt, managed({"staff", "finance"})))
    known = project(known, op);
  EXPECT_TRUE(plan(desired(), known, managed({"staff", "finance"})).empty());
}

TEST(Plan, TransferSwapsGroupsAndOnlyTouchesManagedOnes) {
  Account known = project({}, plan(desired(), std::nullopt, managed({}))[0]);
  known.groups = {"staff", "finance", "vpn-manual"};
  auto d = desired();
  d.groups = {"staff", "sales"};
  d.attributes["sn"] = "Doe-Smith";
  auto ops = plan(d, known, managed({"staff", "finance", "sales"}));
  // Removals first (access ends before it grows), then the update, then the additions.
  EXPECT_EQ(kinds(ops), (std::vector<std::string>{"remove_member:finance", "update", "add_member:sales"}));
  EXPECT_EQ(ops[1].attributes, (std::map<std::string, std::string>{{"sn", "Doe-Smith"}}));
}

// A group no role can grant any more (its role was retired) is removed when provisiond granted
// it; a group someone else added is left alone, and so is one the policy released.
TEST(Plan, GrantedGroupsOfARetiredRoleAreRemoved) {
  Account known;
  for (const auto& op : plan(desired(), std::nullopt, managed({"staff", "finance"})))
    known = project(known, op);
  EXPECT_EQ(known.granted, (std::set<std::string>{"staff", "finance"}));
  known.groups.insert("vpn-manual");
  auto d = desired();
  d.groups = {"staff"};
  EXPECT_EQ(kinds(plan(d, known, managed({"staff"}))),
            (std::vector<std::string>{"remove_member:finance"}));
  PlanContext released = managed({"staff"});
  released.released_groups = {"finance"};
  EXPECT_TRUE(plan(d, known, released).empty());
  // The removal done, the group is no longer provisiond's.
  known = project(known, plan(d, known, managed({"staff"}))[0]);
  EXPECT_EQ(known.granted, (std::set<std::string>{"staff"}));
  d.exists = false;
  EXPECT_EQ(kinds(plan(d, known, managed({}))),
            (std::vector<std::string>{"remove_member:staff", "delete"}));
}

TEST(Plan, LockComesFirstWhenAccessEnds) {
  Account known = project({}, plan(desired(), std::nullopt, managed({}))[0]);
  known.groups = {"staff", "finance"};
  auto d = desired();
  d.enabled = false;
  d.groups.clear();
  d.ou = "ou=disabled";
  auto ops = plan(d, known, managed({"staff", "finance"}));
  ASSERT_FALSE(ops.empty());
  EXPECT_EQ(ops.front().kind, OpKind::Disable);
  // The removals go before the move: they use the DN the groups list, and the move into the
  // disabled OU then has no memberships left to rewrite.
  EXPECT_EQ(kinds(ops), (std::vector<std::string>{"disable", "remove_member:finance",
                                                  "remove_member:staff", "move"}));
}

TEST(Plan, RemovedAttributeIsCleared) {
  Account known = project({}, plan(desired(), std::nullopt, managed({}))[0]);
  auto d = desired();
  d.attributes.erase("givenName");
  auto ops = plan(d, known, managed({}));
  ASSERT_EQ(ops.size(), 3u);  // update + the two group adds
  EXPECT_EQ(ops[0].attributes, (std::map<std::string, std::string>{{"givenName", ""}}));
}

TEST(Plan, ManagerDnBecomesAnAttribute) {
  PlanContext ctx = managed({});
  ctx.manager_dn = "uid=boss,ou=people,dc=x";
  auto ops = plan(desired(), std::nullopt, ctx);
  EXPECT_EQ(ops[0].attributes.at("manager"), "uid=boss,ou=people,dc=x");
}

TEST(Plan, NotWantedAccountIsRemovedAfterItsGroups) {
  Account known = project({}, plan(desired(), std::nullopt, managed({}))[0]);
  known.groups = {"staff"};
  auto d = desired();
  d.exists = false;
  EXPECT_EQ(kinds(plan(d, known, managed({"staff"}))),
            (std::vector<std::string>{"remove_member:staff", "delete"}));
  known = project(known, Operation{.kind = OpKind::Delete});
  EXPECT_TRUE(plan(d, known, managed({"staff"})).empty());
}

TEST(Plan, SummaryCounts) {
  PlanSummary s;
  for (const auto& op : plan(desired(), std::nullopt, managed({}))) s.add(op);
  EXPECT_EQ(s.creates, 1);
  EXPECT_EQ(s.group_adds, 2);
  EXPECT_NE(s.to_string().find("creates 1"), std::string::npos);
}

}  // namespace
}  // namespace prov
