#pragma once
// A small HTTP face for the webhook and admin listeners. Only src/hr/http_server.cc sees Beast;
// everything else speaks these plain types, so handlers are unit-testable without sockets.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace prov {

struct HttpRequest {
  std::string method;                          // "POST"
  std::string target;                          // "/v1/hr/events"
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  // Who is on the other end, as the listener saw it: the client's IP address on a TCP listener,
  // "unix" on a Unix socket, where peer_uid is the connecting process's user (SO_PEERCRED; the
  // kernel's word, not the client's). -1 on TCP.
  std::string peer;
  long peer_uid = -1;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// RFC 9457 problem+json: {"type","title","status","detail","field"}; `field` names the
// offending field ("worker.workerId", "webhook-signature") when there is one.
HttpResponse problem(int status, const std::string& title, const std::string& detail,
                     const std::string& field = {});

// A handler answers exactly once through `respond`, possibly later and from another thread.
using HttpHandler =
    std::function<void(HttpRequest request, std::function<void(HttpResponse)> respond)>;

struct HttpServerOptions {
  // host:port (port 0 picks a free one), or unix:/path for a Unix socket: a stale socket file
  // there is replaced, and the new one gets `unix_socket_mode` (not the umask's bits).
  std::string listen = "127.0.0.1:8080";
  unsigned unix_socket_mode = 0660;
  std::size_t max_body_bytes = 1 << 20;   // larger bodies get 413 before the handler runs
  int request_timeout_ms = 10000;         // per read/write; a slow client is cut off
  std::string tls_cert_file;              // both set → HTTPS
  std::string tls_key_file;
  // What one peer can hold before it has authenticated anything. Connections beyond a cap get
  // a 503 with Retry-After and are closed; a connection that has carried
  // max_requests_per_connection requests is closed after the last answer.
  int max_connections = 256;
  int max_connections_per_source = 32;  // per client IP address
  int max_requests_per_connection = 1000;
  int threads = 1;
  std::string thread_name = "prov-http";  // as `top -H` shows the serving threads
  // Called on a server thread for each request refused with 413 (head only, body empty), e.g.
  // to count it; the handler never sees such requests.
  std::function<void(const HttpRequest&)> on_body_too_large;
};

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts serving on background threads. Throws std::runtime_error when it cannot
  // bind (address in use, bad address) or load the TLS files.
  static std::unique_ptr<HttpServer> start(const HttpServerOptions& options, HttpHandler handler);
  virtual std::uint16_t port() const = 0;  // the bound port
  // Stops accepting, lets in-flight requests finish (bounded by the timeout), joins threads.
  virtual void stop() = 0;
};

}  // namespace prov
