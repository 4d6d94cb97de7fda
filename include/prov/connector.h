#pragma once
// The seam between the engine and a directory. A connector translates Operations into directory
// writes and makes no policy decisions. Every apply() is idempotent: applying an operation twice
// leaves the directory as applying it once would, so at-least-once execution is safe.
// Connectors are not thread-safe; the executor owns one per thread.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "prov/config.h"
#include "prov/model.h"
#include "prov/result.h"

namespace prov {

struct Capabilities {
  bool sets_passwords = false;  // can set an initial password on create
  // A DN-valued attribute may name an entry that does not exist yet (OpenLDAP without a
  // referential-integrity check; not AD, where `manager` is a linked attribute): a report's
  // create can carry the manager's DN while the manager's own create is still queued.
  bool forward_references = false;
  // Accounts have no placement (a SCIM application): no OU to compare, a move changes nothing.
  bool flat = false;
};

struct Anchor {
  enum class Kind { Guid, EmployeeId, Username, Dn };
  Kind kind = Kind::EmployeeId;
  std::string value;
};

// What the planner, reconcile and the explain/report commands ask a target. Never writes, so
// the planner's own connection (Engine::set_lookup_connector) is only ever this.
class AccountReader {
 public:
  virtual ~AccountReader() = default;

  // Looks an account up. Ok(nullopt) when no entry matches; Error when the directory could not
  // be asked. The returned Account carries worker_id (from employeeNumber / employeeID).
  virtual Result<std::optional<Account>> find(const Anchor& anchor) = 0;

  // Who holds `username` in the directory: nullopt when nobody does, else the holder's worker id
  // ("" for an entry that belongs to no worker). The planner asks this for every new name, so a
  // connector may answer it more cheaply than find() (no group memberships). Default: find().
  virtual Result<std::optional<std::string>> username_holder(const std::string& username) {
    auto found = find(Anchor{Anchor::Kind::Username, username});
    if (!found.ok()) return found.error();
    if (!found.value()) return std::optional<std::string>{};
    return std::optional<std::string>(found.value()->worker_id);
  }

  // username_holder for several names at once: the planner asks about a whole group of events
  // before it takes the store's write lock. Every name asked is a key; nullopt: nobody holds it.
  using Holders = std::map<std::string, std::optional<std::string>>;
  virtual Result<Holders> username_holders(const std::vector<std::string>& names) {
    Holders out;
    for (const auto& name : names) {
      auto holder = username_holder(name);
      if (!holder.ok()) return holder.error();
      out[name] = holder.value();
    }
    return out;
  }

  // Visits every account under the base DN (paged). Used by reconcile and the contract suite.
  virtual Status for_each_account(const std::function<void(const Account&)>& visit) = 0;
};

// What the executor's lanes send. Every operation is idempotent (see above).
class AccountWriter {
 public:
  virtual ~AccountWriter() = default;

  // Applies one operation. Never throws for directory refusals.
  virtual Outcome apply(const Operation& op) = 0;

  // Applies several operations; a connector that pipelines overlaps them on the wire. A worker
  // appears more than once only with changes that commute (memberships of different groups),
  // so any order among them is right. Outcomes are returned in input order. Default: one
  // apply() at a time.
  virtual std::vector<Outcome> apply_batch(const std::vector<Operation>& ops) {
    std::vector<Outcome> out;
    out.reserve(ops.size());
    for (const auto& op : ops) out.push_back(apply(op));
    return out;
  }
};

// A target's connector: one connection (connect()) that answers questions and applies writes.
// The daemon makes two per target: one for the executor's lanes, one for the planner's questions.
class DirectoryConnector : public AccountReader, public AccountWriter {
 public:
  virtual Capabilities capabilities() const = 0;

  // The DN a create of `username` under `ou` will give its entry; "" when the connector cannot
  // tell before the server answers. Used only with Capabilities::forward_references.
  virtual std::string planned_dn(const std::string& /*username*/, const std::string& /*ou*/) const {
    return {};
  }

  // Connects and binds. Retryable error: server unreachable; permanent: bad credentials / TLS.
  virtual Status connect() = 0;
};

using ConnectorFactory =
    std::function<std::unique_ptr<DirectoryConnector>(const DirectoryConfig& config)>;

// Maps a `directory.type` name to a factory. Built-ins are registered explicitly by
// register_builtin_connectors(); tests may add their own (e.g. a fake for engine unit tests).
class ConnectorRegistry {
 public:
  // Throws std::invalid_argument on a duplicate name.
  void add(const std::string& type, ConnectorFactory factory);
  bool has(const std::string& type) const;
  std::vector<std::string> types() const;
  // Throws ConfigError("directory.type: unknown type 'x' (known: ldap, ad)").
  std::unique_ptr<DirectoryConnector> create(const DirectoryConfig& config) const;

 private:
  std::map<std::string, ConnectorFactory> factories_;
};

// Registers `ldap`, `scim` and `ad`.
void register_builtin_connectors(ConnectorRegistry& registry);

// Once at start-up, before any connector writes: removes the temporary one-time password files
// a crash left in config.password_dir (written, never delivered: passwords nobody was given).
// Returns how many; 0 without a password folder. Error: the folder fails its checks.
Result<std::size_t> remove_stale_password_files(const DirectoryConfig& config);

}  // namespace prov
