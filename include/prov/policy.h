#pragma once
// RBAC policy: YAML an admin edits, compiled once into an evaluator. evaluate() is a pure function
// of (worker, context); the context supplies time, derived-fact lookups and username uniqueness.
// The policy decides attributes, username, placement, groups and entitlements of an *active*
// worker and publishes the lifecycle settings; the engine applies lifecycle state on top.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "prov/clock.h"
#include "prov/model.h"

namespace prov {

struct NotificationRule;  // prov/notify.h

// One problem in a policy file, pointing at the exact place.
struct PolicyDiagnostic {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;  // what is wrong
  std::string hint;     // what to do
  std::string to_string() const;  // "file:line:column: error: message (hint)"
};

class PolicyLoadError : public std::runtime_error {
 public:
  explicit PolicyLoadError(std::vector<PolicyDiagnostic> diagnostics);
  const std::vector<PolicyDiagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<PolicyDiagnostic> diagnostics_;
};

struct LifecyclePolicy {
  int prehire_days = 0;                  // create (locked) this many days before hireDate
  std::string leave = "lock";            // lock | none
  std::string termination_lock = "immediately";  // immediately | end_of_day
  bool termination_remove_groups = true;
  std::string termination_move_to;       // e.g. "ou=disabled"; empty = stay
  int delete_after_days = -1;            // -1 = never delete
  std::string rehire = "reuse_account";  // reuse_account | new_account
};

// When a destructive operation is held for `provisionctl approve` (the policy's `brake:`).
enum class HoldRule {
  OverThreshold,  // only when the mass-change brake trips (safety.* in the configuration)
  PolicyChange,   // always when a policy change planned it; otherwise as OverThreshold
  Always,         // every one
};
std::string_view to_string(HoldRule r);

struct BrakePolicy {
  // What a policy change takes away is held: an edited role can take access from people HR has
  // not touched. A lock is held only in a mass change: a leaver must lose access at once.
  HoldRule disable = HoldRule::OverThreshold;
  HoldRule remove_member = HoldRule::PolicyChange;
  HoldRule move = HoldRule::OverThreshold;  // into lifecycle.termination.move_to
  HoldRule del = HoldRule::PolicyChange;
  // The rule of a destructive kind; OverThreshold for the others.
  HoldRule rule(OpKind kind) const;
};

struct PasswordPolicy {
  bool initial = false;      // generate a one-time password on create
  std::string deliver = "file";  // file | none
  // Where `initial` is set (file, line, column; line 0 when the policy leaves it out).
  std::string file;
  int line = 0, column = 0;
};

struct EvalContext {
  TimePoint now{};
  // True when `username` may be given to this worker: not used by another person in the
  // directory, not planned for another worker, not reserved. Default: everything is free.
  std::function<bool(const std::string& username)> username_free;
  // Username already assigned to this worker; kept as is (never silently renamed).
  std::optional<std::string> existing_username;
  // Derived fact isManager: does any worker name this one as manager?
  std::function<bool(const std::string& worker_id)> is_manager;
  // When false, evaluate() leaves out the explanation (RoleTrace::failed_condition, attributes,
  // group_sources, entitlement_sources); the account and username trail are the same. Bulk
  // planning and reconciliation turn it off; previews and `explain` keep it on.
  bool explain = true;
};

struct RoleTrace {
  std::string name;
  bool matched = false;
  std::string failed_condition;  // for unmatched roles: the first condition that failed
};
struct ValueTrace {
  std::string value;
  std::string source;  // the template or role that produced it
};
struct UsernameTrace {
  std::string candidate;
  std::string verdict;  // "chosen", "taken", "reserved", "too long", "empty", "kept"
};

struct Evaluation {
  DesiredAccount account;  // exists/enabled true; lifecycle is the engine's business
  // Groups granted in named targets (a role's `targets: {NAME: {groups: [...]}}`); the
  // account's own `groups` are the default target's. With explanations: which roles grant them.
  std::map<std::string, std::set<std::string>> target_groups;
  std::map<std::string, std::map<std::string, std::string>> target_group_sources;
  // Attributes a target gets differently (the policy's `targets: {NAME: {attributes: ...}}` and
  // a role's `targets: {NAME: {attributes: ...}}`): the value replaces the account's in that
  // target; an empty value means the target gets no such attribute. With explanations: where
  // each value came from.
  std::map<std::string, std::map<std::string, std::string>> target_attributes;
  std::map<std::string, std::map<std::string, ValueTrace>> target_attribute_sources;
  std::vector<RoleTrace> roles;
  std::map<std::string, ValueTrace> attributes;
  std::map<std::string, std::string> group_sources;        // group -> role
  std::map<std::string, std::string> entitlement_sources;  // entitlement -> role
  std::vector<UsernameTrace> username_trail;
  std::optional<std::string> hold_reason;  // set when no username could be found (ladder exhausted)
};

// Where a policy names a target (a role's `targets:` key): checked against the config's targets.
struct TargetReference {
  std::string target;
  PolicyDiagnostic at;  // file, line, column of the name; message and hint unset
};

class Policy {
 public:
  virtual ~Policy() = default;

  // Loads a file or every *.yaml/*.yml in a folder (sorted). Throws PolicyLoadError listing
  // every problem with file:line:column.
  static std::shared_ptr<const Policy> load(const std::filesystem::path& path);

  virtual Evaluation evaluate(const Worker& worker, const EvalContext& ctx) const = 0;
  virtual const LifecyclePolicy& lifecycle() const = 0;
  virtual const PasswordPolicy& password() const = 0;
  virtual const BrakePolicy& brake() const = 0;
  // Every group any role can grant: the set the engine is allowed to add to and remove from.
  virtual const std::set<std::string>& managed_groups() const = 0;
  // Groups an administrator took back (`release_groups`): provisiond forgets that it granted
  // them and never removes anyone from them. No role grants them.
  virtual const std::set<std::string>& released_groups() const = 0;
  // Groups roles grant in named targets, by target (see Evaluation::target_groups).
  virtual const std::map<std::string, std::set<std::string>>& target_groups() const = 0;
  virtual const std::vector<TargetReference>& target_references() const = 0;
  virtual int reserve_days() const = 0;
  // The `notifications:` rules, in the order written (prov/notify.h).
  virtual const std::vector<NotificationRule>& notification_rules() const = 0;
  // A short digest of the loaded sources, so a reload can tell what changed.
  virtual std::string digest() const = 0;
};

// A role naming a target the config does not have: one diagnostic per place, file:line:column.
// Grants in such a target would never reach anyone.
std::vector<PolicyDiagnostic> unknown_targets(const Policy& policy,
                                              const std::vector<std::string>& targets);

// Targets that would create accounts without the one-time password the policy asks for
// (`password: { initial: true }` while the target has no password folder):
// one diagnostic per such target, at the policy's `initial`. `without_folder` names the
// config's directory targets that have no password_dir (`key` as the config names it).
std::vector<PolicyDiagnostic> undeliverable_passwords(const Policy& policy,
                                                      const std::vector<std::string>& without_folder);

// Groups the policy manages in `target`: the default target (the config's first) gets the
// roles' plain `groups:` too.
std::set<std::string> managed_groups_in(const Policy& policy, const std::string& target,
                                        bool default_target);
// The account's attributes in `target`: the evaluation's, with that target's own values.
std::map<std::string, std::string> attributes_in(const Evaluation& evaluation,
                                                 const std::string& target);
// Groups an evaluation grants in `target`, by the same rule.
std::set<std::string> granted_groups_in(const Evaluation& evaluation, const std::string& target,
                                        bool default_target);

}  // namespace prov
