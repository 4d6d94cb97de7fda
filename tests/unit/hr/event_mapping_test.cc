#include "hr/event_mapping.h"

#include <gtest/gtest.h>

#include <fstream>

#include "prov/crypto.h"

namespace prov {
namespace {

const TimePoint kReceived = from_unix_ms(1'780'000'000'000);

Json contract_body() {
  return Json::parse(R"({
    "eventId": "evt-2026-000123",
    "eventType": "HIRE",
    "effectiveAt": "2026-12-01T08:00:00Z",
    "worker": {
      "workerId": "100234", "firstName": "José", "lastName": "Núñez",
      "department": "Finance", "costCenter": "CC-4100", "terminationDate": null,
      "badge": {"colour": "blue"}
    }
  })");
}

FieldError error_of(const Json& body, const SourceMapping* mapping = nullptr) {
  EventMapping m = map_event(body, "msg_1", kReceived, mapping);
  EXPECT_FALSE(m.ok());
  return m.error;
}

TEST(MapEvent, MapsTheContractShape) {
  EventMapping m = map_event(contract_body(), "msg_1", kReceived);
  ASSERT_TRUE(m.ok()) << m.error.field << ": " << m.error.message;
  const HrEvent& e = *m.event;
  EXPECT_EQ(e.event_id, "evt-2026-000123");
  EXPECT_EQ(e.type, EventType::Hire);
  EXPECT_EQ(e.effective_at, *parse_time("2026-12-01T08:00:00Z"));
  EXPECT_EQ(e.worker_id, "100234");
  EXPECT_EQ(e.received_at, kReceived);
  EXPECT_EQ(e.source, "webhook");
  EXPECT_EQ(e.worker["firstName"], "José");
  // Unknown fields are kept for policies.
  EXPECT_EQ(e.worker["costCenter"], "CC-4100");
  EXPECT_EQ(e.worker["badge"]["colour"], "blue");
  EXPECT_TRUE(e.worker["terminationDate"].is_null());
}

TEST(MapEvent, FallsBackToTheWebhookIdWithoutEventId) {
  Json body = contract_body();
  body.erase("eventId");
  EventMapping m = map_event(body, "msg_p5jXN8AQM9LWM0D4loKWxJek", kReceived);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.event->event_id, "msg_p5jXN8AQM9LWM0D4loKWxJek");

  body["eventId"] = nullptr;
  EXPECT_EQ(map_event(body, "msg_2", kReceived).event->event_id, "msg_2");
}

TEST(MapEvent, NeedsSomeId) {
  Json body = contract_body();
  body.erase("eventId");
  EventMapping m = map_event(body, "", kReceived);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error.field, "eventId");
}

TEST(MapEvent, RejectsANonStringEventId) {
  Json body = contract_body();
  body["eventId"] = 123;
  EXPECT_EQ(error_of(body).field, "eventId");
  body["eventId"] = "";
  EXPECT_EQ(error_of(body).field, "eventId");
}

TEST(MapEvent, DigestIgnoresFormattingButNotContent) {
  const std::string compact = contract_body().dump();
  const std::string spaced = R"({ "worker": { "badge": {"colour":"blue"}, "terminationDate": null,
      "costCenter": "CC-4100", "department": "Finance", "lastName": "Núñez",
      "firstName": "José", "workerId": "100234" },
      "effectiveAt": "2026-12-01T08:00:00Z", "eventType": "HIRE", "eventId": "evt-2026-000123" })";
  auto a = map_event(Json::parse(compact), "", kReceived);
  auto b = map_event(Json::parse(spaced), "", kReceived);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.event->body_sha256, b.event->body_sha256);
  EXPECT_EQ(a.event->body_sha256, sha256_hex(compact));

  Json changed = contract_body();
  changed["worker"]["department"] = "Sales";
  EXPECT_NE(map_event(changed, "", kReceived).event->body_sha256, a.event->body_sha256);
}

struct TypeCase {
  const char* text;
  EventType type;
};

class EventTypes : public ::testing::TestWithParam<TypeCase> {};

TEST_P(EventTypes, MapsEachContractType) {
  Json body = contract_body();
  body["eventType"] = GetParam().text;
  EventMapping m = map_event(body, "", kReceived);
  ASSERT_TRUE(m.ok()) << m.error.message;
  EXPECT_EQ(m.event->type, GetParam().type);
}

INSTANTIATE_TEST_SUITE_P(Contract, EventTypes,
                         ::testing::Values(TypeCase{"HIRE", EventType::Hire},
                                           TypeCase{"CHANGE", EventType::Change},
                                           TypeCase{"LEAVE", EventType::Leave},
                                           TypeCase{"RETURN", EventType::Return},
                                           TypeCase{"TERMINATION", EventType::Termination},
                                           TypeCase{"REHIRE", EventType::Rehire}));

TEST(MapEvent, RejectsBadEventTypes) {
  Json body = contract_body();
  body["eventType"] = "FIRE";
  FieldError e = error_of(body);
  EXPECT_EQ(e.field, "eventType");
  EXPECT_NE(e.message.find("FIRE"), std::string::npos);
  EXPECT_NE(e.message.find("TERMINATION"), std::string::npos);
  body["eventType"] = 3;
  EXPECT_EQ(error_of(body).field, "eventType");
  body.erase("eventType");
  EXPECT_EQ(error_of(body).field, "eventType");
}

TEST(MapEvent, AcceptsAPlainDateAsMidnightUtc) {
  Json body = contract_body();
  body["effectiveAt"] = "2026-12-01";
  EventMapping m = map_event(body, "", kReceived);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.event->effective_at, *parse_time("2026-12-01T00:00:00Z"));
}

TEST(MapEvent, AcceptsAnOffsetDateTime) {
  Json body = contract_body();
  body["effectiveAt"] = "2026-12-01T09:00:00+01:00";
  EventMapping m = map_event(body, "", kReceived);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.event->effective_at, *parse_time("2026-12-01T08:00:00Z"));
}

TEST(MapEvent, PlainDateEffectiveAtIsMidnightInTheWorkersZone) {
  Json body = contract_body();
  body["effectiveAt"] = "2026-12-01";
  EXPECT_EQ(map_event(body, "", kReceived).event->effective_at, *parse_time("2026-12-01T00:00:00Z"));
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(berlin);
  EXPECT_EQ(map_event(body, "", kReceived, nullptr, *berlin).event->effective_at,
            *parse_time("2026-11-30T23:00:00Z"));
  body["worker"]["timeZone"] = "America/Los_Angeles";  // the worker's own zone wins
  EXPECT_EQ(map_event(body, "", kReceived, nullptr, *berlin).event->effective_at,
            *parse_time("2026-12-01T08:00:00Z"));
  body["effectiveAt"] = "2026-12-01T08:00:00+01:00";  // a date-time keeps its own offset
  EXPECT_EQ(map_event(body, "", kReceived, nullptr, *berlin).event->effective_at,
            *parse_time("2026-12-01T07:00:00Z"));
}

TEST(MapEvent, RejectsBadEffectiveAt) {
  for (Json value : {Json("tomorrow"), Json(20261201), Json(nullptr), Json("")}) {
    Json body = contract_body();
    body["effectiveAt"] = value;
    EXPECT_EQ(error_of(body).field, "effectiveAt") << value.dump();
  }
  Json body = contract_body();
  body.erase("effectiveAt");
  EXPECT_EQ(error_of(body).field, "effectiveAt");
}

TEST(MapEvent, RequiresAWorkerObject) {
  Json body = contract_body();
  body["worker"] = "100234";
  EXPECT_EQ(error_of(body).field, "worker");
  body.erase("worker");
  EXPECT_EQ(error_of(body).field, "worker");
}

class RequiredWorkerField : public ::testing::TestWithParam<const char*> {};

TEST_P(RequiredWorkerField, MustBeANonEmptyString) {
  const std::string name = GetParam();
  const std::string path = "worker." + name;
  for (Json value : {Json(nullptr), Json(100234), Json(""), Json("   "), Json::array()}) {
    Json body = contract_body();
    body["worker"][name] = value;
    FieldError e = error_of(body);
    EXPECT_EQ(e.field, path) << value.dump();
    EXPECT_FALSE(e.message.empty());
  }
  Json body = contract_body();
  body["worker"].erase(name);
  FieldError e = error_of(body);
  EXPECT_EQ(e.field, path);
  EXPECT_EQ(e.message, "is required");
}

INSTANTIATE_TEST_SUITE_P(Contract, RequiredWorkerField,
                         ::testing::Values("workerId", "firstName", "lastName"));

TEST(MapEvent, RejectsABodyThatIsNotAnObject) {
  EventMapping m = map_event(Json::array({1, 2}), "msg", kReceived);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.error.field.empty());
}

// --- source mappings -----------------------------------------------------------------------

Json workday_body() {
  return Json::parse(R"({
    "Event": {"ID": "WD-77", "Type": "Hire", "Effective_Date": "2026-12-01"},
    "Worker": {
      "Worker_ID": "200451",
      "Personal": {"Legal_Name": {"First_Name": "Ada", "Last_Name": "Lovelace"}},
      "Organization": {"Name": "Research"},
      "Location": "London"
    }
  })");
}

SourceMapping workday_mapping() {
  auto m = SourceMapping::load(std::string(PROV_HR_TEST_DIR) + "/testdata/workday.yaml");
  EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().message);
  return std::move(m.value());
}

TEST(SourceMapping, RewritesAnotherShape) {
  SourceMapping mapping = workday_mapping();
  EventMapping m = map_event(workday_body(), "msg_9", kReceived, &mapping);
  ASSERT_TRUE(m.ok()) << m.error.field << ": " << m.error.message;
  const HrEvent& e = *m.event;
  EXPECT_EQ(e.event_id, "WD-77");
  EXPECT_EQ(e.type, EventType::Hire);
  EXPECT_EQ(e.effective_at, *parse_time("2026-12-01"));
  EXPECT_EQ(e.worker_id, "200451");
  EXPECT_EQ(e.worker["firstName"], "Ada");
  EXPECT_EQ(e.worker["lastName"], "Lovelace");
  EXPECT_EQ(e.worker["department"], "Research");
  EXPECT_EQ(e.worker["Location"], "London");  // copied from the `worker` base object
  EXPECT_EQ(e.body_sha256, sha256_hex(workday_body().dump()));
}

TEST(SourceMapping, TranslatesValuesAndPassesOthersThrough) {
  SourceMapping mapping = workday_mapping();
  Json body = workday_body();
  body["Event"]["Type"] = "Terminate";
  EXPECT_EQ(map_event(body, "", kReceived, &mapping).event->type, EventType::Termination);
  body["Event"]["Type"] = "REHIRE";  // not in the map: used as is
  EXPECT_EQ(map_event(body, "", kReceived, &mapping).event->type, EventType::Rehire);
  body["Event"]["Type"] = "Promotion";
  FieldError e = error_of(body, &mapping);
  EXPECT_EQ(e.field, "eventType");
  EXPECT_NE(e.message.find("/Event/Type"), std::string::npos) << e.message;
}

TEST(SourceMapping, UsesTheDefaultWhenThePointerFindsNothing) {
  SourceMapping mapping = workday_mapping();
  Json body = workday_body();
  body["Worker"].erase("Organization");
  EXPECT_EQ(map_event(body, "", kReceived, &mapping).event->worker["department"], "Unassigned");
}

TEST(SourceMapping, MissingRequiredFieldNamesTargetAndPointer) {
  SourceMapping mapping = workday_mapping();
  Json body = workday_body();
  body["Worker"].erase("Worker_ID");
  FieldError e = error_of(body, &mapping);
  EXPECT_EQ(e.field, "worker.workerId");
  EXPECT_NE(e.message.find("/Worker/Worker_ID"), std::string::npos) << e.message;

  body = workday_body();
  body["Worker"]["Personal"] = "redacted";  // the pointer walks into a string
  EXPECT_EQ(error_of(body, &mapping).field, "worker.firstName");
}

TEST(SourceMapping, WithoutIdPointerFallsBackToWebhookId) {
  auto mapping = SourceMapping::parse(R"(
eventType: /t
effectiveAt: /at
worker.workerId: /p/id
worker.firstName: /p/first
worker.lastName: /p/last
)",
                                      "inline");
  ASSERT_TRUE(mapping.ok()) << mapping.error().message;
  Json body = Json::parse(
      R"({"t": "CHANGE", "at": "2026-01-02T03:04:05Z",
          "p": {"id": "7", "first": "Grace", "last": "Hopper", "extra": 1}})");
  EventMapping m = map_event(body, "msg_x", kReceived, &mapping.value());
  ASSERT_TRUE(m.ok()) << m.error.message;
  EXPECT_EQ(m.event->event_id, "msg_x");
  EXPECT_EQ(m.event->worker, Json::parse(R"({"workerId":"7","firstName":"Grace",
                                            "lastName":"Hopper"})"));
}

TEST(SourceMapping, NestedTargetsBuildObjects) {
  auto mapping = SourceMapping::parse("worker.address.city: /city\nworker.workerId: /id\n", "x");
  ASSERT_TRUE(mapping.ok());
  Json out = mapping->apply(Json::parse(R"({"city": "Berlin", "id": "1"})"));
  EXPECT_EQ(out["worker"]["address"]["city"], "Berlin");
  EXPECT_EQ(out["worker"]["workerId"], "1");
}

TEST(SourceMapping, ErrorsNameFileLineAndKey) {
  auto unknown = SourceMapping::parse("eventId: /id\nworkerId: /w\n", "hr.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("hr.yaml:2"), std::string::npos)
      << unknown.error().message;
  EXPECT_NE(unknown.error().message.find("workerId"), std::string::npos);

  auto bad_pointer = SourceMapping::parse("eventId: Event/ID\n", "hr.yaml");
  ASSERT_FALSE(bad_pointer.ok());
  EXPECT_NE(bad_pointer.error().message.find("Event/ID"), std::string::npos);

  auto bad_option = SourceMapping::parse("eventType: {pointer: /t, mapping: {}}\n", "hr.yaml");
  ASSERT_FALSE(bad_option.ok());
  EXPECT_NE(bad_option.error().message.find("eventType.mapping"), std::string::npos);

  auto no_pointer = SourceMapping::parse("eventType: {map: {a: b}}\n", "hr.yaml");
  ASSERT_FALSE(no_pointer.ok());
  EXPECT_NE(no_pointer.error().message.find("eventType"), std::string::npos)
      << no_pointer.error().message;

  auto not_yaml = SourceMapping::parse("eventId: [/id\n", "hr.yaml");
  ASSERT_FALSE(not_yaml.ok());
  EXPECT_EQ(not_yaml.error().message.rfind("hr.yaml:", 0), 0u) << not_yaml.error().message;

  auto not_a_map = SourceMapping::parse("- /id\n", "hr.yaml");
  EXPECT_FALSE(not_a_map.ok());

  auto missing = SourceMapping::load("/nonexistent/mapping.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/mapping.yaml"), std::string::npos);
}

}  // namespace
}  // namespace prov
