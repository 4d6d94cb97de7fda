#include "ad/ad_connector.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "ad/ad_values.h"
#include "ldap/password_drop.h"
#include "ldap/escape.h"
#include "ldap/ldap_connector.h"
#include "prov/crypto.h"
#include "prov/log.h"

namespace prov {
namespace ad {

using ldap::Attributes;
using ldap::AttrNameLess;
using ldap::Control;
using ldap::Entry;
using ldap::LdapResult;
using ldap::Modification;
using ldap::PasswordDrop;
using ldap::Scope;
using ldap::SearchRequest;
using ldap::SearchResult;
namespace code = ldap::code;

const ldap::ResultCodeTable& result_codes() {
  static const ldap::ResultCodeTable table(
      {
          {3, Outcome::Kind::Retryable},  // timeLimitExceeded: the DC was too slow this time
          {code::kBusy, Outcome::Kind::Retryable},
          {code::kUnavailable, Outcome::Kind::Retryable},
          {code::kServerDown, Outcome::Kind::Retryable},
          {code::kTimeout, Outcome::Kind::Retryable},
          {code::kConnectError, Outcome::Kind::Retryable},
          {code::kConstraintViolation, Outcome::Kind::Permanent},
          {code::kNoSuchObject, Outcome::Kind::Permanent},
          {code::kUnwillingToPerform, Outcome::Kind::Permanent},
          {code::kEntryAlreadyExists, Outcome::Kind::Permanent},
      },
      Outcome::Kind::Permanent);
  return table;
}

namespace {

// sAMAccountType of normal user accounts: excludes computers, groups and trusts, and is indexed.
constexpr const char* kUserFilter = "(sAMAccountType=805306368)";
constexpr const char* kGlobalSecurityGroup = "-2147483646";
constexpr const char* kTreeDeleteOid = "1.2.840.113556.1.4.805";

// What the connector reads for an account. AD's "*" brings dozens of internal attributes
// (objectSid, uSNChanged, badPwdCount, ...), so the person attributes are listed.
const std::vector<std::string>& account_attrs() {
  static const std::vector<std::string> kAttrs = {"objectGUID",
                                                  "sAMAccountName",
                                                  "userPrincipalName",
                                                  "employeeID",
                                                  "userAccountControl",
                                                  "pwdLastSet",
                                                  "memberOf",
                                                  "cn",
                                                  "givenName",
                                                  "sn",
                                                  "initials",
                                                  "displayName",
                                                  "mail",
                                                  "title",
                                                  "department",
                                                  "company",
                                                  "manager",
                                                  "description",
                                                  "telephoneNumber",
                                                  "mobile",
                                                  "physicalDeliveryOfficeName",
                                                  "l",
                                                  "st",
                                                  "c",
                                                  "co",
                                                  "postalCode",
                                                  "streetAddress",
                                                  "employeeType"};
  return kAttrs;
}

bool is_read_back(std::string_view attr) {
  for (const auto& a : account_attrs()) {
    if (!AttrNameLess{}(a, attr) && !AttrNameLess{}(attr, a)) return true;
  }
  return false;
}

// Attributes the connector manages itself; op.attributes cannot set them directly.
bool is_reserved(std::string_view attr) {
  static const std::set<std::string, AttrNameLess> kReserved = {
      "objectClass",  "objectGUID",     "objectSid", "sAMAccountName",     "userPrincipalName",
      "employeeID",   "employeeNumber", "uid",       "userAccountControl", "unicodePwd",
      "userPassword", "pwdLastSet",     "memberOf",  "distinguishedName",  "name",
      "cn",           "sAMAccountType"};
  return kReserved.count(attr) > 0;
}

// Attributes read for internal use that Account::attributes does not report.
bool is_hidden(std::string_view attr) {
  static const std::set<std::string, AttrNameLess> kHidden = {
      "objectGUID", "sAMAccountName", "employeeID",       "userAccountControl",
      "pwdLastSet", "memberOf",       "userPrincipalName"};
  return kHidden.count(attr) > 0;
}

std::string anchor_of(const Entry& e) {
  auto raw = e.first("objectGUID");
  if (!raw) return {};
  return guid_to_string(*raw).value_or("");
}

Outcome with_account(Outcome o, const std::string& dn, const std::string& anchor,
                     bool already_done) {
  o.dn = dn;
  o.anchor = anchor;
  o.already_done = already_done;
  return o;
}

Outcome ok(const Entry& e, bool already_done) {
  return with_account(Outcome::ok(), e.dn, anchor_of(e), already_done);
}

// The cn value of an entry's RDN ("CN=Ada Lovelace,OU=..." → "Ada Lovelace").
std::string rdn_value(const std::string& dn) {
  const std::string rdn = ldap::split_dn(dn).rdn;
  const auto eq = rdn.find('=');
  if (eq == std::string::npos) return rdn;
  return ldap::unescape_dn_value(rdn.substr(eq + 1)).value_or(rdn.substr(eq + 1));
}

// Whether the entry's memberOf back-link lists the group.
bool member_of(const Entry& e, const std::string& group_dn) {
  for (const auto& g : e.values("memberOf")) {
    if (ldap::same_dn(g, group_dn)) return true;
  }
  return false;
}

class AdConnector final : public DirectoryConnector {
 public:
  AdConnector(DirectoryConfig config, AdOptions options)
      : config_(std::move(config)), options_(options) {
    upn_suffix_ =
        config_.upn_suffix.empty() ? realm_from_base_dn(config_.base_dn) : config_.upn_suffix;
  }

  Capabilities capabilities() const override {
    Capabilities c;
    c.sets_passwords = !config_.password_dir.empty() && over_tls();
    return c;
  }

  Status connect() override;
  Result<std::optional<Account>> find(const Anchor& anchor) override;
  Outcome apply(const Operation& op) override;
  std::vector<Outcome> apply_batch(const std::vector<Operation>& ops) override;
  void modify_batch(const std::vector<Operation>& ops, std::vector<Outcome>& out,
                    std::vector<bool>& done);
  Result<Holders> username_holders(const std::vector<std::string>& names) override;
  Status for_each_account(const std::function<void(const Account&)>& visit) override;

 private:
  // The result of looking for one entry: an error, nothing, or the entry.
  struct Lookup {
    LdapResult result;
    std::optional<Entry> entry;
  };

  Status ensure_session();
  Outcome fail(const LdapResult& r, std::string_view context) const {
    return result_codes().to_outcome(r, context);
  }
  Error error(const LdapResult& r, std::string_view context) const {
    return Error{std::string(context) + ": " + r.describe(),
                 result_codes().kind(r.code) == Outcome::Kind::Retryable};
  }

  Lookup search_one(const std::string& filter);
  Lookup read_entry(const std::string& dn, const std::string& filter = kUserFilter);
  Lookup by_worker(const std::string& worker_id) {
    return search_one(ldap::equality_filter("employeeID", worker_id));
  }
  Lookup locate(const Operation& op);

  Account to_account(const Entry& e) const;
  std::string relative_ou(const std::string& dn) const;
  std::string parent_dn(const std::string& ou) const { return ldap::join_dn(ou, config_.base_dn); }
  std::string groups_parent() const { return ldap::join_dn(config_.groups_ou, config_.base_dn); }
  std::string group_dn(const std::string& group) const {
    return ldap::make_dn("CN", group, groups_parent());
  }
  bool over_tls() const { return ldap::encrypted(ldap::session_options(config_)); }

  // A new user as a create would add it: checked names, attributes (password included when one
  // is wanted, staged for delivery), and where it goes.
  struct NewUser {
    Attributes attrs;  // without cn (it depends on collisions in the OU)
    std::string display;
    std::string parent;
    std::optional<PasswordDrop> drop;
  };
  Outcome prepare_create(const Operation& op, NewUser& user);
  Outcome create(const Operation& op);
  Outcome finish_create(const Operation& op, const Entry& entry, bool created_now);
  Outcome set_initial_password(const std::string& dn, const std::string& worker_id);
  Outcome update(const Operation& op);
  Outcome rename_cn(const Entry& e, const std::string& cn, const std::string& username);
  Outcome move(const Operation& op);
  Outcome set_enabled(const Operation& op, bool enabled);
  Outcome add_member(const Operation& op);
  Outcome remove_member(const Operation& op);
  Result<bool> is_member(const std::string& group, const std::string& member_dn);
  LdapResult create_group(const std::string& gdn, const std::string& name,
                          const std::string& member);
  Outcome remove(const Operation& op);

  DirectoryConfig config_;
  AdOptions options_;
  std::string upn_suffix_;
  std::unique_ptr<ldap::Session> session_;
  // Set after a failed reconnect: until then further operations fail at once (retryable), so one
  // batch costs one reconnect attempt during an outage, not one per operation.
  std::chrono::steady_clock::time_point unreachable_until_{};
  std::string unreachable_reason_;
};

// ---------------------------------------------------------------------------------------------
// session

Status AdConnector::connect() {
  auto opened = ldap::Session::open(ldap::session_options(config_));
  if (!opened.ok()) {
    session_.reset();
    return opened.error();
  }
  session_ = std::move(opened.value());
  const LdapResult r = session_->bind(config_.bind_dn, config_.password);
  if (!r.ok()) {
    session_.reset();
    if (r.code == code::kInvalidCredentials) {
      std::string why = "invalid credentials";
      if (auto data = bind_data_code(r.message)) {
        if (auto text = describe_bind_data_code(*data); !text.empty())
          why += " (" + std::string(text) + ")";
      }
      return Error{"ad bind as " + config_.bind_dn + " failed: " + why, false};
    }
    return error(r, "ad bind as " + config_.bind_dn);
  }
  return Status::Ok();
}

Status AdConnector::ensure_session() {
  if (session_ && !session_->broken()) return Status::Ok();
  const auto now = std::chrono::steady_clock::now();
  if (now < unreachable_until_) return Error{unreachable_reason_, true};
  Status st;
  if (!session_) {
    st = connect();
  } else {
    const LdapResult r = session_->reconnect();
    if (r.ok()) return Status::Ok();
    st = Error{"ad reconnect to " + config_.url + " failed: " + r.describe(),
               ldap::is_transport_error(r.code) || result_codes().kind(r.code) == Outcome::Kind::Retryable};
  }
  if (!st.ok() && st.error().retryable) {
    // Counted from the end of the attempt: an attempt against a server that never answers
    // takes the whole timeout, and the operations queued behind it must still fail fast.
    unreachable_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    unreachable_reason_ = st.error().message;
  }
  return st;
}

// ---------------------------------------------------------------------------------------------
// lookups

AdConnector::Lookup AdConnector::search_one(const std::string& filter) {
  SearchRequest req;
  req.base = config_.base_dn;
  req.scope = Scope::Subtree;
  req.filter = std::string("(&") + kUserFilter + filter + ")";
  req.attrs = account_attrs();
  SearchResult r = session_->search(req);
  if (!r.result.ok()) return {r.result, std::nullopt};
  if (r.entries.size() > 1) {
    LdapResult ambiguous;
    ambiguous.code = code::kConstraintViolation;
    ambiguous.message = std::to_string(r.entries.size()) + " accounts match " + filter;
    return {ambiguous, std::nullopt};
  }
  if (r.entries.empty()) return {};
  return {LdapResult{}, std::move(r.entries.front())};
}

AdConnector::Lookup AdConnector::read_entry(const std::string& dn, const std::string& filter) {
  SearchRequest req;
  req.base = dn;
  req.scope = Scope::Base;
  req.filter = filter;
  req.attrs = account_attrs();
  SearchResult r = session_->search(req);
  if (r.result.code == code::kNoSuchObject || r.result.code == code::kInvalidDnSyntax) return {};
  if (!r.result.ok()) return {r.result, std::nullopt};
  if (r.entries.empty()) return {};
  return {LdapResult{}, std::move(r.entries.front())};
}

// The objectGUID anchor first (it survives renames and moves made outside provisiond), then the
// owner's employeeID, then the last known DN when it still belongs to the worker.
AdConnector::Lookup AdConnector::locate(const Operation& op) {
  if (auto guid = guid_from_string(op.anchor)) {
    Lookup l = search_one(guid_filter(*guid));
    if (!l.result.ok() || l.entry) return l;
  }
  if (!op.worker_id.empty()) {
    Lookup l = by_worker(op.worker_id);
    if (!l.result.ok() || l.entry) return l;
  }
  if (!op.dn.empty() && op.worker_id.empty()) return read_entry(op.dn);
  return {};
}

std::string AdConnector::relative_ou(const std::string& dn) const {
  std::vector<std::string> rdns;
  for (std::string rest = ldap::split_dn(dn).parent; !rest.empty();) {
    ldap::DnSplit s = ldap::split_dn(rest);
    rdns.push_back(s.rdn);
    rest = s.parent;
  }
  std::size_t base_rdns = 0;
  for (std::string b = config_.base_dn; !b.empty(); b = ldap::split_dn(b).parent) ++base_rdns;
  if (rdns.size() < base_rdns) return ldap::split_dn(dn).parent;
  std::string out;
  for (std::size_t i = 0; i + base_rdns < rdns.size(); ++i) {
    if (!out.empty()) out.push_back(',');
    out += rdns[i];
  }
  return out;
}

Account AdConnector::to_account(const Entry& e) const {
  Account a;
  a.worker_id = e.first("employeeID").value_or("");
  a.username = e.first("sAMAccountName").value_or("");
  a.anchor = anchor_of(e);
  a.dn = e.dn;
  a.ou = relative_ou(e.dn);
  a.exists = true;
  const auto uac = parse_uac(e.first("userAccountControl").value_or(""));
  a.enabled = uac && !is_disabled(*uac);
  for (const auto& [name, values] : e.attrs) {
    if (is_hidden(name) || values.empty()) continue;
    a.attributes[name] = values.front();
  }
  // memberOf is AD's back-link: the policy-managed groups are those directly under groups_ou.
  const std::string groups = groups_parent();
  for (const auto& group : e.values("memberOf")) {
    if (ldap::same_dn(ldap::split_dn(group).parent, groups)) a.groups.insert(rdn_value(group));
  }
  return a;
}

Result<std::optional<Account>> AdConnector::find(const Anchor& anchor) {
  if (Status s = ensure_session(); !s.ok()) return s.error();
  // A value holding a NUL is answered here, not by the server: Samba matches an indexed
  // attribute (sAMAccountName) only up to the NUL, so "jsmith\0x" would find jsmith. No account
  // provisiond makes has such a name (usernames are policy output, transformed to alphanumerics).
  if (anchor.kind != Anchor::Kind::Guid && anchor.value.find('\0') != std::string::npos)
    return std::optional<Account>{};
  Lookup l;
  switch (anchor.kind) {
    case Anchor::Kind::Guid: {
      auto guid = guid_from_string(anchor.value);
      if (!guid) return Error{"ad find: '" + anchor.value + "' is not an objectGUID", false};
      l = search_one(guid_filter(*guid));
      break;
    }
    case Anchor::Kind::EmployeeId:
      l = by_worker(anchor.value);
      break;
    case Anchor::Kind::Username:
      l = search_one(ldap::equality_filter("sAMAccountName", anchor.value));
      break;
    case Anchor::Kind::Dn:
      l = read_entry(anchor.value);
      break;
  }
  if (!l.result.ok()) return error(l.result, "ad find " + anchor.value);
  if (!l.entry) return std::optional<Account>{};
  return std::optional<Account>(to_account(*l.entry));
}

// The planner's question for a whole group of new names in one search (sAMAccountName is
// indexed and matched without regard to case, so answers are matched back the same way).
Result<AccountReader::Holders> AdConnector::username_holders(
    const std::vector<std::string>& names) {
  Holders out;
  if (names.empty()) return out;
  if (Status s = ensure_session(); !s.ok()) return s.error();
  for (const auto& name : names) out[name] = std::nullopt;
  SearchRequest req;
  req.base = config_.base_dn;
  req.filter = std::string("(&") + kUserFilter + ldap::any_of_filter("sAMAccountName", names) + ")";
  req.attrs = {"sAMAccountName", "employeeID"};
  SearchResult r = session_->search(req);
  if (!r.result.ok()) return error(r.result, "ad find by sAMAccountName");
  auto same = [](const std::string& a, const std::string& b) {
    return !AttrNameLess{}(a, b) && !AttrNameLess{}(b, a);  // ASCII case-insensitive
  };
  for (const auto& e : r.entries) {
    const std::string holder = e.first("employeeID").value_or("");
    for (const auto& sam : e.values("sAMAccountName"))
      for (auto& [name, held] : out)
        if (same(name, sam)) held = holder;
  }
  return out;
}

Status AdConnector::for_each_account(const std::function<void(const Account&)>& visit) {
  if (Status s = ensure_session(); !s.ok()) return s;
  SearchRequest req;
  req.base = config_.base_dn;
  req.filter = std::string("(&") + kUserFilter + "(employeeID=*))";
  req.attrs = account_attrs();
  const LdapResult r = session_->search_each(req, [&](const Entry& e) {
    visit(to_account(e));
    return true;
  });
  if (!r.ok()) return error(r, "ad list accounts");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// apply

Outcome AdConnector::apply(const Operation& op) {
  if (Status s = ensure_session(); !s.ok()) {
    return s.error().retryable ? Outcome::retryable("ldap:-1", s.error().message)
                               : Outcome::permanent("ad:connect", s.error().message);
  }
  switch (op.kind) {
    case OpKind::Create:
      return create(op);
    case OpKind::Update:
      return update(op);
    case OpKind::Move:
      return move(op);
    case OpKind::Enable:
      return set_enabled(op, true);
    case OpKind::Disable:
      return set_enabled(op, false);
    case OpKind::AddMember:
      return add_member(op);
    case OpKind::RemoveMember:
      return remove_member(op);
    case OpKind::Delete:
      return remove(op);
  }
  return Outcome::permanent("ad:op", "unknown operation kind");
}

// Creates, the bulk of any load, overlap on the wire in three windowed rounds: does the worker
// have an account already? add (password and enabled state included); read back the objectGUID.
// Anything that needs a decision (an existing account, a refused add such as a cn collision)
// and every other operation go through apply() one at a time: correctness first.
std::vector<Outcome> AdConnector::apply_batch(const std::vector<Operation>& ops) {
  std::vector<Outcome> out(ops.size());
  std::vector<bool> done(ops.size(), false);
  std::vector<std::size_t> creates;
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (ops[i].kind == OpKind::Create) creates.push_back(i);
  if (creates.size() > 1 && ensure_session().ok()) {
    const std::size_t window =
        static_cast<std::size_t>(config_.pipeline_window > 0 ? config_.pipeline_window : 1);
    auto submit_read = [&](const std::string& base, Scope scope, const std::string& filter) {
      SearchRequest req;
      req.base = base;
      req.scope = scope;
      req.filter = filter;
      req.attrs = account_attrs();
      return session_->submit_search(req);
    };
    // Round 1: accounts the workers already have.
    std::vector<std::optional<Result<ldap::Reply>>> found;
    ldap::pipeline(*session_, creates.size(), window, [&](std::size_t k) {
      return submit_read(config_.base_dn, Scope::Subtree,
                         std::string("(&") + kUserFilter +
                             ldap::equality_filter("employeeID", ops[creates[k]].worker_id) + ")");
    }, found);
    // Round 2: add the new ones.
    std::vector<std::size_t> adds;
    std::vector<NewUser> users;
    std::vector<std::string> dns;
    for (std::size_t k = 0; k < creates.size(); ++k) {
      const std::size_t i = creates[k];
      if (!found[k] || !found[k]->ok() || !(*found[k])->result.ok() ||
          !(*found[k])->entries.empty())
        continue;  // an account exists, or the question failed: apply() decides
      NewUser user;
      if (Outcome o = prepare_create(ops[i], user); !o.is_ok()) {
        out[i] = o;
        done[i] = true;
        continue;
      }
      const std::string cn = user_cn(user.display, ops[i].username, false);
      if (!validate_cn(cn).ok()) continue;
      user.attrs.push_back({"cn", {cn}});
      dns.push_back(ldap::make_dn("CN", cn, user.parent));
      users.push_back(std::move(user));
      adds.push_back(i);
    }
    std::vector<std::optional<Result<ldap::Reply>>> added;
    ldap::pipeline(*session_, adds.size(), window, [&](std::size_t k) {
      return session_->submit_add(dns[k], users[k].attrs);
    }, added);
    // Round 3: deliver the passwords of what was added and read back the anchors.
    std::vector<std::size_t> reads;
    for (std::size_t k = 0; k < adds.size(); ++k) {
      if (!added[k] || !added[k]->ok() || !(*added[k])->result.ok()) continue;  // apply() retries
      if (users[k].drop) {
        if (Status s = users[k].drop->commit(); !s.ok()) {
          out[adds[k]] = Outcome::retryable("ad:password", "create " + dns[k] + ": " +
                                                               s.error().message);
          done[adds[k]] = true;
          continue;
        }
        log::info("ad initial password delivered",
                  {{"worker_id", ops[adds[k]].worker_id}, {"dn", dns[k]},
                   {"file", users[k].drop->final_path().string()}});
      }
      reads.push_back(k);
    }
    std::vector<std::optional<Result<ldap::Reply>>> read;
    ldap::pipeline(*session_, reads.size(), window, [&](std::size_t r) {
      return submit_read(dns[reads[r]], Scope::Base, kUserFilter);
    }, read);
    for (std::size_t r = 0; r < reads.size(); ++r) {
      const std::size_t k = reads[r];
      const std::size_t i = adds[k];
      if (!read[r] || !read[r]->ok() || (*read[r])->entries.empty()) continue;  // apply() finds it
      const Entry& entry = (*read[r])->entries.front();
      log::info("ad account created", {{"worker_id", ops[i].worker_id}, {"dn", entry.dn}});
      out[i] = users[k].drop ? ok(entry, false) : finish_create(ops[i], entry, true);
      done[i] = true;
    }
  }
  if (ops.size() > 1 && ensure_session().ok()) modify_batch(ops, out, done);
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (!done[i]) out[i] = apply(ops[i]);
  return out;
}

// Locks, unlocks and group changes overlap on the wire too: one windowed round finds every
// account (by objectGUID, else employeeID), the next sends the one write each needs, with every
// membership change of one group in one modify (additions and removals together; AD rewrites
// nothing per value, but each modify is a replicated write). Memberships the account already
// shows (memberOf) are done without a write. A refused shared modify is retried as single
// writes; whatever still needs a decision goes through apply().
void AdConnector::modify_batch(const std::vector<Operation>& ops, std::vector<Outcome>& out,
                               std::vector<bool>& done) {
  std::vector<std::size_t> looked;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const OpKind k = ops[i].kind;
    if (!done[i] && !ops[i].worker_id.empty() &&
        (k == OpKind::Disable || k == OpKind::Enable ||
         ((k == OpKind::AddMember || k == OpKind::RemoveMember) && !ops[i].group.empty())))
      looked.push_back(i);
  }
  if (looked.empty()) return;
  const std::size_t window =
      static_cast<std::size_t>(config_.pipeline_window > 0 ? config_.pipeline_window : 1);
  std::vector<std::optional<Result<ldap::Reply>>> found;
  ldap::pipeline(*session_, looked.size(), window, [&](std::size_t k) {
    const Operation& op = ops[looked[k]];
    SearchRequest req;
    req.base = config_.base_dn;
    req.scope = Scope::Subtree;
    const auto guid = guid_from_string(op.anchor);
    req.filter = std::string("(&") + kUserFilter +
                 (guid ? guid_filter(*guid) : ldap::equality_filter("employeeID", op.worker_id)) +
                 ")";
    req.attrs = account_attrs();
    return session_->submit_search(req);
  }, found);

  struct Write {
    std::size_t i;
    std::string dn;
    Modification mod;
    Outcome success;
  };
  std::vector<Write> writes;
  for (std::size_t k = 0; k < looked.size(); ++k) {
    const std::size_t i = looked[k];
    const Operation& op = ops[i];
    if (!found[k] || !found[k]->ok() || !(*found[k])->result.ok() ||
        (*found[k])->entries.size() != 1)
      continue;  // gone, ambiguous or unreadable: apply() decides
    const Entry& e = (*found[k])->entries.front();
    if (op.kind == OpKind::Disable || op.kind == OpKind::Enable) {
      const auto uac = parse_uac(e.first("userAccountControl").value_or(""));
      if (!uac) continue;
      const std::uint32_t wanted = with_disabled(*uac, op.kind == OpKind::Disable);
      if (wanted == *uac) {
        out[i] = ok(e, true);
        done[i] = true;
        continue;
      }
      writes.push_back(
          {i, e.dn, {Modification::Op::Replace, "userAccountControl", {format_uac(wanted)}},
           ok(e, false)});
      continue;
    }
    const std::string gdn = group_dn(op.group);
    const bool adding = op.kind == OpKind::AddMember;
    if (member_of(e, gdn) == adding) {
      out[i] = ok(e, true);
      done[i] = true;
      continue;
    }
    writes.push_back(
        {i, gdn,
         {adding ? Modification::Op::Add : Modification::Op::Delete, "member", {e.dn}},
         ok(e, false)});
  }

  std::vector<std::vector<std::size_t>> requests;
  {
    std::map<std::string, std::vector<std::size_t>> by_group;
    for (std::size_t k = 0; k < writes.size(); ++k) {
      if (writes[k].mod.attr == "member")
        by_group[ldap::normalize_dn(writes[k].dn)].push_back(k);
      else
        requests.push_back({k});
    }
    for (auto& [key, parts] : by_group) requests.push_back(std::move(parts));
  }
  auto send = [&](const std::vector<std::size_t>& parts) {
    const Write& first = writes[parts[0]];
    if (parts.size() == 1)
      return session_->submit_modify(first.dn, {first.mod}, {ldap::permissive_modify_control()});
    Modification adds{Modification::Op::Add, "member", {}};
    Modification removes{Modification::Op::Delete, "member", {}};
    for (std::size_t k : parts)
      (writes[k].mod.op == Modification::Op::Add ? adds : removes)
          .values.push_back(writes[k].mod.values.front());
    std::vector<Modification> joint;
    if (!adds.values.empty()) joint.push_back(std::move(adds));
    if (!removes.values.empty()) joint.push_back(std::move(removes));
    return session_->submit_modify(first.dn, joint, {ldap::permissive_modify_control()});
  };
  for (int round = 0; round < 2 && !requests.empty(); ++round) {
    std::vector<std::optional<Result<ldap::Reply>>> replies;
    ldap::pipeline(*session_, requests.size(), window,
                   [&](std::size_t r) { return send(requests[r]); }, replies);
    std::vector<std::vector<std::size_t>> again;
    for (std::size_t r = 0; r < requests.size(); ++r) {
      if (!replies[r] || !replies[r]->ok()) continue;  // transport trouble: apply() retries
      const LdapResult& result = (*replies[r])->result;
      if (!result.ok()) {
        if (requests[r].size() > 1)
          for (std::size_t k : requests[r]) again.push_back({k});
        continue;  // a single refused write: apply() handles the cases (missing group, ...)
      }
      for (std::size_t k : requests[r]) {
        out[writes[k].i] = writes[k].success;
        done[writes[k].i] = true;
      }
    }
    requests = std::move(again);
  }
}

Outcome AdConnector::prepare_create(const Operation& op, NewUser& user) {
  if (Status s = validate_employee_id(op.worker_id); !s.ok()) {
    return Outcome::permanent("ad:employeeID", "create " + op.username + ": " + s.error().message);
  }
  if (Status s = validate_sam_account_name(op.username); !s.ok()) {
    return Outcome::permanent("ad:sAMAccountName",
                              "create for worker " + op.worker_id + ": " + s.error().message);
  }
  auto upn = build_upn(op.username, upn_suffix_);
  if (!upn.ok()) return Outcome::permanent("ad:userPrincipalName", upn.error().message);
  if (op.set_initial_password) {
    if (Status s = ldap::password_transport(ldap::session_options(config_)); !s.ok())
      return Outcome::permanent("ad:tls", "create " + op.username + ": " + s.error().message);
  }

  auto attr = [&](const char* name) -> std::string {
    auto it = op.attributes.find(name);
    return it == op.attributes.end() ? std::string() : it->second;
  };
  user.display = attr("cn");
  if (user.display.empty()) user.display = attr("displayName");

  Attributes& attrs = user.attrs;
  attrs.push_back({"objectClass", {"top", "person", "organizationalPerson", "user"}});
  attrs.push_back({"sAMAccountName", {op.username}});
  attrs.push_back({"userPrincipalName", {*upn}});
  attrs.push_back({"employeeID", {op.worker_id}});
  // With an initial password, everything travels in the add (over TLS): the password, the
  // must-change flag and the enabled state. The server creates the user in one write instead of
  // four, and the account can never exist enabled without its password: the add is all or
  // nothing. Without one, it is created disabled and finish_create enables it.
  std::optional<PasswordDrop>& drop = user.drop;
  if (op.set_initial_password && !config_.password_dir.empty()) {
    std::string password = random_password(options_.password_length);
    auto encoded = encode_unicode_pwd(password);
    auto staged = PasswordDrop::stage(config_.password_dir, op.worker_id, password);
    std::fill(password.begin(), password.end(), '\0');
    if (!encoded) return Outcome::permanent("ad:password", "generated password is not UTF-8");
    if (!staged.ok()) {
      return Outcome::permanent("ad:password",
                                "create " + op.username + ": " + staged.error().message);
    }
    drop.emplace(std::move(staged.value()));
    attrs.push_back({"unicodePwd", {std::move(*encoded)}});
    if (options_.must_change_password) attrs.push_back({"pwdLastSet", {"0"}});
    attrs.push_back({"userAccountControl",
                     {format_uac(op.enabled ? kUacNormalAccount : kUacNewDisabledUser)}});
  } else {
    attrs.push_back({"userAccountControl", {format_uac(kUacNewDisabledUser)}});
  }
  for (const auto& [name, value] : op.attributes) {
    if (value.empty() || is_reserved(name)) continue;
    attrs.push_back({name, {value}});
  }

  user.parent = parent_dn(op.ou);
  return Outcome::ok();
}

Outcome AdConnector::create(const Operation& op) {
  NewUser user;
  if (Outcome o = prepare_create(op, user); !o.is_ok()) return o;
  // Idempotence: the worker already has an account (a replay, or a create cut short by a crash):
  // finish what is missing instead of creating a second one.
  Lookup mine = by_worker(op.worker_id);
  if (!mine.result.ok()) return fail(mine.result, "create: search employeeID " + op.worker_id);
  if (mine.entry) return finish_create(op, *mine.entry, false);

  Attributes& attrs = user.attrs;
  std::optional<PasswordDrop>& drop = user.drop;
  const std::string& display = user.display;
  const std::string& parent = user.parent;
  std::string dn;
  for (bool collision : {false, true}) {
    const std::string cn = user_cn(display, op.username, collision);
    if (Status s = validate_cn(cn); !s.ok()) {
      return Outcome::permanent("ad:cn", "create " + op.username + ": " + s.error().message);
    }
    dn = ldap::make_dn("CN", cn, parent);
    Attributes with_cn = attrs;
    with_cn.push_back({"cn", {cn}});
    const LdapResult r = session_->add(dn, with_cn);
    if (r.ok()) break;
    if (r.code != code::kEntryAlreadyExists) return fail(r, "create " + dn);
    // Taken: by this worker (a concurrent create), by the username, or only the cn.
    Lookup again = by_worker(op.worker_id);
    if (again.entry) return finish_create(op, *again.entry, false);
    Lookup same_name = search_one(ldap::equality_filter("sAMAccountName", op.username));
    if (same_name.entry) {
      return Outcome::permanent("ldap:68", "create: sAMAccountName '" + op.username +
                                               "' already exists with another owner");
    }
    if (collision) return fail(r, "create " + dn + ": cn taken even with the username suffix");
  }
  if (drop) {
    // Renamed into place only now: the delivered file holds the password the account has. If
    // this fails, a retry finds the account owing a password (pwdLastSet 0, none delivered) and
    // sets a fresh one.
    if (Status s = drop->commit(); !s.ok()) {
      return Outcome::retryable("ad:password", "create " + dn + ": " + s.error().message);
    }
    log::info("ad initial password delivered", {{"worker_id", op.worker_id}, {"dn", dn},
                                                 {"file", drop->final_path().string()}});
  }
  Lookup created = read_entry(dn);
  if (!created.result.ok()) return fail(created.result, "create: read back " + dn);
  if (!created.entry) return Outcome::retryable("ldap:32", "create: " + dn + " vanished");
  log::info("ad account created", {{"worker_id", op.worker_id}, {"dn", dn}});
  if (drop) return ok(*created.entry, false);
  return finish_create(op, *created.entry, true);
}

// Brings a new (or half-created) account to what the Create asked for: initial password, then
// enabled. A replay finds the steps already done and changes nothing.
Outcome AdConnector::finish_create(const Operation& op, const Entry& entry, bool created_now) {
  bool changed = created_now;
  const std::string& dn = entry.dn;
  if (op.set_initial_password) {
    // A password is still owed when none was ever set (pwdLastSet 0) and none was delivered.
    const bool delivered =
        std::filesystem::exists(PasswordDrop::path_for(config_.password_dir, op.worker_id));
    if (created_now || (entry.first("pwdLastSet") == "0" && !delivered)) {
      Outcome o = set_initial_password(dn, op.worker_id);
      if (!o.is_ok()) return o;
      changed = true;
    }
  }
  auto uac = parse_uac(entry.first("userAccountControl").value_or(""));
  if (!uac) return Outcome::permanent("ad:uac", "create: " + dn + " has no userAccountControl");
  if (op.enabled && is_disabled(*uac)) {
    const LdapResult r = session_->modify(dn, {{Modification::Op::Replace,
                                                "userAccountControl",
                                                {format_uac(with_disabled(*uac, false))}}});
    if (!r.ok()) return fail(r, "create: enable " + dn);
    changed = true;
  }
  return ok(entry, !changed);
}

Outcome AdConnector::set_initial_password(const std::string& dn, const std::string& worker_id) {
  if (config_.password_dir.empty()) {
    return Outcome::permanent("ad:config", "create " + dn +
                                               ": directory.password_dir is not set, so an "
                                               "initial password could not be delivered");
  }
  std::string password = random_password(options_.password_length);
  auto encoded = encode_unicode_pwd(password);
  if (!encoded) return Outcome::permanent("ad:password", "generated password is not UTF-8");
  // Staged before the directory accepts it, committed after: the delivered file always holds
  // the password the account really has.
  auto drop = PasswordDrop::stage(config_.password_dir, worker_id, password);
  std::fill(password.begin(), password.end(), '\0');
  if (!drop.ok())
    return Outcome::permanent("ad:password", "create " + dn + ": " + drop.error().message);
  LdapResult r = session_->modify(dn, {{Modification::Op::Replace, "unicodePwd", {*encoded}}});
  std::fill(encoded->begin(), encoded->end(), '\0');
  if (!r.ok()) return fail(r, "create: set initial password of " + dn);
  if (options_.must_change_password) {
    r = session_->modify(dn, {{Modification::Op::Replace, "pwdLastSet", {"0"}}});
    if (!r.ok()) return fail(r, "create: require a password change for " + dn);
  }
  if (Status s = drop->commit(); !s.ok()) {
    // The account has a password nobody can read; a retry of the Create sets a fresh one.
    return Outcome::retryable("ad:password", "create " + dn + ": " + s.error().message);
  }
  log::info("ad initial password delivered",
            {{"worker_id", worker_id}, {"dn", dn}, {"file", drop->final_path().string()}});
  return Outcome::ok(dn);
}

Outcome AdConnector::update(const Operation& op) {
  Lookup l = locate(op);
  if (!l.result.ok()) return fail(l.result, "update: locate worker " + op.worker_id);
  if (!l.entry)
    return Outcome::permanent("ldap:32", "update: no account for worker " + op.worker_id);
  Entry e = std::move(*l.entry);
  bool changed = false;

  auto cn = op.attributes.find("cn");
  if (cn != op.attributes.end() && !cn->second.empty() && rdn_value(e.dn) != cn->second) {
    Outcome o = rename_cn(e, cn->second, e.first("sAMAccountName").value_or(op.username));
    if (!o.is_ok()) return o;
    e.dn = o.dn;
    changed = true;
  }

  std::vector<Modification> mods;
  for (const auto& [name, value] : op.attributes) {
    if (is_reserved(name)) continue;  // identity, state and secrets have their own operations
    if (!value.empty()) {
      if (e.first(name) != value) mods.push_back({Modification::Op::Replace, name, {value}});
    } else if (e.has(name) || !is_read_back(name)) {
      mods.push_back({Modification::Op::Delete, name, {}});
    }
  }
  if (!mods.empty()) {
    // Permissive modify: removing an attribute that is already gone is a success on AD.
    LdapResult r = session_->modify(e.dn, mods, {ldap::permissive_modify_control()});
    if (r.code == code::kNoSuchAttribute) {
      std::vector<Modification> replaces;
      for (const auto& m : mods) {
        if (m.op == Modification::Op::Replace) replaces.push_back(m);
      }
      r = replaces.empty() ? LdapResult{} : session_->modify(e.dn, replaces);
    }
    if (!r.ok()) return fail(r, "update " + e.dn);
    changed = true;
  }
  return with_account(Outcome::ok(), e.dn, anchor_of(e), !changed);
}

// Renames the account to a new cn in the same OU; a taken cn gets the username suffix.
Outcome AdConnector::rename_cn(const Entry& e, const std::string& cn, const std::string& username) {
  const std::string parent = ldap::split_dn(e.dn).parent;
  for (bool collision : {false, true}) {
    const std::string value = user_cn(cn, username, collision);
    if (Status s = validate_cn(value); !s.ok()) {
      return Outcome::permanent("ad:cn", "rename " + e.dn + ": " + s.error().message);
    }
    if (rdn_value(e.dn) == value) return with_account(Outcome::ok(), e.dn, anchor_of(e), true);
    const LdapResult r = session_->rename(e.dn, ldap::make_rdn("CN", value), "", true);
    if (r.ok())
      return with_account(Outcome::ok(), ldap::make_dn("CN", value, parent), anchor_of(e), false);
    if (r.code != code::kEntryAlreadyExists || collision) return fail(r, "rename " + e.dn);
  }
  return Outcome::permanent("ldap:68", "rename " + e.dn + ": cn taken");
}

Outcome AdConnector::move(const Operation& op) {
  Lookup l = locate(op);
  if (!l.result.ok()) return fail(l.result, "move: locate worker " + op.worker_id);
  if (!l.entry) return Outcome::permanent("ldap:32", "move: no account for worker " + op.worker_id);
  const Entry& e = *l.entry;
  const std::string target = parent_dn(op.ou);
  const ldap::DnSplit current = ldap::split_dn(e.dn);
  if (ldap::same_dn(current.parent, target)) return ok(e, true);
  const std::string username = e.first("sAMAccountName").value_or(op.username);
  for (bool collision : {false, true}) {
    // The cn is unique per OU only: a namesake in the target OU gets the username suffix.
    const std::string value = user_cn(rdn_value(e.dn), username, collision);
    const std::string rdn = ldap::make_rdn("CN", value);
    const LdapResult r = session_->rename(e.dn, rdn, target, true);
    if (r.ok()) return with_account(Outcome::ok(), ldap::join_dn(rdn, target), anchor_of(e), false);
    if (r.code != code::kEntryAlreadyExists || collision) {
      return fail(r, "move " + e.dn + " to " + target);
    }
  }
  return Outcome::permanent("ldap:68", "move " + e.dn + ": cn taken in " + target);
}

// Read-modify-write of userAccountControl: only bit 0x2 changes, so flags an administrator set
// (password never expires, smart card required, ...) survive.
Outcome AdConnector::set_enabled(const Operation& op, bool enabled) {
  const char* what = enabled ? "enable" : "disable";
  Lookup l = locate(op);
  if (!l.result.ok()) return fail(l.result, std::string(what) + ": locate worker " + op.worker_id);
  if (!l.entry) {
    return Outcome::permanent("ldap:32",
                              std::string(what) + ": no account for worker " + op.worker_id);
  }
  const Entry& e = *l.entry;
  const auto uac = parse_uac(e.first("userAccountControl").value_or(""));
  if (!uac)
    return Outcome::permanent("ad:uac",
                              std::string(what) + ": " + e.dn + " has no userAccountControl");
  const std::uint32_t wanted = with_disabled(*uac, !enabled);
  if (wanted == *uac) return ok(e, true);
  const LdapResult r = session_->modify(
      e.dn, {{Modification::Op::Replace, "userAccountControl", {format_uac(wanted)}}});
  if (!r.ok()) return fail(r, std::string(what) + " " + e.dn);
  log::info(std::string("ad account ") + (enabled ? "enabled" : "disabled"),
            {{"worker_id", op.worker_id}, {"dn", e.dn}});
  return ok(e, false);
}

// A global security group holding `member`. Its sAMAccountName (unique across the domain, users
// included) is the group name made valid; when that is taken, AD generates one.
LdapResult AdConnector::create_group(const std::string& gdn, const std::string& name,
                                     const std::string& member) {
  Attributes attrs = {{"objectClass", {"top", "group"}},
                      {"cn", {name}},
                      {"groupType", {kGlobalSecurityGroup}},
                      {"member", {member}}};
  Attributes named = attrs;
  named.push_back({"sAMAccountName", {group_account_name(name)}});
  LdapResult r = session_->add(gdn, named);
  if (r.code != code::kEntryAlreadyExists) return r;
  if (Lookup there = read_entry(gdn, "(objectClass=group)"); there.entry || !there.result.ok()) {
    return r;  // the group itself exists (created concurrently)
  }
  return session_->add(gdn, attrs);
}

// Whether `member_dn` is a direct member of the group (nullopt-free: false when the group is
// missing).
Result<bool> AdConnector::is_member(const std::string& group, const std::string& member_dn) {
  SearchRequest req;
  req.base = group;
  req.scope = Scope::Base;
  req.filter = ldap::equality_filter("member", member_dn);
  req.attrs = {"cn"};
  SearchResult r = session_->search(req);
  if (r.result.code == code::kNoSuchObject) return false;
  if (!r.result.ok()) return error(r.result, "read " + group);
  return !r.entries.empty();
}

Outcome AdConnector::add_member(const Operation& op) {
  if (op.group.empty()) return Outcome::permanent("ad:op", "add_member without a group");
  Lookup l = locate(op);
  if (!l.result.ok()) return fail(l.result, "add_member: locate worker " + op.worker_id);
  if (!l.entry) {
    return Outcome::permanent("ldap:32", "add_member: no account for worker " + op.worker_id);
  }
  const Entry& e = *l.entry;
  const std::string gdn = group_dn(op.group);
  if (member_of(e, gdn)) return ok(e, true);
  for (int attempt = 0; attempt < 2; ++attempt) {
    LdapResult r = session_->modify(gdn, {{Modification::Op::Add, "member", {e.dn}}},
                                    {ldap::permissive_modify_control()});
    if (r.ok()) return ok(e, false);
    if (r.code == code::kEntryAlreadyExists || r.code == code::kAttributeOrValueExists) {
      // Servers that ignore permissive modify for linked attributes (Samba) say "exists".
      return ok(e, true);
    }
    if (r.code != code::kNoSuchObject) return fail(r, "add_member " + gdn);
    // 32 names either the group or the member; only a missing group is ours to fix.
    Lookup group = read_entry(gdn, "(objectClass=group)");
    if (!group.result.ok()) return fail(group.result, "add_member: read " + gdn);
    if (group.entry) return fail(r, "add_member " + gdn);
    r = create_group(gdn, op.group, e.dn);
    if (r.ok()) {
      log::info("ad group created", {{"dn", gdn}, {"worker_id", op.worker_id}});
      return ok(e, false);
    }
    if (r.code != code::kEntryAlreadyExists) return fail(r, "add_member: create " + gdn);
    // Created concurrently: add the member to it on the second pass.
  }
  return Outcome::retryable("ldap:68", "add_member " + gdn + ": group appeared concurrently");
}

Outcome AdConnector::remove_member(const Operation& op) {
  if (op.group.empty()) return Outcome::permanent("ad:op", "remove_member without a group");
  Lookup l = locate(op);
  if (!l.result.ok()) return fail(l.result, "remove_member: locate worker " + op.worker_id);
  const std::string member = l.entry ? l.entry->dn : op.dn;
  const std::string anchor = l.entry ? anchor_of(*l.entry) : op.anchor;
  if (member.empty()) return with_account(Outcome::ok(), member, anchor, true);
  const std::string gdn = group_dn(op.group);
  if (l.entry && !member_of(*l.entry, gdn))
    return with_account(Outcome::ok(), member, anchor, true);
  const LdapResult r = session_->modify(gdn, {{Modification::Op::Delete, "member", {member}}},
                                        {ldap::permissive_modify_control()});
  if (r.ok()) return with_account(Outcome::ok(), member, anchor, false);
  if (r.code == code::kNoSuchObject || r.code == code::kNoSuchAttribute ||
      r.code == code::kUnwillingToPerform) {
    // Missing group, or not a member (AD without permissive modify answers 53): done, once
    // the group confirms it does not list the member.
    auto still = is_member(gdn, member);
    if (still.ok() && !still.value()) return with_account(Outcome::ok(), member, anchor, true);
  }
  return fail(r, "remove_member " + gdn);
}

Outcome AdConnector::remove(const Operation& op) {
  Lookup l = locate(op);
  if (!l.result.ok()) return fail(l.result, "delete: locate worker " + op.worker_id);
  if (!l.entry) return with_account(Outcome::ok(), op.dn, op.anchor, true);
  const Entry& e = *l.entry;
  // Tree delete: AD and Exchange hang child objects under users (devices, mailbox settings).
  const LdapResult r = session_->remove(e.dn, {Control{kTreeDeleteOid, {}, false}});
  if (r.code == code::kNoSuchObject) return ok(e, true);
  if (!r.ok()) return fail(r, "delete " + e.dn);
  log::info("ad account deleted", {{"worker_id", op.worker_id}, {"dn", e.dn}});
  return ok(e, false);
}

}  // namespace

std::unique_ptr<DirectoryConnector> make_connector(const DirectoryConfig& config,
                                                   const AdOptions& options) {
  return std::make_unique<AdConnector>(config, options);
}

}  // namespace ad

std::unique_ptr<DirectoryConnector> make_ad_connector(const DirectoryConfig& config) {
  return ad::make_connector(config, ad::AdOptions{});
}

}  // namespace prov
