#include "prov/model.h"

#include <array>
#include <utility>

namespace prov {
namespace {

template <class E, size_t N>
std::optional<E> lookup(const std::array<std::pair<E, std::string_view>, N>& table,
                        std::string_view s) {
  for (const auto& [e, name] : table)
    if (name == s) return e;
  return std::nullopt;
}
template <class E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, name] : table)
    if (v == e) return name;
  return "?";
}

constexpr std::array<std::pair<EventType, std::string_view>, 7> kEventTypes{{
    {EventType::Hire, "HIRE"},
    {EventType::Change, "CHANGE"},
    {EventType::Leave, "LEAVE"},
    {EventType::Return, "RETURN"},
    {EventType::Termination, "TERMINATION"},
    {EventType::Rehire, "REHIRE"},
    {EventType::Rescind, "RESCIND"},
}};
constexpr std::array<std::pair<LifecycleState, std::string_view>, 6> kStates{{
    {LifecycleState::PreHire, "pre-hire"},
    {LifecycleState::Active, "active"},
    {LifecycleState::OnLeave, "on-leave"},
    {LifecycleState::Terminated, "terminated"},
    {LifecycleState::Deleted, "deleted"},
    {LifecycleState::Rescinded, "rescinded"},
}};
constexpr std::array<std::pair<OpKind, std::string_view>, 8> kOpKinds{{
    {OpKind::Create, "create"},
    {OpKind::Update, "update"},
    {OpKind::Move, "move"},
    {OpKind::Enable, "enable"},
    {OpKind::Disable, "disable"},
    {OpKind::AddMember, "add_member"},
    {OpKind::RemoveMember, "remove_member"},
    {OpKind::Delete, "delete"},
}};

}  // namespace

std::optional<EventType> parse_event_type(std::string_view s) { return lookup(kEventTypes, s); }
std::string_view to_string(EventType t) { return name_of(kEventTypes, t); }
std::string_view to_string(LifecycleState s) { return name_of(kStates, s); }
std::optional<LifecycleState> parse_lifecycle_state(std::string_view s) {
  return lookup(kStates, s);
}
std::string_view to_string(OpKind k) { return name_of(kOpKinds, k); }
std::optional<OpKind> parse_op_kind(std::string_view s) { return lookup(kOpKinds, s); }

bool is_destructive(OpKind k) {
  return k == OpKind::Disable || k == OpKind::RemoveMember || k == OpKind::Delete;
}

std::string_view to_string(Outcome::Kind k) {
  switch (k) {
    case Outcome::Kind::Ok: return "ok";
    case Outcome::Kind::Retryable: return "retryable";
    case Outcome::Kind::Permanent: return "permanent";
  }
  return "?";
}

Json to_json(const Operation& op) {
  Json j{{"kind", to_string(op.kind)},
         {"target", op.target},
         {"worker_id", op.worker_id},
         {"username", op.username}};
  if (op.id) j["id"] = op.id;
  if (!op.ou.empty()) j["ou"] = op.ou;
  if (!op.dn.empty()) j["dn"] = op.dn;
  if (!op.anchor.empty()) j["anchor"] = op.anchor;
  if (!op.attributes.empty()) j["attributes"] = op.attributes;
  if (!op.group.empty()) j["group"] = op.group;
  if (op.kind == OpKind::Create) {
    j["enabled"] = op.enabled;
    j["set_initial_password"] = op.set_initial_password;
  }
  if (!op.reason.empty()) j["reason"] = op.reason;
  return j;
}

Operation operation_from_json(const Json& j) {
  Operation op;
  op.id = j.value("id", std::int64_t{0});
  op.kind = parse_op_kind(j.value("kind", "")).value_or(OpKind::Update);
  op.target = j.value("target", std::string(kDefaultTarget));
  op.worker_id = j.value("worker_id", "");
  op.username = j.value("username", "");
  op.ou = j.value("ou", "");
  op.dn = j.value("dn", "");
  op.anchor = j.value("anchor", "");
  if (j.contains("attributes"))
    op.attributes = j["attributes"].get<std::map<std::string, std::string>>();
  op.group = j.value("group", "");
  op.enabled = j.value("enabled", true);
  op.set_initial_password = j.value("set_initial_password", false);
  op.reason = j.value("reason", "");
  return op;
}

}  // namespace prov
