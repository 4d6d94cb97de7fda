// The one translation unit of the connectors that sees Boost.Asio/Beast. Beast's operations are
// asynchronous; each exchange runs them on a private io_context until they finish, with the
// stream's expiry as the deadline (synchronous Beast calls would ignore timeouts).
#include "scim/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "prov/ascii.h"

namespace prov::scim {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Error retryable(std::string message) { return Error{std::move(message), true}; }
Error permanent(std::string message) { return Error{std::move(message), false}; }

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct HttpClient::Impl {
  HttpClientOptions options;
  bool tls = false;
  std::string host, port, base_path;
  asio::io_context ioc;
  std::optional<ssl::context> tls_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*secure) : *plain; }
  bool is_open() {
    return (tls ? secure.has_value() : plain.has_value()) && lowest().socket().is_open();
  }

  // Runs what `start` began on ioc until it completes (or the stream's expiry cancels it).
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void drop() {
    if (plain) plain->socket().close();
    if (secure) beast::get_lowest_layer(*secure).socket().close();
    plain.reset();
    secure.reset();
    buffer.clear();
  }

  Status connect() {
    drop();
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type found;
    auto ec = run([&](auto done) {
      resolver.async_resolve(host, port, [&found, done](beast::error_code e, auto results) {
        found = results;
        done(e);
      });
    });
    if (ec) return retryable("cannot resolve " + host + ": " + ec.message());
    if (tls) {
      secure.emplace(ioc, *tls_context);
    } else {
      plain.emplace(ioc);
    }
    lowest().expires_after(options.timeout);
    ec = run([&](auto done) { lowest().async_connect(found, done); });
    if (ec) {
      drop();
      return retryable("cannot connect to " + host + ":" + port + ": " + ec.message());
    }
    if (!tls) return Status::Ok();
    SSL* native = secure->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    if (is_ip_literal(host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      SSL_set_tlsext_host_name(native, host.c_str());
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
    ec = run([&](auto done) { secure->async_handshake(ssl::stream_base::client, done); });
    if (ec) {
      const long verify = SSL_get_verify_result(native);
      drop();
      // A certificate we do not trust is a setting to fix, not an outage to wait out.
      if (options.verify && verify != X509_V_OK)
        return permanent("TLS certificate of " + host +
                         " not trusted: " + X509_verify_cert_error_string(verify));
      return retryable("TLS handshake with " + host + " failed: " + ec.message());
    }
    return Status::Ok();
  }

  // One request on the open connection. `fresh`: whether nothing was exchanged on it before.
  Result<HttpReply> exchange(const HttpCall& call, bool* stale) {
    http::request<http::string_body> req;
    req.method(http::string_to_verb(call.method));
    req.target(base_path + call.target == "" ? "/" : base_path + call.target);
    req.version(11);
    const bool default_port = port == (tls ? "443" : "80");
    req.set(http::field::host, default_port ? host : host + ":" + port);
    req.set(http::field::user_agent, "provisiond");
    for (const auto& [name, value] : call.headers) req.set(name, value);
    if (!call.body.empty()) req.body() = call.body;
    req.prepare_payload();

    lowest().expires_after(options.timeout);
    auto ec = run([&](auto done) {
      if (tls) {
        http::async_write(*secure, req, done);
      } else {
        http::async_write(*plain, req, done);
      }
    });
    if (ec) {
      *stale = true;
      return retryable("sending to " + host + ": " + ec.message());
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_body_bytes);
    ec = run([&](auto done) {
      if (tls) {
        http::async_read(*secure, buffer, parser, done);
      } else {
        http::async_read(*plain, buffer, parser, done);
      }
    });
    if (ec == http::error::body_limit)
      return permanent("reply of " + host + " is larger than " +
                       std::to_string(options.max_body_bytes) + " bytes");
    if (ec) {
      // Nothing came back on a connection the server may have closed while it idled.
      *stale = !parser.got_some();
      return retryable("reading the reply of " + host + ": " + ec.message());
    }
    auto res = parser.release();
    HttpReply reply;
    reply.status = static_cast<int>(res.result_int());
    for (const auto& field : res)
      reply.headers[ascii_lower(std::string(field.name_string()))] = std::string(field.value());
    reply.body = std::move(res.body());
    if (!res.keep_alive()) drop();
    return reply;
  }
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::create(const HttpClientOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  std::string rest;
  if (options.url.starts_with("https://")) {
    impl->tls = true;
    rest = options.url.substr(8);
  } else if (options.url.starts_with("http://")) {
    rest = options.url.substr(7);
  } else {
    return permanent("not an http:// or https:// URL: " + options.url);
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  impl->base_path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!impl->base_path.empty() && impl->base_path.back() == '/') impl->base_path.pop_back();
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) return permanent("malformed host in " + options.url);
    impl->host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      impl->port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    impl->host = authority.substr(0, colon);
    if (colon != std::string::npos) impl->port = authority.substr(colon + 1);
  }
  if (impl->host.empty()) return permanent("no host in " + options.url);
  if (impl->port.empty()) impl->port = impl->tls ? "443" : "80";
  if (impl->tls) {
    impl->tls_context.emplace(ssl::context::tls_client);
    impl->tls_context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                   ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (options.ca_file.empty()) {
      impl->tls_context->set_default_verify_paths(ec);
    } else {
      impl->tls_context->load_verify_file(options.ca_file, ec);
    }
    if (ec)
      return permanent("cannot load trust anchors" +
                       (options.ca_file.empty() ? std::string() : " from " + options.ca_file) +
                       ": " + ec.message());
    impl->tls_context->set_verify_mode(options.verify ? ssl::verify_peer : ssl::verify_none);
  }
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<HttpReply> HttpClient::send(const HttpCall& call) {
  Impl& i = *impl_;
  for (int attempt = 0;; ++attempt) {
    const bool reused = i.is_open();
    if (!reused)
      if (auto st = i.connect(); !st.ok()) return st.error();
    bool stale = false;
    auto reply = i.exchange(call, &stale);
    if (reply.ok()) return reply;
    i.drop();
    if (!(reused && stale && attempt == 0)) return reply;
  }
}

void HttpClient::close() { impl_->drop(); }

}  // namespace prov::scim
