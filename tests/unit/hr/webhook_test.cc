#include "hr/webhook.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "hr/signature.h"
#include "prov/metrics.h"
#include "raw_http_client.h"

namespace prov {
namespace {

constexpr std::int64_t kNow = 1'780'000'000;  // seconds
const std::string kKey = "the webhook key bytes";

// Records what reaches the inbox and answers with a chosen status, optionally from another
// thread as the real inbox writer does.
class FakeSink final : public IngestSink {
 public:
  ~FakeSink() override {
    for (auto& t : threads_) t.join();
  }
  void submit(HrEvent event, std::function<void(IngestResult)> done) override {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(event));
    }
    IngestResult result{reply, "inbox says no", 42};
    if (async)
      threads_.emplace_back([done = std::move(done), result] { done(result); });
    else
      done(result);
  }
  std::vector<HrEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

  IngestStatus reply = IngestStatus::Stored;
  bool async = false;

 private:
  mutable std::mutex mutex_;
  std::vector<HrEvent> events_;
  std::vector<std::thread> threads_;
};

std::string hire_body(const std::string& event_id = "evt-1") {
  Json body = {{"eventType", "HIRE"},
               {"effectiveAt", "2026-12-01T08:00:00Z"},
               {"worker", {{"workerId", "100234"}, {"firstName", "José"}, {"lastName", "Núñez"}}}};
  if (!event_id.empty()) body["eventId"] = event_id;
  return body.dump();
}

HttpRequest signed_request(const std::string& body, const std::string& key = kKey,
                           std::int64_t ts = kNow, const std::string& id = "msg_1") {
  HttpRequest r;
  r.method = "POST";
  r.target = "/v1/hr/events";
  r.headers = {{"content-type", "application/json"},
               {"webhook-id", id},
               {"webhook-timestamp", std::to_string(ts)},
               {"webhook-signature", sign(key, id, ts, body)}};
  r.body = body;
  return r;
}

double rejected(const std::string& reason) {
  return Metrics::global().value("provisiond_events_rejected_total", {{"reason", reason}});
}

std::string header(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Metrics::global().reset();
    config_.secret = kKey;
    config_.extra_secrets = {"the next key"};
    config_.max_body_bytes = 4096;
  }

  HttpResponse call(HttpRequest request) {
    HttpHandler handler = make_webhook_handler(config_, sink_, clock_);
    std::optional<HttpResponse> response;
    int answers = 0;
    handler(std::move(request), [&](HttpResponse r) {
      ++answers;
      response = std::move(r);
    });
    EXPECT_EQ(answers, 1);
    return response.value_or(HttpResponse{-1, "", {}, ""});
  }

  Json problem_of(const HttpResponse& r) {
    EXPECT_EQ(r.content_type, "application/problem+json");
    Json p = Json::parse(r.body);
    EXPECT_EQ(p["status"], r.status);
    EXPECT_TRUE(p.contains("title"));
    EXPECT_TRUE(p.contains("detail"));
    return p;
  }

  WebhookConfig config_;
  FakeSink sink_;
  ManualClock clock_{from_unix_ms(kNow * 1000)};
};

TEST_F(WebhookTest, StoresASignedEvent) {
  HttpResponse r = call(signed_request(hire_body()));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Json::parse(r.body), (Json{{"eventId", "evt-1"}, {"status", "stored"}}));
  auto events = sink_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_id, "evt-1");
  EXPECT_EQ(events[0].worker_id, "100234");
  EXPECT_EQ(events[0].type, EventType::Hire);
  EXPECT_EQ(events[0].received_at, clock_.now());
  EXPECT_EQ(Metrics::global().value("provisiond_events_received_total", {{"type", "HIRE"}}), 1);
}

TEST_F(WebhookTest, UsesTheWebhookIdWhenTheBodyHasNoEventId) {
  HttpResponse r = call(signed_request(hire_body(""), kKey, kNow, "msg_abc"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(Json::parse(r.body)["eventId"], "msg_abc");
  EXPECT_EQ(sink_.events().at(0).event_id, "msg_abc");
}

TEST_F(WebhookTest, AcceptsARotatedSecret) {
  EXPECT_EQ(call(signed_request(hire_body(), "the next key")).status, 202);
}

TEST_F(WebhookTest, DuplicateIsAcknowledgedWith200) {
  sink_.reply = IngestStatus::Duplicate;
  HttpResponse r = call(signed_request(hire_body()));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body), (Json{{"eventId", "evt-1"}, {"status", "duplicate"}}));
}

TEST_F(WebhookTest, ConflictIs409NamingTheEventId) {
  sink_.reply = IngestStatus::Conflict;
  HttpResponse r = call(signed_request(hire_body()));
  EXPECT_EQ(r.status, 409);
  Json p = problem_of(r);
  EXPECT_EQ(p["field"], "eventId");
  EXPECT_NE(p["detail"].get<std::string>().find("evt-1"), std::string::npos);
  EXPECT_EQ(rejected("conflict"), 1);
}

TEST_F(WebhookTest, OverloadedAndFailedAre503WithRetryAfter) {
  for (IngestStatus status : {IngestStatus::Overloaded, IngestStatus::Failed}) {
    sink_.reply = status;
    HttpResponse r = call(signed_request(hire_body()));
    EXPECT_EQ(r.status, 503);
    problem_of(r);
    EXPECT_EQ(header(r, "Retry-After"), std::to_string(kWebhookRetryAfterSeconds));
  }
  EXPECT_EQ(rejected("overloaded"), 1);
  EXPECT_EQ(rejected("storage"), 1);
}

TEST_F(WebhookTest, UnknownPathIs404AndOtherMethodsAre405) {
  HttpRequest r = signed_request(hire_body());
  r.target = "/v1/hr/event";
  EXPECT_EQ(call(r).status, 404);
  r = signed_request(hire_body());
  r.method = "GET";
  HttpResponse response = call(r);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(header(response, "Allow"), "POST");
  r.method = "POST";
  r.target = "/v1/hr/events?source=workday";  // a query string does not change the route
  EXPECT_EQ(call(r).status, 202);
}

TEST_F(WebhookTest, OtherContentTypesAre415) {
  for (std::string type :
       {"text/plain", "", "application/jsonx", "application/x-www-form-urlencoded"}) {
    HttpRequest r = signed_request(hire_body());
    r.headers["content-type"] = type;
    HttpResponse response = call(r);
    EXPECT_EQ(response.status, 415) << type;
    problem_of(response);
  }
  EXPECT_EQ(rejected("content_type"), 4);
  EXPECT_TRUE(sink_.events().empty());
}

TEST_F(WebhookTest, CharsetParameterAndCaseAreAllowed) {
  for (std::string type : {"application/json; charset=utf-8", "Application/JSON",
                           " application/json ;charset=UTF-8"}) {
    HttpRequest r = signed_request(hire_body());
    r.headers["content-type"] = type;
    EXPECT_EQ(call(r).status, 202) << type;
  }
}

TEST_F(WebhookTest, BadSignatureIs401AndNeverReachesTheSink) {
  HttpRequest r = signed_request(hire_body(), "someone else's key");
  HttpResponse response = call(r);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(problem_of(response)["field"], "webhook-signature");
  EXPECT_TRUE(sink_.events().empty());
  EXPECT_EQ(rejected("signature"), 1);
  EXPECT_EQ(Metrics::global().value("provisiond_events_received_total", {{"type", "HIRE"}}), 0);
}

TEST_F(WebhookTest, TamperedBodyIs401) {
  HttpRequest r = signed_request(hire_body());
  r.body = hire_body("evt-2");
  EXPECT_EQ(call(r).status, 401);
  EXPECT_TRUE(sink_.events().empty());
}

TEST_F(WebhookTest, StaleOrMissingSignatureHeadersAre401) {
  HttpRequest stale = signed_request(hire_body(), kKey, kNow - 301);
  HttpResponse response = call(stale);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(problem_of(response)["field"], "webhook-timestamp");

  for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
    HttpRequest r = signed_request(hire_body());
    r.headers.erase(name);
    HttpResponse missing = call(r);
    EXPECT_EQ(missing.status, 401) << name;
    EXPECT_EQ(problem_of(missing)["field"], name);
  }
  EXPECT_TRUE(sink_.events().empty());
  EXPECT_EQ(rejected("signature"), 4);
}

TEST_F(WebhookTest, InvalidJsonIs400WithPosition) {
  const std::string body = "{\n  \"eventType\": HIRE\n}";
  HttpResponse r = call(signed_request(body));
  EXPECT_EQ(r.status, 400);
  const std::string detail = problem_of(r)["detail"];
  EXPECT_EQ(detail.rfind("body is not valid JSON: ", 0), 0u) << detail;
  EXPECT_NE(detail.find("line 2"), std::string::npos) << detail;
  EXPECT_TRUE(sink_.events().empty());
  EXPECT_EQ(rejected("json"), 1);
}

TEST_F(WebhookTest, MissingWorkerIdIs400NamingTheField) {
  Json body = Json::parse(hire_body());
  body["worker"].erase("workerId");
  HttpResponse r = call(signed_request(body.dump()));
  EXPECT_EQ(r.status, 400);
  Json p = problem_of(r);
  EXPECT_EQ(p["field"], "worker.workerId");
  EXPECT_NE(r.body.find("worker.workerId"), std::string::npos);
  EXPECT_TRUE(sink_.events().empty());
  EXPECT_EQ(rejected("field"), 1);
}

TEST_F(WebhookTest, BadEventTypeIs400NamingTheField) {
  Json body = Json::parse(hire_body());
  body["eventType"] = "PROMOTION";
  HttpResponse r = call(signed_request(body.dump()));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(problem_of(r)["field"], "eventType");
}

// The 400 lists every type a sender may use, RESCIND included, and RESCIND is accepted.
TEST_F(WebhookTest, BadEventTypeListsRescindWhichIsAccepted) {
  Json body = Json::parse(hire_body());
  body["eventType"] = "PROMOTION";
  HttpResponse r = call(signed_request(body.dump()));
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(problem_of(r)["detail"],
            "eventType 'PROMOTION' is not one of HIRE, CHANGE, LEAVE, RETURN, TERMINATION, "
            "REHIRE, RESCIND");
  body["eventType"] = "RESCIND";
  EXPECT_EQ(call(signed_request(body.dump(), kKey, kNow, "msg_rescind")).status, 202);
  ASSERT_EQ(sink_.events().size(), 1u);
  EXPECT_EQ(sink_.events()[0].type, EventType::Rescind);
}

TEST_F(WebhookTest, OversizedBodyIs413EvenWithoutTheListener) {
  HttpResponse r = call(signed_request(hire_body() + std::string(5000, ' ')));
  EXPECT_EQ(r.status, 413);
  EXPECT_TRUE(sink_.events().empty());
  EXPECT_EQ(rejected("too_large"), 1);
}

TEST_F(WebhookTest, MappingFileAppliesToWebhookBodies) {
  auto mapping = SourceMapping::parse(
      "eventType: {pointer: /kind, map: {new: HIRE}}\neffectiveAt: /when\n"
      "worker.workerId: /who/id\nworker.firstName: /who/first\nworker.lastName: /who/last\n",
      "inline");
  ASSERT_TRUE(mapping.ok()) << mapping.error().message;
  HttpHandler handler = make_webhook_handler(
      config_, sink_, clock_, std::make_shared<const SourceMapping>(std::move(mapping.value())));
  const std::string body =
      R"({"kind":"new","when":"2026-03-01","who":{"id":"9","first":"Ada","last":"King"}})";
  std::optional<HttpResponse> response;
  handler(signed_request(body, kKey, kNow, "msg_m"), [&](HttpResponse r) { response = r; });
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 202) << response->body;
  EXPECT_EQ(sink_.events().at(0).worker_id, "9");
  EXPECT_EQ(sink_.events().at(0).event_id, "msg_m");
}

// --- through the real listener ---------------------------------------------------------------

class WebhookListenerTest : public WebhookTest {
 protected:
  void SetUp() override {
    WebhookTest::SetUp();
    config_.listen = "127.0.0.1:0";
    config_.max_body_bytes = 512;
    config_.request_timeout_ms = 5000;
    sink_.async = true;
    server_ = HttpServer::start(webhook_server_options(config_),
                                make_webhook_handler(config_, sink_, clock_));
  }
  void TearDown() override { server_->stop(); }

  std::optional<test_client::RawResponse> post(const HttpRequest& r) {
    std::vector<std::pair<std::string, std::string>> headers(r.headers.begin(), r.headers.end());
    test_client::RawHttpClient client(server_->port());
    EXPECT_TRUE(client.send(test_client::make_request(r.method, r.target, headers, r.body)));
    return client.read_response();
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(WebhookListenerTest, StoresAnEventAnsweredFromTheInboxThread) {
  auto r = post(signed_request(hire_body()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(Json::parse(r->body)["status"], "stored");
  EXPECT_EQ(sink_.events().size(), 1u);
}

TEST_F(WebhookListenerTest, OversizedBodyIs413BeforeTheHandler) {
  auto r = post(signed_request(hire_body() + std::string(2000, ' ')));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  EXPECT_EQ(Json::parse(r->body)["status"], 413);
  EXPECT_TRUE(sink_.events().empty());
  EXPECT_EQ(rejected("too_large"), 1);
}

TEST_F(WebhookListenerTest, BadSignatureOverTheWireStoresNothing) {
  auto r = post(signed_request(hire_body(), "wrong"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_TRUE(sink_.events().empty());
}

}  // namespace
}  // namespace prov
