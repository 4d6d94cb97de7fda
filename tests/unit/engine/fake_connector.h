#pragma once
// An in-memory directory for engine unit tests (never used by integration or end-to-end tests,
// which run against real servers). It applies operations to a map the tests inspect, and can be
// told to fail the next operations the way a directory would.
#include <deque>
#include <functional>
#include <map>
#include <stdexcept>
#include <utility>

#include "prov/connector.h"
#include "prov/store.h"

namespace prov::testing {

class FakeDirectory final : public DirectoryConnector {
 public:
  struct Entry {
    std::string worker_id, username, ou;
    bool enabled = true;
    std::map<std::string, std::string> attributes;
    std::string anchor;  // unique per created entry, like entryUUID
  };
  std::map<std::string, Entry> entries;                 // by DN
  std::map<std::string, std::set<std::string>> groups;  // group -> member DNs
  std::vector<Operation> applied;                       // every operation that reached us
  std::deque<Outcome> scripted;                         // returned instead of applying
  bool refuse_connect = false;
  bool refuse_lookups = false;  // username questions fail, as with a server that went away
  bool bad_credentials = false;
  int throw_next = 0;  // the next n apply() calls throw, as a connector with a bug would
  // When set, questions asked while this store holds its write lock are counted: a directory
  // that hangs would stall every writer waiting for that lock.
  const Store* store = nullptr;
  int asked_in_transaction = 0;
  int usernames_asked = 0;
  std::function<void()> on_username_question;  // runs once, while the next question is asked
  int created = 0;  // entries ever created: anchors are never reused

  bool forward_references = false;  // like OpenLDAP: a DN value may name an entry not yet made

  Capabilities capabilities() const override {
    Capabilities c;
    c.forward_references = forward_references;
    return c;
  }
  std::string planned_dn(const std::string& username, const std::string& ou) const override {
    return "uid=" + username + "," + ou + ",dc=test";
  }
  Status connect() override {
    if (bad_credentials) return Error{"invalid credentials", false};
    if (refuse_connect) return Error{"can't contact LDAP server", true};
    return Status::Ok();
  }
  Result<std::optional<Account>> find(const Anchor& a) override {
    for (const auto& [dn, e] : entries) {
      bool hit = (a.kind == Anchor::Kind::Username && e.username == a.value) ||
                 (a.kind == Anchor::Kind::EmployeeId && e.worker_id == a.value) ||
                 (a.kind == Anchor::Kind::Dn && dn == a.value);
      if (!hit) continue;
      Account acc;
      acc.worker_id = e.worker_id;
      acc.username = e.username;
      acc.dn = dn;
      acc.anchor = e.anchor;
      acc.ou = e.ou;
      acc.enabled = e.enabled;
      acc.attributes = e.attributes;
      return std::optional<Account>(acc);
    }
    return std::optional<Account>();
  }
  Result<std::optional<std::string>> username_holder(const std::string& username) override {
    ++usernames_asked;
    // What happens while the directory is being asked (once: the hook is taken first).
    if (on_username_question) std::exchange(on_username_question, nullptr)();
    if (store && store->in_transaction()) ++asked_in_transaction;
    if (refuse_lookups) return Error{"can't contact LDAP server", true};
    return DirectoryConnector::username_holder(username);
  }
  std::string dn_of(const std::string& worker_id) const {
    for (const auto& [dn, e] : entries)
      if (e.worker_id == worker_id) return dn;
    return {};
  }
  const Entry* entry_of(const std::string& worker_id) const {
    auto dn = dn_of(worker_id);
    return dn.empty() ? nullptr : &entries.at(dn);
  }
  std::set<std::string> groups_of(const std::string& worker_id) const {
    std::set<std::string> out;
    auto dn = dn_of(worker_id);
    for (const auto& [g, members] : groups)
      if (members.count(dn)) out.insert(g);
    return out;
  }
  Outcome apply(const Operation& op) override {
    if (throw_next > 0) {
      --throw_next;
      throw std::runtime_error("connector bug");
    }
    applied.push_back(op);
    if (!scripted.empty()) {
      Outcome o = scripted.front();
      scripted.pop_front();
      if (!o.is_ok()) return o;
    }
    std::string dn = dn_of(op.worker_id);
    switch (op.kind) {
      case OpKind::Create: {
        if (!dn.empty()) {
          auto o = Outcome::ok(dn, entries[dn].anchor);
          o.already_done = true;
          return o;
        }
        dn = planned_dn(op.username, op.ou);
        if (entries.count(dn)) return Outcome::permanent("ldap:68", "exists with another owner");
        entries[dn] = Entry{op.worker_id, op.username, op.ou, op.enabled, op.attributes,
                            "uuid-" + op.worker_id + "-" + std::to_string(++created)};
        break;
      }
      case OpKind::Update:
        for (const auto& [k, v] : op.attributes) {
          if (v.empty())
            entries[dn].attributes.erase(k);
          else
            entries[dn].attributes[k] = v;
        }
        break;
      case OpKind::Move: {
        Entry e = entries[dn];
        entries.erase(dn);
        for (auto& [g, m] : groups)
          if (m.erase(dn)) m.insert("uid=" + e.username + "," + op.ou + ",dc=test");
        e.ou = op.ou;
        dn = "uid=" + e.username + "," + op.ou + ",dc=test";
        entries[dn] = e;
        break;
      }
      case OpKind::Enable: entries[dn].enabled = true; break;
      case OpKind::Disable: entries[dn].enabled = false; break;
      case OpKind::AddMember: groups[op.group].insert(dn); break;
      case OpKind::RemoveMember: groups[op.group].erase(dn); break;
      case OpKind::Delete:
        entries.erase(dn);
        return Outcome::ok();
    }
    return Outcome::ok(dn, entries.count(dn) ? entries[dn].anchor : std::string());
  }
  Status for_each_account(const std::function<void(const Account&)>&) override {
    return Status::Ok();
  }
};

}  // namespace prov::testing
