#pragma once
// The loaded form of a policy: templates and conditions compiled, evaluation order fixed.
// Built only by the loader (loader.cc); immutable afterwards, so one instance may be shared by
// any number of threads.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "policy/condition.h"
#include "policy/template.h"
#include "prov/notify.h"
#include "prov/policy.h"

namespace prov::policy {

struct RoleDefinition {
  std::string name;
  std::string location;           // "file:line:column" of the role, for explanations
  std::optional<Condition> when;  // absent: the role applies to every worker
  std::vector<std::string> groups;
  std::vector<std::string> entitlements;
  std::optional<std::string> ou;
  std::vector<int> group_ids;        // indices into the policy's sorted group names
  std::vector<int> entitlement_ids;  // indices into the policy's sorted entitlement names
  std::map<std::string, std::vector<std::string>> target_groups;  // `targets:` grants
};

struct AttributeDefinition {
  std::string name;
  std::optional<Template> base;  // absent when only roles set this attribute
  struct Override {
    std::size_t role;  // index into roles
    Template value;
  };
  std::vector<Override> overrides;  // in role order; the first matching role wins
};

// An attribute one target gets differently: the policy's `targets: {NAME: {attributes:}}` value
// and the roles' (`targets: {NAME: {attributes:}}` in a role; the first matching role wins).
// Evaluated after every other attribute, so it may read them, its own name included.
struct TargetAttributeDefinition {
  std::string name;
  std::optional<Template> base;
  std::vector<AttributeDefinition::Override> overrides;
};

struct UsernameRules {
  std::vector<Template> candidates;
  std::vector<char> counted;      // candidates[i] uses {{ n }}
  std::vector<Filter> transform;  // argument-less filters, applied in order
  int max_length = 20;
  int reserve_days = 365;
};

class CompiledPolicy final : public Policy {
 public:
  Evaluation evaluate(const Worker& worker, const EvalContext& ctx) const override;
  const LifecyclePolicy& lifecycle() const override { return lifecycle_; }
  const PasswordPolicy& password() const override { return password_; }
  const BrakePolicy& brake() const override { return brake_; }
  const std::set<std::string>& released_groups() const override { return released_groups_; }
  const std::set<std::string>& managed_groups() const override { return managed_groups_; }
  const std::map<std::string, std::set<std::string>>& target_groups() const override {
    return target_groups_;
  }
  const std::vector<TargetReference>& target_references() const override {
    return target_references_;
  }
  int reserve_days() const override { return username_.reserve_days; }
  const std::vector<NotificationRule>& notification_rules() const override {
    return notification_rules_;
  }
  std::string digest() const override { return digest_; }

  const std::vector<RoleDefinition>& roles() const { return roles_; }
  const std::vector<AttributeDefinition>& attributes() const { return attributes_; }
  const std::string& default_ou() const { return default_ou_; }
  const std::set<std::string>& entitlements() const { return entitlements_; }
  const std::vector<std::string>& files() const { return files_; }
  // The role whose `ou` placed this evaluation's account, or empty for the policy default.
  std::string ou_source(const Evaluation& evaluation) const;

 private:
  friend class PolicyLoader;
  bool try_username(const Template& candidate, bool counted, Scope& scope, const EvalContext& ctx,
                    Evaluation& out) const;
  void choose_username(Scope& scope, const EvalContext& ctx, Evaluation& out) const;
  std::pair<const Template*, const std::string*> choose(
      const std::optional<Template>& base,
      const std::vector<AttributeDefinition::Override>& overrides, const char* matched) const;

  std::vector<AttributeDefinition> attributes_;
  std::map<std::string, std::vector<TargetAttributeDefinition>> target_attributes_;
  std::vector<int> order_;  // evaluation order: attribute index, or -1 for the username
  UsernameRules username_;
  std::string default_ou_;
  std::vector<RoleDefinition> roles_;
  LifecyclePolicy lifecycle_;
  PasswordPolicy password_;
  BrakePolicy brake_;
  std::set<std::string> managed_groups_;
  std::set<std::string> released_groups_;
  std::set<std::string> entitlements_;
  std::map<std::string, std::set<std::string>> target_groups_;
  std::vector<TargetReference> target_references_;
  std::vector<NotificationRule> notification_rules_;
  // Sorted names, so an evaluation collects ids and builds its sets in order without compares.
  std::vector<std::string> group_names_;
  std::vector<std::string> entitlement_names_;
  std::size_t field_slots_ = 0;
  std::vector<std::string> files_;
  std::string digest_;
};

// Loads and compiles a policy file or folder; throws PolicyLoadError with every problem found.
std::shared_ptr<const CompiledPolicy> load_policy(const std::filesystem::path& path);

}  // namespace prov::policy
