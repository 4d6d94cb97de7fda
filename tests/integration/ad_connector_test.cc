// Active Directory specifics of the AD connector, against a real Samba AD DC: what an
// administrator and an end user see (attributes, userAccountControl bits, password binds,
// memberships, anchors that survive renames and moves).
#include "ad/ad_connector.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "ad/ad_values.h"
#include "harness/samba_fixture.h"
#include "ldap/escape.h"
#include "ldap/ldap_connector.h"
#include "ldap/ldap_session.h"

namespace prov {
namespace {

using testing::samba;
using testing::unique_name;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

class AdConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = samba().directory_config();
    connector_ = make_ad_connector(config_);
    Status s = connector_->connect();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  // A Create for a fresh worker, as the planner would send it.
  Operation create_op(const std::string& display = "") {
    Operation op;
    op.kind = OpKind::Create;
    op.worker_id = unique_name("w");
    op.username = unique_name("u");
    op.ou = "OU=People";
    const std::string name = display.empty() ? "Ada " + op.username : display;
    op.attributes = {{"givenName", "Ada"},
                     {"sn", op.username},
                     {"cn", name},
                     {"displayName", name},
                     {"mail", op.username + "@example.test"},
                     {"title", "Analyst"},
                     {"employeeNumber", op.worker_id}};
    op.enabled = true;
    return op;
  }

  Operation op_for(OpKind kind, const Operation& created, const Outcome& outcome) {
    Operation op;
    op.kind = kind;
    op.worker_id = created.worker_id;
    op.username = created.username;
    op.dn = outcome.dn;
    op.anchor = outcome.anchor;
    return op;
  }

  // The entry as the directory holds it, read with an independent session.
  ldap::Entry raw(const std::string& dn) {
    auto session = admin_session();
    ldap::SearchRequest req;
    req.base = dn;
    req.scope = ldap::Scope::Base;
    req.attrs = {"*", "pwdLastSet", "objectGUID"};
    ldap::SearchResult r = session->search(req);
    EXPECT_TRUE(r.result.ok()) << r.result.describe();
    return r.entries.empty() ? ldap::Entry{} : r.entries.front();
  }

  std::unique_ptr<ldap::Session> admin_session() {
    auto opened = ldap::Session::open(ldap::session_options(config_));
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    auto session = std::move(opened.value());
    EXPECT_TRUE(session->bind(config_.bind_dn, config_.password).ok());
    return session;
  }

  // A user's own simple bind over LDAPS, as a person logging in would do it.
  ldap::LdapResult user_bind(const std::string& upn, const std::string& password) {
    auto opened = ldap::Session::open(ldap::session_options(config_));
    EXPECT_TRUE(opened.ok());
    return opened.value()->bind(upn, password);
  }

  std::string upn(const Operation& op) { return op.username + "@example.test"; }
  std::filesystem::path password_file(const Operation& op) {
    return std::filesystem::path(config_.password_dir) / (op.worker_id + ".password");
  }

  DirectoryConfig config_;
  std::unique_ptr<DirectoryConnector> connector_;
};

TEST_F(AdConnectorTest, CreateWritesTheAdIdentityAttributes) {
  Operation op = create_op();
  op.attributes["description"] = "Finance";
  const Outcome o = connector_->apply(op);
  ASSERT_TRUE(o.is_ok()) << o.message;
  EXPECT_FALSE(o.already_done);
  EXPECT_EQ(o.dn, "CN=Ada " + op.username + ",OU=People," + samba().base_dn);
  ASSERT_TRUE(ad::guid_from_string(o.anchor)) << o.anchor;

  const ldap::Entry e = raw(o.dn);
  EXPECT_EQ(e.first("sAMAccountName"), op.username);
  EXPECT_EQ(e.first("userPrincipalName"), upn(op));
  EXPECT_EQ(e.first("employeeID"), op.worker_id);
  EXPECT_EQ(e.first("mail"), op.username + "@example.test");
  EXPECT_EQ(e.first("description"), "Finance");
  EXPECT_EQ(e.first("userAccountControl"), "512");
  EXPECT_EQ(ad::guid_to_string(e.first("objectGUID").value_or("")), o.anchor);
  const auto& classes = e.values("objectClass");
  EXPECT_NE(std::find(classes.begin(), classes.end(), "user"), classes.end());
}

TEST_F(AdConnectorTest, CreatedDisabledAccountHasBitTwoSet) {
  Operation op = create_op();
  op.enabled = false;
  const Outcome o = connector_->apply(op);
  ASSERT_TRUE(o.is_ok()) << o.message;
  EXPECT_EQ(raw(o.dn).first("userAccountControl"), "514");
  auto found = connector_->find({Anchor::Kind::Guid, o.anchor});
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_FALSE((*found)->enabled);
}

TEST_F(AdConnectorTest, InitialPasswordIsDeliveredAndMustBeChangedAtFirstLogon) {
  Operation op = create_op();
  op.set_initial_password = true;
  const Outcome o = connector_->apply(op);
  ASSERT_TRUE(o.is_ok()) << o.message;

  struct stat st {};
  ASSERT_EQ(::stat(password_file(op).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string password = read_file(password_file(op));
  EXPECT_GE(password.size(), 20u);
  EXPECT_EQ(o.message.find(password), std::string::npos);
  EXPECT_EQ(raw(o.dn).first("pwdLastSet"), "0");

  // 773 is only reported for the right password: it proves the delivered one is the account's.
  const ldap::LdapResult right = user_bind(upn(op), password);
  EXPECT_EQ(right.code, ldap::code::kInvalidCredentials);
  EXPECT_EQ(ad::bind_data_code(right.message), "773") << right.message;
  const ldap::LdapResult wrong = user_bind(upn(op), password + "x");
  EXPECT_EQ(wrong.code, ldap::code::kInvalidCredentials);
  EXPECT_EQ(ad::bind_data_code(wrong.message), "52e") << wrong.message;
}

TEST_F(AdConnectorTest, DisabledAccountCannotBindAndEnabledOneCan) {
  auto connector = ad::make_connector(config_, ad::AdOptions{.must_change_password = false});
  Operation op = create_op();
  op.set_initial_password = true;
  const Outcome created = connector->apply(op);
  ASSERT_TRUE(created.is_ok()) << created.message;
  const std::string password = read_file(password_file(op));
  EXPECT_TRUE(user_bind(upn(op), password).ok());

  const Outcome disabled = connector->apply(op_for(OpKind::Disable, op, created));
  ASSERT_TRUE(disabled.is_ok()) << disabled.message;
  const ldap::LdapResult refused = user_bind(upn(op), password);
  EXPECT_EQ(refused.code, ldap::code::kInvalidCredentials);
  EXPECT_EQ(ad::bind_data_code(refused.message), "533") << refused.message;

  const Outcome enabled = connector->apply(op_for(OpKind::Enable, op, created));
  ASSERT_TRUE(enabled.is_ok()) << enabled.message;
  EXPECT_TRUE(user_bind(upn(op), password).ok());
}

TEST_F(AdConnectorTest, DisableAndEnableFlipOnlyBitTwo) {
  Operation op = create_op();
  const Outcome created = connector_->apply(op);
  ASSERT_TRUE(created.is_ok()) << created.message;
  // An administrator set "password never expires" (0x10000): it must survive.
  ASSERT_TRUE(
      admin_session()
          ->modify(created.dn, {{ldap::Modification::Op::Replace, "userAccountControl", {"66048"}}})
          .ok());

  const Outcome d1 = connector_->apply(op_for(OpKind::Disable, op, created));
  ASSERT_TRUE(d1.is_ok()) << d1.message;
  EXPECT_FALSE(d1.already_done);
  EXPECT_EQ(raw(created.dn).first("userAccountControl"), "66050");
  const Outcome d2 = connector_->apply(op_for(OpKind::Disable, op, created));
  ASSERT_TRUE(d2.is_ok()) << d2.message;
  EXPECT_TRUE(d2.already_done);

  const Outcome e1 = connector_->apply(op_for(OpKind::Enable, op, created));
  ASSERT_TRUE(e1.is_ok()) << e1.message;
  EXPECT_EQ(raw(created.dn).first("userAccountControl"), "66048");
}

TEST_F(AdConnectorTest, ReplayedCreateChangesNothing) {
  Operation op = create_op();
  op.set_initial_password = true;
  const Outcome first = connector_->apply(op);
  ASSERT_TRUE(first.is_ok()) << first.message;
  const std::string password = read_file(password_file(op));
  const Outcome second = connector_->apply(op);
  ASSERT_TRUE(second.is_ok()) << second.message;
  EXPECT_TRUE(second.already_done);
  EXPECT_EQ(second.anchor, first.anchor);
  EXPECT_EQ(second.dn, first.dn);
  EXPECT_EQ(read_file(password_file(op)), password);  // not reset by the replay
}

TEST_F(AdConnectorTest, SamAccountNameOverTwentyCharactersIsRefusedClearly) {
  Operation op = create_op();
  op.username = "a" + unique_name("long") + std::string(20, 'x');
  ASSERT_GT(op.username.size(), 20u);
  const Outcome o = connector_->apply(op);
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(o.code, "ad:sAMAccountName");
  EXPECT_NE(o.message.find("at most 20"), std::string::npos) << o.message;
  auto found = connector_->find({Anchor::Kind::EmployeeId, op.worker_id});
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found.value().has_value());
}

TEST_F(AdConnectorTest, WorkerIdLongerThanEmployeeIdAllowsIsRefusedClearly) {
  Operation op = create_op();
  op.worker_id = "W" + std::string(16, '7');
  const Outcome o = connector_->apply(op);
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(o.code, "ad:employeeID");
  EXPECT_NE(o.message.find("at most 16"), std::string::npos) << o.message;
  auto found = connector_->find({Anchor::Kind::Username, op.username});
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found.value().has_value());
}

TEST_F(AdConnectorTest, UsernameOwnedByAnotherWorkerIsPermanent) {
  Operation first = create_op();
  ASSERT_TRUE(connector_->apply(first).is_ok());
  Operation second = create_op();
  second.username = first.username;
  const Outcome o = connector_->apply(second);
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent);
  EXPECT_EQ(o.code, "ldap:68");
  EXPECT_NE(o.message.find("another owner"), std::string::npos) << o.message;
}

TEST_F(AdConnectorTest, CnCollisionInTheOuGetsTheUsernameSuffix) {
  const std::string shared = "Sam " + unique_name("n");
  Operation a = create_op(shared);
  Operation b = create_op(shared);
  const Outcome oa = connector_->apply(a);
  const Outcome ob = connector_->apply(b);
  ASSERT_TRUE(oa.is_ok()) << oa.message;
  ASSERT_TRUE(ob.is_ok()) << ob.message;
  EXPECT_EQ(oa.dn, "CN=" + shared + ",OU=People," + samba().base_dn);
  EXPECT_EQ(ob.dn, "CN=" + shared + " (" + b.username + "),OU=People," + samba().base_dn);
}

TEST_F(AdConnectorTest, ObjectGuidAnchorSurvivesRenameAndMove) {
  Operation op = create_op();
  const Outcome created = connector_->apply(op);
  ASSERT_TRUE(created.is_ok()) << created.message;

  Operation rename = op_for(OpKind::Update, op, created);
  rename.attributes = {{"cn", "Ada King " + op.username}, {"displayName", "Ada King"}};
  const Outcome renamed = connector_->apply(rename);
  ASSERT_TRUE(renamed.is_ok()) << renamed.message;
  EXPECT_EQ(renamed.dn, "CN=Ada King " + op.username + ",OU=People," + samba().base_dn);
  EXPECT_EQ(renamed.anchor, created.anchor);

  Operation move = op_for(OpKind::Move, op, created);  // dn is stale now: the anchor finds it
  move.ou = "OU=Disabled";
  const Outcome moved = connector_->apply(move);
  ASSERT_TRUE(moved.is_ok()) << moved.message;
  EXPECT_EQ(moved.anchor, created.anchor);

  auto found = connector_->find({Anchor::Kind::Guid, created.anchor});
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found.value().has_value());
  EXPECT_EQ((*found)->dn, "CN=Ada King " + op.username + ",OU=Disabled," + samba().base_dn);
  EXPECT_EQ((*found)->ou, "OU=Disabled");
  EXPECT_EQ((*found)->attributes.at("displayName"), "Ada King");
  EXPECT_EQ((*found)->username, op.username);
}

TEST_F(AdConnectorTest, MembershipChangesAreIdempotentAndCreateMissingGroups) {
  Operation op = create_op();
  const Outcome created = connector_->apply(op);
  ASSERT_TRUE(created.is_ok()) << created.message;
  Operation add = op_for(OpKind::AddMember, op, created);
  add.group = unique_name("grp");

  const Outcome a1 = connector_->apply(add);
  ASSERT_TRUE(a1.is_ok()) << a1.message;
  const Outcome a2 = connector_->apply(add);
  ASSERT_TRUE(a2.is_ok()) << a2.message;
  const ldap::Entry group = raw(ldap::make_dn("cn", add.group, "OU=Groups," + samba().base_dn));
  EXPECT_EQ(group.first("groupType"), "-2147483646");
  EXPECT_EQ(group.values("member").size(), 1u);
  auto found = connector_->find({Anchor::Kind::EmployeeId, op.worker_id});
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ((*found)->groups, std::set<std::string>{add.group});

  Operation remove = add;
  remove.kind = OpKind::RemoveMember;
  const Outcome r1 = connector_->apply(remove);
  ASSERT_TRUE(r1.is_ok()) << r1.message;
  const Outcome r2 = connector_->apply(remove);
  ASSERT_TRUE(r2.is_ok()) << r2.message;
  EXPECT_TRUE(r2.already_done);
  found = connector_->find({Anchor::Kind::EmployeeId, op.worker_id});
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_TRUE((*found)->groups.empty());

  remove.group = unique_name("none");  // a group that never existed
  const Outcome r3 = connector_->apply(remove);
  EXPECT_TRUE(r3.is_ok()) << r3.message;
}

TEST_F(AdConnectorTest, UpdateReplacesAndRemovesAttributes) {
  Operation op = create_op();
  op.attributes["description"] = "temporary";
  const Outcome created = connector_->apply(op);
  ASSERT_TRUE(created.is_ok()) << created.message;
  Operation update = op_for(OpKind::Update, op, created);
  update.attributes = {{"title", "Controller"}, {"description", ""}};
  const Outcome o = connector_->apply(update);
  ASSERT_TRUE(o.is_ok()) << o.message;
  const ldap::Entry e = raw(created.dn);
  EXPECT_EQ(e.first("title"), "Controller");
  EXPECT_FALSE(e.has("description"));
  // The same update again finds nothing to do.
  const Outcome again = connector_->apply(update);
  ASSERT_TRUE(again.is_ok()) << again.message;
  EXPECT_TRUE(again.already_done);
}

// start_tls: true, or tls.mode starttls alone: either upgrades the connection, so either carries
// initial passwords; plain LDAP never does (and Samba refuses its simple binds anyway).
TEST_F(AdConnectorTest, StartTlsOnPort389WorksLikeLdaps) {
  DirectoryConfig config = config_;
  config.url = "ldap://127.0.0.1:389";
  config.tls.mode = "starttls";
  for (const bool start_tls : {true, false}) {
    config.start_tls = start_tls;
    auto connector = make_ad_connector(config);
    EXPECT_TRUE(connector->capabilities().sets_passwords) << "start_tls " << start_tls;
    Status s = connector->connect();
    ASSERT_TRUE(s.ok()) << s.error().message;
    Operation op = create_op();
    op.set_initial_password = true;  // allowed: the connection is encrypted
    const Outcome o = connector->apply(op);
    EXPECT_TRUE(o.is_ok()) << "start_tls " << start_tls << ": " << o.message;
  }
  config.start_tls = false;
  config.tls.mode = "none";
  EXPECT_FALSE(make_ad_connector(config)->capabilities().sets_passwords);
}

TEST_F(AdConnectorTest, BadServiceCredentialsArePermanentAndUnreachableIsRetryable) {
  DirectoryConfig bad = config_;
  bad.password = "not-the-password";
  Status s = make_ad_connector(bad)->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().retryable);
  EXPECT_EQ(s.error().message.find("not-the-password"), std::string::npos);

  DirectoryConfig down = config_;
  down.url = "ldaps://127.0.0.1:1";
  auto connector = make_ad_connector(down);
  const Outcome o = connector->apply(create_op());
  EXPECT_EQ(o.kind, Outcome::Kind::Retryable) << o.message;
}

TEST_F(AdConnectorTest, DeleteRemovesTheAccountOnce) {
  Operation op = create_op();
  const Outcome created = connector_->apply(op);
  ASSERT_TRUE(created.is_ok()) << created.message;
  const Outcome d1 = connector_->apply(op_for(OpKind::Delete, op, created));
  ASSERT_TRUE(d1.is_ok()) << d1.message;
  EXPECT_FALSE(d1.already_done);
  const Outcome d2 = connector_->apply(op_for(OpKind::Delete, op, created));
  ASSERT_TRUE(d2.is_ok()) << d2.message;
  EXPECT_TRUE(d2.already_done);
  auto found = connector_->find({Anchor::Kind::Guid, created.anchor});
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found.value().has_value());
}

TEST_F(AdConnectorTest, FindsByUsernameAndDnAndRejectsMalformedGuids) {
  Operation op = create_op();
  const Outcome created = connector_->apply(op);
  ASSERT_TRUE(created.is_ok()) << created.message;
  auto by_name = connector_->find({Anchor::Kind::Username, op.username});
  ASSERT_TRUE(by_name.ok() && by_name.value());
  EXPECT_EQ((*by_name)->worker_id, op.worker_id);
  EXPECT_EQ((*by_name)->anchor, created.anchor);
  auto by_dn = connector_->find({Anchor::Kind::Dn, created.dn});
  ASSERT_TRUE(by_dn.ok() && by_dn.value());
  EXPECT_EQ((*by_dn)->username, op.username);
  auto bad = connector_->find({Anchor::Kind::Guid, "not-a-guid"});
  EXPECT_FALSE(bad.ok());
  auto injected = connector_->find({Anchor::Kind::Username, "*"});  // escaped, not a wildcard
  ASSERT_TRUE(injected.ok());
  EXPECT_FALSE(injected.value().has_value());
}

}  // namespace
}  // namespace prov
