#pragma once
// A small blocking HTTP/1.1 client for connectors that speak to web APIs (SCIM). Only
// http_client.cc sees Boost.Beast; callers use these plain types. In prov::scim, apart from
// prov::HttpCall of include/prov/http_client.h: two classes of one name in one program are one
// class to the linker, and the daemon freed one's strings with the other's destructor.
//
// One client keeps one connection open (keep-alive) and reopens it when the server closed it.
// Every exchange is bounded by the timeout, connect to last byte. https:// verifies the peer's
// certificate chain and its name (or IP address) unless verify is false. Not thread-safe: one
// client per connector, like an LDAP session.
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prov/result.h"

namespace prov::scim {

struct HttpClientOptions {
  std::string url;      // http(s)://host[:port][/base path]; requests are relative to the path
  std::string ca_file;  // trust anchors for https; empty: the system store
  bool verify = true;   // false only when the config says so, with a warning at start-up
  std::chrono::milliseconds timeout{10000};
  std::size_t max_body_bytes = 64u << 20;
};

struct HttpCall {
  std::string method;  // GET, POST, PUT, PATCH, DELETE
  std::string target;  // path below the base path plus query, e.g. "/Users?filter=…"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  // Error (not retryable) for a URL that is not http(s)://host…
  static Result<std::unique_ptr<HttpClient>> create(const HttpClientOptions& options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One exchange. Any HTTP status is a reply for the caller to judge. Errors: unreachable,
  // timed out, connection cut (retryable); certificate refused, reply over the size limit
  // (not retryable). A request on a kept-alive connection the server had closed is sent once
  // more on a fresh one.
  Result<HttpReply> send(const HttpCall& call);
  // Drops the connection; the next send() opens a new one.
  void close();

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace prov::scim
