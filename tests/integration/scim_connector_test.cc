// The scim connector against a real SCIM 2.0 service (SCIMMY, started by the harness): every
// assertion reads the service through its own HTTP API or checks an outcome the executor acts
// on.
#include "scim/scim_connector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "harness/scim_fixture.h"
#include "harness/slapd_fixture.h"
#include "prov/connector.h"

namespace prov::testing {
namespace {

ScimServer& shared_app() {
  static std::unique_ptr<ScimServer> app = ScimServer::start();
  return *app;
}

// Polls `condition` every 10 ms until it holds or 10 s pass.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Unique per process and call: tests share one server.
std::string unique(const std::string& prefix) {
  static const std::string run = std::to_string(std::random_device{}() % 1000000);
  static std::atomic<int> counter{0};
  return prefix + run + "x" + std::to_string(++counter);
}

Operation op_of(OpKind kind, const std::string& worker_id, const std::string& username = {}) {
  Operation op;
  op.target = "app";
  op.kind = kind;
  op.worker_id = worker_id;
  op.username = username;
  return op;
}

Operation create_op(const std::string& worker_id, const std::string& username) {
  Operation op = op_of(OpKind::Create, worker_id, username);
  op.attributes = {{"givenName", "Ada"},
                   {"sn", "Lovelace"},
                   {"displayName", "Ada Lovelace"},
                   {"title", "Engineer"},
                   {"mail", username + "@example.com"},
                   {"employeeNumber", worker_id},
                   {"department", "Engineering"}};
  return op;
}

class ScimConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    connector_ = make_scim_connector(app().target_config("app"));
    const Status s = connector_->connect();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  ScimServer& app() { return shared_app(); }
  Json user(const std::string& worker_id) {
    auto u = app().user_by_external_id(worker_id);
    return u ? *u : Json();
  }
  std::unique_ptr<DirectoryConnector> connector_;
};

TEST_F(ScimConnectorTest, CreateWritesTheUserAndFindsItByEveryAnchorKind) {
  const std::string w = unique("w"), name = unique("ada");
  const Outcome o = connector_->apply(create_op(w, name));
  ASSERT_TRUE(o.is_ok()) << o.message;
  EXPECT_FALSE(o.already_done);
  const Json u = user(w);
  ASSERT_FALSE(u.is_null());
  EXPECT_EQ(o.anchor, u["id"]);
  EXPECT_EQ(u["userName"], name);
  EXPECT_EQ(u["active"], true);
  EXPECT_EQ(u["name"]["givenName"], "Ada");
  EXPECT_EQ(u["name"]["familyName"], "Lovelace");
  EXPECT_EQ(u["emails"][0]["value"], name + "@example.com");
  EXPECT_EQ(u["emails"][0]["type"], "work");
  EXPECT_EQ(u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "Engineering");
  for (const Anchor& a : {Anchor{Anchor::Kind::EmployeeId, w}, Anchor{Anchor::Kind::Username, name},
                          Anchor{Anchor::Kind::Guid, o.anchor}}) {
    auto found = connector_->find(a);
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_TRUE(found.value().has_value()) << a.value;
    EXPECT_EQ(found.value()->worker_id, w);
    EXPECT_EQ(found.value()->anchor, o.anchor);
  }
  auto holder = connector_->username_holder(name);
  ASSERT_TRUE(holder.ok());
  EXPECT_EQ(holder.value(), std::optional<std::string>(w));
  auto nobody = connector_->find(Anchor{Anchor::Kind::EmployeeId, unique("nobody")});
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody.value().has_value());
}

TEST_F(ScimConnectorTest, CreateAgainFindsTheUserByExternalIdInsteadOfASecondOne) {
  const std::string w = unique("w"), name = unique("twice");
  const Outcome first = connector_->apply(create_op(w, name));
  ASSERT_TRUE(first.is_ok()) << first.message;
  Operation again = create_op(w, name);
  again.attributes["title"] = "Lead";
  const Outcome second = connector_->apply(again);
  ASSERT_TRUE(second.is_ok()) << second.message;
  EXPECT_TRUE(second.already_done);
  EXPECT_EQ(second.anchor, first.anchor);
  auto list = app().request("GET", "/Users?count=1000");
  int with_id = 0;
  for (const auto& u : list.body["Resources"]) with_id += u.value("externalId", "") == w;
  EXPECT_EQ(with_id, 1);
  EXPECT_EQ(user(w)["title"], "Lead");  // the replay made it what the create says
}

TEST_F(ScimConnectorTest, CreateRefusesAUserNameHeldByAnotherWorker) {
  const std::string name = unique("taken"), owner = unique("w"), other = unique("w");
  ASSERT_TRUE(connector_->apply(create_op(owner, name)).is_ok());
  const Outcome o = connector_->apply(create_op(other, name));
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(o.code, "scim:uniqueness");
  EXPECT_TRUE(user(other).is_null());
  EXPECT_EQ(user(owner)["userName"], name);
}

TEST_F(ScimConnectorTest, UpdateReplacesAndRemovesAttributes) {
  const std::string w = unique("w"), name = unique("upd");
  const Outcome created = connector_->apply(create_op(w, name));
  ASSERT_TRUE(created.is_ok());
  Operation up = op_of(OpKind::Update, w, name);
  up.anchor = created.anchor;
  up.attributes = {
      {"title", "Director"}, {"mail", ""}, {"department", "Finance"}, {"givenName", "Augusta"}};
  const Outcome o = connector_->apply(up);
  ASSERT_TRUE(o.is_ok()) << o.message;
  const Json u = user(w);
  EXPECT_EQ(u["title"], "Director");
  EXPECT_EQ(u["name"]["givenName"], "Augusta");
  EXPECT_EQ(u["name"]["familyName"], "Lovelace");
  EXPECT_FALSE(u.contains("emails") && !u["emails"].empty()) << u.dump();
  EXPECT_EQ(u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "Finance");
}

TEST_F(ScimConnectorTest, DisableAndEnableSetActiveAndRepeatAsAlreadyDone) {
  const std::string w = unique("w"), name = unique("lock");
  const Outcome created = connector_->apply(create_op(w, name));
  ASSERT_TRUE(created.is_ok());
  Operation lock = op_of(OpKind::Disable, w, name);
  lock.anchor = created.anchor;
  ASSERT_TRUE(connector_->apply(lock).is_ok());
  EXPECT_EQ(user(w)["active"], false);
  const Outcome again = connector_->apply(lock);
  EXPECT_TRUE(again.is_ok());
  EXPECT_TRUE(again.already_done);
  Operation unlock = op_of(OpKind::Enable, w, name);  // without the anchor: by externalId
  ASSERT_TRUE(connector_->apply(unlock).is_ok());
  EXPECT_EQ(user(w)["active"], true);
  auto found = connector_->find(Anchor{Anchor::Kind::EmployeeId, w});
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_TRUE(found.value()->enabled);
}

TEST_F(ScimConnectorTest, GroupMembershipAddAndRemoveTwice) {
  const std::string w = unique("w"), name = unique("grp"), group = unique("team-");
  const Outcome created = connector_->apply(create_op(w, name));
  ASSERT_TRUE(created.is_ok());
  Operation add = op_of(OpKind::AddMember, w, name);
  add.group = group;
  const Outcome first = connector_->apply(add);
  ASSERT_TRUE(first.is_ok()) << first.message;
  EXPECT_FALSE(first.already_done);
  const Outcome second = connector_->apply(add);
  ASSERT_TRUE(second.is_ok()) << second.message;
  EXPECT_TRUE(second.already_done);
  EXPECT_EQ(app().groups_of(created.anchor), std::set<std::string>{group});
  // Listed once, not twice.
  auto groups = app().request("GET", "/Groups?count=1000");
  for (const auto& g : groups.body["Resources"])
    if (g["displayName"] == group) EXPECT_EQ(g["members"].size(), 1u) << g.dump();
  auto found = connector_->find(Anchor{Anchor::Kind::EmployeeId, w});
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->groups, std::set<std::string>{group});

  Operation remove = op_of(OpKind::RemoveMember, w, name);
  remove.group = group;
  const Outcome gone = connector_->apply(remove);
  ASSERT_TRUE(gone.is_ok()) << gone.message;
  EXPECT_FALSE(gone.already_done);
  const Outcome gone_again = connector_->apply(remove);
  ASSERT_TRUE(gone_again.is_ok()) << gone_again.message;
  EXPECT_TRUE(gone_again.already_done);
  EXPECT_TRUE(app().groups_of(created.anchor).empty());
}

// The planner asks about a whole group of new names before it plans them: one request per name
// kept the engine waiting on a slow app for seconds.
TEST_F(ScimConnectorTest, UsernameHoldersAsksAboutManyNamesInFewRequests) {
  std::vector<std::string> names;
  std::map<std::string, std::string> holder_of;
  for (int i = 0; i < 3; ++i) {
    const std::string w = unique("w"), name = unique("held");
    ASSERT_TRUE(connector_->apply(create_op(w, name)).is_ok());
    names.push_back(name);
    holder_of[name] = w;
  }
  for (int i = 0; i < 57; ++i) names.push_back(unique("free"));
  names.push_back("quote\"in" + unique("name"));  // a name a filter cannot carry as it is
  const auto before = app().stats().value("requests", 0L);
  auto holders = connector_->username_holders(names);
  ASSERT_TRUE(holders.ok()) << holders.error().message;
  const auto asked = app().stats().value("requests", 0L) - before;
  EXPECT_LE(asked, 4) << "requests for " << names.size() << " names";
  ASSERT_EQ(holders.value().size(), names.size());
  for (const auto& name : names) {
    const auto& got = holders.value().at(name);
    const auto want = holder_of.find(name);
    if (want != holder_of.end()) {
      EXPECT_EQ(got, std::optional<std::string>(want->second)) << name;
    } else {
      EXPECT_FALSE(got) << name << " held by " << got.value_or("?");
    }
  }
}

// A bulk hire: the batch's creates ask the app about all their workers at once (whether each
// already has a User, as after a replay), then POST the new ones: about one request per user
// instead of two. A worker who has a User already is made what the create says, not doubled.
TEST_F(ScimConnectorTest, ABatchOfCreatesAsksAboutItsWorkersTogether) {
  const std::string existing = unique("w");
  const Outcome first = connector_->apply(create_op(existing, unique("early")));
  ASSERT_TRUE(first.is_ok()) << first.message;
  std::vector<Operation> creates = {create_op(existing, unique("renamed"))};  // a replay
  for (int i = 0; i < 60; ++i) creates.push_back(create_op(unique("w"), unique("bulk")));
  const auto before = app().stats().value("requests", 0L);
  const auto outcomes = connector_->apply_batch(creates);
  const auto asked = app().stats().value("requests", 0L) - before;
  RecordProperty("requests", static_cast<int>(asked));

  ASSERT_EQ(outcomes.size(), creates.size());
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    ASSERT_TRUE(outcomes[i].is_ok()) << i << ": " << outcomes[i].message;
  EXPECT_TRUE(outcomes[0].already_done);
  EXPECT_EQ(outcomes[0].anchor, first.anchor) << "the worker's one User, made again";
  EXPECT_EQ(user(existing).value("userName", ""), creates[0].username);
  for (std::size_t i = 1; i < creates.size(); ++i) {
    EXPECT_FALSE(outcomes[i].already_done) << i;
    EXPECT_EQ(user(creates[i].worker_id).value("id", ""), outcomes[i].anchor) << i;
  }
  // One at a time: a look-up and a POST each, 122 requests.
  EXPECT_LE(asked, 66) << "requests for " << creates.size() << " creates";
}

// The executor hands over a batch: every membership change of one group in it travels in one
// request, not three or four per member (look up the user, ask the group, PATCH). Members
// already present or already absent still end right, and a group that does not exist yet is
// made with its first members.
TEST_F(ScimConnectorTest, ABatchsMembershipChangesOfOneGroupTravelTogether) {
  std::vector<Operation> creates;
  std::vector<std::string> wids;
  for (int i = 0; i < 26; ++i) {
    wids.push_back(unique("w"));
    creates.push_back(create_op(wids.back(), unique("joiner")));
  }
  const auto created = connector_->apply_batch(creates);
  ASSERT_EQ(created.size(), creates.size());
  for (const auto& o : created) ASSERT_TRUE(o.is_ok()) << o.message;
  const std::string team = unique("team-"), fresh = unique("fresh-");
  auto member_op = [&](OpKind kind, int i, const std::string& group) {
    Operation op = op_of(kind, wids[i], creates[i].username);
    op.group = group;
    op.anchor = created[i].anchor;
    op.dn = created[i].dn;
    return op;
  };
  for (int i : {0, 1, 2}) ASSERT_TRUE(connector_->apply(member_op(OpKind::AddMember, i, team)).is_ok());

  std::vector<Operation> ops = {member_op(OpKind::AddMember, 0, team)};  // already a member
  for (int i = 3; i < 20; ++i) ops.push_back(member_op(OpKind::AddMember, i, team));
  ops.push_back(member_op(OpKind::RemoveMember, 1, team));   // leaves
  ops.push_back(member_op(OpKind::RemoveMember, 2, team));   // leaves
  ops.push_back(member_op(OpKind::RemoveMember, 25, team));  // never was a member
  for (int i = 20; i < 25; ++i) ops.push_back(member_op(OpKind::AddMember, i, fresh));
  const auto before = app().stats().value("requests", 0L);
  const auto outcomes = connector_->apply_batch(ops);
  const auto asked = app().stats().value("requests", 0L) - before;
  RecordProperty("requests", static_cast<int>(asked));

  ASSERT_EQ(outcomes.size(), ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i)
    EXPECT_TRUE(outcomes[i].is_ok()) << i << ": " << outcomes[i].message;
  EXPECT_TRUE(outcomes[0].already_done);
  EXPECT_FALSE(outcomes[1].already_done);
  // One at a time this batch takes about 90 requests.
  EXPECT_LE(asked, 16) << "requests for " << ops.size() << " membership changes";
  for (int i = 0; i < 26; ++i) {
    const bool in_team = i == 0 || (i >= 3 && i < 20), in_fresh = i >= 20 && i < 25;
    std::set<std::string> want;
    if (in_team) want.insert(team);
    if (in_fresh) want.insert(fresh);
    EXPECT_EQ(app().groups_of(created[i].anchor), want) << i;
  }
  // Each member listed once.
  const auto listed = app().request("GET", "/Groups?count=1000");
  for (const auto& g : listed.body["Resources"])
    if (g["displayName"] == team) EXPECT_EQ(g["members"].size(), 18u) << g.dump();
}

// A big group's member list is megabytes: joining or leaving it must not read that list.
TEST_F(ScimConnectorTest, AMembershipChangeInABigGroupDoesNotReadItsMemberList) {
  const std::string w = unique("w"), name = unique("big"), group = unique("everyone-");
  Json members = Json::array();
  for (int i = 0; i < 400; ++i) members.push_back({{"value", unique("member-") + "-00000000"}});
  const auto made = app().request("POST", "/Groups",
                                  {{"schemas", {"urn:ietf:params:scim:schemas:core:2.0:Group"}},
                                   {"displayName", group},
                                   {"members", members}});
  ASSERT_EQ(made.status, 201) << made.body.dump();
  const Outcome created = connector_->apply(create_op(w, name));
  ASSERT_TRUE(created.is_ok()) << created.message;

  Operation add = op_of(OpKind::AddMember, w, name);
  add.group = group;
  add.anchor = created.anchor;
  Operation remove = add;
  remove.kind = OpKind::RemoveMember;
  const auto read_before = app().stats().value("readBytes", 0L);
  const Outcome joined = connector_->apply(add);
  ASSERT_TRUE(joined.is_ok()) << joined.message;
  EXPECT_FALSE(joined.already_done);
  const Outcome again = connector_->apply(add);
  ASSERT_TRUE(again.is_ok()) << again.message;
  EXPECT_TRUE(again.already_done);
  const Outcome left = connector_->apply(remove);
  ASSERT_TRUE(left.is_ok()) << left.message;
  EXPECT_FALSE(left.already_done);
  const auto read = app().stats().value("readBytes", 0L) - read_before;
  // Four hundred members are about 20 KB each time the group is read whole.
  EXPECT_LT(read, 8000) << "the connector read the group's member list";
  EXPECT_TRUE(app().groups_of(created.anchor).empty());
  const auto listed = app().request("GET", "/Groups?count=1000");
  for (const auto& g : listed.body["Resources"])
    if (g["displayName"] == group) EXPECT_EQ(g["members"].size(), 400u);
}

TEST_F(ScimConnectorTest, DeleteRemovesTheUserAndRepeatsAsAlreadyDone) {
  const std::string w = unique("w"), name = unique("del");
  const Outcome created = connector_->apply(create_op(w, name));
  ASSERT_TRUE(created.is_ok());
  Operation del = op_of(OpKind::Delete, w, name);
  del.anchor = created.anchor;
  const Outcome o = connector_->apply(del);
  ASSERT_TRUE(o.is_ok()) << o.message;
  EXPECT_FALSE(o.already_done);
  EXPECT_TRUE(user(w).is_null());
  EXPECT_EQ(app().request("GET", "/Users/" + created.anchor).status, 404);
  const Outcome again = connector_->apply(del);
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(again.already_done);
}

TEST_F(ScimConnectorTest, OperationsOnAMissingUserArePermanent) {
  for (OpKind k : {OpKind::Update, OpKind::Disable, OpKind::AddMember}) {
    Operation op = op_of(k, unique("ghost"), "ghost");
    op.group = "g";
    op.attributes = {{"title", "x"}};
    const Outcome o = connector_->apply(op);
    EXPECT_EQ(o.kind, Outcome::Kind::Permanent) << to_string(k);
    EXPECT_EQ(o.code, "scim:404") << to_string(k);
  }
}

TEST_F(ScimConnectorTest, ListingEveryAccountPagesPastOnePage) {
  DirectoryConfig small = app().target_config("app");
  small.options["page_size"] = 7;
  auto paged = make_scim_connector(small);
  ASSERT_TRUE(paged->connect().ok());
  const std::string prefix = unique("page");
  for (int i = 0; i < 23; ++i)
    ASSERT_TRUE(
        paged->apply(create_op(prefix + "-" + std::to_string(i), prefix + "u" + std::to_string(i)))
            .is_ok());
  std::map<std::string, int> seen;
  std::size_t visited = 0;
  const Status s = paged->for_each_account([&](const Account& a) {
    ++visited;
    if (a.worker_id.rfind(prefix + "-", 0) == 0) ++seen[a.worker_id];
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(seen.size(), 23u);
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(static_cast<long>(visited), app().stats()["users"].get<long>());
}

TEST_F(ScimConnectorTest, InjectionStringsInNamesAreStoredLiterally) {
  const std::string w = unique("w"), name = unique("inj");
  Operation op = create_op(w, name);
  op.attributes["givenName"] = "a\" or \"1\"=\"1";
  op.attributes["sn"] = "back\\slash";
  op.attributes["displayName"] = "x eq y";
  op.attributes["title"] = ") or (userName pr";
  ASSERT_TRUE(connector_->apply(op).is_ok());
  const Json u = user(w);
  EXPECT_EQ(u["name"]["givenName"], "a\" or \"1\"=\"1");
  EXPECT_EQ(u["name"]["familyName"], "back\\slash");
  EXPECT_EQ(u["displayName"], "x eq y");
  EXPECT_EQ(u["title"], ") or (userName pr");
}

TEST_F(ScimConnectorTest, LookupsWithFilterSyntaxInTheValueFindOnlyTheirOwnUser) {
  // Someone else whose userName any loosened filter would match.
  const std::string bystander = unique("w");
  ASSERT_TRUE(connector_->apply(create_op(bystander, unique("by"))).is_ok());
  for (const std::string tail :
       {" eq x", ") or (userName pr", "\" or userName pr \"", "back\\slash", "q\"uote"}) {
    const std::string w = unique("w") + tail;
    auto before = connector_->find(Anchor{Anchor::Kind::EmployeeId, w});
    // Nobody has this id yet: never the bystander, whatever the server makes of the filter.
    ASSERT_TRUE(before.ok()) << tail << ": " << before.error().message;
    EXPECT_FALSE(before.value().has_value()) << tail;
    const Outcome created = connector_->apply(create_op(w, unique("inj")));
    ASSERT_TRUE(created.is_ok()) << tail << ": " << created.message;
    auto found = connector_->find(Anchor{Anchor::Kind::EmployeeId, w});
    ASSERT_TRUE(found.ok()) << tail << ": " << found.error().message;
    ASSERT_TRUE(found.value().has_value()) << tail;
    EXPECT_EQ(found.value()->worker_id, w);
  }
}

TEST_F(ScimConnectorTest, ThrottledAndUnavailableAreRetryableWithTheServersDelay) {
  for (int status : {429, 503}) {
    app().fail_requests(status, 7, 1);
    const std::string w = unique("w");
    const Outcome o = connector_->apply(create_op(w, unique("slow")));
    EXPECT_EQ(o.kind, Outcome::Kind::Retryable) << status;
    EXPECT_EQ(o.code, "scim:" + std::to_string(status));
    EXPECT_EQ(o.retry_after, std::chrono::seconds(7));
    EXPECT_TRUE(user(w).is_null());
    // The switch covered one request: the retry goes through.
    const Outcome retried = connector_->apply(create_op(w, unique("slow")));
    EXPECT_TRUE(retried.is_ok()) << retried.message;
  }
}

TEST(ScimConnectorAuth, ARefusedTokenIsPermanentAtConnectAndStopsTheTarget) {
  auto app = ScimServer::start();
  auto connector = make_scim_connector(app->target_config("app"));
  ASSERT_TRUE(connector->connect().ok());
  const std::string w = "w-before";
  ASSERT_TRUE(connector->apply(create_op(w, "before")).is_ok());
  app->accept_token("rotated-on-the-server");  // our token is now expired
  const Outcome o = connector->apply(create_op("w-after", "after"));
  // The operation is kept for later (retryable) ...
  EXPECT_EQ(o.kind, Outcome::Kind::Retryable);
  EXPECT_EQ(o.code, "scim:401");
  // ... and the reconnect that precedes its retry fails for good: the executor stops there.
  const Status s = connector->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().retryable);
  EXPECT_NE(s.error().message.find("refused the token"), std::string::npos);
  EXPECT_EQ(s.error().message.find(app->token()), std::string::npos);
  // A new connector with the old token file cannot start either.
  auto fresh = make_scim_connector(app->target_config("app"));
  const Status f = fresh->connect();
  ASSERT_FALSE(f.ok());
  EXPECT_FALSE(f.error().retryable);
}

TEST(ScimConnectorOAuth, AClientCredentialsGrantGivesTheTokenAndARefusedOneIsRenewed) {
  auto app = ScimServer::start({.oauth = true});
  auto connector = make_scim_connector(app->target_config("app"));
  const Status s = connector->connect();
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(connector->apply(create_op("oauth-1", "oauth1")).is_ok());
  EXPECT_TRUE(app->user_by_external_id("oauth-1").has_value());
  EXPECT_EQ(app->stats()["tokensIssued"], 1);
  // Expired on the server: refused once (kept as a retry), then a new grant on reconnect.
  app->expire_oauth_tokens();
  const Outcome refused = connector->apply(create_op("oauth-2", "oauth2"));
  EXPECT_EQ(refused.code, "scim:401");
  ASSERT_TRUE(connector->connect().ok());
  ASSERT_TRUE(connector->apply(create_op("oauth-2", "oauth2")).is_ok());
  EXPECT_TRUE(app->user_by_external_id("oauth-2").has_value());
  EXPECT_EQ(app->stats()["tokensIssued"], 2);
}

TEST(ScimConnectorOAuth, AWrongClientSecretIsPermanentAtConnect) {
  auto app = ScimServer::start({.oauth = true});
  DirectoryConfig c = app->target_config("app");
  const std::string wrong = app->dir() + "/wrong.secret";
  std::ofstream(wrong) << "not-the-secret\n";
  c.options["oauth"]["client_secret_file"] = wrong;
  auto connector = make_scim_connector(c);
  const Status s = connector->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().retryable);
  EXPECT_NE(s.error().message.find("invalid_client"), std::string::npos) << s.error().message;
  EXPECT_EQ(s.error().message.find("not-the-secret"), std::string::npos);
  EXPECT_EQ(app->stats()["users"], 0);
}

TEST(ScimConnectorTls, AnUntrustedCertificateIsRefusedAndATrustedOneAccepted) {
  auto app = ScimServer::start({.tls = true});
  DirectoryConfig trusted = app->target_config("app");
  auto ok = make_scim_connector(trusted);
  const Status good = ok->connect();
  ASSERT_TRUE(good.ok()) << good.error().message;
  ASSERT_TRUE(ok->apply(create_op("tls-1", "tlsuser")).is_ok());
  EXPECT_FALSE(app->user_by_external_id("tls-1") == std::nullopt);

  DirectoryConfig untrusted = trusted;
  untrusted.options.erase("tls");  // the system store does not know the harness's certificate
  auto refused = make_scim_connector(untrusted);
  const Status s = refused->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().retryable);
  EXPECT_NE(s.error().message.find("not trusted"), std::string::npos) << s.error().message;
  EXPECT_EQ(refused->apply(create_op("tls-2", "tlsuser2")).kind, Outcome::Kind::Permanent);
  EXPECT_FALSE(app->user_by_external_id("tls-2").has_value());
}

// The connector keeps its connection open between requests; a server closes an idle one after
// its keep-alive timeout. The next request goes out on a new connection, not as an error.
TEST(ScimConnectorNetwork, AConnectionTheServerClosedWhileIdleIsOpenedAgain) {
  auto app = ScimServer::start({.keep_alive_ms = 100});
  auto connector = make_scim_connector(app->target_config("app"));
  ASSERT_TRUE(connector->connect().ok());
  ASSERT_TRUE(connector->apply(create_op("idle-1", "idle1")).is_ok());
  // Only the asking connection is left: the connector's was closed by the server.
  ASSERT_TRUE(eventually([&] { return app->stats()["connections"] == 1; }));
  const Outcome o = connector->apply(create_op("idle-2", "idle2"));
  EXPECT_TRUE(o.is_ok()) << o.message;
  EXPECT_EQ(o.code, "");
  EXPECT_TRUE(app->user_by_external_id("idle-2").has_value());
}

TEST(ScimConnectorNetwork, AnUnreachableServiceIsRetryable) {
  DirectoryConfig c = shared_app().target_config("app");
  c.options["url"] = "http://127.0.0.1:" + std::to_string(free_port()) + "/scim/v2";
  auto connector = make_scim_connector(c);
  const Status s = connector->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().retryable);
  EXPECT_EQ(connector->apply(create_op("w", "u")).kind, Outcome::Kind::Retryable);
}

TEST(ScimConnectorRegistry, TheRegistryMakesScimTargets) {
  ConnectorRegistry registry;
  register_builtin_connectors(registry);
  EXPECT_TRUE(registry.has("scim"));
  auto c = registry.create(shared_app().target_config("app"));
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->connect().ok());
}

}  // namespace
}  // namespace prov::testing
