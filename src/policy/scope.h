#pragma once
// What one evaluation reads: the worker record, the context and the values computed so far
// (username, attributes). Derived facts are computed on first use and cached for the evaluation.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prov/model.h"
#include "prov/policy.h"

namespace prov::policy {

enum class Fact { IsManager, TenureDays, DaysUntilStart };
std::optional<Fact> fact_by_name(std::string_view name);
std::string_view fact_name(Fact f);

enum class VarKind { Unresolved, Worker, Username, Counter, Attribute, Fact };

// A variable as written in a template or a condition, resolved by the loader.
struct VarRef {
  VarKind kind = VarKind::Unresolved;
  std::string name;               // as written: "worker.firstName", "givenName", "n"
  std::vector<std::string> path;  // Worker: keys below the record root
  int index = -1;                 // Attribute: slot in Scope::attributes
  int slot = -1;                  // Worker: slot in the per-evaluation lookup cache
  Fact fact = Fact::IsManager;
  int offset = 0;  // byte offset in the template text, for diagnostics
};

// Appends a JSON scalar as text: strings as is, numbers in JSON notation, booleans as
// true/false. null, objects and arrays append nothing.
void append_json_scalar(const Json& value, std::string& out);

class Scope {
 public:
  // `field_slots`: how many distinct worker fields the policy reads; each is looked up in the
  // record at most once per evaluation.
  Scope(const Json& record, const EvalContext& ctx, std::string_view worker_id,
        std::size_t field_slots = 0)
      : record_(record), ctx_(ctx), worker_id_(worker_id), cache_(field_slots, unresolved()) {}

  // The value at `path` below the record root, or nullptr when any step is missing.
  const Json* worker_value(const std::vector<std::string>& path) const;
  // The value of a Worker variable, through the cache when it has a slot.
  const Json* worker_value(const VarRef& v) const {
    if (v.slot < 0 || static_cast<std::size_t>(v.slot) >= cache_.size()) {
      return worker_value(v.path);
    }
    const Json*& cached = cache_[static_cast<std::size_t>(v.slot)];
    if (cached == unresolved()) cached = worker_value(v.path);
    return cached;
  }
  // isManager as 0/1, tenureDays, daysUntilStart; nullopt when not known (no hireDate).
  std::optional<std::int64_t> fact(Fact f) const;
  // Appends the text of `v`; returns false (appending nothing) when the value is missing.
  bool append(const VarRef& v, std::string& out) const;

  const Json& record() const { return record_; }
  std::string_view worker_id() const { return worker_id_; }

  std::vector<std::string> attributes;
  std::string username;
  int counter = 0;

 private:
  const Json& record_;
  const EvalContext& ctx_;
  std::string_view worker_id_;
  static const Json* unresolved() {
    static const Json marker;
    return &marker;
  }
  mutable std::vector<const Json*> cache_;
  mutable int is_manager_ = -1;
  mutable bool days_known_ = false;
  mutable std::optional<std::int64_t> tenure_days_;
};

}  // namespace prov::policy
