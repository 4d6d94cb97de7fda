// Initial passwords on OpenLDAP: only over TLS, never stored in clear, delivered to a file the
// new user can bind with — whether provisiond hashes it into the add (directory.initial_password
// hashed_in_add, the default) or the server hashes it on the Password Modify extended operation
// (RFC 3062, password_modify). The server here keeps a cleartext userPassword as sent (no
// ppolicy_hash_cleartext), like most servers: a stored hash proves somebody hashed it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/bind_probe.h"
#include "harness/slapd_fixture.h"
#include "ldap/ldap_connector.h"
#include "ldap/ldap_session.h"
#include "prov/connector.h"
#include "prov/crypto.h"

namespace prov::testing {
namespace {

using ldap::Scope;
using ldap::SearchRequest;
using ldap::Session;

Slapd& server() {
  static std::unique_ptr<Slapd> instance = [] {
    SlapdOptions o;
    o.hash_cleartext = false;
    return Slapd::start(o);
  }();
  return *instance;
}

std::string unique(const std::string& prefix) {
  static int n = 0;
  return prefix + std::to_string(::getpid()) + "n" + std::to_string(++n);
}

Operation hire(const std::string& prefix, bool password = true) {
  Operation op;
  op.kind = OpKind::Create;
  op.worker_id = unique(prefix);
  op.username = unique(prefix);
  op.ou = "ou=people";
  op.attributes = {{"givenName", "Ada"}, {"sn", "Lovelace"}, {"title", "Engineer"}};
  op.set_initial_password = password;
  return op;
}

std::unique_ptr<DirectoryConnector> connected(const DirectoryConfig& config) {
  auto c = make_ldap_connector(config);
  const Status s = c->connect();
  EXPECT_TRUE(s.ok()) << s.error().message;
  return c;
}

std::string delivered(const DirectoryConfig& c, const std::string& worker_id) {
  std::ifstream in(c.password_dir + "/" + worker_id + ".password");
  std::string password;
  std::getline(in, password);
  return password;
}

// The entry as the root DN sees it (userPassword included).
std::optional<ldap::Entry> read_as_root(const std::string& dn) {
  const SlapdInfo& info = server().info();
  auto opened = Session::open(ldap::session_options(server().directory_config()));
  if (!opened.ok()) return std::nullopt;
  auto session = std::move(opened.value());
  if (!session->bind(info.root_dn, info.root_pw).ok()) return std::nullopt;
  auto r = session->search(
      SearchRequest{dn, Scope::Base, "(objectClass=*)", {"*", "pwdAccountLockedTime"}});
  if (!r.result.ok() || r.entries.empty()) return std::nullopt;
  return r.entries.front();
}

void expect_hashed_and_usable(const DirectoryConfig& c, const Outcome& o,
                              const std::string& worker_id) {
  const std::string password = delivered(c, worker_id);
  ASSERT_FALSE(password.empty()) << "no password delivered for " << worker_id;
  auto entry = read_as_root(o.dn);
  ASSERT_TRUE(entry.has_value()) << o.dn;
  const auto stored = entry->first("userPassword");
  ASSERT_TRUE(stored.has_value()) << o.dn << " has no userPassword";
  EXPECT_TRUE(*stored != password) << "the server stored the cleartext";
  EXPECT_EQ(stored->rfind("{SSHA}", 0), 0u) << *stored;
  EXPECT_TRUE(can_bind(server().info().ldaps_url, o.dn, password, c.tls.ca_file));
  EXPECT_FALSE(can_bind(server().info().ldaps_url, o.dn, password + "x", c.tls.ca_file));
}

// For each hire of `ops`: created, its delivered password stored hashed (not as delivered) on
// `server`, and usable exactly when the account was created enabled.
void expect_usable_and_never_stored_in_clear(const Slapd& server, const DirectoryConfig& c,
                                             const std::vector<Operation>& ops,
                                             const std::vector<Outcome>& outcomes) {
  const SlapdInfo& info = server.info();
  ASSERT_EQ(ops.size(), outcomes.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    SCOPED_TRACE(ops[i].worker_id);
    ASSERT_TRUE(outcomes[i].is_ok()) << outcomes[i].message;
    const std::string password = delivered(c, ops[i].worker_id);
    ASSERT_FALSE(password.empty());
    auto opened = Session::open(ldap::session_options(c));
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE(opened.value()->bind(info.root_dn, info.root_pw).ok());
    auto r = opened.value()->search(SearchRequest{
        outcomes[i].dn, Scope::Base, "(objectClass=*)", {"userPassword", "pwdAccountLockedTime"}});
    ASSERT_TRUE(r.result.ok() && !r.entries.empty());
    const auto stored = r.entries.front().first("userPassword");
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->rfind("{SSHA}", 0), 0u) << *stored;
    EXPECT_EQ(r.entries.front().first("pwdAccountLockedTime").has_value(), !ops[i].enabled);
    EXPECT_EQ(can_bind(info.ldaps_url, outcomes[i].dn, password, c.tls.ca_file), ops[i].enabled);
  }
}

// Hires one worker with an initial password through a connector on `c`, then checks it.
void expect_password_on_hire(const DirectoryConfig& c, const std::string& prefix) {
  auto connector = connected(c);
  const Operation op = hire(prefix);
  const Outcome o = connector->apply(op);
  ASSERT_TRUE(o.is_ok()) << o.message;
  expect_hashed_and_usable(c, o, op.worker_id);
}

// The cases that hold for both ways of setting the password.
class LdapPasswordMethod : public ::testing::TestWithParam<PasswordMethod> {
 protected:
  static DirectoryConfig config() {
    DirectoryConfig c = server().directory_config();
    c.password_method = GetParam();
    return c;
  }
};

INSTANTIATE_TEST_SUITE_P(Methods, LdapPasswordMethod,
                         ::testing::Values(PasswordMethod::HashedInAdd,
                                           PasswordMethod::PasswordModify),
                         [](const auto& info) {
                           return info.param == PasswordMethod::HashedInAdd ? "HashedInAdd"
                                                                            : "PasswordModify";
                         });

TEST_P(LdapPasswordMethod, InitialPasswordIsStoredHashedAndUsable) {
  expect_password_on_hire(config(), "hash");
}

TEST_P(LdapPasswordMethod, InitialPasswordsOfABatchAreStoredHashedAndUsable) {
  const DirectoryConfig c = config();
  auto connector = connected(c);
  std::vector<Operation> ops = {hire("bh"), hire("bh"), hire("bh", false), hire("bh")};
  const auto outcomes = connector->apply_batch(ops);
  ASSERT_EQ(outcomes.size(), ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ASSERT_TRUE(outcomes[i].is_ok()) << outcomes[i].message;
    if (ops[i].set_initial_password) {
      expect_hashed_and_usable(c, outcomes[i], ops[i].worker_id);
    } else {
      auto entry = read_as_root(outcomes[i].dn);
      ASSERT_TRUE(entry.has_value());
      EXPECT_FALSE(entry->has("userPassword"));
      EXPECT_FALSE(std::filesystem::exists(c.password_dir + "/" + ops[i].worker_id + ".password"));
    }
  }
}

// An account created locked (a pre-hire) must still be locked once it has its password, in a
// batch as on its own. (ppolicy unlocks an account whose password an administrator sets with
// Password Modify, so that path locks it again; inside the add, lock and password arrive
// together.)
TEST_P(LdapPasswordMethod, AccountCreatedLockedStaysLockedWithItsPassword) {
  const DirectoryConfig c = config();
  auto connector = connected(c);
  Operation alone = hire("lk");
  alone.enabled = false;
  std::vector<Operation> batch = {hire("lkb"), hire("lkb"), hire("lkb")};
  batch[0].enabled = false;
  batch[2].enabled = false;
  std::vector<Outcome> outcomes = connector->apply_batch(batch);
  batch.push_back(alone);
  outcomes.push_back(connector->apply(alone));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    ASSERT_TRUE(outcomes[i].is_ok()) << outcomes[i].message;
    const std::string password = delivered(c, batch[i].worker_id);
    ASSERT_FALSE(password.empty()) << batch[i].worker_id;
    EXPECT_EQ(can_bind(server().info().ldaps_url, outcomes[i].dn, password, c.tls.ca_file),
              batch[i].enabled)
        << batch[i].worker_id << (batch[i].enabled ? " cannot bind" : " can bind while locked");
    auto entry = read_as_root(outcomes[i].dn);
    ASSERT_TRUE(entry.has_value());
    EXPECT_EQ(entry->first("pwdAccountLockedTime").has_value(), !batch[i].enabled);
  }
}

// The default: the value inside the add is provisiond's {SSHA} hash, the only write the account
// costs; the cleartext never reaches the server.
TEST(LdapPassword, TheDefaultHashesThePasswordIntoTheAdd) {
  const DirectoryConfig c = server().directory_config();
  ASSERT_EQ(c.password_method, PasswordMethod::HashedInAdd);
  auto connector = connected(c);
  const Operation op = hire("dflt");
  const Outcome o = connector->apply(op);
  ASSERT_TRUE(o.is_ok()) << o.message;
  expect_hashed_and_usable(c, o, op.worker_id);
}

// A server whose password policy checks every new password strictly (pwdCheckQuality 2) cannot
// check a hash and refuses the add: the connector creates the entry without it and sets the
// password with Password Modify, which the server can check — from then on directly.
TEST(LdapPassword, AServerThatRefusesAHashGetsThePasswordByPasswordModify) {
  SlapdOptions o;
  o.hash_cleartext = false;
  o.check_quality = 2;
  auto strict = Slapd::start(o);
  const DirectoryConfig c = strict->directory_config();
  ASSERT_EQ(c.password_method, PasswordMethod::HashedInAdd);
  {
    // The premise: this server refuses a hashed userPassword from the service account.
    auto opened = Session::open(ldap::session_options(c));
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE(opened.value()->bind(c.bind_dn, c.password).ok());
    const auto r = opened.value()->add(
        "uid=probe,ou=people," + c.base_dn,
        {{"objectClass", {"inetOrgPerson"}}, {"uid", {"probe"}}, {"cn", {"p"}}, {"sn", {"p"}},
         {"userPassword", {ssha_password("Probe-Password-123")}}});
    ASSERT_EQ(r.code, ldap::code::kConstraintViolation) << r.message;
  }
  auto connector = connected(c);
  Operation alone = hire("strict");
  std::vector<Operation> batch = {hire("strictb"), hire("strictb")};
  batch[1].enabled = false;
  std::vector<Outcome> outcomes = connector->apply_batch(batch);
  batch.push_back(alone);
  outcomes.push_back(connector->apply(alone));
  expect_usable_and_never_stored_in_clear(*strict, c, batch, outcomes);
}

// cleartext_in_add on a server that hashes a cleartext userPassword itself
// (ppolicy_hash_cleartext): one write per account, the password stored hashed and usable, the
// file delivered, and an account created locked stays locked — alone and in a batch.
TEST(LdapPassword, PasswordInTheAddOnAServerThatHashesIt) {
  SlapdOptions o;
  o.hash_cleartext = true;
  auto hashing = Slapd::start(o);
  DirectoryConfig c = hashing->directory_config();
  c.password_method = PasswordMethod::CleartextInAdd;
  auto connector = connected(c);
  Operation locked = hire("ia");
  locked.enabled = false;
  std::vector<Operation> batch = {hire("iab"), hire("iab"), hire("iab")};
  batch[1].enabled = false;
  std::vector<Outcome> outcomes = connector->apply_batch(batch);
  batch.push_back(locked);
  outcomes.push_back(connector->apply(locked));
  batch.push_back(hire("ia"));
  outcomes.push_back(connector->apply(batch.back()));
  expect_usable_and_never_stored_in_clear(*hashing, c, batch, outcomes);
}

// …and the reason it is an opt-in: a server that does not hash keeps what the add carried.
TEST(LdapPassword, PasswordInTheAddIsStoredAsSentByAServerThatDoesNotHash) {
  DirectoryConfig c = server().directory_config();
  c.password_method = PasswordMethod::CleartextInAdd;
  auto connector = connected(c);
  const Operation op = hire("iac");
  const Outcome o = connector->apply(op);
  ASSERT_TRUE(o.is_ok()) << o.message;
  auto entry = read_as_root(o.dn);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->first("userPassword"), delivered(c, op.worker_id));
}

TEST_P(LdapPasswordMethod, StartTlsCarriesThePassword) {
  DirectoryConfig c = config();
  c.url = server().info().url;
  c.start_tls = true;
  c.tls.mode = "starttls";
  expect_password_on_hire(c, "stls");
}

// An account that exists without a password (its create was cut short before the password was
// set) is given one when the create is applied again; one that has a password keeps it.
TEST_P(LdapPasswordMethod, ReplayedCreateSetsAPasswordStillOwed) {
  const DirectoryConfig c = config();
  auto connector = connected(c);
  Operation op = hire("owed", false);
  const Outcome first = connector->apply(op);
  ASSERT_TRUE(first.is_ok()) << first.message;
  op.set_initial_password = true;
  const Outcome again = connector->apply(op);
  ASSERT_TRUE(again.is_ok()) << again.message;
  EXPECT_FALSE(again.already_done);
  EXPECT_EQ(again.dn, first.dn);
  expect_hashed_and_usable(c, again, op.worker_id);

  const std::string password = delivered(c, op.worker_id);
  const Outcome replay = connector->apply(op);
  ASSERT_TRUE(replay.is_ok()) << replay.message;
  EXPECT_TRUE(replay.already_done);
  EXPECT_EQ(delivered(c, op.worker_id), password);
}

// Without TLS the password is never sent: the account is created without one (its attributes,
// so that its groups and manager links can follow) and the create reports a permanent error
// naming the cause, so the operation is listed as failed until TLS is configured and it is
// retried.
TEST_P(LdapPasswordMethod, WithoutTlsTheAccountIsCreatedButNoPasswordIsSent) {
  DirectoryConfig c = config();
  c.url = server().info().url;  // ldap://
  c.start_tls = false;
  c.tls.mode = "none";
  auto connector = connected(c);
  const Operation op = hire("plain");
  const Outcome o = connector->apply(op);
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent) << o.message;
  EXPECT_EQ(o.code, "ldap:tls");
  EXPECT_NE(o.message.find("TLS"), std::string::npos) << o.message;
  EXPECT_FALSE(std::filesystem::exists(c.password_dir + "/" + op.worker_id + ".password"));

  auto found = connector->find(Anchor{Anchor::Kind::EmployeeId, op.worker_id});
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value()) << "the account was not created";
  EXPECT_EQ((*found)->attributes.at("title"), "Engineer");
  auto entry = read_as_root((*found)->dn);
  ASSERT_TRUE(entry.has_value());
  EXPECT_FALSE(entry->has("userPassword"));

  // The batch path refuses the same way.
  const Operation other = hire("plainb");
  const auto batch = connector->apply_batch({other, hire("plainb", false)});
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].code, "ldap:tls") << batch[0].message;
  EXPECT_TRUE(batch[1].is_ok()) << batch[1].message;
  auto entry_b = connector->find(Anchor{Anchor::Kind::EmployeeId, other.worker_id});
  ASSERT_TRUE(entry_b.ok());
  EXPECT_TRUE(entry_b->has_value());

  // Once TLS is on, applying the create again sets the password it still owes.
  auto secured = connected(config());
  const Outcome fixed = secured->apply(op);
  ASSERT_TRUE(fixed.is_ok()) << fixed.message;
  expect_hashed_and_usable(config(), fixed, op.worker_id);
}

}  // namespace
}  // namespace prov::testing
