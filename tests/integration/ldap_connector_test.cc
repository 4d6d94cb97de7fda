// OpenLDAP-specific behaviour of the session layer and the ldap connector, against real slapd
// servers started by the harness.
#include "ldap/ldap_connector.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>

#include "harness/bind_probe.h"
#include "harness/slapd_fixture.h"
#include "ldap/escape.h"
#include "ldap/ldap_session.h"
#include "prov/connector.h"

namespace prov::testing {
namespace {

using ldap::Scope;
using ldap::SearchRequest;
using ldap::Session;

std::string unique(const std::string& prefix) {
  static int n = 0;
  return prefix + std::to_string(::getpid()) + "n" + std::to_string(++n);
}

std::unique_ptr<DirectoryConnector> connected(const DirectoryConfig& config) {
  auto c = make_ldap_connector(config);
  const Status s = c->connect();
  EXPECT_TRUE(s.ok()) << s.error().message;
  return c;
}

Operation create_op(const std::string& wid, const std::string& user) {
  Operation op;
  op.kind = OpKind::Create;
  op.worker_id = wid;
  op.username = user;
  op.ou = "ou=people";
  op.attributes = {{"givenName", "Grace"}, {"sn", "Hopper"}};
  return op;
}

std::unique_ptr<Session> open_session(const DirectoryConfig& c) {
  auto s = Session::open(ldap::session_options(c));
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  if (!s.ok()) return nullptr;
  auto session = std::move(s.value());
  EXPECT_TRUE(session->bind(c.bind_dn, c.password).ok());
  return session;
}

TEST(LdapTls, CertificateForAnotherHostNameIsRefused) {
  auto other = Slapd::start(SlapdOptions{"DNS:other.example.net"});
  DirectoryConfig c = other->directory_config();  // trusts that certificate, wrong name
  auto connector = make_ldap_connector(c);
  const Status s = connector->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().retryable) << s.error().message;
  EXPECT_NE(s.error().message.find("TLS"), std::string::npos) << s.error().message;

  // With verification explicitly off the same server is accepted (and a warning logged).
  c.tls.verify = false;
  EXPECT_TRUE(make_ldap_connector(c)->connect().ok());
}

TEST(LdapTls, PlainLdapIsRefusedUnlessTlsModeIsNone) {
  const SlapdInfo& info = Slapd::shared().info();
  DirectoryConfig c = Slapd::shared().directory_config();
  c.url = info.url;  // ldap://
  c.tls.mode = "ldaps";
  const Status refused = make_ldap_connector(c)->connect();
  ASSERT_FALSE(refused.ok());
  EXPECT_FALSE(refused.error().retryable);
  EXPECT_NE(refused.error().message.find("StartTLS"), std::string::npos) << refused.error().message;

  c.tls.mode = "none";
  EXPECT_TRUE(make_ldap_connector(c)->connect().ok());
}

// TLS 1.0 and 1.1 are refused even where the TLS library would still speak them.
TEST(LdapTls, ServerOfferingNothingNewerThanTls11IsRefused) {
  SlapdOptions options;
  options.tls_priority = "NORMAL:-VERS-ALL:+VERS-TLS1.1";
  auto old = Slapd::start(options);
  DirectoryConfig c = old->directory_config();
  const Status ldaps = make_ldap_connector(c)->connect();
  ASSERT_FALSE(ldaps.ok()) << "ldaps:// accepted TLS 1.1";
  EXPECT_FALSE(ldaps.error().retryable) << ldaps.error().message;

  c.url = old->info().url;
  c.start_tls = true;
  c.tls.mode = "starttls";
  const Status start_tls = make_ldap_connector(c)->connect();
  ASSERT_FALSE(start_tls.ok()) << "StartTLS accepted TLS 1.1";
  EXPECT_NE(start_tls.error().message.find("StartTLS"), std::string::npos)
      << start_tls.error().message;
}

TEST(LdapTls, StartTlsUpgradesAPlainConnection) {
  DirectoryConfig c = Slapd::shared().directory_config();
  c.url = Slapd::shared().info().url;
  c.start_tls = true;
  c.tls.mode = "starttls";
  auto connector = connected(c);
  const Outcome o = connector->apply(create_op(unique("st"), unique("st")));
  EXPECT_TRUE(o.is_ok()) << o.message;
}

TEST(LdapConnector, PasswordFileIsPrivateAndWorks) {
  const DirectoryConfig c = Slapd::shared().directory_config();
  auto connector = connected(c);
  Operation op = create_op(unique("pw"), unique("pw"));
  op.set_initial_password = true;
  const Outcome o = connector->apply(op);
  ASSERT_TRUE(o.is_ok()) << o.message;
  const std::string path = c.password_dir + "/" + op.worker_id + ".password";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string password;
  std::getline(in, password);
  EXPECT_TRUE(can_bind(Slapd::shared().info().ldaps_url, o.dn, password, c.tls.ca_file));
  EXPECT_FALSE(can_bind(Slapd::shared().info().ldaps_url, o.dn, password + "x", c.tls.ca_file));
  // A replayed create must not rotate the delivered password.
  ASSERT_TRUE(connector->apply(op).already_done);
  std::ifstream again(path);
  std::string same;
  std::getline(again, same);
  EXPECT_EQ(same, password);
}

TEST(LdapConnector, DisableWritesThePpolicyLock) {
  const DirectoryConfig c = Slapd::shared().directory_config();
  auto connector = connected(c);
  const Operation create = create_op(unique("lk"), unique("lk"));
  const Outcome created = connector->apply(create);
  ASSERT_TRUE(created.is_ok());
  Operation disable = create;
  disable.kind = OpKind::Disable;
  disable.dn = created.dn;
  ASSERT_TRUE(connector->apply(disable).is_ok());

  auto session = open_session(c);
  ASSERT_NE(session, nullptr);
  SearchRequest req;
  req.base = created.dn;
  req.scope = Scope::Base;
  req.attrs = {"pwdAccountLockedTime"};
  auto r = session->search(req);
  ASSERT_TRUE(r.result.ok()) << r.result.describe();
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].first("pwdAccountLockedTime"), ldap::kPermanentLockTime);
}

TEST(LdapConnector, RemovingTheLastMemberDeletesTheGroup) {
  const DirectoryConfig c = Slapd::shared().directory_config();
  auto connector = connected(c);
  const std::string group = unique("team");
  std::vector<Outcome> members;
  std::vector<Operation> ops;
  for (int i = 0; i < 2; ++i) {
    Operation op = create_op(unique("gm"), unique("gm"));
    const Outcome o = connector->apply(op);
    ASSERT_TRUE(o.is_ok());
    op.dn = o.dn;
    op.group = group;
    op.kind = OpKind::AddMember;
    ASSERT_TRUE(connector->apply(op).is_ok());
    ops.push_back(op);
  }
  const std::string group_dn = ldap::make_dn("cn", group, ldap::join_dn(c.groups_ou, c.base_dn));
  auto session = open_session(c);
  ASSERT_NE(session, nullptr);
  auto group_members = [&]() -> std::optional<std::size_t> {
    SearchRequest req;
    req.base = group_dn;
    req.scope = Scope::Base;
    req.attrs = {"member"};
    auto r = session->search(req);
    if (r.result.code == ldap::code::kNoSuchObject) return std::nullopt;
    EXPECT_TRUE(r.result.ok()) << r.result.describe();
    return r.entries.empty() ? 0 : r.entries[0].values("member").size();
  };
  EXPECT_EQ(group_members(), 2u);
  ops[0].kind = OpKind::RemoveMember;
  ASSERT_TRUE(connector->apply(ops[0]).is_ok());
  EXPECT_EQ(group_members(), 1u);
  ops[1].kind = OpKind::RemoveMember;
  const Outcome last = connector->apply(ops[1]);
  ASSERT_TRUE(last.is_ok()) << last.message;
  EXPECT_FALSE(last.already_done);
  EXPECT_EQ(group_members(), std::nullopt);  // the empty group is gone
  const Outcome replay = connector->apply(ops[1]);
  EXPECT_TRUE(replay.is_ok());
  EXPECT_TRUE(replay.already_done);
}

TEST(LdapConnector, ReadOnlyNonRootBindPagesPastTheSizeLimit) {
  DirectoryConfig c = Slapd::shared().directory_config();
  auto writer = connected(c);
  const std::string prefix = unique("ro");
  std::vector<Operation> ops;
  for (int i = 0; i < 1100; ++i) {
    ops.push_back(create_op(prefix + "-" + std::to_string(i), prefix + "u" + std::to_string(i)));
  }
  for (const auto& o : writer->apply_batch(ops)) ASSERT_TRUE(o.is_ok()) << o.message;

  c.bind_dn = Slapd::shared().info().reader_dn;
  c.password = Slapd::shared().info().reader_pw;
  auto reader = connected(c);
  // A plain (unpaged) subtree search stops at the server's limit of 500 for this bind...
  auto session = open_session(c);
  ASSERT_NE(session, nullptr);
  auto submitted = session->submit_search(
      SearchRequest{c.base_dn, Scope::Subtree, "(employeeNumber=" + prefix + "-*)", {"uid"}});
  ASSERT_TRUE(submitted.ok());
  auto unpaged = session->wait(*submitted);
  ASSERT_TRUE(unpaged.ok());
  EXPECT_EQ(unpaged->result.code, ldap::code::kSizeLimitExceeded);
  EXPECT_EQ(unpaged->entries.size(), 500u);
  // ...while for_each_account pages through all of them.
  std::set<std::string> seen;
  const Status s = reader->for_each_account([&](const Account& a) {
    if (a.worker_id.rfind(prefix + "-", 0) == 0) seen.insert(a.worker_id);
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(seen.size(), 1100u);
}

// Listing reads memberships a page of accounts at a time: every account's groups are right on
// every page (more accounts than a page, one group holding them all, another every seventh), for
// names with filter and DN syntax in them too, and a group's other members never leak in.
TEST(LdapConnector, ListingGivesEveryAccountItsGroupsAcrossPages) {
  const DirectoryConfig c = Slapd::shared().directory_config();
  auto connector = connected(c);
  const std::string prefix = unique("lg");
  const std::string all = prefix + "-all", seventh = prefix + "-7th";
  std::vector<Operation> creates;
  for (int i = 0; i < 600; ++i) {
    // Every 50th name carries what a filter or a DN must escape.
    const std::string user = prefix + (i % 50 == 0 ? "(*)\\,+u" : "u") + std::to_string(i);
    creates.push_back(create_op(prefix + "-" + std::to_string(i), user));
  }
  const auto made = connector->apply_batch(creates);
  std::vector<Operation> members;
  for (std::size_t i = 0; i < creates.size(); ++i) {
    ASSERT_TRUE(made[i].is_ok()) << made[i].message;
    Operation op = creates[i];
    op.dn = made[i].dn;
    op.kind = OpKind::AddMember;
    op.group = all;
    members.push_back(op);
    if (i % 7 == 0) {
      op.group = seventh;
      members.push_back(op);
    }
  }
  for (const auto& o : connector->apply_batch(members)) ASSERT_TRUE(o.is_ok()) << o.message;

  std::map<std::string, std::set<std::string>> groups;  // ours only
  const Status s = connector->for_each_account([&](const Account& a) {
    if (a.worker_id.rfind(prefix + "-", 0) == 0) groups[a.worker_id] = a.groups;
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(groups.size(), creates.size());
  for (std::size_t i = 0; i < creates.size(); ++i) {
    std::set<std::string> want{all};
    if (i % 7 == 0) want.insert(seventh);
    EXPECT_EQ(groups[creates[i].worker_id], want) << creates[i].username;
  }
}

TEST(LdapConnector, UsernamesWithDnSyntaxAreEscapedInTheDn) {
  const DirectoryConfig c = Slapd::shared().directory_config();
  auto connector = connected(c);
  const std::string user = "a,ou=admins+" + unique("x");
  const Outcome o = connector->apply(create_op(unique("dn"), user));
  ASSERT_TRUE(o.is_ok()) << o.message;
  EXPECT_EQ(ldap::split_dn(o.dn).parent, "ou=people," + c.base_dn);
  auto found = connector->find(Anchor{Anchor::Kind::Username, user});
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->ou, "ou=people");
}

TEST(LdapConnector, ServerOutageIsRetryableAndRecoveryReconnects) {
  auto own = Slapd::start();
  auto connector = connected(own->directory_config());
  ASSERT_TRUE(connector->apply(create_op(unique("out"), unique("out"))).is_ok());
  own->stop();
  const Outcome down = connector->apply(create_op(unique("out"), unique("out")));
  EXPECT_EQ(down.kind, Outcome::Kind::Retryable) << down.message;
  auto found = connector->find(Anchor{Anchor::Kind::EmployeeId, "x"});
  ASSERT_FALSE(found.ok());
  EXPECT_TRUE(found.error().retryable);
}

TEST(LdapSession, BinaryValuesRoundTrip) {
  const DirectoryConfig c = Slapd::shared().directory_config();
  auto session = open_session(c);
  ASSERT_NE(session, nullptr);
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  const std::string dn = ldap::make_dn("uid", unique("bin"), "ou=people," + c.base_dn);
  ASSERT_TRUE(session
                  ->add(dn, {{"objectClass", {"inetOrgPerson"}},
                             {"cn", {"b"}},
                             {"sn", {"b"}},
                             {"jpegPhoto", {bytes}}})
                  .ok());
  SearchRequest req{dn, Scope::Base, "(objectClass=*)", {"jpegPhoto"}};
  auto r = session->search(req);
  ASSERT_TRUE(r.result.ok());
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].first("jpegPhoto"), bytes);
  // A non-critical control the server does not know is ignored (AD's permissive modify).
  EXPECT_TRUE(session
                  ->modify(dn, {{ldap::Modification::Op::Replace, "description", {"x"}}},
                           {ldap::permissive_modify_control()})
                  .ok());
  EXPECT_TRUE(session->remove(dn).ok());
  EXPECT_EQ(session->remove(dn).code, ldap::code::kNoSuchObject);
}

TEST(LdapSession, PipelinedRequestsCompleteIndependently) {
  const DirectoryConfig c = Slapd::shared().directory_config();
  auto session = open_session(c);
  ASSERT_NE(session, nullptr);
  std::map<int, std::string> pending;
  for (int i = 0; i < 20; ++i) {
    const std::string dn = ldap::make_dn("uid", unique("pipe"), "ou=people," + c.base_dn);
    auto id =
        session->submit_add(dn, {{"objectClass", {"inetOrgPerson"}}, {"cn", {"p"}}, {"sn", {"p"}}});
    ASSERT_TRUE(id.ok());
    pending[*id] = dn;
  }
  // One request that fails must not disturb the others.
  auto bad =
      session->submit_add("uid=x,ou=missing," + c.base_dn,
                          {{"objectClass", {"inetOrgPerson"}}, {"cn", {"p"}}, {"sn", {"p"}}});
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(session->outstanding(), 21u);
  std::set<int> done;
  while (session->outstanding() > 0) {
    auto reply = session->collect();
    ASSERT_TRUE(reply.ok()) << reply.error().message;
    if (reply->msgid == *bad) {
      EXPECT_EQ(reply->result.code, ldap::code::kNoSuchObject);
    } else {
      EXPECT_TRUE(reply->result.ok()) << reply->result.describe();
      EXPECT_EQ(pending.count(reply->msgid), 1u);
    }
    done.insert(reply->msgid);
  }
  EXPECT_EQ(done.size(), 21u);
  EXPECT_FALSE(session->collect().ok());  // nothing outstanding
}

TEST(ConnectorRegistry, BuiltinsAndErrors) {
  ConnectorRegistry registry;
  register_builtin_connectors(registry);
  EXPECT_TRUE(registry.has("ldap"));
  EXPECT_THROW(
      registry.add("ldap", [](const DirectoryConfig& c) { return make_ldap_connector(c); }),
      std::invalid_argument);
  DirectoryConfig c = Slapd::shared().directory_config();
  auto connector = registry.create(c);
  ASSERT_NE(connector, nullptr);
  EXPECT_TRUE(connector->connect().ok());
  c.type = "nosuch";
  try {
    (void)registry.create(c);
    FAIL() << "unknown type accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown type 'nosuch'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("ldap"), std::string::npos);
  }
}

}  // namespace
}  // namespace prov::testing
