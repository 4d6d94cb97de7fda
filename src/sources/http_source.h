#pragma once
// An HTTP(S) snapshot source (hr.sources[] type: http), e.g. a Workday RaaS report: every interval
// GET the URL, parse the list of worker records, diff, submit. Anything but a complete 200 answer
// with a readable body is an error and produces no event at all — a failed poll must never look
// like an empty snapshot in which everybody left.
//
// One GET per poll with the shared client (prov/http_client.h).
#include <chrono>
#include <cstddef>
#include <string>

#include "prov/clock.h"
#include "prov/config.h"
#include "prov/http_client.h"
#include "prov/ingest.h"
#include "prov/result.h"
#include "prov/store.h"

namespace prov {

struct HttpGet {
  std::string url;           // http://host[:port]/path or https://…
  std::string bearer_token;  // sent as "Authorization: Bearer …" when set; never logged
  std::string ca_file;       // https: trust anchors; empty = system store
  std::chrono::milliseconds timeout{60000};  // whole exchange, connect to last byte
  std::size_t max_body_bytes = 256u << 20;
};

// Performs the GET. Network, TLS and protocol failures are errors (retryable); any HTTP status is
// an answer, judged by the caller.
Result<HttpAnswer> http_get(const HttpGet& request);

class HttpSource {
 public:
  HttpSource(SnapshotSourceConfig config, IngestSink& sink, const Clock& clock);

  // One poll. Ok when the snapshot was read and every event stored; the error says why not.
  // Not thread-safe; `store` is a connection the caller owns.
  Status poll(Store& store);

  const SnapshotSourceConfig& config() const { return config_; }
  const std::string& label() const { return label_; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  SnapshotSourceConfig config_;
  std::string label_;  // poll:<name>
  IngestSink& sink_;
  const Clock& clock_;
  std::chrono::milliseconds timeout_{60000};
};

}  // namespace prov
