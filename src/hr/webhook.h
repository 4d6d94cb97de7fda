#pragma once
// POST /v1/hr/events (CONTRACT §1): content type → signature → JSON → mapping → inbox. A request
// that fails a check is answered with a problem+json body and never reaches the sink.
#include <memory>
#include <string_view>

#include "hr/event_mapping.h"
#include "prov/clock.h"
#include "prov/config.h"
#include "prov/http.h"
#include "prov/ingest.h"

namespace prov {

inline constexpr std::string_view kWebhookPath = "/v1/hr/events";
// What a 503 asks the sender to wait before retrying.
inline constexpr int kWebhookRetryAfterSeconds = 5;

// The handler keeps references to `sink` and `clock`; both must outlive it. `config.secret` and
// `config.extra_secrets` are key bytes (already whsec_-decoded, as load_config() returns them).
// `mapping` rewrites payloads of another shape into the contract's; null = the default shape.
// Counts provisiond_events_received_total{type} and provisiond_events_rejected_total{reason}.
HttpHandler make_webhook_handler(const WebhookConfig& config, IngestSink& sink, const Clock& clock,
                                 std::shared_ptr<const SourceMapping> mapping = nullptr,
                                 const TimeZone& zone = TimeZone::utc());

// Listener options for the webhook (listen address, TLS, limits); bodies refused with 413 by the
// server are counted as rejected events with reason too_large.
HttpServerOptions webhook_server_options(const WebhookConfig& config);

}  // namespace prov
