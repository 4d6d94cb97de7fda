#include "ldap/ldap_connector.h"

#include <chrono>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "ldap/escape.h"
#include "ldap/password_drop.h"
#include "prov/crypto.h"
#include "prov/log.h"

namespace prov {
namespace ldap {

const ResultCodeTable& openldap_result_codes() { return ResultCodeTable::standard(); }

SessionOptions session_options(const DirectoryConfig& config) {
  SessionOptions o;
  o.url = config.url;
  o.start_tls = config.start_tls;
  o.tls = config.tls;
  o.timeout = std::chrono::milliseconds(config.timeout_ms > 0 ? config.timeout_ms : 10000);
  return o;
}

namespace {

// Attributes the connector manages itself; op.attributes cannot override them.
bool is_reserved(std::string_view attr) {
  static const std::set<std::string, AttrNameLess> kReserved = {
      "objectClass", "uid", "employeeNumber", "userPassword", "pwdAccountLockedTime", "entryUUID"};
  return kReserved.count(attr) > 0;
}

// Attributes that are not reported in Account::attributes (identity, state and secrets).
bool is_hidden(std::string_view attr) {
  static const std::set<std::string, AttrNameLess> kHidden = {
      "objectClass",          "uid",       "employeeNumber",   "userPassword",
      "pwdAccountLockedTime", "entryUUID", "pwdChangedTime",   "pwdFailureTime",
      "pwdHistory",           "pwdReset",  "pwdPolicySubentry"};
  return kHidden.count(attr) > 0;
}

bool same_attr(std::string_view a, std::string_view b) {
  return !AttrNameLess{}(a, b) && !AttrNameLess{}(b, a);
}

const std::vector<std::string>& account_attrs() {
  static const std::vector<std::string> kAttrs = {"*", "entryUUID", "pwdAccountLockedTime"};
  return kAttrs;
}

Outcome with_account(Outcome o, const std::string& dn, const std::string& anchor,
                     bool already_done) {
  o.dn = dn;
  o.anchor = anchor;
  o.already_done = already_done;
  return o;
}

// The modifications an Update makes to entry `e`: replace what has a value, delete what the
// policy emptied and the entry still has.
std::vector<Modification> update_modifications(const Operation& op, const Entry& e) {
  std::vector<Modification> mods;
  for (const auto& [name, value] : op.attributes) {
    if (is_reserved(name)) continue;  // identity, state and secrets have their own operations
    if (!value.empty()) {
      mods.push_back({Modification::Op::Replace, name, {value}});
    } else if (e.has(name)) {
      mods.push_back({Modification::Op::Delete, name, {}});
    }
  }
  return mods;
}

// ppolicy locking: a permanent pwdAccountLockedTime locks, its absence unlocks.
bool lock_already(const Entry& e, bool locked) {
  const auto current = e.first("pwdAccountLockedTime");
  return locked ? current == kPermanentLockTime : !current.has_value();
}

std::vector<Modification> lock_modifications(bool locked) {
  if (locked) return {{Modification::Op::Replace, "pwdAccountLockedTime", {kPermanentLockTime}}};
  return {{Modification::Op::Delete, "pwdAccountLockedTime", {}}};
}

class LdapConnector final : public DirectoryConnector {
 public:
  explicit LdapConnector(DirectoryConfig config) : config_(std::move(config)) {}

  Capabilities capabilities() const override {
    Capabilities c;
    c.sets_passwords = !config_.password_dir.empty() && encrypted(session_options(config_));
    // slapd stores a DN value without checking that its entry exists (refint acts only on
    // renames and deletes), so a report's create may name a manager whose create is queued.
    c.forward_references = true;
    return c;
  }
  std::string planned_dn(const std::string& username, const std::string& ou) const override {
    return make_dn("uid", username, people_parent(ou));
  }

  Status connect() override;
  Result<std::optional<Account>> find(const Anchor& anchor) override;
  Result<std::optional<std::string>> username_holder(const std::string& username) override;
  Result<Holders> username_holders(const std::vector<std::string>& names) override;
  Outcome apply(const Operation& op) override;
  std::vector<Outcome> apply_batch(const std::vector<Operation>& ops) override;
  Status for_each_account(const std::function<void(const Account&)>& visit) override;

 private:
  // Connects on first use and after a transport failure.
  Status ensure_session();
  Outcome unreachable(const Status& s) const {
    return Outcome::retryable("ldap:-1", s.error().message);
  }
  Outcome outcome(const LdapResult& r, std::string_view context) const {
    return openldap_result_codes().to_outcome(r, context);
  }

  std::string people_parent(const std::string& ou) const { return join_dn(ou, config_.base_dn); }
  std::string groups_parent() const { return join_dn(config_.groups_ou, config_.base_dn); }
  std::string group_dn(const std::string& group) const {
    return make_dn("cn", group, groups_parent());
  }

  // Account entries by employeeNumber (the ownership anchor). Error result on failure.
  SearchResult search_by_worker(const std::string& worker_id);
  // The entry of op's worker: at op.dn when it still belongs to the worker, else wherever the
  // worker's employeeNumber is now. result.ok() with nullopt when there is none.
  struct Located {
    LdapResult result;
    std::optional<Entry> entry;
  };
  Located locate(const Operation& op);
  Located read_entry(const std::string& dn, const std::string& filter);
  Account to_account(const Entry& e) const;
  std::string relative_ou(const std::string& dn) const;

  Outcome create(const Operation& op);
  Outcome update(const Operation& op);
  Outcome move(const Operation& op);
  Outcome set_locked(const Operation& op, bool locked);
  Outcome add_member(const Operation& op);
  Outcome remove_member(const Operation& op);
  Outcome remove(const Operation& op);
  // The attributes of a new entry (never a password: see set_initial_password).
  Attributes new_entry(const Operation& op) const;
  // Whether a create for `op` still has to give the worker's entry `e` its initial password: one
  // is wanted and the entry has none (its create stopped before the password was set).
  bool password_owed(const Operation& op, const Entry& e) const {
    return op.set_initial_password && !config_.password_dir.empty() && !e.has("userPassword");
  }
  // Whether initial passwords travel inside the adds (directory.initial_password), and the
  // userPassword value that carries `cleartext` there.
  bool password_in_add() const {
    return config_.password_method == PasswordMethod::CleartextInAdd ||
           (config_.password_method == PasswordMethod::HashedInAdd && !hashed_refused_);
  }
  std::string password_value(const std::string& cleartext) const {
    return config_.password_method == PasswordMethod::HashedInAdd ? ssha_password(cleartext)
                                                                  : cleartext;
  }
  // The server refused a hashed userPassword in an add (ppolicy with pwdCheckQuality 2 cannot
  // check a hash): from then on this connector sets passwords with Password Modify.
  void note_add_refused(const LdapResult& r);
  // Delivers a fresh initial password for the account at `dn` to the password folder, then sets
  // it with the Password Modify operation, over TLS only. Ok, or the outcome that stopped it
  // (the account itself stays as it is).
  Outcome set_initial_password(const std::string& dn, const std::string& worker_id);
  // Finishes a create whose entry exists: sets a password still owed, else reports it done.
  Outcome finish_create(const Operation& op, const Entry& e, bool created_now);
  // apply_batch's two halves: windowed rounds for creates, and for the other operations a
  // windowed look-up round followed by a windowed round of their (single) modify requests.
  void create_batch(const std::vector<Operation>& ops, std::vector<Outcome>& out,
                    std::vector<bool>& done);
  void modify_batch(const std::vector<Operation>& ops, std::vector<Outcome>& out,
                    std::vector<bool>& done);
  // Sends the requests produced by `submit` for indexes [0, n) with at most pipeline_window
  // outstanding; replies[i] receives request i's reply (or the error that prevented it).
  void pipeline(std::size_t n, const std::function<Result<int>(std::size_t)>& submit,
                std::vector<std::optional<Result<Reply>>>& replies);
  Outcome rewrite_memberships(const std::string& old_dn, const std::string& new_dn);

  DirectoryConfig config_;
  std::unique_ptr<Session> session_;
  // Set after a failed reconnect: until then further operations fail at once (retryable), so one
  // batch costs one reconnect attempt during an outage, not one per operation.
  std::chrono::steady_clock::time_point unreachable_until_{};
  std::string unreachable_reason_;
  // Entries found by apply_batch's look-up round, keyed by worker (a batch holds at most one
  // operation per worker); locate() takes them once instead of asking again.
  std::map<std::string, Entry> prelocated_;
  bool hashed_refused_ = false;  // see note_add_refused
};

void LdapConnector::note_add_refused(const LdapResult& r) {
  if (config_.password_method != PasswordMethod::HashedInAdd || hashed_refused_ ||
      r.code != code::kConstraintViolation)
    return;
  hashed_refused_ = true;
  log::warn("ldap server refused a hashed initial password in an add; setting initial passwords "
            "with Password Modify instead (set directory.initial_password: password_modify to "
            "skip the attempt)",
            {{"error", r.code_string()}, {"detail", r.message}});
}

Status LdapConnector::connect() {
  auto opened = Session::open(session_options(config_));
  if (!opened.ok()) {
    session_.reset();
    return opened.error();
  }
  session_ = std::move(opened.value());
  const LdapResult r = session_->bind(config_.bind_dn, config_.password);
  if (!r.ok()) {
    const bool credentials = r.code == code::kInvalidCredentials;
    const bool retryable =
        !credentials && openldap_result_codes().kind(r.code) == Outcome::Kind::Retryable;
    session_.reset();
    return Error{"ldap bind as " + config_.bind_dn + " failed: " +
                     (credentials ? std::string("invalid credentials") : r.describe()),
                 retryable};
  }
  return Status::Ok();
}

Status LdapConnector::ensure_session() {
  if (session_ && !session_->broken()) return Status::Ok();
  const auto now = std::chrono::steady_clock::now();
  if (now < unreachable_until_) return Error{unreachable_reason_, true};
  Status st;
  if (!session_) {
    st = connect();
  } else {
    const LdapResult r = session_->reconnect();
    if (r.ok()) return Status::Ok();
    st = Error{"ldap reconnect to " + config_.url + " failed: " + r.describe(),
               is_transport_error(r.code) || openldap_result_codes().kind(r.code) == Outcome::Kind::Retryable};
  }
  if (!st.ok() && st.error().retryable) {
    // Counted from the end of the attempt: an attempt against a server that never answers
    // takes the whole timeout, and the operations queued behind it must still fail fast.
    unreachable_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    unreachable_reason_ = st.error().message;
  }
  return st;
}

SearchResult LdapConnector::search_by_worker(const std::string& worker_id) {
  SearchRequest req;
  req.base = config_.base_dn;
  req.scope = Scope::Subtree;
  req.filter = "(&(objectClass=inetOrgPerson)" + equality_filter("employeeNumber", worker_id) + ")";
  req.attrs = account_attrs();
  return session_->search(req);
}

LdapConnector::Located LdapConnector::read_entry(const std::string& dn, const std::string& filter) {
  SearchRequest req;
  req.base = dn;
  req.scope = Scope::Base;
  req.filter = filter;
  req.attrs = account_attrs();
  SearchResult r = session_->search(req);
  if (r.result.code == code::kNoSuchObject || r.result.code == code::kInvalidDnSyntax) {
    return {LdapResult{}, std::nullopt};
  }
  if (!r.result.ok()) return {r.result, std::nullopt};
  if (r.entries.empty()) return {LdapResult{}, std::nullopt};
  return {LdapResult{}, std::move(r.entries.front())};
}

LdapConnector::Located LdapConnector::locate(const Operation& op) {
  // apply_batch already read this worker's entry at op.dn in its look-up round.
  if (auto it = prelocated_.find(op.worker_id); it != prelocated_.end()) {
    Located at{LdapResult{}, std::move(it->second)};
    prelocated_.erase(it);
    return at;
  }
  if (!op.dn.empty()) {
    Located at = read_entry(op.dn, "(&(objectClass=inetOrgPerson)" +
                                       equality_filter("employeeNumber", op.worker_id) + ")");
    if (!at.result.ok() || at.entry) return at;
  }
  // The entry moved (or op.dn is unknown): find it by its owner.
  SearchResult r = search_by_worker(op.worker_id);
  if (!r.result.ok()) return {r.result, std::nullopt};
  if (r.entries.empty()) return {LdapResult{}, std::nullopt};
  return {LdapResult{}, std::move(r.entries.front())};
}

std::string LdapConnector::relative_ou(const std::string& dn) const {
  const std::string parent = split_dn(dn).parent;
  // Strip ",<base_dn>" by counting RDNs: the base's RDN count from the end.
  std::vector<std::string> rdns;
  std::string rest = parent;
  while (!rest.empty()) {
    DnSplit s = split_dn(rest);
    rdns.push_back(s.rdn);
    rest = s.parent;
  }
  std::size_t base_rdns = 0;
  for (std::string b = config_.base_dn; !b.empty(); b = split_dn(b).parent) ++base_rdns;
  std::string out;
  if (rdns.size() < base_rdns) return parent;
  for (std::size_t i = 0; i + base_rdns < rdns.size(); ++i) {
    if (!out.empty()) out.push_back(',');
    out += rdns[i];
  }
  return out;
}

Account LdapConnector::to_account(const Entry& e) const {
  Account a;
  a.worker_id = e.first("employeeNumber").value_or("");
  a.username = e.first("uid").value_or("");
  a.anchor = e.first("entryUUID").value_or("");
  a.dn = e.dn;
  a.ou = relative_ou(e.dn);
  a.exists = true;
  a.enabled = !e.has("pwdAccountLockedTime");
  for (const auto& [name, values] : e.attrs) {
    if (is_hidden(name) || values.empty()) continue;
    a.attributes[name] = values.front();
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// find / for_each_account

Result<std::optional<Account>> LdapConnector::find(const Anchor& anchor) {
  if (Status s = ensure_session(); !s.ok()) return s.error();
  std::optional<Entry> entry;
  const std::string person = "(objectClass=inetOrgPerson)";
  if (anchor.kind == Anchor::Kind::Dn) {
    Located at = read_entry(anchor.value, person);
    if (!at.result.ok()) {
      return Error{"ldap find " + anchor.value + ": " + at.result.describe(),
                   openldap_result_codes().kind(at.result.code) == Outcome::Kind::Retryable};
    }
    entry = std::move(at.entry);
  } else {
    const char* attr = anchor.kind == Anchor::Kind::Guid         ? "entryUUID"
                       : anchor.kind == Anchor::Kind::EmployeeId ? "employeeNumber"
                                                                 : "uid";
    SearchRequest req;
    req.base = config_.base_dn;
    req.filter = "(&" + person + equality_filter(attr, anchor.value) + ")";
    req.attrs = account_attrs();
    SearchResult r = session_->search(req);
    if (!r.result.ok()) {
      return Error{std::string("ldap find by ") + attr + ": " + r.result.describe(),
                   openldap_result_codes().kind(r.result.code) == Outcome::Kind::Retryable};
    }
    if (!r.entries.empty()) entry = std::move(r.entries.front());
  }
  if (!entry) return std::optional<Account>{};
  Account account = to_account(*entry);

  SearchRequest groups;
  groups.base = groups_parent();
  groups.filter = "(&(objectClass=groupOfNames)" + equality_filter("member", entry->dn) + ")";
  groups.attrs = {"cn"};
  SearchResult g = session_->search(groups);
  if (!g.result.ok() && g.result.code != code::kNoSuchObject) {
    return Error{"ldap find groups of " + entry->dn + ": " + g.result.describe(),
                 openldap_result_codes().kind(g.result.code) == Outcome::Kind::Retryable};
  }
  for (const auto& ge : g.entries) {
    if (auto cn = ge.first("cn")) account.groups.insert(*cn);
  }
  return std::optional<Account>(std::move(account));
}

Result<std::optional<std::string>> LdapConnector::username_holder(const std::string& username) {
  if (Status s = ensure_session(); !s.ok()) return s.error();
  SearchRequest req;
  req.base = config_.base_dn;
  req.filter = "(&(objectClass=inetOrgPerson)" + equality_filter("uid", username) + ")";
  req.attrs = {"employeeNumber"};
  SearchResult r = session_->search(req);
  if (!r.result.ok()) {
    return Error{"ldap find by uid: " + r.result.describe(),
                 openldap_result_codes().kind(r.result.code) == Outcome::Kind::Retryable};
  }
  if (r.entries.empty()) return std::optional<std::string>{};
  return std::optional<std::string>(r.entries.front().first("employeeNumber").value_or(""));
}

// One search for every name: (|(uid=a)(uid=b)…). uid matches without regard to case, so the
// answers are matched back to the names asked the same way.
Result<AccountReader::Holders> LdapConnector::username_holders(
    const std::vector<std::string>& names) {
  Holders out;
  if (names.empty()) return out;
  if (Status s = ensure_session(); !s.ok()) return s.error();
  for (const auto& name : names) out[name] = std::nullopt;
  SearchRequest req;
  req.base = config_.base_dn;
  req.filter = "(&(objectClass=inetOrgPerson)" + any_of_filter("uid", names) + ")";
  req.attrs = {"uid", "employeeNumber"};
  SearchResult r = session_->search(req);
  if (!r.result.ok()) {
    return Error{"ldap find by uid: " + r.result.describe(),
                 openldap_result_codes().kind(r.result.code) == Outcome::Kind::Retryable};
  }
  for (const auto& e : r.entries) {
    const std::string holder = e.first("employeeNumber").value_or("");
    for (const auto& uid : e.values("uid"))
      for (auto& [name, held] : out)
        if (same_attr(name, uid)) held = holder;  // ASCII case-insensitive, as uid matches
  }
  return out;
}

Status LdapConnector::for_each_account(const std::function<void(const Account&)>& visit) {
  if (Status s = ensure_session(); !s.ok()) return s;
  // One pass over the groups first, so memberships cost one search instead of one per account:
  // a search per account makes slapd test each candidate group's values for it (23 times slower
  // at 100,000 people). What is kept of a membership is 8 bytes of a keyed hash of the member's
  // DN and the group's index — 16 bytes, where the DN and a set of names took hundreds. The hash
  // is keyed with a random key per listing, so no DN can be crafted to take another's groups; a
  // chance collision (about 1 in 10^7 at a million people) would report one false drift.
  const std::string key = random_password(32);
  const auto digest = [&](std::string_view dn) {
    const std::string h = hmac_sha256(key, normalize_dn(dn));
    std::uint64_t v = 0;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
  };
  std::vector<std::string> names;
  // A deque grows without the copy a vector makes when it doubles: no moment with twice the index.
  std::deque<std::pair<std::uint64_t, std::uint32_t>> members;
  SearchRequest groups;
  groups.base = groups_parent();
  groups.filter = "(objectClass=groupOfNames)";
  groups.attrs = {"cn", "member"};
  LdapResult gr = session_->search_each(groups, [&](const Entry& g) {
    const auto cn = g.first("cn");
    if (!cn) return true;
    const auto index = static_cast<std::uint32_t>(names.size());
    names.push_back(*cn);
    for (const auto& m : g.values("member")) members.emplace_back(digest(m), index);
    return true;
  });
  if (!gr.ok() && gr.code != code::kNoSuchObject) {
    return Error{"ldap list groups: " + gr.describe(),
                 openldap_result_codes().kind(gr.code) == Outcome::Kind::Retryable};
  }
  std::sort(members.begin(), members.end());
  SearchRequest req;
  req.base = config_.base_dn;
  req.filter = "(&(objectClass=inetOrgPerson)(employeeNumber=*))";
  req.attrs = account_attrs();
  LdapResult r = session_->search_each(req, [&](const Entry& e) {
    Account a = to_account(e);
    const std::uint64_t h = digest(e.dn);
    for (auto it = std::lower_bound(members.begin(), members.end(), std::make_pair(h, 0u));
         it != members.end() && it->first == h; ++it)
      a.groups.insert(names[it->second]);
    visit(a);
    return true;
  });
  if (!r.ok()) {
    return Error{"ldap list accounts: " + r.describe(),
                 openldap_result_codes().kind(r.code) == Outcome::Kind::Retryable};
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// apply

Outcome LdapConnector::apply(const Operation& op) {
  if (Status s = ensure_session(); !s.ok()) return unreachable(s);
  switch (op.kind) {
    case OpKind::Create:
      return create(op);
    case OpKind::Update:
      return update(op);
    case OpKind::Move:
      return move(op);
    case OpKind::Enable:
      return set_locked(op, false);
    case OpKind::Disable:
      return set_locked(op, true);
    case OpKind::AddMember:
      return add_member(op);
    case OpKind::RemoveMember:
      return remove_member(op);
    case OpKind::Delete:
      return remove(op);
  }
  return Outcome::permanent("ldap:op", "unknown operation kind");
}

void LdapConnector::pipeline(std::size_t n, const std::function<Result<int>(std::size_t)>& submit,
                             std::vector<std::optional<Result<Reply>>>& replies) {
  const std::size_t window =
      static_cast<std::size_t>(config_.pipeline_window > 0 ? config_.pipeline_window : 1);
  ldap::pipeline(*session_, n, window, submit, replies);
}

// A batch holds operations for different workers, so they may overlap on the wire. Creates — the
// bulk of every initial load — go in three windowed rounds (look up the owner, add, read back
// entryUUID); the other operations in two (read the entry at its known DN, send the one modify
// that most of them need). Whatever needs a decision beyond that (an existing entry, a refused
// request, a move or a delete) goes through apply() one at a time afterwards: correctness first.
std::vector<Outcome> LdapConnector::apply_batch(const std::vector<Operation>& ops) {
  std::vector<Outcome> out(ops.size());
  if (Status s = ensure_session(); !s.ok()) {
    for (auto& o : out) o = unreachable(s);
    return out;
  }
  std::vector<bool> done(ops.size(), false);
  if (ops.size() > 1) {
    create_batch(ops, out, done);
    modify_batch(ops, out, done);
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!done[i]) out[i] = apply(ops[i]);
  }
  prelocated_.clear();
  return out;
}

void LdapConnector::create_batch(const std::vector<Operation>& ops, std::vector<Outcome>& out,
                                 std::vector<bool>& done) {
  std::vector<std::size_t> creates;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind == OpKind::Create && !ops[i].username.empty() && !ops[i].worker_id.empty()) {
      creates.push_back(i);
    }
  }
  if (creates.empty()) return;
  // Round 1: does the worker already have an entry?
  std::vector<std::optional<Result<Reply>>> found;
  pipeline(
      creates.size(),
      [&](std::size_t k) {
        SearchRequest req;
        req.base = config_.base_dn;
        req.filter = "(&(objectClass=inetOrgPerson)" +
                     equality_filter("employeeNumber", ops[creates[k]].worker_id) + ")";
        req.attrs = {"entryUUID", "userPassword"};
        return session_->submit_search(req);
      },
      found);
  // Round 2: add the missing ones.
  std::vector<std::size_t> adds;
  std::vector<std::string> dns;
  std::vector<Attributes> entries;
  for (std::size_t k = 0; k < creates.size(); ++k) {
    const std::size_t i = creates[k];
    if (!found[k] || !found[k]->ok() || !(*found[k])->result.ok()) continue;  // apply() decides
    const auto& entries_found = (*found[k])->entries;
    if (!entries_found.empty()) {
      const Entry& e = entries_found.front();
      if (password_owed(ops[i], e)) continue;  // apply() sets it
      out[i] = with_account(Outcome::ok(), e.dn, e.first("entryUUID").value_or(""), true);
      done[i] = true;
      continue;
    }
    adds.push_back(i);
    dns.push_back(planned_dn(ops[i].username, ops[i].ou));
    entries.push_back(new_entry(ops[i]));
  }
  const Status transport = password_transport(session_->options());
  // directory.initial_password hashed_in_add / cleartext_in_add: the passwords travel inside the
  // adds. Each add's file is written, named and flushed before the add is sent, so no account
  // ever has a password nobody can read.
  std::vector<bool> in_add(adds.size(), false);
  // The folder is opened and checked once for the batch's files.
  std::optional<Result<PasswordFolder>> folder;
  auto stage = [&](const std::string& worker_id, const std::string& password) {
    if (!folder) folder = PasswordFolder::open(config_.password_dir);
    if (!folder->ok()) return Result<PasswordDrop>(folder->error());
    return PasswordDrop::stage(**folder, worker_id, password, PasswordDrop::Durability::Deferred);
  };
  // Writes, names and flushes the password files of adds [first, last); an add whose file is
  // not durable goes without a password (apply() then delivers one).
  auto prepare = [&](std::size_t first, std::size_t last) {
    bool any = false;
    for (std::size_t k = first; k < last; ++k) {
      if (!ops[adds[k]].set_initial_password) continue;
      std::string password = random_password();
      auto drop = stage(ops[adds[k]].worker_id, password);
      if (drop.ok() && drop->commit().ok()) {
        entries[k].push_back({"userPassword", {password_value(password)}});
        in_add[k] = any = true;
      }
      std::fill(password.begin(), password.end(), '\0');
    }
    if (!any || PasswordDrop::sync_folder(config_.password_dir).ok()) return;
    for (std::size_t k = first; k < last; ++k) {  // not durable: no password goes out
      if (!in_add[k]) continue;
      std::fill(entries[k].back().second[0].begin(), entries[k].back().second[0].end(), '\0');
      entries[k].pop_back();
      in_add[k] = false;
    }
  };
  const bool passwords_in_add =
      password_in_add() && transport.ok() && !config_.password_dir.empty();
  // Round 2: the adds. The password files of each window are written when its first add is
  // about to go, while the server still works on the previous window's adds: a bulk hire writes
  // thousands of files into one folder, which would otherwise sit in front of every window.
  const std::size_t window =
      static_cast<std::size_t>(config_.pipeline_window > 0 ? config_.pipeline_window : 1);
  std::vector<std::optional<Result<Reply>>> added;
  pipeline(
      adds.size(),
      [&](std::size_t k) {
        if (passwords_in_add && k % window == 0) prepare(k, std::min(adds.size(), k + window));
        return session_->submit_add(dns[k], entries[k]);
      },
      added);
  std::vector<std::size_t> reads;
  for (std::size_t k = 0; k < adds.size(); ++k) {
    if (in_add[k]) {
      auto& password = entries[k].back().second[0];
      std::fill(password.begin(), password.end(), '\0');
    }
    const bool answered =
        added[k] && added[k]->ok() && !is_transport_error((*added[k])->result.code);
    if (answered && (*added[k])->result.ok()) {
      reads.push_back(k);
    } else if (in_add[k] && answered) {
      // Refused: that password exists nowhere. (Unanswered: the server may have it.) apply()
      // creates it again, with Password Modify when the server refused the hash.
      PasswordDrop::withdraw(config_.password_dir, ops[adds[k]].worker_id);
      note_add_refused((*added[k])->result);
    }
  }
  // The initial passwords of what was added: every file is written and named first, and one
  // flush makes them all durable while round 3 runs; only then do the passwords go to the server
  // (round 4), so no crash leaves an account whose password nobody can read.
  std::vector<std::string> passwords(adds.size());
  std::vector<std::size_t> password_sets;  // indexes into adds
  for (std::size_t k : reads) {
    const std::size_t i = adds[k];
    if (!ops[i].set_initial_password || config_.password_dir.empty() || in_add[k]) continue;
    if (!transport.ok()) continue;  // settled below, like a password the server refused
    std::string password = random_password();
    auto drop = stage(ops[i].worker_id, password);
    if (drop.ok() && drop->commit().ok()) {
      passwords[k] = std::move(password);
      password_sets.push_back(k);
    }
    std::fill(password.begin(), password.end(), '\0');
  }
  std::future<Status> synced;
  if (!password_sets.empty()) {
    synced = std::async(std::launch::async,
                        [dir = config_.password_dir] { return PasswordDrop::sync_folder(dir); });
  }
  // Round 3: read back the anchors of what was added.
  std::vector<std::optional<Result<Reply>>> read;
  pipeline(
      reads.size(),
      [&](std::size_t r) {
        SearchRequest req;
        req.base = dns[reads[r]];
        req.scope = Scope::Base;
        req.attrs = {"entryUUID"};
        return session_->submit_search(req);
      },
      read);
  std::vector<std::string> anchors(adds.size());
  for (std::size_t r = 0; r < reads.size(); ++r) {
    if (read[r] && read[r]->ok() && !(*read[r])->entries.empty()) {
      anchors[reads[r]] = (*read[r])->entries.front().first("entryUUID").value_or("");
    }
  }
  // Round 4: the passwords. One that is not set leaves its create to apply(), which finds the
  // entry owing it (and reports why, when it cannot be set).
  std::vector<bool> password_set(in_add);
  if (synced.valid() && synced.get().ok()) {
    std::vector<std::optional<Result<Reply>>> set;
    pipeline(
        password_sets.size(),
        [&](std::size_t p) {
          return session_->submit_password(dns[password_sets[p]], passwords[password_sets[p]]);
        },
        set);
    for (std::size_t p = 0; p < password_sets.size(); ++p) {
      const std::size_t k = password_sets[p];
      const bool answered = set[p] && set[p]->ok() && !is_transport_error((*set[p])->result.code);
      password_set[k] = answered && (*set[p])->result.ok();
      // Only a refusal withdraws the file: without an answer the server may have the password.
      if (answered && !password_set[k])
        PasswordDrop::withdraw(config_.password_dir, ops[adds[k]].worker_id);
    }
  }
  for (auto& password : passwords) std::fill(password.begin(), password.end(), '\0');
  // Round 5: lock again what was created locked and lost its lock to the new password (see
  // finish_create); one that fails is left to apply().
  std::vector<std::size_t> relocks;
  for (std::size_t k : password_sets)
    if (password_set[k] && !ops[adds[k]].enabled) relocks.push_back(k);
  std::vector<std::optional<Result<Reply>>> relocked;
  pipeline(
      relocks.size(),
      [&](std::size_t r) {
        return session_->submit_modify(dns[relocks[r]], lock_modifications(true));
      },
      relocked);
  for (std::size_t r = 0; r < relocks.size(); ++r) {
    if (!relocked[r] || !relocked[r]->ok() || !(*relocked[r])->result.ok())
      password_set[relocks[r]] = false;  // apply() finds it unlocked and locks it
  }
  for (std::size_t k : reads) {
    const std::size_t i = adds[k];
    const bool wanted = ops[i].set_initial_password && !config_.password_dir.empty();
    if (wanted && !password_set[k]) continue;
    out[i] = with_account(Outcome::ok(), dns[k], anchors[k], false);
    done[i] = true;
    log::debug("ldap account created", {{"worker_id", ops[i].worker_id}, {"dn", dns[k]}});
    if (wanted)
      log::info("ldap initial password delivered",
                {{"worker_id", ops[i].worker_id}, {"dn", dns[k]}});
  }
}

void LdapConnector::modify_batch(const std::vector<Operation>& ops, std::vector<Outcome>& out,
                                 std::vector<bool>& done) {
  // Round 1: read every entry at its last known DN, checking it still belongs to the worker.
  std::vector<std::size_t> looked;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!done[i] && ops[i].kind != OpKind::Create && !ops[i].dn.empty() &&
        !ops[i].worker_id.empty())
      looked.push_back(i);
  }
  if (looked.empty()) return;
  // One read per worker and DN: a hire's three or four group additions travel in one batch and
  // would otherwise read the same entry three or four times.
  std::vector<std::size_t> reads;            // index into looked of each distinct read
  std::vector<std::size_t> read_of(looked.size());
  {
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> seen;
    for (std::size_t k = 0; k < looked.size(); ++k) {
      const Operation& op = ops[looked[k]];
      auto [it, fresh] = seen.try_emplace({op.dn, op.worker_id}, reads.size());
      if (fresh) reads.push_back(k);
      read_of[k] = it->second;
    }
  }
  std::vector<std::optional<Result<Reply>>> distinct;
  pipeline(
      reads.size(),
      [&](std::size_t r) {
        const Operation& op = ops[looked[reads[r]]];
        SearchRequest req;
        req.base = op.dn;
        req.scope = Scope::Base;
        req.filter = "(&(objectClass=inetOrgPerson)" +
                     equality_filter("employeeNumber", op.worker_id) + ")";
        req.attrs = account_attrs();
        return session_->submit_search(req);
      },
      distinct);
  std::vector<std::optional<Result<Reply>>> found(looked.size());
  for (std::size_t k = 0; k < looked.size(); ++k) found[k] = distinct[read_of[k]];

  // Round 2: the one modify each simple operation needs. `settle` reads its reply; nullopt
  // leaves the operation to apply() (which starts over: every operation is idempotent).
  // A Write is one modify, or for moves a rename and for deletes a delete request.
  struct Write {
    std::size_t i;
    std::string dn;
    std::vector<Modification> mods;
    std::function<std::optional<Outcome>(const LdapResult&)> settle;
    enum class Kind { Modify, Rename, Remove } kind = Kind::Modify;
    std::string new_rdn{}, new_superior{};  // Rename
  };
  std::vector<Write> writes;
  for (std::size_t k = 0; k < looked.size(); ++k) {
    const std::size_t i = looked[k];
    const Operation& op = ops[i];
    if (!found[k] || !found[k]->ok() || !(*found[k])->result.ok() || (*found[k])->entries.empty())
      continue;  // moved, gone or unreadable: apply() looks it up by owner
    const Entry& e = (*found[k])->entries.front();
    const std::string anchor = e.first("entryUUID").value_or("");
    auto ok = [dn = e.dn, anchor](bool already) {
      return with_account(Outcome::ok(), dn, anchor, already);
    };
    switch (op.kind) {
      case OpKind::AddMember:
        if (op.group.empty()) break;
        writes.push_back({i, group_dn(op.group), {{Modification::Op::Add, "member", {e.dn}}},
                          [ok](const LdapResult& r) -> std::optional<Outcome> {
                            if (r.ok()) return ok(false);
                            if (r.code == code::kAttributeOrValueExists) return ok(true);
                            return std::nullopt;  // e.g. the group does not exist yet
                          }});
        continue;
      case OpKind::RemoveMember:
        if (op.group.empty()) break;
        writes.push_back({i, group_dn(op.group), {{Modification::Op::Delete, "member", {e.dn}}},
                          [ok](const LdapResult& r) -> std::optional<Outcome> {
                            if (r.ok()) return ok(false);
                            if (r.code == code::kNoSuchAttribute || r.code == code::kNoSuchObject)
                              return ok(true);
                            return std::nullopt;  // e.g. the last member of the group
                          }});
        continue;
      case OpKind::Enable:
      case OpKind::Disable: {
        if (config_.lock_method != "ppolicy") break;
        const bool locked = op.kind == OpKind::Disable;
        if (lock_already(e, locked)) {
          out[i] = ok(true);
          done[i] = true;
          continue;
        }
        writes.push_back({i, e.dn, lock_modifications(locked),
                          [ok, locked](const LdapResult& r) -> std::optional<Outcome> {
                            if (r.ok()) return ok(false);
                            if (!locked && r.code == code::kNoSuchAttribute) return ok(true);
                            return std::nullopt;
                          }});
        continue;
      }
      case OpKind::Update: {
        auto mods = update_modifications(op, e);
        if (mods.empty()) {
          out[i] = ok(true);
          done[i] = true;
          continue;
        }
        writes.push_back({i, e.dn, std::move(mods),
                          [ok](const LdapResult& r) -> std::optional<Outcome> {
                            if (r.ok()) return ok(false);
                            return std::nullopt;
                          }});
        continue;
      }
      case OpKind::Move: {
        // Pipelined like the modifies. The rare entry that is already in place (an earlier
        // attempt renamed it) is left to apply(), which also finishes its memberships.
        const std::string target = people_parent(op.ou);
        const DnSplit current = split_dn(e.dn);
        if (same_dn(current.parent, target)) break;
        const std::string moved = join_dn(current.rdn, target);
        Write w{i, e.dn, {}, {}, Write::Kind::Rename, current.rdn, target};
        w.settle = [this, old_dn = e.dn, moved, anchor](const LdapResult& r) -> std::optional<Outcome> {
          if (!r.ok()) return std::nullopt;  // e.g. the name is taken there: apply() reports it
          // Without the refint overlay the old DN stays in every group: rewrite those (a
          // leaver's groups were already removed before the move, so usually none are left).
          if (Outcome o = rewrite_memberships(old_dn, moved); !o.is_ok()) return o;
          return with_account(Outcome::ok(), moved, anchor, false);
        };
        writes.push_back(std::move(w));
        continue;
      }
      case OpKind::Delete: {
        Write w{i, e.dn, {}, {}, Write::Kind::Remove, {}, {}};
        w.settle = [dn = e.dn, anchor](const LdapResult& r) -> std::optional<Outcome> {
          if (r.ok()) return with_account(Outcome::ok(), dn, anchor, false);
          if (r.code == code::kNoSuchObject) return with_account(Outcome::ok(), dn, anchor, true);
          return std::nullopt;
        };
        writes.push_back(std::move(w));
        continue;
      }
      default:
        break;
    }
    prelocated_[op.worker_id] = e;  // odd cases: apply() saves the look-up
  }

  // Memberships of one group travel in one request, additions and removals together: the
  // server rewrites a group entry once per modify, so 100 joiners and 20 leavers of a large
  // group cost one rewrite instead of 120. A request is a set of writes; a shared one that is
  // refused (one of them already a member, say) is retried as single writes in the next round.
  std::vector<std::vector<std::size_t>> requests;
  {
    std::map<std::string, std::vector<std::size_t>> by_group;
    for (std::size_t k = 0; k < writes.size(); ++k) {
      const OpKind kind = ops[writes[k].i].kind;
      if (kind == OpKind::AddMember || kind == OpKind::RemoveMember) {
        by_group[normalize_dn(writes[k].dn)].push_back(k);
      } else {
        requests.push_back({k});
      }
    }
    for (auto& [key, parts] : by_group) requests.push_back(std::move(parts));
  }
  auto send = [&](const std::vector<std::size_t>& parts) {
    const Write& first = writes[parts[0]];
    if (parts.size() == 1) {
      switch (first.kind) {
        case Write::Kind::Rename:
          return session_->submit_rename(first.dn, first.new_rdn, first.new_superior, true);
        case Write::Kind::Remove:
          return session_->submit_remove(first.dn);
        case Write::Kind::Modify:
          break;
      }
      return session_->submit_modify(first.dn, first.mods);
    }
    Modification adds{Modification::Op::Add, "member", {}};
    Modification removes{Modification::Op::Delete, "member", {}};
    for (std::size_t k : parts) {
      const Modification& m = writes[k].mods.front();
      (m.op == Modification::Op::Add ? adds : removes).values.push_back(m.values.front());
    }
    std::vector<Modification> joint;
    if (!adds.values.empty()) joint.push_back(std::move(adds));  // adds first: never empty
    if (!removes.values.empty()) joint.push_back(std::move(removes));
    return session_->submit_modify(first.dn, joint);
  };
  for (int round = 0; round < 2 && !requests.empty(); ++round) {
    std::vector<std::optional<Result<Reply>>> replies;
    pipeline(requests.size(), [&](std::size_t r) { return send(requests[r]); }, replies);
    std::vector<std::vector<std::size_t>> again;
    for (std::size_t r = 0; r < requests.size(); ++r) {
      if (!replies[r] || !replies[r]->ok()) continue;  // transport trouble: apply() retries
      const LdapResult& result = (*replies[r])->result;
      if (requests[r].size() > 1 && !result.ok()) {
        for (std::size_t k : requests[r]) again.push_back({k});
        continue;
      }
      for (std::size_t k : requests[r]) {
        if (auto o = writes[k].settle(result)) {
          out[writes[k].i] = *o;
          done[writes[k].i] = true;
        }
      }
    }
    requests = std::move(again);
  }
}

// The attributes of a new account entry.
Attributes LdapConnector::new_entry(const Operation& op) const {
  Attributes attrs;
  attrs.push_back({"objectClass", {"top", "person", "organizationalPerson", "inetOrgPerson"}});
  attrs.push_back({"uid", {op.username}});
  attrs.push_back({"employeeNumber", {op.worker_id}});
  auto value_or_username = [&](const char* name) {
    auto it = op.attributes.find(name);
    return it != op.attributes.end() && !it->second.empty() ? it->second : op.username;
  };
  attrs.push_back({"cn", {value_or_username("cn")}});
  attrs.push_back({"sn", {value_or_username("sn")}});
  for (const auto& [name, value] : op.attributes) {
    if (value.empty() || is_reserved(name)) continue;
    if (same_attr(name, "cn") || same_attr(name, "sn")) continue;  // added above
    attrs.push_back({name, {value}});
  }
  if (!op.enabled) attrs.push_back({"pwdAccountLockedTime", {kPermanentLockTime}});
  return attrs;
}

// The password is not part of the add: a userPassword attribute is stored as sent by servers
// that do not hash cleartext (most), while Password Modify has the server hash it. The order
// makes every interruption safe: an entry without a password cannot be used and a replay of the
// create gives it one (password_owed); the file is delivered before the server has the
// password, so no account ever has a password nobody can read; a refused password withdraws it.
// (The file may therefore appear a moment before the password works.)
Outcome LdapConnector::set_initial_password(const std::string& dn, const std::string& worker_id) {
  if (Status s = password_transport(session_->options()); !s.ok()) {
    return Outcome::permanent(
        "ldap:tls", "create " + dn + ": the account has no initial password: " + s.error().message);
  }
  std::string password = random_password();
  auto drop = PasswordDrop::stage(config_.password_dir, worker_id, password);
  Status delivered = drop.ok() ? drop->commit() : Status(drop.error());
  if (!delivered.ok()) {
    std::fill(password.begin(), password.end(), '\0');
    return drop.ok() ? Outcome::retryable("ldap:password",
                                          "create " + dn + ": " + delivered.error().message)
                     : Outcome::permanent("ldap:password",
                                          "create " + dn + ": " + delivered.error().message);
  }
  const LdapResult r = session_->set_password(dn, password);
  std::fill(password.begin(), password.end(), '\0');
  if (!r.ok()) {
    // Only a refusal withdraws the file: without an answer the server may have the password,
    // and a retry keeps the file if so (the entry no longer owes one) or replaces it.
    if (!is_transport_error(r.code)) PasswordDrop::withdraw(config_.password_dir, worker_id);
    return outcome(r, "create: set initial password of " + dn);
  }
  log::info("ldap initial password delivered",
            {{"worker_id", worker_id}, {"dn", dn}, {"file", drop->final_path().string()}});
  return Outcome::ok();
}

// ppolicy unlocks an account whose password an administrator sets, so an account created locked
// is locked again after its password (and a replay locks one a crash left unlocked in between:
// no Enable can have run yet, it waits for the Create).
Outcome LdapConnector::finish_create(const Operation& op, const Entry& e, bool created_now) {
  const std::string anchor = e.first("entryUUID").value_or("");
  bool changed = created_now;
  bool locked = e.first("pwdAccountLockedTime") == kPermanentLockTime;
  if (password_owed(op, e)) {
    Outcome o = set_initial_password(e.dn, op.worker_id);
    if (!o.is_ok()) return with_account(std::move(o), e.dn, anchor, false);
    changed = true;
    locked = false;
  }
  if (!op.enabled && !locked) {
    const LdapResult r = session_->modify(e.dn, lock_modifications(true));
    if (!r.ok()) return outcome(r, "create: lock " + e.dn);
    changed = true;
  }
  return with_account(Outcome::ok(), e.dn, anchor, !changed);
}

Outcome LdapConnector::create(const Operation& op) {
  if (op.username.empty()) return Outcome::permanent("ldap:op", "create without a username");
  if (op.worker_id.empty()) return Outcome::permanent("ldap:op", "create without a worker id");
  // Idempotence: the worker already has an entry (a replay, or created before a crash).
  SearchResult existing = search_by_worker(op.worker_id);
  if (!existing.result.ok()) return outcome(existing.result, "create: search employeeNumber");
  if (!existing.entries.empty()) return finish_create(op, existing.entries.front(), false);

  const std::string dn = planned_dn(op.username, op.ou);
  Attributes attrs = new_entry(op);
  // hashed_in_add / cleartext_in_add: the password travels inside the add, its file delivered
  // first.
  const bool in_add = password_in_add() && op.set_initial_password &&
                      !config_.password_dir.empty() &&
                      password_transport(session_->options()).ok();
  if (in_add) {
    std::string password = random_password();
    auto drop = PasswordDrop::stage(config_.password_dir, op.worker_id, password);
    Status delivered = drop.ok() ? drop->commit() : Status(drop.error());
    if (!delivered.ok()) {
      std::fill(password.begin(), password.end(), '\0');
      return Outcome::retryable("ldap:password", "create " + dn + ": " + delivered.error().message);
    }
    attrs.push_back({"userPassword", {password_value(password)}});
    std::fill(password.begin(), password.end(), '\0');
  }
  LdapResult r = session_->add(dn, attrs);
  if (in_add) {
    auto& password = attrs.back().second[0];
    std::fill(password.begin(), password.end(), '\0');
    attrs.pop_back();
    // Refused (or the DN taken): that password exists nowhere; finish_create gives a
    // concurrent create's entry its own if it still owes one.
    if (!r.ok() && !is_transport_error(r.code))
      PasswordDrop::withdraw(config_.password_dir, op.worker_id);
    note_add_refused(r);
    // The server cannot take a hashed password: the entry without one, then Password Modify
    // (finish_create finds it owed).
    if (hashed_refused_ && r.code == code::kConstraintViolation) r = session_->add(dn, attrs);
  }
  if (r.code == code::kEntryAlreadyExists) {
    // The DN is taken. Ours only if it carries this worker's employeeNumber (a concurrent
    // create); otherwise another account owns the name and we must not touch it.
    Located at = read_entry(dn, "(objectClass=*)");
    if (!at.result.ok()) return outcome(at.result, "create: read " + dn);
    if (at.entry && at.entry->first("employeeNumber") == op.worker_id) {
      return finish_create(op, *at.entry, false);
    }
    Outcome o =
        Outcome::permanent(r.code_string(), "create " + dn + ": already exists with another owner");
    o.dn = dn;
    return o;
  }
  if (!r.ok()) return outcome(r, "create " + dn);
  Located created = read_entry(dn, "(objectClass=*)");
  if (!created.result.ok()) return outcome(created.result, "create: read back " + dn);
  log::debug("ldap account created",
             {{"worker_id", op.worker_id}, {"dn", dn}, {"enabled", op.enabled ? "true" : "false"}});
  if (!created.entry) return with_account(Outcome::ok(), dn, "", false);
  return finish_create(op, *created.entry, true);
}

Outcome LdapConnector::update(const Operation& op) {
  Located at = locate(op);
  if (!at.result.ok()) return outcome(at.result, "update: locate " + op.dn);
  if (!at.entry) {
    return Outcome::permanent("ldap:32", "update: no entry for worker " + op.worker_id);
  }
  const Entry& e = *at.entry;
  const std::string anchor = e.first("entryUUID").value_or("");
  std::vector<Modification> mods = update_modifications(op, e);
  if (mods.empty()) return with_account(Outcome::ok(), e.dn, anchor, true);
  LdapResult r = session_->modify(e.dn, mods);
  if (r.code == code::kNoSuchAttribute) {
    // An attribute we meant to remove vanished meanwhile: apply the rest without it.
    std::vector<Modification> replaces;
    for (auto& m : mods) {
      if (m.op == Modification::Op::Replace) replaces.push_back(m);
    }
    r = replaces.empty() ? LdapResult{} : session_->modify(e.dn, replaces);
  }
  if (!r.ok()) return outcome(r, "update " + e.dn);
  return with_account(Outcome::ok(), e.dn, anchor, false);
}

Outcome LdapConnector::move(const Operation& op) {
  Located at = locate(op);
  if (!at.result.ok()) return outcome(at.result, "move: locate " + op.dn);
  if (!at.entry) return Outcome::permanent("ldap:32", "move: no entry for worker " + op.worker_id);
  const Entry& e = *at.entry;
  const std::string anchor = e.first("entryUUID").value_or("");
  const std::string target = people_parent(op.ou);
  const DnSplit current = split_dn(e.dn);
  if (same_dn(current.parent, target)) {
    // Already there. If an earlier attempt renamed but stopped before fixing the groups, the
    // last known DN is still listed in them: finish that now.
    if (!op.dn.empty() && !same_dn(op.dn, e.dn)) {
      if (Outcome o = rewrite_memberships(op.dn, e.dn); !o.is_ok()) return o;
    }
    return with_account(Outcome::ok(), e.dn, anchor, true);
  }
  const LdapResult r = session_->rename(e.dn, current.rdn, target, true);
  if (!r.ok()) return outcome(r, "move " + e.dn + " to " + target);
  const std::string moved = join_dn(current.rdn, target);
  // groupOfNames holds DNs, not anchors: without the refint overlay a rename leaves the old DN
  // behind in every group. Rewrite those memberships (finds nothing when refint already did).
  if (Outcome o = rewrite_memberships(e.dn, moved); !o.is_ok()) return o;
  return with_account(Outcome::ok(), moved, anchor, false);
}

Outcome LdapConnector::rewrite_memberships(const std::string& old_dn, const std::string& new_dn) {
  SearchRequest req;
  req.base = groups_parent();
  req.filter = "(&(objectClass=groupOfNames)" + equality_filter("member", old_dn) + ")";
  req.attrs = {"cn"};
  SearchResult groups = session_->search(req);
  if (groups.result.code == code::kNoSuchObject) return Outcome::ok();
  if (!groups.result.ok()) return outcome(groups.result, "move: find groups of " + old_dn);
  for (const auto& g : groups.entries) {
    // Add first: a groupOfNames must never be left without a member.
    LdapResult r = session_->modify(g.dn, {{Modification::Op::Add, "member", {new_dn}}});
    if (!r.ok() && r.code != code::kAttributeOrValueExists) {
      return outcome(r, "move: add " + new_dn + " to " + g.dn);
    }
    r = session_->modify(g.dn, {{Modification::Op::Delete, "member", {old_dn}}});
    if (!r.ok() && r.code != code::kNoSuchAttribute) {
      return outcome(r, "move: remove " + old_dn + " from " + g.dn);
    }
  }
  return Outcome::ok();
}

Outcome LdapConnector::set_locked(const Operation& op, bool locked) {
  const char* what = locked ? "disable" : "enable";
  if (config_.lock_method != "ppolicy") {
    return Outcome::permanent("ldap:config", std::string(what) + ": unsupported lock_method '" +
                                                 config_.lock_method + "' (supported: ppolicy)");
  }
  Located at = locate(op);
  if (!at.result.ok()) return outcome(at.result, std::string(what) + ": locate " + op.dn);
  if (!at.entry) {
    return Outcome::permanent("ldap:32",
                              std::string(what) + ": no entry for worker " + op.worker_id);
  }
  const Entry& e = *at.entry;
  const std::string anchor = e.first("entryUUID").value_or("");
  if (lock_already(e, locked)) return with_account(Outcome::ok(), e.dn, anchor, true);
  const LdapResult r = session_->modify(e.dn, lock_modifications(locked));
  if (!locked && r.code == code::kNoSuchAttribute) {
    return with_account(Outcome::ok(), e.dn, anchor, true);
  }
  if (!r.ok()) return outcome(r, std::string(what) + " " + e.dn);
  return with_account(Outcome::ok(), e.dn, anchor, false);
}

Outcome LdapConnector::add_member(const Operation& op) {
  if (op.group.empty()) return Outcome::permanent("ldap:op", "add_member without a group");
  Located at = locate(op);
  if (!at.result.ok()) return outcome(at.result, "add_member: locate " + op.dn);
  if (!at.entry) {
    return Outcome::permanent("ldap:32", "add_member: no entry for worker " + op.worker_id);
  }
  const std::string member = at.entry->dn;
  const std::string anchor = at.entry->first("entryUUID").value_or("");
  const std::string gdn = group_dn(op.group);
  for (int attempt = 0; attempt < 2; ++attempt) {
    LdapResult r = session_->modify(gdn, {{Modification::Op::Add, "member", {member}}});
    if (r.ok()) return with_account(Outcome::ok(), member, anchor, false);
    if (r.code == code::kAttributeOrValueExists) {
      return with_account(Outcome::ok(), member, anchor, true);
    }
    if (r.code != code::kNoSuchObject) return outcome(r, "add_member " + gdn);
    // The group does not exist yet: create it with this member (groupOfNames needs one).
    r = session_->add(
        gdn, {{"objectClass", {"top", "groupOfNames"}}, {"cn", {op.group}}, {"member", {member}}});
    if (r.ok()) {
      log::debug("ldap group created", {{"dn", gdn}, {"worker_id", op.worker_id}});
      return with_account(Outcome::ok(), member, anchor, false);
    }
    if (r.code != code::kEntryAlreadyExists) return outcome(r, "add_member: create " + gdn);
    // Created concurrently: add the member to it on the second pass.
  }
  return Outcome::retryable("ldap:68", "add_member " + gdn + ": group appeared concurrently");
}

// Removing the last member of a groupOfNames (which must have at least one) deletes the group:
// policy-managed groups are created on demand by add_member, so an empty group carries nothing
// worth keeping, and a placeholder member would be a dangling DN every reader must know about.
Outcome LdapConnector::remove_member(const Operation& op) {
  if (op.group.empty()) return Outcome::permanent("ldap:op", "remove_member without a group");
  Located at = locate(op);
  if (!at.result.ok()) return outcome(at.result, "remove_member: locate " + op.dn);
  // A deleted account may still be listed by its last known DN.
  const std::string member = at.entry ? at.entry->dn : op.dn;
  const std::string anchor = at.entry ? at.entry->first("entryUUID").value_or("") : op.anchor;
  if (member.empty()) return with_account(Outcome::ok(), member, anchor, true);
  const std::string gdn = group_dn(op.group);
  LdapResult r = session_->modify(gdn, {{Modification::Op::Delete, "member", {member}}});
  if (r.ok()) return with_account(Outcome::ok(), member, anchor, false);
  if (r.code == code::kNoSuchAttribute || r.code == code::kNoSuchObject) {
    return with_account(Outcome::ok(), member, anchor, true);
  }
  if (r.code != code::kObjectClassViolation) return outcome(r, "remove_member " + gdn);
  // Last member: delete the group only if it really holds nothing but this member.
  SearchRequest req;
  req.base = gdn;
  req.scope = Scope::Base;
  req.attrs = {"member"};
  SearchResult g = session_->search(req);
  if (!g.result.ok()) return outcome(g.result, "remove_member: read " + gdn);
  if (g.entries.empty()) return with_account(Outcome::ok(), member, anchor, true);
  const auto& members = g.entries.front().values("member");
  if (members.size() != 1 || !same_dn(members.front(), member)) {
    return outcome(r, "remove_member " + gdn);
  }
  r = session_->remove(gdn);
  if (!r.ok() && r.code != code::kNoSuchObject) return outcome(r, "remove_member: delete " + gdn);
  log::debug("ldap group deleted after its last member left",
             {{"dn", gdn}, {"worker_id", op.worker_id}});
  return with_account(Outcome::ok(), member, anchor, false);
}

Outcome LdapConnector::remove(const Operation& op) {
  Located at = locate(op);
  if (!at.result.ok()) return outcome(at.result, "delete: locate " + op.dn);
  if (!at.entry) return with_account(Outcome::ok(), op.dn, op.anchor, true);
  const std::string dn = at.entry->dn;
  const std::string anchor = at.entry->first("entryUUID").value_or("");
  const LdapResult r = session_->remove(dn);
  if (r.code == code::kNoSuchObject) return with_account(Outcome::ok(), dn, anchor, true);
  if (!r.ok()) return outcome(r, "delete " + dn);
  log::debug("ldap account deleted", {{"worker_id", op.worker_id}, {"dn", dn}});
  return with_account(Outcome::ok(), dn, anchor, false);
}

}  // namespace
}  // namespace ldap

std::unique_ptr<DirectoryConnector> make_ldap_connector(const DirectoryConfig& config) {
  return std::make_unique<ldap::LdapConnector>(config);
}

}  // namespace prov
