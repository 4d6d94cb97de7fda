#include "hr/event_mapping.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "prov/crypto.h"

namespace prov {

namespace {

constexpr const char* kEventTypes = "HIRE, CHANGE, LEAVE, RETURN, TERMINATION, REHIRE, RESCIND";

Error yaml_error(const std::string& origin, const YAML::Exception& e) {
  std::string where = origin;
  if (e.mark.line >= 0) where += ":" + std::to_string(e.mark.line + 1);
  return Error{where + ": " + e.msg, false};
}

Error mapping_error(const std::string& origin, const YAML::Node& node, const std::string& key,
                    const std::string& message) {
  std::string where = origin;
  if (node.IsDefined() && node.Mark().line >= 0)
    where += ":" + std::to_string(node.Mark().line + 1);
  return Error{where + ": " + key + ": " + message, false};
}

bool is_known_target(const std::string& target) {
  static const char* const kTop[] = {"eventId", "eventType", "effectiveAt", "worker"};
  if (std::find(std::begin(kTop), std::end(kTop), target) != std::end(kTop)) return true;
  if (target.rfind("worker.", 0) != 0) return false;
  // Every dotted segment must be non-empty: "worker..x" or "worker." is a typo.
  std::string rest = target.substr(7);
  if (rest.empty() || rest.front() == '.' || rest.back() == '.') return false;
  return rest.find("..") == std::string::npos;
}

// "worker.a.b" → "/worker/a/b" (escaping per RFC 6901 so odd field names survive).
Json::json_pointer target_pointer(const std::string& target) {
  std::string pointer;
  std::stringstream parts(target);
  std::string part;
  while (std::getline(parts, part, '.')) {
    std::string escaped;
    for (char c : part) {
      if (c == '~')
        escaped += "~0";
      else if (c == '/')
        escaped += "~1";
      else
        escaped += c;
    }
    pointer += "/" + escaped;
  }
  return Json::json_pointer(pointer);
}

std::string scalar_key(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// A required string: present, a string, not blank.
std::optional<FieldError> require_string(const Json& object, const std::string& key,
                                         const std::string& path, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return FieldError{path, "is required"};
  if (!it->is_string()) return FieldError{path, "must be a string"};
  const std::string& text = it->get_ref<const std::string&>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return FieldError{path, "must not be empty"};
  *out = text;
  return std::nullopt;
}

EventMapping fail(FieldError error, const SourceMapping* mapping) {
  if (mapping) {
    std::string pointer = mapping->pointer_of(error.field);
    if (!pointer.empty()) error.message += " (mapped from " + pointer + ")";
  }
  return EventMapping{std::nullopt, std::move(error)};
}

}  // namespace

Result<SourceMapping> SourceMapping::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error{file.string() + ": cannot read the mapping file", false};
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), file.string());
}

Result<SourceMapping> SourceMapping::parse(const std::string& yaml_text,
                                           const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return yaml_error(origin, e);
  }
  if (!root.IsMap()) return mapping_error(origin, root, "(top)", "must be a YAML mapping");

  SourceMapping mapping;
  try {
    for (const auto& entry : root) {
      const std::string target = entry.first.as<std::string>();
      const YAML::Node& spec = entry.second;
      if (!is_known_target(target))
        return mapping_error(origin, entry.first, target,
                             "unknown target; use eventId, eventType, effectiveAt, worker or "
                             "worker.<field>");
      Rule rule;
      rule.target = target;
      rule.target_pointer = target_pointer(target);
      // Nodes are copied, never assigned: yaml-cpp's Node assignment writes through to the
      // document and throws on an absent key.
      const YAML::Node pointer_node = spec.IsMap() ? spec["pointer"] : spec;
      if (spec.IsMap()) {
        for (const auto& option : spec) {
          const std::string name = option.first.as<std::string>();
          if (name != "pointer" && name != "map" && name != "default")
            return mapping_error(origin, option.first, target + "." + name,
                                 "unknown option; use pointer, map or default");
        }
        if (YAML::Node values = spec["map"]; values.IsDefined()) {
          if (!values.IsMap())
            return mapping_error(origin, values, target + ".map",
                                 "must map source values to target values");
          for (const auto& v : values)
            rule.values[v.first.as<std::string>()] = v.second.as<std::string>();
        }
        if (YAML::Node fallback = spec["default"]; fallback.IsDefined()) {
          if (!fallback.IsScalar())
            return mapping_error(origin, fallback, target + ".default", "must be a scalar");
          rule.fallback = fallback.as<std::string>();
        }
      } else if (!spec.IsScalar()) {
        return mapping_error(origin, spec, target,
                             "must be a JSON pointer or {pointer, map, default}");
      }
      if (!pointer_node.IsDefined() || !pointer_node.IsScalar())
        return mapping_error(origin, entry.first, target,
                             "needs a JSON pointer such as /Worker/ID");
      rule.pointer_text = pointer_node.as<std::string>();
      try {
        rule.pointer = Json::json_pointer(rule.pointer_text);
      } catch (const nlohmann::json::exception&) {
        return mapping_error(origin, pointer_node, target,
                             "'" + rule.pointer_text + "' is not a JSON pointer (RFC 6901)");
      }
      mapping.rules_.push_back(std::move(rule));
    }
  } catch (const YAML::Exception& e) {
    return yaml_error(origin, e);
  }
  // The whole-record copy goes first so that worker.<field> rules refine it.
  std::stable_sort(mapping.rules_.begin(), mapping.rules_.end(), [](const Rule& a, const Rule& b) {
    return a.target == "worker" && b.target != "worker";
  });
  return mapping;
}

Json SourceMapping::apply(const Json& source) const {
  Json out = Json::object();
  for (const Rule& rule : rules_) {
    std::optional<Json> value;
    try {
      if (source.contains(rule.pointer)) value = source.at(rule.pointer);
    } catch (const nlohmann::json::exception&) {
      // A pointer that walks into a scalar or past an array finds nothing.
    }
    if (!value || value->is_null()) {
      if (!rule.fallback) continue;
      value = Json(*rule.fallback);
    }
    if (!rule.values.empty() && (value->is_string() || value->is_number())) {
      auto it = rule.values.find(scalar_key(*value));
      if (it != rule.values.end()) value = Json(it->second);
    }
    // A whole-record copy that is not an object would make worker.<field> assignment throw.
    if (rule.target == "worker" && !value->is_object()) {
      out["worker"] = *value;
      continue;
    }
    if (rule.target != "worker" && rule.target.rfind("worker.", 0) == 0 && out.contains("worker") &&
        !out["worker"].is_object())
      continue;
    // A target below a scalar the payload already put there (worker.a.b under "a": "flat")
    // cannot be placed; skip it and let field validation name what is missing.
    try {
      out[rule.target_pointer] = *value;
    } catch (const Json::exception&) {
      continue;
    }
  }
  return out;
}

std::string SourceMapping::pointer_of(const std::string& target) const {
  for (const Rule& rule : rules_)
    if (rule.target == target) return rule.pointer_text;
  return {};
}

EventMapping map_event(const Json& body, std::string_view fallback_id, TimePoint received_at,
                       const SourceMapping* mapping, const TimeZone& zone) {
  if (!body.is_object()) return fail({"", "the body must be a JSON object"}, nullptr);
  const Json canonical = mapping ? mapping->apply(body) : body;

  HrEvent event;
  event.received_at = received_at;

  if (auto it = canonical.find("eventId"); it != canonical.end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return fail({"eventId", "must be a non-empty string"}, mapping);
    event.event_id = it->get<std::string>();
  } else if (!fallback_id.empty()) {
    event.event_id = std::string(fallback_id);
  } else {
    return fail({"eventId", "is required when there is no webhook-id"}, mapping);
  }

  std::string type_text;
  if (auto e = require_string(canonical, "eventType", "eventType", &type_text)) {
    e->message += std::string("; one of ") + kEventTypes;
    return fail(*e, mapping);
  }
  auto type = parse_event_type(type_text);
  if (!type)
    return fail({"eventType", "'" + type_text + "' is not one of " + kEventTypes}, mapping);
  event.type = *type;

  std::string effective_text;
  if (auto e = require_string(canonical, "effectiveAt", "effectiveAt", &effective_text))
    return fail(*e, mapping);
  auto effective = parse_time(effective_text);
  if (!effective)
    return fail(
        {"effectiveAt", "'" + effective_text + "' is neither an RFC 3339 date-time nor a date"},
        mapping);
  event.effective_at = *effective;

  auto worker = canonical.find("worker");
  if (worker == canonical.end() || worker->is_null())
    return fail({"worker", "is required"}, mapping);
  if (!worker->is_object()) return fail({"worker", "must be an object"}, mapping);
  std::string ignored;
  if (auto e = require_string(*worker, "workerId", "worker.workerId", &event.worker_id))
    return fail(*e, mapping);
  for (const char* name : {"firstName", "lastName"})
    if (auto e = require_string(*worker, name, std::string("worker.") + name, &ignored))
      return fail(*e, mapping);
  event.worker = *worker;
  event.effective_at = *parse_time_in(effective_text, zone_of_worker(event.worker, zone));

  event.body_sha256 =
      sha256_hex(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return EventMapping{std::move(event), {}};
}

}  // namespace prov
