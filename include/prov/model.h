#pragma once
// Value types shared by every component: what HR tells us (HrEvent, Worker), what the policy wants
// (DesiredAccount), what we know is in the directory (Account), and the steps between (Operation,
// Outcome). No behaviour lives here.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "prov/clock.h"

namespace prov {

using Json = nlohmann::json;

// The target of everything from before targets were a list (a config's `directory:`, a state
// database from schema 7 or older, an operation stored without one).
inline constexpr const char* kDefaultTarget = "directory";

enum class EventType { Hire, Change, Leave, Return, Termination, Rehire, Rescind };
std::optional<EventType> parse_event_type(std::string_view s);  // "HIRE" -> Hire, ...
std::string_view to_string(EventType t);                         // Hire -> "HIRE"

// One HR event, in the canonical shape of CONTRACT §1, as stored in the inbox.
struct HrEvent {
  std::string event_id;      // body `eventId`, or the `webhook-id` header when absent
  EventType type = EventType::Change;
  TimePoint effective_at{};  // when it takes effect
  std::string worker_id;     // worker.workerId
  Json worker;               // the full worker record as of effective_at (unknown fields kept)
  std::string body_sha256;   // hex digest of the canonical body: same id + other digest = 409
  TimePoint received_at{};
  std::string source = "webhook";  // webhook | poll:<name> | file:<name>
};

// Lifecycle of a worker's account, derived from the worker record and time.
enum class LifecycleState { PreHire, Active, OnLeave, Terminated, Deleted, Rescinded };
std::string_view to_string(LifecycleState s);
std::optional<LifecycleState> parse_lifecycle_state(std::string_view s);

// The worker as the engine knows it: the latest applied record.
struct Worker {
  std::string worker_id;
  Json record = Json::object();        // full HR record (firstName, lastName, department, ...)
  LifecycleState state = LifecycleState::Active;
  TimePoint last_effective_at{};       // effective_at of the newest applied event
  std::string last_event_id;
};

// What the policy says the directory should hold for one worker, now.
struct DesiredAccount {
  std::string worker_id;
  bool exists = true;    // false: the account must not exist (rescinded, deleted)
  bool enabled = true;   // false: locked (cannot bind)
  std::string username;  // uid / sAMAccountName; chosen once, never silently renamed
  std::string ou;        // placement relative to the directory base DN, e.g. "ou=people"
  std::map<std::string, std::string> attributes;  // givenName, sn, cn, displayName, mail, ...
  std::set<std::string> groups;                   // names (cn) of policy-managed groups
  std::set<std::string> entitlements;             // "license:erp", "hardware:laptop", ...
  std::optional<std::string> manager_worker_id;   // resolved to the manager's DN by the planner
  bool set_initial_password = false;              // connector generates + delivers a one-time one
};

// What we know about a worker's account in one target. A worker has one per target.
struct Account {
  std::string target = kDefaultTarget;  // the config's target name
  std::string worker_id;
  std::string anchor;    // entryUUID / objectGUID once created; empty before
  std::string dn;        // current DN
  std::string username;
  std::string ou;
  bool exists = true;
  bool enabled = true;
  std::map<std::string, std::string> attributes;
  std::set<std::string> groups;
  // The groups provisiond added this account to and has not removed it from yet. Whatever no
  // role grants any more is removed from these, even groups no role can grant now (a retired
  // role); groups someone else added are never provisiond's to remove.
  std::set<std::string> granted;
};

enum class OpKind {
  Create,        // username, ou, attributes (+ enabled flag for pre-hire locked creates)
  Update,        // attributes: changed values; an empty value removes the attribute
  Move,          // ou: new placement
  Enable,        // unlock
  Disable,       // lock: the account can no longer bind
  AddMember,     // group
  RemoveMember,  // group
  Delete,
};
std::string_view to_string(OpKind k);
std::optional<OpKind> parse_op_kind(std::string_view s);
// Lock, group removal and delete count against the safety brake. (A move into the disabled OU
// counts too; only the engine knows which OU that is, so it checks moves itself.)
bool is_destructive(OpKind k);

struct Operation {
  std::int64_t id = 0;  // outbox row id; 0 until stored
  std::string target = kDefaultTarget;  // which target's executor applies it
  OpKind kind = OpKind::Update;
  std::string worker_id;
  std::string username;  // naming value of the account
  std::string ou;        // Create / Move: target OU relative to base DN
  std::string dn;        // the account's DN as last known (empty for Create)
  std::string anchor;    // the account's anchor as last known (empty for Create)
  std::map<std::string, std::string> attributes;  // Create: all; Update: changed only
  std::string group;     // AddMember / RemoveMember: the group's name
  bool enabled = true;   // Create: whether the new account starts enabled
  bool set_initial_password = false;  // Create
  std::string reason;    // why the planner wants this ("role finance granted erp-users")
};
Json to_json(const Operation& op);
Operation operation_from_json(const Json& j);

// The result of one directory operation. Expected failures are values, never exceptions.
struct Outcome {
  enum class Kind { Ok, Retryable, Permanent };
  Kind kind = Kind::Ok;
  std::string code;     // connector/server code, e.g. "ldap:68"
  std::string message;  // human-readable; never contains secrets
  std::string dn;       // Ok: the account's DN after the operation
  std::string anchor;   // Ok: the account's anchor (entryUUID / objectGUID)
  bool already_done = false;  // Ok because the directory already matched (idempotent replay)
  // Retryable: the server said when to ask again (HTTP Retry-After); the retry waits at least
  // this long, longer when the executor's own backoff is longer. Zero: the backoff decides.
  std::chrono::milliseconds retry_after{0};

  static Outcome ok(std::string dn = {}, std::string anchor = {}) {
    return Outcome{Kind::Ok, {}, {}, std::move(dn), std::move(anchor), false, {}};
  }
  static Outcome retryable(std::string code, std::string message) {
    return Outcome{Kind::Retryable, std::move(code), std::move(message), {}, {}, false, {}};
  }
  static Outcome permanent(std::string code, std::string message) {
    return Outcome{Kind::Permanent, std::move(code), std::move(message), {}, {}, false, {}};
  }
  bool is_ok() const { return kind == Kind::Ok; }
};
std::string_view to_string(Outcome::Kind k);

}  // namespace prov
