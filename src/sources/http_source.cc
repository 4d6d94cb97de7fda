#include "sources/http_source.h"

#include "prov/ascii.h"
#include "prov/log.h"
#include "prov/metrics.h"
#include "sources/snapshot_ingest.h"
#include "sources/snapshot_reader.h"

namespace prov {
namespace {

// The URL as it may appear in logs: the query can carry report parameters or keys.
std::string loggable(const std::string& url) { return url.substr(0, url.find('?')); }

}  // namespace

Result<HttpAnswer> http_get(const HttpGet& request) {
  HttpCall call;
  call.url = request.url;
  call.bearer_token = request.bearer_token;
  call.ca_file = request.ca_file;
  call.timeout = request.timeout;
  call.max_body_bytes = request.max_body_bytes;
  call.accept = "application/json, text/csv";
  return http_call(call);
}

HttpSource::HttpSource(SnapshotSourceConfig config, IngestSink& sink, const Clock& clock)
    : config_(std::move(config)),
      label_(source_label("http", config_.name)),
      sink_(sink),
      clock_(clock) {}

Status HttpSource::poll(Store& store) {
  auto fail = [&](const std::string& reason, bool retryable) -> Status {
    Metrics::global().inc("provisiond_snapshot_polls_total",
                          {{"source", label_}, {"result", "error"}});
    log::error("snapshot poll failed; nothing read from it",
               {{"source", label_}, {"url", loggable(config_.url)}, {"reason", reason}});
    return Error{label_ + ": " + reason, retryable};
  };
  HttpGet request;
  request.url = config_.url;
  request.bearer_token = config_.token;
  request.ca_file = config_.ca_file;
  request.timeout = timeout_;
  auto answer = http_get(request);
  if (!answer) return fail(answer.error().message, answer.error().retryable);
  if (answer->status != 200)
    return fail("HTTP status " + std::to_string(answer->status) + " (expected 200)", true);
  const SnapshotFormat format = ascii_lower(answer->content_type).find("csv") != std::string::npos
                                    ? SnapshotFormat::Csv
                                    : SnapshotFormat::Json;
  auto records = read_snapshot(answer->body, format, config_.records_pointer, label_);
  if (!records) return fail(records.error().message, false);

  SnapshotContext ctx;
  ctx.source = label_;
  ctx.snapshot_time = clock_.now();
  ctx.received_at = ctx.snapshot_time;
  ctx.missing_means_terminated = config_.missing_means_terminated;
  ctx.timezone = config_.timezone;
  const SnapshotReport report = ingest_snapshot(*records, store, sink_, ctx);
  const log::Fields summary{{"source", label_},
                            {"records", std::to_string(report.records)},
                            {"events", std::to_string(report.diff.events.size())},
                            {"stored", std::to_string(report.stored)},
                            {"duplicates", std::to_string(report.duplicates)},
                            {"skipped", std::to_string(report.diff.skipped.size())},
                            {"missing", std::to_string(report.diff.missing)}};
  if (!report.complete()) {
    Metrics::global().inc("provisiond_snapshot_polls_total",
                          {{"source", label_}, {"result", "error"}});
    log::warn("snapshot only partly stored; the next poll completes it", summary);
    return Error{label_ + ": " + std::to_string(report.not_stored) + " events not stored", true};
  }
  Metrics::global().inc("provisiond_snapshot_polls_total", {{"source", label_}, {"result", "ok"}});
  log::info("snapshot polled", summary);
  return Status::Ok();
}

}  // namespace prov
