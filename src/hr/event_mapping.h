#pragma once
// HR payload → canonical HrEvent (CONTRACT §1). The default shape is the contract's body; other
// shapes (Workday, BambooHR, …) are first rewritten into it by a SourceMapping read from
// `hr.mapping_file`, so validation and its error messages are the same for every source.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prov/model.h"
#include "prov/result.h"
#include "prov/timezone.h"

namespace prov {

// Where a canonical field comes from in a payload of another shape. The YAML file maps target
// fields to JSON pointers (RFC 6901) into the source payload:
//
//   eventId: /id
//   eventType: {pointer: /type, map: {Hire: HIRE, Termination: TERMINATION}}
//   effectiveAt: /Effective_Date
//   worker: /Worker                       # optional: copy this object as the record's base
//   worker.workerId: /Worker/Worker_ID
//   worker.firstName: /Worker/Personal/Legal_Name/First_Name
//   worker.department: {pointer: /Worker/Org/Name, default: Unassigned}
//
// Targets are eventId, eventType, effectiveAt, worker and worker.<field>[.<field>…]. `map`
// translates source values (unlisted values pass through unchanged); `default` is used when the
// pointer finds nothing.
class SourceMapping {
 public:
  // Reads a mapping file. Error messages name the file, line and key.
  static Result<SourceMapping> load(const std::filesystem::path& file);
  // Same, from text; `origin` names it in error messages.
  static Result<SourceMapping> parse(const std::string& yaml_text, const std::string& origin);

  // The canonical-shaped body built from `source`. Fields whose pointer finds nothing (and have
  // no default) are left out, so validation reports them as missing.
  Json apply(const Json& source) const;
  // The JSON pointer a target field is read from ("" when the mapping does not set it).
  std::string pointer_of(const std::string& target) const;

 private:
  struct Rule {
    std::string target;  // "worker.firstName"
    std::string pointer_text;
    Json::json_pointer pointer;
    Json::json_pointer target_pointer;  // "/worker/firstName"
    std::map<std::string, std::string> values;
    std::optional<std::string> fallback;
  };
  std::vector<Rule> rules_;
};

// A field that is missing, of the wrong type or has a bad value.
struct FieldError {
  std::string field;    // JSON path in the canonical shape: "worker.workerId", "effectiveAt"
  std::string message;  // "is required", "must be one of HIRE, …"
};

struct EventMapping {
  std::optional<HrEvent> event;
  FieldError error;  // set when !event
  bool ok() const { return event.has_value(); }
};

// Validates `body` (after `mapping` when given) and builds the event. `fallback_id` (the
// webhook-id header) becomes the event id when the body has no eventId. body_sha256 is the
// digest of the canonical serialisation of `body` as received, so a redelivery with other
// whitespace or key order is still the same event.
// A plain-date effectiveAt is midnight in the worker's `timeZone`, else in `zone`
// (engine.timezone).
EventMapping map_event(const Json& body, std::string_view fallback_id, TimePoint received_at,
                       const SourceMapping* mapping = nullptr,
                       const TimeZone& zone = TimeZone::utc());

}  // namespace prov
