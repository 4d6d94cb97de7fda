// The HTTP/1.1 listener behind the webhook and admin endpoints: the only translation unit that
// includes Boost.Asio/Beast. Its shape follows Beast's advanced servers: one session object per
// connection on its own strand, a body-size limit on the parser, a deadline on every read and
// write, keep-alive, and a stop that lets in-flight requests finish.
//
// g++ 12 with Boost 1.74: <utility> must come before any Asio header.
#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>

#include "hr/connection_limits.h"
#include "prov/ascii.h"
#include "prov/http.h"
#include "prov/log.h"
#include "prov/thread_name.h"

namespace prov {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using UnixStream = beast::basic_stream<local>;

// Who is connected, as the kernel says: the client's address, or on a Unix socket the peer
// process's user.
struct Peer {
  std::string address;  // an IP address, or "unix"
  long uid = -1;
};

constexpr std::size_t kHeaderLimit = 16 * 1024;
// The most a session reads ahead of the parser. Beast 1.74 bounds the head (kHeaderLimit) and
// the decoded body (max_body_bytes) but not a chunk extension or the trailer: without a cap the
// read buffer grows for as long as a peer keeps sending one. Body bytes are handed to the parser
// as they arrive, so 64 KiB holds any head plus a read's worth of body.
constexpr std::size_t kReadBufferLimit = 64 * 1024;

// What the listener and its connections share. Connections hold it by shared_ptr so a late
// completion never sees a destroyed server.
struct Listener {
  asio::io_context* io = nullptr;
  HttpHandler handler;
  HttpServerOptions options;
  std::atomic<bool> stopping{false};
  // Cleared once the io_context has stopped for good: a handler answering after that (it may
  // hold `respond` for as long as it likes) must not post to it.
  std::mutex io_mutex;
  bool io_running = true;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual void start() = 0;
  // From any thread: close now if waiting for a request; otherwise close after the response.
  virtual void stop_soon() = 0;
};

template <class Request>
HttpRequest to_request(Request& req, bool with_body, const Peer& peer = {}) {
  HttpRequest out;
  out.peer = peer.address;
  out.peer_uid = peer.uid;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req) {
    std::string name = ascii_lower(std::string(field.name_string()));
    auto [it, inserted] = out.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());  // RFC 9110 §5.3
  }
  if (with_body) out.body = std::move(req.body());
  return out;
}

template <class Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  enum class Phase { Handshake, Reading, Handling, Writing, Closing, Closed };

 public:
  template <class... Args>
  Session(std::shared_ptr<Listener> listener, ConnectionLimits::Slot slot, Peer peer,
          Args&&... args)
      : listener_(std::move(listener)),
        slot_(std::move(slot)),
        peer_(std::move(peer)),
        stream_(std::forward<Args>(args)...),
        grace_(stream_.get_executor()) {}

  void start() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->phase_ = Phase::Handshake;
        self->arm_timer();
        self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          ec ? self->close() : self->read_request();
        });
      } else {
        self->read_request();
      }
    });
  }

  void stop_soon() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->stopping_ = true;
      if (self->phase_ == Phase::Handshake || self->phase_ == Phase::Reading ||
          self->phase_ == Phase::Closing)
        self->close();
      else if (self->phase_ == Phase::Handling)
        self->limit_handler_time();
    });
  }

 private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }
  void arm_timer() {
    lowest().expires_after(std::chrono::milliseconds(listener_->options.request_timeout_ms));
  }

  // stop() waits for in-flight answers, but not forever: past the request timeout the client
  // is told to retry and the handler's late answer is dropped.
  void limit_handler_time() {
    grace_.expires_after(std::chrono::milliseconds(listener_->options.request_timeout_ms));
    grace_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->phase_ != Phase::Handling || self->answered_->exchange(true)) return;
      log::warn("http: no answer before shutdown; told the client to retry");
      HttpResponse response = problem(503, "Service Unavailable", "the server is shutting down");
      response.headers.emplace_back("Retry-After", "1");
      self->write(std::move(response), false);
    });
  }

  void read_request() {
    if (stopping_ || listener_->stopping) return close();
    phase_ = Phase::Reading;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(listener_->options.max_body_bytes);
    arm_timer();
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  // Clients that send `Expect: 100-continue` (curl above 1 KiB, several HTTP libraries) wait
  // for a go-ahead before the body; an oversized Content-Length has already failed above.
  void on_header(beast::error_code ec) {
    if (ec || parser_->is_done()) return on_read(ec);
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      interim_.emplace(http::status::continue_, parser_->get().version());
      arm_timer();
      return http::async_write(
          stream_, *interim_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            self->interim_.reset();
            ec ? self->close() : self->read_body();
          });
    }
    read_body();
  }

  void read_body() {
    arm_timer();
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::buffer_overflow) {
      // An element (chunk extension, trailer) longer than the read buffer: nothing a real
      // sender does. Close without reading the rest.
      log::debug("http: request element exceeds the read buffer; connection closed");
      return close();
    }
    if (ec == http::error::body_limit) {
      if (listener_->options.on_body_too_large) {
        try {
          listener_->options.on_body_too_large(to_request(parser_->get(), false));
        } catch (const std::exception& e) {
          log::error("http: body-size hook failed", {{"error", e.what()}});
        }
      }
      return refuse(problem(
          413, "Content Too Large",
          "the body exceeds " + std::to_string(listener_->options.max_body_bytes) + " bytes"));
    }
    if (ec == http::error::header_limit)
      return refuse(problem(431, "Request Header Fields Too Large",
                            "the request head exceeds " + std::to_string(kHeaderLimit) + " bytes"));
    if (ec && ec != http::error::end_of_stream && ec != http::error::partial_message &&
        ec.category() == beast::http::make_error_code(http::error::bad_method).category())
      return refuse(problem(400, "Bad Request", "malformed HTTP request: " + ec.message()));
    if (ec) return close();  // peer closed, timed out, or we are stopping

    auto& req = parser_->get();
    version_ = req.version();
    // The last request a connection may carry is answered with Connection: close.
    keep_alive_ = req.keep_alive() &&
                  ++requests_ < std::max(1, listener_->options.max_requests_per_connection);
    HttpRequest request = to_request(req, true, peer_);

    phase_ = Phase::Handling;
    lowest().expires_never();  // the handler's own time is not the client's fault
    // Keeps the io_context running while the answer is computed elsewhere, so stop() waits.
    work_.emplace(listener_->io->get_executor());
    answered_ = std::make_shared<std::atomic<bool>>(false);
    // While its answer is pending the session owns itself; `respond` holds it only weakly, so a
    // handler that keeps `respond` past the server's life keeps no socket alive with it.
    self_ = this->shared_from_this();
    std::function<void(HttpResponse)> respond = [weak = this->weak_from_this(),
                                                 listener = listener_,
                                                 answered = answered_](HttpResponse response) {
      if (answered->exchange(true)) return;  // a handler answers once
      std::lock_guard lock(listener->io_mutex);
      auto self = weak.lock();
      if (!self || !listener->io_running) return;
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->write(std::move(response), self->keep_alive_);
      });
    };
    try {
      listener_->handler(std::move(request), respond);
    } catch (const std::exception& e) {
      log::error("http: handler failed", {{"error", e.what()}});
      respond(problem(500, "Internal Server Error", "the request could not be handled"));
    }
  }

  // Answers a request that cannot be read to its end, then closes: the rest of the request is
  // still on the wire, so the connection cannot carry another one.
  void refuse(HttpResponse response) {
    version_ = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    drain_after_write_ = true;
    write(std::move(response), false);
  }

  void write(HttpResponse response, bool keep_alive) {
    // Keeps this alive to the end of the function; the write's completion owns it from there.
    auto keep = std::exchange(self_, nullptr);
    work_.reset();
    grace_.cancel();
    phase_ = Phase::Writing;
    response_.emplace();
    auto& res = *response_;
    res.version(version_);
    res.result(static_cast<unsigned>(response.status));
    res.set(http::field::server, "provisiond");
    if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res.insert(name, value);
    res.body() = std::move(response.body);
    res.keep_alive(keep_alive && !stopping_ && !listener_->stopping);
    res.prepare_payload();
    arm_timer();
    http::async_write(stream_, res,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    if (ec) return close();
    const bool again = response_->keep_alive();
    response_.reset();
    if (again) return read_request();
    finish();
  }

  // Orderly end of a connection. After a refused request the unread rest of it is drained
  // before closing: closing with unread input makes the kernel send a reset, which can destroy
  // the answer before the client has read it.
  void finish() {
    if (stopping_) return close();  // stop() is waiting; the answer is already on the wire
    phase_ = Phase::Closing;
    arm_timer();
    if constexpr (kTls) {
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->close(); });
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(asio::socket_base::shutdown_send, ignored);
      if (!drain_after_write_) return close();
      drain();
    }
  }

  void drain() {
    if constexpr (!kTls) {
      stream_.async_read_some(asio::buffer(scratch_),
                              [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                ec || self->stopping_ ? self->close() : self->drain();
                              });
    }
  }

  void close() {
    if (phase_ == Phase::Closed) return;
    phase_ = Phase::Closed;
    work_.reset();
    grace_.cancel();
    beast::error_code ignored;
    lowest().socket().shutdown(asio::socket_base::shutdown_both, ignored);
    lowest().close();
  }

  std::shared_ptr<Listener> listener_;
  ConnectionLimits::Slot slot_;  // released when the session ends
  Peer peer_;
  Stream stream_;
  beast::flat_buffer buffer_{kReadBufferLimit};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response<http::empty_body>> interim_;  // 100 Continue
  std::shared_ptr<Session> self_;                            // set while a handler owes an answer
  std::optional<WorkGuard> work_;
  asio::steady_timer grace_;
  std::shared_ptr<std::atomic<bool>> answered_ = std::make_shared<std::atomic<bool>>(false);
  std::array<char, 4096> scratch_{};
  Phase phase_ = Phase::Reading;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool stopping_ = false;
  bool drain_after_write_ = false;
  int requests_ = 0;  // requests read on this connection
};

// What a connection beyond the caps is told before it is closed.
const std::string& busy_answer() {
  static const std::string text = [] {
    const HttpResponse p = problem(503, "Service Unavailable", "too many connections");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + p.content_type +
           "\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: " +
           std::to_string(p.body.size()) + "\r\n\r\n" + p.body;
  }();
  return text;
}

// Answers 503 and closes a connection beyond the caps: one non-blocking write into the fresh
// socket's empty send buffer, so a peer that never reads cannot hold the accepting thread.
template <class Socket>
void turn_away(Socket& socket) {
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(busy_answer()), ignored);
  socket.shutdown(asio::socket_base::shutdown_both, ignored);
  socket.close(ignored);
}

tcp::endpoint resolve_listen(asio::io_context& io, const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("listen address '" + listen + "' is not host:port");
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    throw std::runtime_error("listen address '" + listen + "' has no valid port");
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (!ec) return tcp::endpoint(address, static_cast<unsigned short>(port));
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port_text, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot resolve listen host '" + host + "': " + ec.message());
  return results.begin()->endpoint();
}

// The user id of the process at the other end of a Unix socket, -1 when the kernel cannot say.
long peer_uid_of(local::socket& socket) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return static_cast<long>(cred.uid);
}

// Binds a Unix socket at `path`: a socket file left by an earlier run is removed (anything else
// there is not ours to remove, nor is a socket someone still listens on), and the mode is set
// before anyone can connect.
void bind_unix(local::acceptor& acceptor, const std::string& path, unsigned mode) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_socket(fs::symlink_status(path, ec))) {
    local::socket probe(acceptor.get_executor());
    beast::error_code connect_ec;
    probe.connect(local::endpoint(path), connect_ec);
    if (!connect_ec)
      throw std::runtime_error("cannot listen on unix:" + path + ": another process listens there");
    fs::remove(path, ec);
  }
  const local::endpoint endpoint(path);
  beast::error_code bec;
  acceptor.open(endpoint.protocol(), bec);
  if (!bec) acceptor.bind(endpoint, bec);
  if (!bec && ::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
    throw std::runtime_error("cannot set the mode of " + path + ": " + std::strerror(errno));
  if (!bec) acceptor.listen(asio::socket_base::max_listen_connections, bec);
  if (bec) throw std::runtime_error("cannot listen on unix:" + path + ": " + bec.message());
}

class Server final : public HttpServer {
 public:
  Server(const HttpServerOptions& options, HttpHandler handler)
      : io_(std::max(1, options.threads)), strand_(asio::make_strand(io_)), retry_(strand_) {
    listener_ = std::make_shared<Listener>();
    listener_->io = &io_;
    listener_->handler = std::move(handler);
    listener_->options = options;
    if (listener_->options.request_timeout_ms <= 0) listener_->options.request_timeout_ms = 10000;
    limits_ = ConnectionLimits::create(options.max_connections, options.max_connections_per_source);

    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
      if (options.tls_cert_file.empty() || options.tls_key_file.empty())
        throw std::runtime_error("TLS needs both a certificate file and a key file");
      tls_.emplace(ssl::context::tls_server);
      tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                        ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                        ssl::context::single_dh_use);
      try {
        tls_->use_certificate_chain_file(options.tls_cert_file);
      } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot load TLS certificate " + options.tls_cert_file + ": " +
                                 e.code().message());
      }
      try {
        tls_->use_private_key_file(options.tls_key_file, ssl::context::pem);
      } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot load TLS key " + options.tls_key_file + ": " +
                                 e.code().message());
      }
    }

    if (options.listen.starts_with("unix:")) {
      if (tls_) throw std::runtime_error("a Unix socket listener takes no TLS");
      unix_path_ = options.listen.substr(5);
      if (unix_path_.empty()) throw std::runtime_error("listen address 'unix:' names no path");
      unix_acceptor_.emplace(strand_);
      bind_unix(*unix_acceptor_, unix_path_, options.unix_socket_mode);
      accept(*unix_acceptor_);
    } else {
      const tcp::endpoint endpoint = resolve_listen(io_, options.listen);
      tcp_acceptor_.emplace(strand_);
      auto& acceptor = *tcp_acceptor_;
      beast::error_code ec;
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor.bind(endpoint, ec);
      if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) throw std::runtime_error("cannot listen on " + options.listen + ": " + ec.message());
      port_ = acceptor.local_endpoint().port();
      accept(acceptor);
    }

    for (int i = 0; i < std::max(1, options.threads); ++i)
      threads_.emplace_back([this, name = options.thread_name] {
        name_this_thread(name.c_str());
        io_.run();
      });
  }

  ~Server() override { stop(); }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    std::vector<std::weak_ptr<Connection>> sessions;
    {
      std::lock_guard lock(mutex_);
      listener_->stopping = true;
      sessions.swap(sessions_);
    }
    asio::post(strand_, [this] {
      beast::error_code ignored;
      if (tcp_acceptor_) tcp_acceptor_->close(ignored);
      if (unix_acceptor_) unix_acceptor_->close(ignored);
      retry_.cancel();
    });
    for (auto& weak : sessions)
      if (auto session = weak.lock()) session->stop_soon();
    for (auto& thread : threads_)
      if (thread.joinable()) thread.join();
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
    std::lock_guard lock(listener_->io_mutex);
    listener_->io_running = false;
  }

 private:
  template <class Acceptor>
  void accept(Acceptor& acceptor) {
    acceptor.async_accept(
        asio::make_strand(io_), [this, &acceptor](beast::error_code ec, auto accepted) {
          using Protocol = typename Acceptor::protocol_type;
          constexpr bool kUnix = std::is_same_v<Protocol, local>;
          typename Protocol::socket socket(std::move(accepted));
          if (ec) {
            if (!acceptor.is_open() || listener_->stopping) return;
            // Out of descriptors and the like: back off instead of spinning.
            log::warn("http: accept failed", {{"error", ec.message()}});
            retry_.expires_after(std::chrono::milliseconds(100));
            retry_.async_wait([this, &acceptor](beast::error_code wait_ec) {
              if (!wait_ec && !listener_->stopping) accept(acceptor);
            });
            return;
          }
          Peer peer;
          if constexpr (kUnix) {
            peer.address = "unix";
            peer.uid = peer_uid_of(socket);
          } else {
            beast::error_code peer_ec;
            const auto endpoint = socket.remote_endpoint(peer_ec);
            if (!peer_ec) peer.address = endpoint.address().to_string();
          }
          auto slot = limits_->admit(peer.uid >= 0 ? "uid " + std::to_string(peer.uid)
                                                   : peer.address);
          if (!slot) {
            turn_away(socket);
            return accept(acceptor);
          }
          std::shared_ptr<Connection> session;
          if constexpr (kUnix) {
            session = std::make_shared<Session<UnixStream>>(listener_, std::move(slot),
                                                            std::move(peer), std::move(socket));
          } else {
            if (tls_)
              session = std::make_shared<Session<TlsStream>>(
                  listener_, std::move(slot), std::move(peer), std::move(socket), *tls_);
            else
              session = std::make_shared<Session<PlainStream>>(
                  listener_, std::move(slot), std::move(peer), std::move(socket));
          }
          {
            std::lock_guard lock(mutex_);
            if (listener_->stopping) return;  // dropping `session` closes the socket
            sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                                           [](const auto& w) { return w.expired(); }),
                            sessions_.end());
            sessions_.push_back(session);
          }
          session->start();
          accept(acceptor);
        });
  }

  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> strand_;  // the acceptors' and retry_'s
  std::optional<ssl::context> tls_;
  std::optional<tcp::acceptor> tcp_acceptor_;
  std::optional<local::acceptor> unix_acceptor_;
  std::string unix_path_;  // removed at stop
  asio::steady_timer retry_;
  std::shared_ptr<Listener> listener_;
  std::shared_ptr<ConnectionLimits> limits_;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<std::weak_ptr<Connection>> sessions_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<HttpServer> HttpServer::start(const HttpServerOptions& options,
                                              HttpHandler handler) {
  return std::make_unique<Server>(options, std::move(handler));
}

}  // namespace prov
