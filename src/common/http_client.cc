// The small blocking HTTP/1.1 client shared by the snapshot sources and provisionctl: POSIX
// sockets (TCP or a Unix socket) and OpenSSL, every wait bounded by one deadline.
#include "prov/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "prov/ascii.h"

namespace prov {
namespace {

using SteadyClock = std::chrono::steady_clock;

Error net_error(std::string message) { return Error{std::move(message), true}; }

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, as sent in the request line
};

Result<Url> parse_url(const std::string& text) {
  Url url;
  std::string rest;
  if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else {
    return Error{"url must start with http:// or https://", false};
  }
  const auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (auto hash = url.target.find('#'); hash != std::string::npos) url.target.erase(hash);
  if (url.target.empty() || url.target.front() == '?') url.target = "/" + url.target;
  if (authority.find('@') != std::string::npos)
    return Error{"url must not carry credentials; use token_file", false};
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) return Error{"url has an unclosed [ in its host", false};
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':')
      url.port = authority.substr(close + 2);
  } else if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    url.host = authority.substr(0, colon);
    url.port = authority.substr(colon + 1);
  } else {
    url.host = authority;
  }
  if (url.host.empty()) return Error{"url names no host", false};
  if (url.port.empty()) url.port = url.tls ? "443" : "80";
  if (url.port.find_first_not_of("0123456789") != std::string::npos)
    return Error{"url port must be a number", false};
  return url;
}

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no detail" : out;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

// One non-blocking connection, optionally wrapped in TLS, where every wait is bounded by the
// exchange's deadline.
class Connection {
 public:
  explicit Connection(SteadyClock::time_point deadline) : deadline_(deadline) {}
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status connect(const Url& url) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &found); rc != 0)
      return net_error("cannot resolve " + url.host + ": " + gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
    std::string last = "no address";
    for (addrinfo* a = found; a; a = a->ai_next) {
      int fd =
          ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) {
        last = std::strerror(errno);
        continue;
      }
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
        fd_ = fd;
        if (auto s = wait_for(POLLOUT); !s.ok()) {
          last = s.error().message;
        } else {
          int err = 0;
          socklen_t len = sizeof err;
          ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err == 0) return Status::Ok();
          last = std::strerror(err);
        }
        fd_ = -1;
      } else {
        last = std::strerror(errno);
      }
      ::close(fd);
    }
    return net_error("cannot connect to " + url.host + ":" + url.port + ": " + last);
  }

  Status connect_unix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
      return Error{"socket path too long: " + path, false};
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return net_error(std::string("socket: ") + std::strerror(errno));
    fd_ = fd;
    // A Unix socket connects at once or not at all (EAGAIN: its backlog is full).
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      return net_error("cannot connect to " + path + ": " + std::strerror(errno));
    return Status::Ok();
  }

  Status start_tls(const Url& url, const std::string& ca_file) {
    ERR_clear_error();
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (!ctx_) return net_error("TLS set-up failed: " + openssl_errors());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    const int loaded = ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(ctx_)
                           : SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
    if (loaded != 1) {
      return Error{"cannot load trust anchors" + (ca_file.empty() ? "" : " from " + ca_file) +
                       ": " + openssl_errors(),
                   false};
    }
    ssl_ = SSL_new(ctx_);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1)
      return net_error("TLS set-up failed: " + openssl_errors());
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (is_ip_literal(url.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_, url.host.c_str());
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
    }
    for (;;) {
      const int rc = SSL_connect(ssl_);
      if (rc == 1) break;
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (auto s = wait_for(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT); !s.ok())
          return net_error("TLS handshake with " + url.host + ": " + s.error().message);
        continue;
      }
      const long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        return net_error("TLS certificate of " + url.host +
                         " not trusted: " + X509_verify_cert_error_string(verify));
      }
      return net_error("TLS handshake with " + url.host + " failed: " + openssl_errors());
    }
    return Status::Ok();
  }

  Status write_all(std::string_view data) {
    while (!data.empty()) {
      if (ssl_) {
        const int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
        if (n > 0) {
          data.remove_prefix(static_cast<std::size_t>(n));
          continue;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
          return net_error("TLS write failed: " + openssl_errors());
        if (auto s = wait_for(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT); !s.ok()) return s;
      } else {
        const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n > 0) {
          data.remove_prefix(static_cast<std::size_t>(n));
          continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          return net_error(std::string("send failed: ") + std::strerror(errno));
        if (auto s = wait_for(POLLOUT); !s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  // Appends what arrives to `out`; returns false at a clean end of stream.
  Result<bool> read_some(std::string& out) {
    char buf[16384];
    for (;;) {
      if (ssl_) {
        const int n = SSL_read(ssl_, buf, sizeof buf);
        if (n > 0) {
          out.append(buf, static_cast<std::size_t>(n));
          return true;
        }
        const int err = SSL_get_error(ssl_, n);
        if (err == SSL_ERROR_ZERO_RETURN) return false;
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
          return net_error("TLS read failed: " + openssl_errors());
        if (auto s = wait_for(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT); !s.ok())
          return s.error();
      } else {
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n > 0) {
          out.append(buf, static_cast<std::size_t>(n));
          return true;
        }
        if (n == 0) return false;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          return net_error(std::string("receive failed: ") + std::strerror(errno));
        if (auto s = wait_for(POLLIN); !s.ok()) return s.error();
      }
    }
  }

 private:
  Status wait_for(short events) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - SteadyClock::now());
      if (left.count() <= 0) return net_error("timed out");
      pollfd p{fd_, events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
      if (rc > 0) return Status::Ok();
      if (rc < 0 && errno != EINTR)
        return net_error(std::string("poll failed: ") + std::strerror(errno));
    }
  }

  SteadyClock::time_point deadline_;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Decodes a complete chunked body; nullopt while (or if) it is incomplete or malformed.
std::optional<std::string> dechunk(std::string_view in, std::string* error) {
  std::string out;
  std::size_t i = 0;
  for (;;) {
    const auto eol = in.find("\r\n", i);
    if (eol == std::string_view::npos) return std::nullopt;
    std::string size_text(in.substr(i, eol - i));
    size_text = trim(size_text.substr(0, size_text.find(';')));
    std::size_t size = 0;
    try {
      std::size_t used = 0;
      size = std::stoull(size_text, &used, 16);
      if (used != size_text.size()) throw std::invalid_argument("trailing text");
    } catch (const std::exception&) {
      *error = "malformed chunk size '" + size_text + "'";
      return std::nullopt;
    }
    i = eol + 2;
    if (size == 0) {
      // Trailers (ignored) end with an empty line.
      for (;;) {
        const auto end = in.find("\r\n", i);
        if (end == std::string_view::npos) return std::nullopt;
        if (end == i) return out;
        i = end + 2;
      }
    }
    if (in.size() < i + size + 2) return std::nullopt;
    out.append(in.substr(i, size));
    i += size + 2;
  }
}

}  // namespace

Result<HttpAnswer> http_call(const HttpCall& request) {
  auto url = parse_url(request.url);
  if (!url) return url.error();
  Connection conn(SteadyClock::now() + request.timeout);
  if (auto s = request.unix_socket.empty() ? conn.connect(*url)
                                            : conn.connect_unix(request.unix_socket);
      !s.ok())
    return s.error();
  if (url->tls && request.unix_socket.empty()) {
    if (auto s = conn.start_tls(*url, request.ca_file); !s.ok()) return s.error();
  }
  std::string host_header =
      url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host;
  if (url->port != (url->tls ? "443" : "80")) host_header += ":" + url->port;
  std::string head = request.method + " " + url->target + " HTTP/1.1\r\nHost: " + host_header +
                     "\r\nAccept: " + request.accept + "\r\nUser-Agent: " + request.user_agent +
                     "\r\nConnection: close\r\n";
  if (!request.bearer_token.empty())
    head += "Authorization: Bearer " + request.bearer_token + "\r\n";
  if (!request.body.empty() || request.method == "POST")
    head += "Content-Type: " + request.content_type +
            "\r\nContent-Length: " + std::to_string(request.body.size()) + "\r\n";
  head += "\r\n" + request.body;
  if (auto s = conn.write_all(head); !s.ok())
    return net_error("sending the request to " + url->host + ": " + s.error().message);

  std::string raw;
  std::size_t header_end = std::string::npos;
  HttpAnswer answer;
  std::optional<std::size_t> content_length;
  bool chunked = false;
  const std::size_t limit = request.max_body_bytes + 64 * 1024;
  for (;;) {
    auto more = conn.read_some(raw);
    if (!more) return net_error("reading the answer of " + url->host + ": " + more.error().message);
    if (raw.size() > limit) return Error{"response larger than the body limit", false};
    if (header_end == std::string::npos) {
      header_end = raw.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        const std::string head_text = raw.substr(0, header_end);
        const auto first_eol = head_text.find("\r\n");
        const std::string status_line = head_text.substr(0, first_eol);
        if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12)
          return net_error("malformed status line from " + url->host);
        try {
          answer.status = std::stoi(status_line.substr(9, 3));
        } catch (const std::exception&) {
          return net_error("malformed status line from " + url->host);
        }
        std::size_t pos = first_eol == std::string::npos ? head_text.size() : first_eol + 2;
        while (pos < head_text.size()) {
          auto eol = head_text.find("\r\n", pos);
          if (eol == std::string::npos) eol = head_text.size();
          const std::string line = head_text.substr(pos, eol - pos);
          pos = eol + 2;
          const auto colon = line.find(':');
          if (colon == std::string::npos) continue;
          const std::string name = ascii_lower(trim(line.substr(0, colon)));
          const std::string value = trim(line.substr(colon + 1));
          if (name == "content-type") answer.content_type = value;
          if (name == "transfer-encoding" &&
              ascii_lower(value).find("chunked") != std::string::npos)
            chunked = true;
          if (name == "content-length") {
            try {
              content_length = std::stoull(value);
            } catch (const std::exception&) {
              return net_error("malformed Content-Length from " + url->host);
            }
          }
        }
        if (content_length && *content_length > request.max_body_bytes)
          return Error{"response larger than the body limit", false};
      }
    }
    if (header_end != std::string::npos) {
      const std::string_view body = std::string_view(raw).substr(header_end + 4);
      if (chunked) {
        std::string error;
        if (auto decoded = dechunk(body, &error)) {
          answer.body = std::move(*decoded);
          return answer;
        }
        if (!error.empty()) return net_error(error + " from " + url->host);
      } else if (content_length && body.size() >= *content_length) {
        answer.body = std::string(body.substr(0, *content_length));
        return answer;
      }
    }
    if (!*more) break;  // end of stream
  }
  if (header_end == std::string::npos)
    return net_error("connection closed before a complete response from " + url->host);
  if (chunked || content_length)  // the promised body never arrived in full
    return net_error("response body from " + url->host + " cut short");
  answer.body = raw.substr(header_end + 4);
  return answer;
}


}  // namespace prov
