#include "hr/webhook.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

#include "hr/signature.h"
#include "prov/ascii.h"
#include "prov/log.h"
#include "prov/metrics.h"

namespace prov {

namespace {

constexpr const char* kReceived = "provisiond_events_received_total";
constexpr const char* kRejected = "provisiond_events_rejected_total";

void count_rejected(const char* reason) { Metrics::global().inc(kRejected, {{"reason", reason}}); }

void describe_metrics() {
  Metrics::global().describe(kReceived, "counter",
                             "HR events accepted for storage, by event type.");
  Metrics::global().describe(kRejected, "counter", "HR webhook deliveries refused, by reason.");
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// "application/json; charset=utf-8" → "application/json"
std::string media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.front())))
    type.remove_prefix(1);
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back())))
    type.remove_suffix(1);
  return ascii_lower(type);
}

// nlohmann reports a byte offset; senders debug faster with line and column.
std::string position_of(const std::string& body, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i + 1 < byte && i < body.size(); ++i) {
    if (body[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

HttpResponse accepted(int status, const std::string& event_id, const char* state) {
  HttpResponse response;
  response.status = status;
  response.body = Json{{"eventId", event_id}, {"status", state}}.dump();
  return response;
}

HttpResponse unavailable(const std::string& detail) {
  HttpResponse response = problem(503, "Service Unavailable", detail);
  response.headers.emplace_back("Retry-After", std::to_string(kWebhookRetryAfterSeconds));
  return response;
}

HttpResponse answer(const IngestResult& result, const std::string& event_id) {
  switch (result.status) {
    case IngestStatus::Stored:
      return accepted(202, event_id, "stored");
    case IngestStatus::Duplicate:
      return accepted(200, event_id, "duplicate");
    case IngestStatus::Conflict:
      count_rejected("conflict");
      return problem(409, "Conflict",
                     "event " + event_id + " was already stored with a different body", "eventId");
    case IngestStatus::Overloaded:
      count_rejected("overloaded");
      return unavailable("the inbox is over its high-water mark; the event was not stored");
    case IngestStatus::Failed:
      break;
  }
  count_rejected("storage");
  return unavailable("a storage error kept the event from being stored; retry later");
}

struct WebhookState {
  std::vector<std::string> keys;
  std::chrono::seconds tolerance;
  std::size_t max_body_bytes;
  IngestSink* sink;
  const Clock* clock;
  std::shared_ptr<const SourceMapping> mapping;
  TimeZone zone = TimeZone::utc();  // engine.timezone, for plain-date effectiveAt
};

void handle(const WebhookState& state, HttpRequest request,
            std::function<void(HttpResponse)> respond) {
  if (path_of(request.target) != kWebhookPath)
    return respond(
        problem(404, "Not Found", "no such endpoint: " + std::string(path_of(request.target))));
  if (request.method != "POST") {
    HttpResponse response =
        problem(405, "Method Not Allowed", "use POST " + std::string(kWebhookPath));
    response.headers.emplace_back("Allow", "POST");
    return respond(std::move(response));
  }
  if (media_type(request.header("content-type")) != "application/json") {
    count_rejected("content_type");
    return respond(problem(415, "Unsupported Media Type",
                           "the body must be sent as application/json", "content-type"));
  }
  // The listener refuses large bodies first; this guards handlers mounted elsewhere.
  if (request.body.size() > state.max_body_bytes) {
    count_rejected("too_large");
    return respond(problem(413, "Content Too Large",
                           "the body exceeds " + std::to_string(state.max_body_bytes) + " bytes"));
  }

  const std::string id = request.header("webhook-id");
  const std::string timestamp = request.header("webhook-timestamp");
  const SignatureVerdict verdict =
      verify_signature({id, timestamp, request.header("webhook-signature"), request.body},
                       state.keys, state.clock->now(), state.tolerance);
  if (!verdict.ok()) {
    count_rejected("signature");
    log::warn("hr webhook signature rejected",
              {{"reason", std::string(to_string(verdict.check))}, {"webhook_id", id}});
    return respond(problem(401, "Unauthorized", verdict.detail, verdict.header));
  }

  Json body;
  try {
    body = Json::parse(request.body);
  } catch (const nlohmann::json::parse_error& e) {
    count_rejected("json");
    return respond(problem(400, "Bad Request",
                           "body is not valid JSON: " + position_of(request.body, e.byte)));
  }

  EventMapping mapped = map_event(body, id, state.clock->now(), state.mapping.get(), state.zone);
  if (!mapped.ok()) {
    count_rejected("field");
    const std::string& field = mapped.error.field;
    return respond(problem(400, "Bad Request",
                           (field.empty() ? "" : field + " ") + mapped.error.message, field));
  }
  HrEvent event = std::move(*mapped.event);
  Metrics::global().inc(kReceived, {{"type", std::string(to_string(event.type))}});

  // The sink takes the event; the answer needs only its ids (not a copy of the worker record,
  // which would be freed on the writer's thread).
  auto done = [respond = std::move(respond), event_id = event.event_id,
               worker_id = event.worker_id](IngestResult result) {
    if (result.status == IngestStatus::Failed)
      log::error("hr event not stored",
                 {{"event_id", event_id}, {"worker_id", worker_id}, {"error", result.message}});
    respond(answer(result, event_id));
  };
  state.sink->submit(std::move(event), std::move(done));
}

}  // namespace

HttpHandler make_webhook_handler(const WebhookConfig& config, IngestSink& sink, const Clock& clock,
                                 std::shared_ptr<const SourceMapping> mapping,
                                 const TimeZone& zone) {
  describe_metrics();
  auto state = std::make_shared<WebhookState>();
  state->keys.push_back(config.secret);
  state->keys.insert(state->keys.end(), config.extra_secrets.begin(), config.extra_secrets.end());
  state->tolerance = std::chrono::seconds(config.tolerance_s);
  state->max_body_bytes = config.max_body_bytes;
  state->sink = &sink;
  state->clock = &clock;
  state->mapping = std::move(mapping);
  state->zone = zone;
  return [state](HttpRequest request, std::function<void(HttpResponse)> respond) {
    handle(*state, std::move(request), std::move(respond));
  };
}

HttpServerOptions webhook_server_options(const WebhookConfig& config) {
  describe_metrics();
  HttpServerOptions options;
  options.listen = config.listen;
  options.max_body_bytes = config.max_body_bytes;
  options.request_timeout_ms = config.request_timeout_ms;
  options.max_connections = config.max_connections;
  options.max_connections_per_source = config.max_connections_per_source;
  options.max_requests_per_connection = config.max_requests_per_connection;
  options.tls_cert_file = config.tls_cert_file;
  options.tls_key_file = config.tls_key_file;
  options.on_body_too_large = [](const HttpRequest& request) {
    if (path_of(request.target) == kWebhookPath) count_rejected("too_large");
  };
  return options;
}

}  // namespace prov
