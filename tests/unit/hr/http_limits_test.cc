// What an unauthenticated peer can make the listener hold: memory per connection (chunk
// extensions and trailers are not bounded by the parser's own limits), connections in total and
// per source address, and requests per connection.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "hr/signature.h"
#include "hr/webhook.h"
#include "prov/http.h"
#include "raw_http_client.h"

namespace prov {
namespace {

using test_client::make_request;
using test_client::RawHttpClient;
using namespace std::chrono_literals;

HttpHandler answer_ok() {
  return [](HttpRequest, std::function<void(HttpResponse)> respond) {
    HttpResponse r;
    r.body = "{}";
    respond(std::move(r));
  };
}

HttpServerOptions local_options() {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.request_timeout_ms = 5000;
  return options;
}

std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

// A TCP connection from `source` (any 127.x address reaches a loopback listener).
int connect_from(const char* source, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// True when the server has answered or closed `fd` (without waiting).
bool answered_or_closed(int fd) {
  char c;
  const ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

// A connection that sends `head`, then `filler` for as long as the server reads it, up to
// `offered` bytes. Returns how many filler bytes the server took.
std::size_t send_endless(std::uint16_t port, const std::string& head, char filler,
                         std::size_t offered) {
  const int fd = connect_from("127.0.0.1", port);
  if (fd < 0) return 0;
  timeval tv{5, 0};  // a send the server no longer reads fails instead of blocking
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  if (::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size())) {
    const std::string block(1 << 20, filler);
    while (sent < offered) {
      const ssize_t n = ::send(fd, block.data(), block.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<std::size_t>(n);
    }
  }
  ::close(fd);
  return sent;
}

constexpr const char* kChunkedHead =
    "POST /v1/hr/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

TEST(HttpLimits, HugeChunkExtensionClosesTheConnectionWithMemoryBounded) {
  auto server = HttpServer::start(local_options(), answer_ok());
  const std::size_t before = rss_bytes();
  constexpr std::size_t kOffered = 128u << 20;
  // The extension never ends: no CRLF after "1;ext=".
  const std::size_t sent =
      send_endless(server->port(), std::string(kChunkedHead) + "1;ext=", 'a', kOffered);
  const std::size_t growth = rss_bytes() - std::min(before, rss_bytes());
  EXPECT_LT(sent, kOffered) << "the server read the whole endless chunk extension";
  EXPECT_LT(growth, 16u << 20) << "the server holds " << (growth >> 20) << " MiB for one request";
  server->stop();
}

TEST(HttpLimits, EndlessTrailerIsCutOff) {
  auto server = HttpServer::start(local_options(), answer_ok());
  constexpr std::size_t kOffered = 64u << 20;
  const std::size_t sent = send_endless(
      server->port(), std::string(kChunkedHead) + "2\r\n{}\r\n0\r\nX-Trailer: ", 'b', kOffered);
  EXPECT_LT(sent, kOffered) << "the server read the whole endless trailer";
  server->stop();
}

TEST(HttpLimits, IdleConnectionsFromOneSourceDoNotLockOthersOut) {
  WebhookConfig config;
  config.listen = "127.0.0.1:0";
  const std::string key = "a webhook key of enough bytes";
  config.secret = key;
  struct Sink final : IngestSink {
    void submit(HrEvent, std::function<void(IngestResult)> done) override {
      done({IngestStatus::Stored, "", 1});
    }
  } sink;
  SystemClock clock;
  auto server = HttpServer::start(webhook_server_options(config),
                                  make_webhook_handler(config, sink, clock));
  const int fds_before = open_fds();
  const std::size_t rss_before = rss_bytes();

  constexpr int kIdle = 1000;
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    const int fd = connect_from("127.0.0.2", server->port());
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
  }
  // Wait until the server has dealt with every connection beyond its per-source cap.
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  int refused = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    refused = 0;
    for (int fd : idle) refused += answered_or_closed(fd) ? 1 : 0;
    if (refused >= kIdle - 32) break;
  }
  const int server_fds = open_fds() - fds_before - kIdle;
  EXPECT_LE(server_fds, 32 + 2) << "the server holds a descriptor per idle connection";
  EXPECT_GE(refused, kIdle - 32);
  EXPECT_LT(rss_bytes() - std::min(rss_before, rss_bytes()), 16u << 20);

  // A sender on another address is served at once.
  const std::string body =
      R"({"eventId":"evt-1","eventType":"HIRE","effectiveAt":"2026-12-01T08:00:00Z",)"
      R"("worker":{"workerId":"1","firstName":"A","lastName":"B"}})";
  const auto ts = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const auto start = std::chrono::steady_clock::now();
  RawHttpClient client(server->port(), 1s);
  ASSERT_TRUE(client.send(make_request("POST", "/v1/hr/events",
                                       {{"Content-Type", "application/json"},
                                        {"webhook-id", "msg_1"},
                                        {"webhook-timestamp", std::to_string(ts)},
                                        {"webhook-signature", sign(key, "msg_1", ts, body)}},
                                       body)));
  auto r = client.read_response();
  ASSERT_TRUE(r) << "no answer within a second";
  EXPECT_EQ(r->status, 202) << r->body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  for (int fd : idle) ::close(fd);
  server->stop();
}

TEST(HttpLimits, ConnectionsBeyondTheTotalCapAre503) {
  HttpServerOptions options = local_options();
  options.max_connections = 4;
  auto server = HttpServer::start(options, answer_ok());
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(connect_from("127.0.0.3", server->port()));
  // The fifth, from another address, gets 503 and is closed.
  RawHttpClient extra(server->port(), 2s);
  auto r = extra.read_response();
  ASSERT_TRUE(r) << "the fifth connection was neither answered nor closed";
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->header("retry-after").empty());
  EXPECT_TRUE(extra.wait_closed());
  // Closing one makes room again.
  ::close(held.back());
  held.pop_back();
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    RawHttpClient again(server->port(), 2s);
    again.send(make_request("GET", "/", {}, ""));
    auto answer = again.read_response();
    served = answer && answer->status == 200;
  }
  EXPECT_TRUE(served);
  for (int fd : held) ::close(fd);
  server->stop();
}

TEST(HttpLimits, RequestsPerConnectionAreBounded) {
  HttpServerOptions options = local_options();
  options.max_requests_per_connection = 3;
  auto server = HttpServer::start(options, answer_ok());
  RawHttpClient client(server->port(), 2s);
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(client.send(make_request("GET", "/", {}, "")));
    auto r = client.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection") == "close", i == 3) << "request " << i;
  }
  EXPECT_TRUE(client.wait_closed());
  server->stop();
}

}  // namespace
}  // namespace prov
