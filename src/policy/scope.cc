#include "policy/scope.h"

#include "policy/dates.h"

namespace prov::policy {

std::optional<Fact> fact_by_name(std::string_view name) {
  if (name == "isManager") return Fact::IsManager;
  if (name == "tenureDays") return Fact::TenureDays;
  if (name == "daysUntilStart") return Fact::DaysUntilStart;
  return std::nullopt;
}

std::string_view fact_name(Fact f) {
  switch (f) {
    case Fact::IsManager:
      return "isManager";
    case Fact::TenureDays:
      return "tenureDays";
    case Fact::DaysUntilStart:
      return "daysUntilStart";
  }
  return "";
}

void append_json_scalar(const Json& value, std::string& out) {
  switch (value.type()) {
    case Json::value_t::string:
      out += value.get_ref<const std::string&>();
      break;
    case Json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      break;
    case Json::value_t::number_integer:
      out += std::to_string(value.get<std::int64_t>());
      break;
    case Json::value_t::number_unsigned:
      out += std::to_string(value.get<std::uint64_t>());
      break;
    case Json::value_t::number_float:
      out += value.dump();
      break;
    default:
      break;
  }
}

const Json* Scope::worker_value(const std::vector<std::string>& path) const {
  const Json* node = &record_;
  for (const auto& key : path) {
    if (!node->is_object()) return nullptr;
    const auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

std::optional<std::int64_t> Scope::fact(Fact f) const {
  if (f == Fact::IsManager) {
    if (is_manager_ < 0) {
      is_manager_ = (ctx_.is_manager && ctx_.is_manager(std::string(worker_id_))) ? 1 : 0;
    }
    return is_manager_;
  }
  if (!days_known_) {
    days_known_ = true;
    const auto it = record_.find("hireDate");
    if (it != record_.end() && it->is_string()) {
      if (const auto hire = parse_date_ms(it->get_ref<const std::string&>())) {
        tenure_days_ = day_number(to_unix_ms(ctx_.now)) - day_number(*hire);
      }
    }
  }
  if (!tenure_days_) return std::nullopt;
  return f == Fact::TenureDays ? *tenure_days_ : -*tenure_days_;
}

bool Scope::append(const VarRef& v, std::string& out) const {
  switch (v.kind) {
    case VarKind::Worker: {
      const Json* value = worker_value(v);
      if (value == nullptr || value->is_null()) return false;
      append_json_scalar(*value, out);
      return true;
    }
    case VarKind::Username:
      out += username;
      return !username.empty();
    case VarKind::Counter:
      out += std::to_string(counter);
      return true;
    case VarKind::Attribute:
      out += attributes[static_cast<std::size_t>(v.index)];
      return !attributes[static_cast<std::size_t>(v.index)].empty();
    case VarKind::Fact: {
      const auto value = fact(v.fact);
      if (!value) return false;
      if (v.fact == Fact::IsManager) {
        out += *value ? "true" : "false";
      } else {
        out += std::to_string(*value);
      }
      return true;
    }
    case VarKind::Unresolved:
      return false;
  }
  return false;
}

}  // namespace prov::policy
