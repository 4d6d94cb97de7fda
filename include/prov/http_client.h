#pragma once
// A small blocking HTTP/1.1 client over POSIX sockets and OpenSSL, for the snapshot sources (GET
// an HR report) and provisionctl (ask the running daemon): one request per connection
// (`Connection: close`), Content-Length, chunked or read-to-close bodies, no redirects. TLS always
// verifies the peer certificate and the host name (ca_file, else the system trust store).
#include <chrono>
#include <cstddef>
#include <string>

#include "prov/result.h"

namespace prov {

struct HttpCall {
  std::string method = "GET";
  std::string url;           // http://host[:port]/path or https://…
  // When set, the request goes over this Unix socket instead; `url` still gives the target
  // (and the Host header), e.g. http://localhost/v1/status.
  std::string unix_socket;
  std::string bearer_token;  // sent as "Authorization: Bearer …" when set; never logged
  std::string ca_file;       // https: trust anchors; empty = system store
  std::string accept = "application/json";
  std::string content_type = "application/json";  // of `body`, sent with any POST
  std::string body;
  std::string user_agent = "provisiond";
  std::chrono::milliseconds timeout{60000};  // whole exchange, connect to last byte
  std::size_t max_body_bytes = 256u << 20;
};

struct HttpAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// Performs the request. Network, TLS and protocol failures are errors (retryable); any HTTP
// status is an answer, judged by the caller.
Result<HttpAnswer> http_call(const HttpCall& request);

}  // namespace prov
