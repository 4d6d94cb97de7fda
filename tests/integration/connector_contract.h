#pragma once
// The contract every DirectoryConnector honours, run against a real server. A connector's test
// file includes this header once and instantiates the suite with its target:
//
//   INSTANTIATE_TEST_SUITE_P(Ldap, ConnectorContract, ::testing::Values(ldap_contract_target()),
//                            ContractTargetName());
//
// Include it from exactly one .cc per test binary (it defines the TEST_Ps).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/slapd_fixture.h"
#include "prov/config.h"
#include "prov/connector.h"

namespace prov::testing {

struct ContractTarget {
  std::string name;  // test name suffix, e.g. "ldap"
  // The configuration of the server under test (bound as the service account). Called lazily
  // from tests, so a shared server starts on first use.
  std::function<DirectoryConfig()> config;
  std::function<std::unique_ptr<DirectoryConnector>(const DirectoryConfig&)> make;
  // A real bind as an end user: true when `dn` can bind with `password`.
  std::function<bool(const std::string& dn, const std::string& password)> can_bind;
  std::string people_ou = "ou=people";      // Create placement
  std::string other_ou = "ou=contractors";  // Move target
  int paging_count = 1050;                  // accounts created for the paged iteration test
  // Characters of DN syntax (`,` `+` `"` `\` `<` `>` `;` `=` `#`) are legal in usernames.
  bool usernames_allow_dn_specials = true;
  // Directories place accounts in OUs and move them between OUs. A SCIM application has no
  // placement: a move is done at once and changes nothing, and the OU checks do not apply.
  bool placement = true;
  // Whether a batch reports the removal of someone who was not a member as already done. The
  // SCIM connector removes a batch's leavers of one group with one PATCH and cannot tell.
  bool batch_removals_tell_already_done = true;
  // The same configuration with credentials the server refuses, and what the refusal says.
  std::function<DirectoryConfig(DirectoryConfig)> refused_credentials = [](DirectoryConfig c) {
    c.password = "not-the-password";
    return c;
  };
  std::string refused_says = "invalid credentials";
  std::string refused_secret = "not-the-password";  // must not appear in the message
  // The same configuration aimed at 127.0.0.1:`port` (nothing there, or a server that never
  // answers), giving up on a request after `timeout_ms`.
  std::function<DirectoryConfig(DirectoryConfig, int port, int timeout_ms)> at_port =
      [](DirectoryConfig c, int port, int timeout_ms) {
        const bool ldaps = c.url.rfind("ldaps://", 0) == 0;
        c.url = std::string(ldaps ? "ldaps" : "ldap") + "://127.0.0.1:" + std::to_string(port);
        c.timeout_ms = timeout_ms;
        return c;
      };
  // The same configuration trusting only the CA in `ca_file`.
  std::function<DirectoryConfig(DirectoryConfig, const std::string& ca_file)> trusting =
      [](DirectoryConfig c, const std::string& ca_file) {
        c.tls.ca_file = ca_file;
        return c;
      };
};

struct ContractTargetName {
  std::string operator()(const ::testing::TestParamInfo<ContractTarget>& info) const {
    return info.param.name;
  }
};

inline void PrintTo(const ContractTarget& t, std::ostream* os) { *os << t.name; }

class ConnectorContract : public ::testing::TestWithParam<ContractTarget> {
 protected:
  void SetUp() override {
    config_ = GetParam().config();
    connector_ = GetParam().make(config_);
    ASSERT_NE(connector_, nullptr);
    const Status s = connector_->connect();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  // Unique per process and call, so tests sharing one server never collide.
  static std::string unique(const std::string& prefix) {
    static const std::string run = [] {
      std::random_device rd;
      return std::to_string(rd() % 1000000);
    }();
    static std::atomic<int> counter{0};
    return prefix + run + "x" + std::to_string(++counter);
  }

  Operation create_op(const std::string& worker_id, const std::string& username) const {
    Operation op;
    op.kind = OpKind::Create;
    op.worker_id = worker_id;
    op.username = username;
    op.ou = GetParam().people_ou;
    op.attributes = {{"givenName", "Ada"},
                     {"sn", "Lovelace"},
                     {"cn", "Ada Lovelace"},
                     {"displayName", "Ada Lovelace"},
                     {"mail", username + "@example.com"},
                     {"title", "Engineer"}};
    return op;
  }

  static Operation op_for(OpKind kind, const Outcome& created, const std::string& worker_id,
                          const std::string& username) {
    Operation op;
    op.kind = kind;
    op.worker_id = worker_id;
    op.username = username;
    op.dn = created.dn;
    op.anchor = created.anchor;
    return op;
  }

  std::optional<Account> find(Anchor::Kind kind, const std::string& value) {
    auto r = connector_->find(Anchor{kind, value});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : std::nullopt;
  }

  std::string delivered_password(const std::string& worker_id) const {
    std::ifstream in(config_.password_dir + "/" + worker_id + ".password");
    std::string pw;
    std::getline(in, pw);
    return pw;
  }

  // n new accounts created in one batch: their worker ids, usernames and create outcomes.
  struct Accounts {
    std::vector<std::string> wids, users;
    std::vector<Outcome> created;
  };
  Accounts create_accounts(int n, bool passwords) {
    Accounts a;
    std::vector<Operation> creates;
    for (int i = 0; i < n; ++i) {
      a.wids.push_back(unique("w"));
      a.users.push_back(unique("user"));
      creates.push_back(create_op(a.wids.back(), a.users.back()));
      creates.back().set_initial_password = passwords;
    }
    a.created = apply_batch_all_ok(creates);
    return a;
  }

  // apply_batch, expecting every outcome to be Ok.
  std::vector<Outcome> apply_batch_all_ok(const std::vector<Operation>& ops) {
    auto outcomes = connector_->apply_batch(ops);
    EXPECT_EQ(outcomes.size(), ops.size());
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_TRUE(outcomes[i].is_ok()) << to_string(outcomes[i].kind) << " " << outcomes[i].code
                                       << " " << outcomes[i].message;
    }
    return outcomes;
  }

  DirectoryConfig config_;
  std::unique_ptr<DirectoryConnector> connector_;
};

#define PROV_EXPECT_OK(outcome)                                                                   \
  do {                                                                                            \
    const ::prov::Outcome& o_ = (outcome);                                                        \
    EXPECT_TRUE(o_.is_ok()) << ::prov::to_string(o_.kind) << " " << o_.code << " " << o_.message; \
  } while (0)

TEST_P(ConnectorContract, CreateReturnsAnchorAndIsFoundByEveryAnchorKind) {
  const std::string wid = unique("w");
  const std::string user = unique("user");
  const Outcome created = connector_->apply(create_op(wid, user));
  PROV_EXPECT_OK(created);
  EXPECT_FALSE(created.already_done);
  EXPECT_FALSE(created.dn.empty());
  EXPECT_FALSE(created.anchor.empty());

  for (const auto& [kind, value] :
       std::vector<std::pair<Anchor::Kind, std::string>>{{Anchor::Kind::Guid, created.anchor},
                                                         {Anchor::Kind::EmployeeId, wid},
                                                         {Anchor::Kind::Username, user},
                                                         {Anchor::Kind::Dn, created.dn}}) {
    auto account = find(kind, value);
    ASSERT_TRUE(account.has_value()) << "anchor kind " << static_cast<int>(kind);
    EXPECT_EQ(account->worker_id, wid);
    EXPECT_EQ(account->username, user);
    EXPECT_EQ(account->anchor, created.anchor);
    if (GetParam().placement) {
      EXPECT_EQ(account->ou, GetParam().people_ou);
    }
    EXPECT_TRUE(account->enabled);
    EXPECT_EQ(account->attributes["givenName"], "Ada");
    EXPECT_EQ(account->attributes["sn"], "Lovelace");
    EXPECT_EQ(account->attributes["title"], "Engineer");
    EXPECT_TRUE(account->groups.empty());
  }
  EXPECT_FALSE(find(Anchor::Kind::EmployeeId, unique("nobody")).has_value());
}

TEST_P(ConnectorContract, CreateTwiceIsAlreadyDone) {
  const std::string wid = unique("w");
  const std::string user = unique("user");
  const Outcome first = connector_->apply(create_op(wid, user));
  PROV_EXPECT_OK(first);
  const Outcome second = connector_->apply(create_op(wid, user));
  PROV_EXPECT_OK(second);
  EXPECT_TRUE(second.already_done);
  EXPECT_EQ(second.anchor, first.anchor);
  EXPECT_EQ(second.dn, first.dn);
  // Even under another name the worker keeps its one account.
  const Outcome renamed = connector_->apply(create_op(wid, unique("other")));
  PROV_EXPECT_OK(renamed);
  EXPECT_TRUE(renamed.already_done);
  EXPECT_EQ(renamed.anchor, first.anchor);
}

TEST_P(ConnectorContract, CreateRefusesANameOwnedByAnotherWorker) {
  const std::string user = unique("user");
  const std::string owner = unique("w");
  const Outcome first = connector_->apply(create_op(owner, user));
  PROV_EXPECT_OK(first);
  const Outcome clash = connector_->apply(create_op(unique("w"), user));
  EXPECT_EQ(clash.kind, Outcome::Kind::Permanent);
  EXPECT_NE(clash.message.find("another owner"), std::string::npos) << clash.message;
  auto account = find(Anchor::Kind::Username, user);
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->worker_id, owner);
}

TEST_P(ConnectorContract, UpdateReplacesAndRemovesAttributes) {
  const std::string wid = unique("w");
  const std::string user = unique("user");
  Operation create = create_op(wid, user);
  create.attributes["description"] = "temporary";
  const Outcome created = connector_->apply(create);
  PROV_EXPECT_OK(created);

  Operation update = op_for(OpKind::Update, created, wid, user);
  update.attributes = {{"title", "Senior Engineer"}, {"description", ""}};
  const Outcome updated = connector_->apply(update);
  PROV_EXPECT_OK(updated);
  auto account = find(Anchor::Kind::Guid, created.anchor);
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->attributes["title"], "Senior Engineer");
  EXPECT_EQ(account->attributes.count("description"), 0u);
  EXPECT_EQ(account->attributes["givenName"], "Ada");  // untouched

  // Replaying the same update (the attribute is already gone) is fine.
  PROV_EXPECT_OK(connector_->apply(update));
}

TEST_P(ConnectorContract, MoveKeepsTheAnchorAndLaterOperationsFollowTheEntry) {
  if (!GetParam().placement) GTEST_SKIP() << "the target has no placement";
  const std::string wid = unique("w");
  const std::string user = unique("user");
  const Outcome created = connector_->apply(create_op(wid, user));
  PROV_EXPECT_OK(created);

  Operation move = op_for(OpKind::Move, created, wid, user);
  move.ou = GetParam().other_ou;
  const Outcome moved = connector_->apply(move);
  PROV_EXPECT_OK(moved);
  EXPECT_FALSE(moved.already_done);
  EXPECT_NE(moved.dn, created.dn);
  EXPECT_EQ(moved.anchor, created.anchor);

  auto account = find(Anchor::Kind::Guid, created.anchor);
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->dn, moved.dn);
  EXPECT_EQ(account->ou, GetParam().other_ou);
  EXPECT_FALSE(find(Anchor::Kind::Dn, created.dn).has_value());

  const Outcome again = connector_->apply(move);
  PROV_EXPECT_OK(again);
  EXPECT_TRUE(again.already_done);

  // An operation carrying the stale DN still reaches the entry (located by its owner).
  Operation update = op_for(OpKind::Update, created, wid, user);
  update.attributes = {{"title", "Contractor"}};
  const Outcome updated = connector_->apply(update);
  PROV_EXPECT_OK(updated);
  EXPECT_EQ(updated.dn, moved.dn);
  EXPECT_EQ(find(Anchor::Kind::EmployeeId, wid)->attributes["title"], "Contractor");
}

TEST_P(ConnectorContract, DisableStopsBindsAndEnableRestoresThem) {
  if (config_.password_dir.empty()) GTEST_SKIP() << "target delivers no passwords";
  const std::string wid = unique("w");
  const std::string user = unique("user");
  Operation create = create_op(wid, user);
  create.set_initial_password = true;
  const Outcome created = connector_->apply(create);
  PROV_EXPECT_OK(created);
  const std::string password = delivered_password(wid);
  ASSERT_GE(password.size(), 12u);
  EXPECT_TRUE(GetParam().can_bind(created.dn, password));

  const Outcome disabled = connector_->apply(op_for(OpKind::Disable, created, wid, user));
  PROV_EXPECT_OK(disabled);
  EXPECT_FALSE(GetParam().can_bind(created.dn, password));
  EXPECT_FALSE(find(Anchor::Kind::Guid, created.anchor)->enabled);
  const Outcome disabled_again = connector_->apply(op_for(OpKind::Disable, created, wid, user));
  PROV_EXPECT_OK(disabled_again);
  EXPECT_TRUE(disabled_again.already_done);

  const Outcome enabled = connector_->apply(op_for(OpKind::Enable, created, wid, user));
  PROV_EXPECT_OK(enabled);
  EXPECT_TRUE(GetParam().can_bind(created.dn, password));
  EXPECT_TRUE(find(Anchor::Kind::Guid, created.anchor)->enabled);
  const Outcome enabled_again = connector_->apply(op_for(OpKind::Enable, created, wid, user));
  PROV_EXPECT_OK(enabled_again);
  EXPECT_TRUE(enabled_again.already_done);
}

TEST_P(ConnectorContract, CreateDisabledCannotBindUntilEnabled) {
  if (config_.password_dir.empty()) GTEST_SKIP() << "target delivers no passwords";
  const std::string wid = unique("w");
  const std::string user = unique("user");
  Operation create = create_op(wid, user);
  create.set_initial_password = true;
  create.enabled = false;
  const Outcome created = connector_->apply(create);
  PROV_EXPECT_OK(created);
  const std::string password = delivered_password(wid);
  EXPECT_FALSE(GetParam().can_bind(created.dn, password));
  EXPECT_FALSE(find(Anchor::Kind::EmployeeId, wid)->enabled);
  PROV_EXPECT_OK(connector_->apply(op_for(OpKind::Enable, created, wid, user)));
  EXPECT_TRUE(GetParam().can_bind(created.dn, password));
}

TEST_P(ConnectorContract, GroupMembershipAddAndRemoveAreIdempotent) {
  const std::string wid = unique("w");
  const std::string user = unique("user");
  const std::string group = unique("grp");
  const Outcome created = connector_->apply(create_op(wid, user));
  PROV_EXPECT_OK(created);
  Operation add = op_for(OpKind::AddMember, created, wid, user);
  add.group = group;

  const Outcome added = connector_->apply(add);
  PROV_EXPECT_OK(added);
  EXPECT_FALSE(added.already_done);
  const Outcome added_again = connector_->apply(add);
  PROV_EXPECT_OK(added_again);
  EXPECT_TRUE(added_again.already_done);
  EXPECT_EQ(find(Anchor::Kind::Guid, created.anchor)->groups, std::set<std::string>{group});

  Operation remove = add;
  remove.kind = OpKind::RemoveMember;
  const Outcome removed = connector_->apply(remove);
  PROV_EXPECT_OK(removed);
  EXPECT_FALSE(removed.already_done);
  const Outcome removed_again = connector_->apply(remove);
  PROV_EXPECT_OK(removed_again);
  EXPECT_TRUE(removed_again.already_done);
  EXPECT_TRUE(find(Anchor::Kind::Guid, created.anchor)->groups.empty());

  // And back in again after the group lost its last member.
  PROV_EXPECT_OK(connector_->apply(add));
  EXPECT_EQ(find(Anchor::Kind::Guid, created.anchor)->groups, std::set<std::string>{group});
}

TEST_P(ConnectorContract, GroupMembershipFollowsAMove) {
  const std::string wid = unique("w");
  const std::string user = unique("user");
  const std::string group = unique("grp");
  const Outcome created = connector_->apply(create_op(wid, user));
  Operation add = op_for(OpKind::AddMember, created, wid, user);
  add.group = group;
  PROV_EXPECT_OK(connector_->apply(add));
  Operation move = op_for(OpKind::Move, created, wid, user);
  move.ou = GetParam().other_ou;
  PROV_EXPECT_OK(connector_->apply(move));
  auto account = find(Anchor::Kind::Guid, created.anchor);
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->groups, std::set<std::string>{group});
}

TEST_P(ConnectorContract, DeleteIsIdempotent) {
  const std::string wid = unique("w");
  const std::string user = unique("user");
  const Outcome created = connector_->apply(create_op(wid, user));
  PROV_EXPECT_OK(created);
  const Outcome deleted = connector_->apply(op_for(OpKind::Delete, created, wid, user));
  PROV_EXPECT_OK(deleted);
  EXPECT_FALSE(deleted.already_done);
  EXPECT_FALSE(find(Anchor::Kind::Guid, created.anchor).has_value());
  EXPECT_FALSE(find(Anchor::Kind::EmployeeId, wid).has_value());
  const Outcome again = connector_->apply(op_for(OpKind::Delete, created, wid, user));
  PROV_EXPECT_OK(again);
  EXPECT_TRUE(again.already_done);
}

TEST_P(ConnectorContract, OperationsOnAMissingAccountArePermanent) {
  Operation update;
  update.kind = OpKind::Update;
  update.worker_id = unique("ghost");
  update.attributes = {{"title", "x"}};
  const Outcome o = connector_->apply(update);
  EXPECT_EQ(o.kind, Outcome::Kind::Permanent);
}

TEST_P(ConnectorContract, InjectionStringsInEveryValueAreStoredLiterally) {
  // AD caps employeeID at 16 characters: keep the id short but hostile.
  const std::string wid = unique("") + "*)(*";
  const std::string user =
      GetParam().usernames_allow_dn_specials ? unique("u") + ",+\"\\<>;=x #" : unique("u");
  Operation create = create_op(wid, user);
  create.attributes = {{"givenName", "*)(uid=*"},  {"sn", "#a,b+c\"d\\e<f>g;h=i "},
                       {"cn", " lead and trail "}, {"displayName", "(|(objectClass=*))"},
                       {"title", "x)(|(title=*"},  {"description", "\\2a\\00"}};
  const Outcome created = connector_->apply(create);
  PROV_EXPECT_OK(created);
  ASSERT_TRUE(created.is_ok());

  auto account = find(Anchor::Kind::EmployeeId, wid);
  ASSERT_TRUE(account.has_value());
  EXPECT_EQ(account->worker_id, wid);
  EXPECT_EQ(account->username, user);
  EXPECT_EQ(account->anchor, created.anchor);
  for (const auto& [name, value] : create.attributes) {
    if (name == "cn") continue;  // servers may trim the spaces at the ends of a cn value
    EXPECT_EQ(account->attributes[name], value) << name;
  }
  auto by_user = find(Anchor::Kind::Username, user);
  ASSERT_TRUE(by_user.has_value());
  EXPECT_EQ(by_user->anchor, created.anchor);
  auto by_dn = find(Anchor::Kind::Dn, created.dn);
  ASSERT_TRUE(by_dn.has_value());
  EXPECT_EQ(by_dn->anchor, created.anchor);

  // Every other operation handles the same values.
  Operation group = op_for(OpKind::AddMember, created, wid, user);
  group.group = unique("g") + ",cn=admins*)(";
  PROV_EXPECT_OK(connector_->apply(group));
  EXPECT_EQ(find(Anchor::Kind::Guid, created.anchor)->groups, std::set<std::string>{group.group});
  group.kind = OpKind::RemoveMember;
  PROV_EXPECT_OK(connector_->apply(group));
  Operation move = op_for(OpKind::Move, created, wid, user);
  move.ou = GetParam().other_ou;
  PROV_EXPECT_OK(connector_->apply(move));
  PROV_EXPECT_OK(connector_->apply(op_for(OpKind::Delete, created, wid, user)));
  EXPECT_FALSE(find(Anchor::Kind::EmployeeId, wid).has_value());
}

// Lookups match values literally. Every value below holds filter syntax (`*` `(` `)` `\`), DN
// syntax (`,` `+` `"` `\` `<` `>` `;` `=`, a leading `#` or space) or both, and its account
// shares a prefix with the others, so a lookup that treated the value as a pattern, dropped an
// escape or stopped at a NUL would match a neighbour. Every lookup must succeed — a connector
// that refused every such filter would prove nothing — and find exactly its own entry; values
// that look like wildcards find nothing; and once an entry is deleted its value finds nothing,
// although the neighbours a misread value would match are still there.
TEST_P(ConnectorContract, EscapedLookupsFindExactlyTheirOwnEntry) {
  struct Probe {
    // Which value of the account is hostile: its worker id (EmployeeId) or its Username.
    Anchor::Kind kind = Anchor::Kind::EmployeeId;
    std::string value;
    std::string wid, user;
    Outcome created;
  };
  const std::string nul(1, '\0');
  // AD caps employeeID at 16 characters: a short prefix, short suffixes.
  const std::string p = unique("");
  const std::string q = unique("u");
  std::vector<Probe> probes;
  auto add = [&](Anchor::Kind kind, const std::string& value) {
    Probe probe;
    probe.kind = kind;
    probe.value = value;
    probes.push_back(probe);
  };
  for (const char* suffix : {"", "a", "*", "*)(", "\\", "\\2a", "(a)"})
    add(Anchor::Kind::EmployeeId, p + suffix);
  add(Anchor::Kind::Username, q);
  add(Anchor::Kind::Username, q + "a");
  if (GetParam().usernames_allow_dn_specials) {
    for (const char* suffix : {"*", "*)(", "\\", "\\2a", ",+\"<>;=x"})
      add(Anchor::Kind::Username, q + suffix);
    add(Anchor::Kind::Username, "#" + unique("u"));
    add(Anchor::Kind::Username, " " + unique("u"));
  }
  for (auto& probe : probes) {
    const bool by_id = probe.kind == Anchor::Kind::EmployeeId;
    probe.wid = by_id ? probe.value : unique("w");
    probe.user = by_id ? unique("u") : probe.value;
    probe.created = connector_->apply(create_op(probe.wid, probe.user));
    ASSERT_TRUE(probe.created.is_ok()) << "'" << probe.value << "': " << probe.created.message;
  }

  // Exactly its own entry: by the hostile value, and by the DN built from it.
  auto finds_only_itself = [&](const Probe& probe) {
    SCOPED_TRACE("value '" + probe.value + "'");
    auto r = connector_->find(Anchor{probe.kind, probe.value});
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->anchor, probe.created.anchor);
    EXPECT_EQ(probe.kind == Anchor::Kind::EmployeeId ? (*r)->worker_id : (*r)->username,
              probe.value);
    auto by_dn = connector_->find(Anchor{Anchor::Kind::Dn, probe.created.dn});
    ASSERT_TRUE(by_dn.ok()) << by_dn.error().message;
    ASSERT_TRUE(by_dn->has_value()) << probe.created.dn;
    EXPECT_EQ((*by_dn)->anchor, probe.created.anchor);
  };
  auto finds_nothing = [&](Anchor::Kind kind, const std::string& value) {
    SCOPED_TRACE("value '" + value + "'");
    auto r = connector_->find(Anchor{kind, value});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->has_value()) << "matched " << (*r)->worker_id << " / " << (*r)->username;
  };
  for (const auto& probe : probes) finds_only_itself(probe);

  // As patterns these would match the accounts above; as values they are nobody's.
  for (const std::string& v : {p + "a*", "*" + p.substr(1), p + "*a", p + "\\2a*", p + nul,
                               p + "a" + nul + "*", std::string("*")})
    finds_nothing(Anchor::Kind::EmployeeId, v);
  for (const std::string& v :
       {q + "*a", q.substr(0, 2) + "*", q + nul, q + "a" + nul + "*", std::string("*")})
    finds_nothing(Anchor::Kind::Username, v);

  // One by one, each entry goes; its value then finds nothing, the others still find their own.
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const Probe& gone = probes[i];
    const Outcome deleted =
        connector_->apply(op_for(OpKind::Delete, gone.created, gone.wid, gone.user));
    ASSERT_TRUE(deleted.is_ok()) << deleted.message;
    finds_nothing(gone.kind, gone.value);
    for (std::size_t j = i + 1; j < probes.size(); ++j) finds_only_itself(probes[j]);
  }
}

TEST_P(ConnectorContract, ForEachAccountPagesPastServerSizeLimits) {
  const int n = GetParam().paging_count;
  const std::string prefix = unique("p");
  std::vector<Operation> ops;
  for (int i = 0; i < n; ++i) {
    Operation op = create_op(prefix + "-" + std::to_string(i), prefix + "u" + std::to_string(i));
    op.attributes = {{"sn", "Paged"}};
    ops.push_back(op);
  }
  const auto outcomes = connector_->apply_batch(ops);
  ASSERT_EQ(outcomes.size(), ops.size());
  for (const auto& o : outcomes) ASSERT_TRUE(o.is_ok()) << o.message;

  std::set<std::string> seen;
  const Status s = connector_->for_each_account([&](const Account& a) {
    if (a.worker_id.rfind(prefix + "-", 0) == 0) seen.insert(a.worker_id);
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
}

TEST_P(ConnectorContract, ApplyBatchKeepsInputOrder) {
  std::vector<Operation> ops;
  std::vector<bool> expect_ok;
  for (int i = 0; i < 40; ++i) {
    if (i % 5 == 3) {
      Operation ghost;
      ghost.kind = OpKind::Update;
      ghost.worker_id = unique("ghost");
      ghost.attributes = {{"title", "x"}};
      ops.push_back(ghost);
      expect_ok.push_back(false);
    } else {
      ops.push_back(create_op(unique("w"), unique("user")));
      expect_ok.push_back(true);
    }
  }
  const auto outcomes = connector_->apply_batch(ops);
  ASSERT_EQ(outcomes.size(), ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(outcomes[i].is_ok(), expect_ok[i]) << i << ": " << outcomes[i].message;
    if (expect_ok[i]) {
      auto account = find(Anchor::Kind::EmployeeId, ops[i].worker_id);
      ASSERT_TRUE(account.has_value()) << i;
      EXPECT_EQ(account->anchor, outcomes[i].anchor) << i;
      EXPECT_EQ(account->username, ops[i].username) << i;
    }
  }
}

// A batch mixing every operation kind for different workers ends where applying them one at a
// time would: memberships (including a group that does not exist yet), locks, updates, a move, a
// delete, the already-done cases, and an operation whose last known DN is out of date.
TEST_P(ConnectorContract, ApplyBatchOfMixedOperationsMatchesOneAtATime) {
  constexpr int kWorkers = 9;
  const bool passwords = !config_.password_dir.empty();
  const auto [wids, users, created] = create_accounts(kWorkers, passwords);
  ASSERT_EQ(created.size(), static_cast<std::size_t>(kWorkers));
  if (passwords) {
    for (int i = 0; i < kWorkers; ++i)
      EXPECT_TRUE(GetParam().can_bind(created[i].dn, delivered_password(wids[i]))) << i;
  }
  const std::string group = unique("grp");
  const std::string kept = unique("grp");
  Operation seed = op_for(OpKind::AddMember, created[5], wids[5], users[5]);
  seed.group = kept;
  PROV_EXPECT_OK(connector_->apply(seed));
  // Worker 8 moves first, so the batch below still carries its old DN.
  Operation moved_before = op_for(OpKind::Move, created[8], wids[8], users[8]);
  moved_before.ou = GetParam().other_ou;
  PROV_EXPECT_OK(connector_->apply(moved_before));

  std::vector<Operation> ops;
  auto add = [&](OpKind kind, int i) -> Operation& {
    ops.push_back(op_for(kind, created[i], wids[i], users[i]));
    return ops.back();
  };
  add(OpKind::AddMember, 0).group = group;  // the group does not exist yet
  add(OpKind::AddMember, 1).group = group;
  add(OpKind::RemoveMember, 2).group = kept;  // not a member: already done
  add(OpKind::Disable, 3);
  add(OpKind::Update, 4).attributes = {{"title", "Architect"}, {"mail", ""}};
  add(OpKind::AddMember, 5).group = kept;  // already a member
  add(OpKind::Enable, 6);                  // already enabled
  add(OpKind::Delete, 7);
  add(OpKind::AddMember, 8).group = kept;  // op.dn is the DN before the move
  const auto outcomes = apply_batch_all_ok(ops);
  ASSERT_EQ(outcomes.size(), ops.size());
  EXPECT_FALSE(outcomes[0].already_done);
  EXPECT_TRUE(outcomes[2].already_done);
  EXPECT_TRUE(outcomes[5].already_done);
  EXPECT_TRUE(outcomes[6].already_done);

  EXPECT_EQ(find(Anchor::Kind::Guid, created[0].anchor)->groups, std::set<std::string>{group});
  EXPECT_EQ(find(Anchor::Kind::Guid, created[1].anchor)->groups, std::set<std::string>{group});
  EXPECT_TRUE(find(Anchor::Kind::Guid, created[2].anchor)->groups.empty());
  EXPECT_FALSE(find(Anchor::Kind::Guid, created[3].anchor)->enabled);
  if (passwords) {
    EXPECT_FALSE(GetParam().can_bind(created[3].dn, delivered_password(wids[3])));
  }
  auto updated = find(Anchor::Kind::Guid, created[4].anchor);
  ASSERT_TRUE(updated.has_value());
  EXPECT_EQ(updated->attributes["title"], "Architect");
  EXPECT_EQ(updated->attributes.count("mail"), 0u);
  EXPECT_EQ(find(Anchor::Kind::Guid, created[5].anchor)->groups, std::set<std::string>{kept});
  EXPECT_TRUE(find(Anchor::Kind::Guid, created[6].anchor)->enabled);
  EXPECT_FALSE(find(Anchor::Kind::EmployeeId, wids[7]).has_value());
  auto moved = find(Anchor::Kind::Guid, created[8].anchor);
  ASSERT_TRUE(moved.has_value());
  if (GetParam().placement) {
    EXPECT_NE(moved->dn, created[8].dn);
  }
  EXPECT_EQ(moved->groups, std::set<std::string>{kept});
  EXPECT_EQ(outcomes[8].dn, moved->dn);  // the member added is the entry where it is now
}

// The executor sends every membership change of one group in one modify, additions and
// removals together, and a worker's changes of several groups in the same batch. Members
// already present or already absent must not cost anyone their change.
TEST_P(ConnectorContract, ApplyBatchCoalescedGroupChangesEndInTheRightMemberships) {
  const auto [wids, users, created] = create_accounts(7, false);
  ASSERT_EQ(created.size(), 7u);
  const std::string group = unique("grp"), other = unique("grp");
  auto member_op = [&](OpKind kind, int i, const std::string& g) {
    Operation op = op_for(kind, created[i], wids[i], users[i]);
    op.group = g;
    return op;
  };
  // Before: the group holds 0, 1 and 6; worker 6 is also in `other`.
  for (int i : {0, 1, 6}) PROV_EXPECT_OK(connector_->apply(member_op(OpKind::AddMember, i, group)));
  PROV_EXPECT_OK(connector_->apply(member_op(OpKind::AddMember, 6, other)));

  std::vector<Operation> ops = {
      member_op(OpKind::AddMember, 0, group),     // already a member
      member_op(OpKind::AddMember, 2, group),     // joins
      member_op(OpKind::AddMember, 3, group),     // joins
      member_op(OpKind::RemoveMember, 1, group),  // leaves
      member_op(OpKind::RemoveMember, 4, group),  // was never a member
      member_op(OpKind::RemoveMember, 6, group),  // one worker, two groups, one batch
      member_op(OpKind::RemoveMember, 6, other),
  };
  Operation move = op_for(OpKind::Move, created[5], wids[5], users[5]);
  move.ou = GetParam().other_ou;
  ops.push_back(move);
  const auto outcomes = apply_batch_all_ok(ops);
  ASSERT_EQ(outcomes.size(), ops.size());
  EXPECT_TRUE(outcomes[0].already_done);
  if (GetParam().batch_removals_tell_already_done) {
    EXPECT_TRUE(outcomes[4].already_done);
  }
  EXPECT_FALSE(outcomes[1].already_done);
  EXPECT_FALSE(outcomes[3].already_done);
  const std::set<std::string> in{group}, none;
  EXPECT_EQ(find(Anchor::Kind::Guid, created[0].anchor)->groups, in);
  EXPECT_EQ(find(Anchor::Kind::Guid, created[1].anchor)->groups, none);
  EXPECT_EQ(find(Anchor::Kind::Guid, created[2].anchor)->groups, in);
  EXPECT_EQ(find(Anchor::Kind::Guid, created[3].anchor)->groups, in);
  EXPECT_EQ(find(Anchor::Kind::Guid, created[4].anchor)->groups, none);
  EXPECT_EQ(find(Anchor::Kind::Guid, created[6].anchor)->groups, none);
  auto moved = find(Anchor::Kind::Guid, created[5].anchor);
  ASSERT_TRUE(moved.has_value());
  if (GetParam().placement) {
    EXPECT_NE(moved->dn, created[5].dn);
  }
  EXPECT_EQ(outcomes.back().dn, moved->dn);
}

TEST_P(ConnectorContract, WrongPasswordIsAPermanentInvalidCredentialsError) {
  auto connector = GetParam().make(GetParam().refused_credentials(config_));
  const Status s = connector->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().retryable);
  EXPECT_NE(s.error().message.find(GetParam().refused_says), std::string::npos)
      << s.error().message;
  EXPECT_EQ(s.error().message.find(GetParam().refused_secret), std::string::npos);
}

TEST_P(ConnectorContract, UntrustedCertificateIsRefused) {
  // A CA that did not sign the server's certificate.
  const std::string dir = ::testing::TempDir() + "/" + unique("other-ca");
  std::string out;
  ASSERT_EQ(run_command("mkdir -p '" + dir +
                            "' && openssl req -x509 -newkey ec -pkeyopt "
                            "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=other-ca "
                            "-keyout '" +
                            dir + "/key.pem' -out '" + dir + "/ca.pem'",
                        &out),
            0)
      << out;
  auto connector = GetParam().make(GetParam().trusting(config_, dir + "/ca.pem"));
  const Status s = connector->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(s.error().retryable) << s.error().message;
}

TEST_P(ConnectorContract, UnreachableServerIsRetryable) {
  auto connector = GetParam().make(GetParam().at_port(config_, free_port(), 2000));
  const Status s = connector->connect();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().retryable) << s.error().message;
  Operation op = create_op(unique("w"), unique("user"));
  const Outcome o = connector->apply(op);
  EXPECT_EQ(o.kind, Outcome::Kind::Retryable) << o.message;
}

// A server that accepts connections and never answers (a hung process, a black-holing load
// balancer): after one attempt has timed out, the operations behind it fail at once as
// retryable instead of each waiting for a connection attempt of its own, so an outage costs a
// batch one timeout, and a shutdown never waits for more.
TEST_P(ConnectorContract, AServerThatNeverAnswersCostsOneAttemptNotOnePerOperation) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 64), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> accepted{0};
  std::vector<int> held;  // accepted and never answered
  std::thread acceptor([&] {
    while (!stop) {
      pollfd p{listener, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        const int c = ::accept(listener, nullptr, nullptr);
        if (c >= 0) {
          held.push_back(c);
          ++accepted;
        }
      }
    }
  });

  // A timeout longer than the connector's pause after a failed attempt.
  auto connector = GetParam().make(GetParam().at_port(config_, ntohs(addr.sin_port), 1200));
  int one_attempt = 0;  // connections one attempt opens (a reachability probe may add one)
  for (int i = 0; i < 4; ++i) {
    const Outcome o = connector->apply(create_op(unique("w"), unique("user")));
    EXPECT_EQ(o.kind, Outcome::Kind::Retryable) << o.message;
    if (i == 0) one_attempt = accepted.load();
  }
  stop = true;
  acceptor.join();
  for (int c : held) ::close(c);
  ::close(listener);
  EXPECT_GE(one_attempt, 1);
  EXPECT_EQ(accepted.load(), one_attempt)
      << "every operation waited for a connection attempt of its own";
}

}  // namespace prov::testing
