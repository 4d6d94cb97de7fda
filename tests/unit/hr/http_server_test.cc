#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "prov/http.h"
#include "prov/http_client.h"
#include "raw_http_client.h"

namespace prov {
namespace {

using test_client::make_request;
using test_client::RawHttpClient;
using Json = nlohmann::json;
using namespace std::chrono_literals;

HttpServerOptions local_options() {
  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  options.request_timeout_ms = 5000;
  options.threads = 2;
  return options;
}

// Echoes the request so tests can see what the handler received.
HttpHandler echo(std::atomic<int>* calls = nullptr) {
  return [calls](HttpRequest request, std::function<void(HttpResponse)> respond) {
    if (calls) ++*calls;
    HttpResponse r;
    r.body = Json{{"method", request.method},
                  {"target", request.target},
                  {"trace", request.header("x-trace")},
                  {"body", request.body}}
                 .dump();
    r.headers.emplace_back("X-Answer", "42");
    respond(std::move(r));
  };
}

std::string get(const std::string& target, const std::string& trace = "t", bool close = false) {
  std::vector<std::pair<std::string, std::string>> headers = {{"X-Trace", trace}};
  if (close) headers.emplace_back("Connection", "close");
  return make_request("GET", target, headers, "");
}

TEST(HttpServer, ServesARequest) {
  auto server = HttpServer::start(local_options(), echo());
  ASSERT_NE(server->port(), 0);
  RawHttpClient client(server->port());
  ASSERT_TRUE(client.send(make_request("POST", "/things?x=1", {{"X-Trace", "abc"}}, "hello")));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(r->header("x-answer"), "42");
  Json body = Json::parse(r->body);
  EXPECT_EQ(body["method"], "POST");
  EXPECT_EQ(body["target"], "/things?x=1");
  EXPECT_EQ(body["trace"], "abc");  // header names reach the handler lower-cased
  EXPECT_EQ(body["body"], "hello");
  server->stop();
}

TEST(HttpServer, RefusesAPortInUseAndBadAddresses) {
  auto server = HttpServer::start(local_options(), echo());
  HttpServerOptions same = local_options();
  same.listen = "127.0.0.1:" + std::to_string(server->port());
  EXPECT_THROW(HttpServer::start(same, echo()), std::runtime_error);
  HttpServerOptions bad = local_options();
  bad.listen = "no-port-here";
  EXPECT_THROW(HttpServer::start(bad, echo()), std::runtime_error);
  bad.listen = "127.0.0.1:99999";
  EXPECT_THROW(HttpServer::start(bad, echo()), std::runtime_error);
}

TEST(HttpServer, MissingTlsFilesAreAStartupError) {
  HttpServerOptions options = local_options();
  options.tls_cert_file = "/nonexistent/cert.pem";
  options.tls_key_file = "/nonexistent/key.pem";
  try {
    HttpServer::start(options, echo());
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos) << e.what();
  }
  options.tls_key_file.clear();
  EXPECT_THROW(HttpServer::start(options, echo()), std::runtime_error);
}

TEST(HttpServer, KeepsTheConnectionAliveBetweenRequests) {
  std::atomic<int> calls{0};
  auto server = HttpServer::start(local_options(), echo(&calls));
  RawHttpClient client(server->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(client.send(get("/n", std::to_string(i))));
    auto r = client.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(Json::parse(r->body)["trace"], std::to_string(i));
    EXPECT_NE(r->header("connection"), "close");
  }
  // Two requests in one write are answered in order.
  ASSERT_TRUE(client.send(get("/a", "first") + get("/b", "second")));
  auto first = client.read_response();
  auto second = client.read_response();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(Json::parse(first->body)["trace"], "first");
  EXPECT_EQ(Json::parse(second->body)["trace"], "second");

  ASSERT_TRUE(client.send(get("/last", "x", /*close=*/true)));
  auto last = client.read_response();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->header("connection"), "close");
  EXPECT_TRUE(client.wait_closed());
  EXPECT_EQ(calls, 6);
  server->stop();
}

TEST(HttpServer, HandlersMayAnswerLaterFromAnotherThread) {
  std::promise<std::function<void(HttpResponse)>> pending;
  auto server = HttpServer::start(local_options(),
                                  [&](HttpRequest, std::function<void(HttpResponse)> respond) {
                                    pending.set_value(std::move(respond));
                                  });
  RawHttpClient client(server->port());
  ASSERT_TRUE(client.send(get("/later")));
  auto future = pending.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  auto respond = future.get();
  std::thread answerer([&] {
    respond(HttpResponse{201, "text/plain", {}, "made"});
    respond(HttpResponse{500, "text/plain", {}, "ignored"});  // only the first answer counts
  });
  answerer.join();
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->header("content-type"), "text/plain");
  EXPECT_EQ(r->body, "made");
  server->stop();
}

TEST(HttpServer, OversizedBodyIs413BeforeTheHandlerRuns) {
  std::atomic<int> calls{0};
  std::mutex mutex;
  std::vector<std::string> refused;
  HttpServerOptions options = local_options();
  options.max_body_bytes = 64;
  options.on_body_too_large = [&](const HttpRequest& head) {
    std::lock_guard lock(mutex);
    refused.push_back(head.method + " " + head.target);
  };
  auto server = HttpServer::start(options, echo(&calls));

  RawHttpClient at_limit(server->port());
  ASSERT_TRUE(at_limit.send(make_request("POST", "/ok", {}, std::string(64, 'a'))));
  auto ok = at_limit.read_response();
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);

  RawHttpClient over(server->port());
  ASSERT_TRUE(over.send(make_request("POST", "/big", {}, std::string(100000, 'a'))));
  auto r = over.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  EXPECT_EQ(Json::parse(r->body)["status"], 413);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(over.wait_closed());
  EXPECT_EQ(calls, 1);
  std::lock_guard lock(mutex);
  EXPECT_EQ(refused, std::vector<std::string>{"POST /big"});
  server->stop();
}

TEST(HttpServer, AnswersExpectContinueBeforeTheBody) {
  auto server = HttpServer::start(local_options(), echo());
  RawHttpClient client(server->port());
  ASSERT_TRUE(client.send(
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  auto go_ahead = client.read_response();
  ASSERT_TRUE(go_ahead);
  EXPECT_EQ(go_ahead->status, 100);
  ASSERT_TRUE(client.send("data"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body)["body"], "data");
  server->stop();
}

TEST(HttpServer, ExpectContinueWithAnOversizedLengthGets413Directly) {
  HttpServerOptions options = local_options();
  options.max_body_bytes = 64;
  auto server = HttpServer::start(options, echo());
  RawHttpClient client(server->port());
  ASSERT_TRUE(client.send(
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 65\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  server->stop();
}

TEST(HttpServer, ChunkedBodyOverTheLimitIs413) {
  std::atomic<int> calls{0};
  HttpServerOptions options = local_options();
  options.max_body_bytes = 64;
  auto server = HttpServer::start(options, echo(&calls));
  RawHttpClient client(server->port());
  std::string chunk(100, 'z');
  ASSERT_TRUE(
      client.send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" +
                  chunk + "\r\n0\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(calls, 0);
  server->stop();
}

TEST(HttpServer, MalformedRequestIs400) {
  std::atomic<int> calls{0};
  auto server = HttpServer::start(local_options(), echo(&calls));
  RawHttpClient client(server->port());
  ASSERT_TRUE(client.send("GET /x HTTP/9.9.9\r\n\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  EXPECT_EQ(calls, 0);
  server->stop();
}

TEST(HttpServer, HandlerExceptionsBecome500) {
  auto server = HttpServer::start(local_options(),
                                  [](HttpRequest, auto) { throw std::runtime_error("boom"); });
  RawHttpClient client(server->port());
  ASSERT_TRUE(client.send(get("/")));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("boom"), std::string::npos);  // internals stay in the log
  server->stop();
}

TEST(HttpServer, CutsOffASlowClient) {
  std::atomic<int> calls{0};
  HttpServerOptions options = local_options();
  options.request_timeout_ms = 200;
  auto server = HttpServer::start(options, echo(&calls));

  // A head that never ends, and a body that never arrives. The client's own deadline (10 s)
  // is far beyond the server's, so a close observed before it is the server's doing.
  RawHttpClient slow_head(server->port());
  RawHttpClient slow_body(server->port());
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(slow_head.send("POST /v1/hr/events HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_TRUE(
      slow_body.send("POST /v1/hr/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     "\r\n{\"partial\":"));
  EXPECT_TRUE(slow_head.wait_closed());
  EXPECT_TRUE(slow_body.wait_closed());
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 5s);
  EXPECT_EQ(calls, 0);

  // An idle keep-alive connection is cut off the same way.
  RawHttpClient idle(server->port());
  ASSERT_TRUE(idle.send(get("/once")));
  ASSERT_TRUE(idle.read_response());
  EXPECT_TRUE(idle.wait_closed());
  server->stop();
}

TEST(HttpServer, StopFinishesInFlightRequestsAndClosesIdleOnes) {
  std::promise<std::function<void(HttpResponse)>> pending;
  auto server = HttpServer::start(
      local_options(), [&](HttpRequest request, std::function<void(HttpResponse)> respond) {
        if (request.target == "/slow") return pending.set_value(std::move(respond));
        respond(HttpResponse{200, "text/plain", {}, "quick"});
      });
  const std::uint16_t port = server->port();

  RawHttpClient idle(port);
  ASSERT_TRUE(idle.send(get("/quick")));
  ASSERT_TRUE(idle.read_response());

  RawHttpClient busy(port);
  ASSERT_TRUE(busy.send(get("/slow")));
  auto future = pending.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  auto respond = future.get();

  auto stopped = std::async(std::launch::async, [&] { server->stop(); });
  // The idle connection is closed promptly, long before its 5 s timeout would fire.
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  // stop() cannot finish while a request is still being answered.
  EXPECT_EQ(stopped.wait_for(0s), std::future_status::timeout);

  respond(HttpResponse{200, "text/plain", {}, "finished"});
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(busy.wait_closed());
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);

  EXPECT_THROW(RawHttpClient{port}, std::runtime_error);  // nothing listens any more
}

TEST(HttpServer, StopDoesNotWaitForeverForAHandler) {
  std::promise<std::function<void(HttpResponse)>> pending;
  HttpServerOptions options = local_options();
  options.request_timeout_ms = 200;
  auto server = HttpServer::start(options, [&](HttpRequest, std::function<void(HttpResponse)> r) {
    pending.set_value(std::move(r));  // and never answers
  });
  RawHttpClient client(server->port());
  ASSERT_TRUE(client.send(get("/never")));
  auto future = pending.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  auto respond = future.get();

  auto stopped = std::async(std::launch::async, [&] { server->stop(); });
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->header("retry-after").empty());
  ASSERT_EQ(stopped.wait_for(10s), std::future_status::ready);
  // The handler's late answer goes nowhere, even once the server is gone.
  server.reset();
  respond(HttpResponse{200, "text/plain", {}, "too late"});
  EXPECT_TRUE(client.wait_closed());
}

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, n);
  ::pclose(pipe);
  return out;
}

// HTTPS with a throw-away certificate, spoken to by the openssl command-line client.
TEST(HttpServer, ServesHttpsWithTheConfiguredCertificate) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / ("hr_tls_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=127.0.0.1 -keyout " +
      key + " -out " + cert + " 2>/dev/null");
  ASSERT_TRUE(std::filesystem::exists(cert) && std::filesystem::exists(key));

  HttpServerOptions options = local_options();
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  auto server = HttpServer::start(options, echo());
  const std::string request = get("/secure", "tls", /*close=*/true);
  const std::string reply =
      run("printf '" + std::string(request.begin(), request.end()) +
          "' | openssl s_client -quiet -connect 127.0.0.1:" + std::to_string(server->port()) +
          " -CAfile " + cert + " -verify_return_error 2>/dev/null");
  EXPECT_NE(reply.find("HTTP/1.1 200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("target":"/secure")"), std::string::npos) << reply;
  EXPECT_NE(reply.find(R"("trace":"tls")"), std::string::npos) << reply;

  // A plain-text client gets no answer from the TLS listener.
  RawHttpClient plain(server->port());
  ASSERT_TRUE(plain.send(get("/plain")));
  EXPECT_FALSE(plain.read_response());
  server->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace prov

namespace prov {
namespace {

// What the handler is told about the other end: its address on TCP, and on a Unix socket the
// connecting process's user as the kernel reports it.
HttpHandler who_is_there() {
  return [](HttpRequest request, std::function<void(HttpResponse)> respond) {
    HttpResponse r;
    r.body = Json{{"peer", request.peer}, {"uid", request.peer_uid}}.dump();
    respond(std::move(r));
  };
}

TEST(HttpServer, AUnixSocketListenerNamesThePeersUser) {
  char tmpl[] = "/tmp/prov-http-unix.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::string path = (dir / "admin.sock").string();
  HttpServerOptions options;
  // A socket file left by a crash is replaced; anything else there is not ours to remove.
  ASSERT_EQ(::symlink("/nonexistent", (dir / "not-a-socket").c_str()), 0);
  options.listen = "unix:" + (dir / "not-a-socket").string();
  EXPECT_THROW(HttpServer::start(options, who_is_there()), std::runtime_error);
  options.listen = "unix:" + path;
  HttpServer::start(options, who_is_there())->stop();
  ASSERT_EQ(::mknod(path.c_str(), S_IFSOCK | 0600, 0), 0);  // as a crash leaves it
  options.unix_socket_mode = 0660;
  auto server = HttpServer::start(options, who_is_there());
  // A socket someone listens on is not stale: a second server does not take it over.
  EXPECT_THROW(HttpServer::start(options, who_is_there()), std::runtime_error);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                std::filesystem::perms::group_read | std::filesystem::perms::group_write);
  HttpCall call;
  call.url = "http://localhost/who";
  call.unix_socket = path;
  call.timeout = 5s;
  auto answer = http_call(call);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  const Json body = Json::parse(answer->body);
  EXPECT_EQ(body["peer"], "unix");
  EXPECT_EQ(body["uid"], static_cast<long>(::getuid()));

  auto tcp = HttpServer::start(local_options(), who_is_there());
  call.unix_socket.clear();
  call.url = "http://127.0.0.1:" + std::to_string(tcp->port()) + "/who";
  answer = http_call(call);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(Json::parse(answer->body)["peer"], "127.0.0.1");
  EXPECT_EQ(Json::parse(answer->body)["uid"], -1);

  server->stop();
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path)));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace prov
