// HR webhook bodies: JSON parsing, validation and mapping to a canonical HrEvent, directly and
// through source mappings. Input: a JSON body; or a source mapping (YAML), a line "===", then a
// JSON body, to fuzz the mapping file and the payload together.
// Properties: nothing throws or crashes; an accepted event carries the id, type, worker id and
// record it was built from; a rejection names a field; the body digest ignores whitespace and key
// order (a redelivery is the same event).
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "hr/event_mapping.h"
#include "prov/clock.h"
#include "prov/model.h"

namespace {

using prov::Json;
using prov::fuzz::printable;

// A Workday-like payload shape, the kind of mapping file admins write.
constexpr const char* kWorkdayMapping = R"(
eventId: /id
eventType: {pointer: /type, map: {Hire: HIRE, Change: CHANGE, Leave: LEAVE, Return: RETURN,
                                  Termination: TERMINATION, Rehire: REHIRE}}
effectiveAt: /Effective_Date
worker: /Worker
worker.workerId: /Worker/Worker_ID
worker.firstName: /Worker/Personal/Legal_Name/First_Name
worker.lastName: /Worker/Personal/Legal_Name/Last_Name
worker.department: {pointer: /Worker/Org/Name, default: Unassigned}
worker.address.city: /Worker/Address/City
)";

const prov::SourceMapping& workday_mapping() {
  static const prov::SourceMapping mapping = [] {
    auto parsed = prov::SourceMapping::parse(kWorkdayMapping, "workday.yaml");
    if (!parsed) prov::fuzz::fail(__FILE__, __LINE__, "fixed mapping parses", "");
    return std::move(*parsed);
  }();
  return mapping;
}

const prov::TimePoint kReceived = prov::from_unix_ms(1764547200000);  // 2025-12-01

void check_mapping(const Json& body, const prov::SourceMapping* mapping) {
  const auto m = prov::map_event(body, "msg_fallback", kReceived, mapping);
  if (!m.ok()) {
    PROV_FUZZ_CHECK(!m.error.message.empty(), "rejection without a message");
    return;
  }
  const prov::HrEvent& e = *m.event;
  PROV_FUZZ_CHECK(!e.event_id.empty(), "accepted event without an id");
  PROV_FUZZ_CHECK(!e.worker_id.empty(), "accepted event without a worker id");
  PROV_FUZZ_CHECK(e.worker.is_object(), "worker record is not an object");
  PROV_FUZZ_CHECK(e.worker.value("workerId", Json()) == Json(e.worker_id),
                  "worker id differs from the record's: " + printable(e.worker_id));
  PROV_FUZZ_CHECK(e.body_sha256.size() == 64, "digest '" + e.body_sha256 + "'");
  PROV_FUZZ_CHECK(e.received_at == kReceived, "received_at not kept");
  PROV_FUZZ_CHECK(prov::parse_event_type(prov::to_string(e.type)) == e.type, "event type name");
  if (mapping == nullptr) {
    if (const auto it = body.find("eventId"); it != body.end() && it->is_string()) {
      PROV_FUZZ_CHECK(e.event_id == it->get<std::string>(), "eventId not taken from the body");
    }
    PROV_FUZZ_CHECK(e.worker == body.at("worker"), "worker record changed in the default mapping");
  }
  // Redelivery of the same JSON with other whitespace and key order is the same event.
  for (const int indent : {-1, 2}) {
    const std::string text = body.dump(indent, ' ', false, Json::error_handler_t::replace);
    const Json again = Json::parse(text, nullptr, false);
    if (again.is_discarded()) continue;  // invalid UTF-8 in the original, replaced on dump
    const auto m2 = prov::map_event(again, "msg_fallback", kReceived, mapping);
    PROV_FUZZ_CHECK(m2.ok(), "re-serialised body rejected: " + m2.error.field + " " +
                                 m2.error.message);
    PROV_FUZZ_CHECK(m2.event->body_sha256 == e.body_sha256, "digest depends on formatting");
    PROV_FUZZ_CHECK(m2.event->event_id == e.event_id, "event id depends on formatting");
  }
}

void check_body(std::string_view text, const prov::SourceMapping* extra) {
  const Json body = Json::parse(text.begin(), text.end(), nullptr, false);
  if (body.is_discarded()) return;  // the webhook answers 400 before mapping
  check_mapping(body, nullptr);
  check_mapping(body, &workday_mapping());
  if (extra) {
    check_mapping(body, extra);
    const Json mapped = extra->apply(body);
    PROV_FUZZ_CHECK(mapped.is_object(), "a mapping produced a non-object body");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t sep = input.find("\n===\n");
  if (sep == std::string_view::npos) {
    check_body(input, nullptr);
    return 0;
  }
  const auto mapping =
      prov::SourceMapping::parse(std::string(input.substr(0, sep)), "fuzz-mapping.yaml");
  if (!mapping) {
    PROV_FUZZ_CHECK(!mapping.error().message.empty(), "mapping rejected without a message");
    return 0;
  }
  check_body(input.substr(sep + 5), &*mapping);
  return 0;
}
