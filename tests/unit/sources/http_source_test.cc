#include "sources/http_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "prov/metrics.h"
#include "sources_fixture.h"
#include "tiny_http_server.h"

namespace prov {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::person;
using testing::TinyHttpServer;

constexpr const char* kReport =
    R"({"Report_Entry":[
         {"workerId":"100234","firstName":"José","lastName":"Núñez","department":"Finance"},
         {"workerId":"100235","firstName":"Ann","lastName":"Lee"}]})";

class HttpSourceTest : public testing::SourcesTest {
 protected:
  void SetUp() override {
    SourcesTest::SetUp();
    Metrics::global().reset();
    config_.name = "workday";
    config_.type = "http";
    config_.records_pointer = "/Report_Entry";
  }

  // Workers this source already provisioned; a misread poll would terminate them.
  void seed_from_source() {
    seed_worker(person("1", "A", "B"), "poll:workday");
    seed_worker(person("2", "C", "D"), "poll:workday");
    config_.missing_means_terminated = true;
  }

  Status poll_once(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    HttpSource source(config_, *writer_, clock_);
    source.set_timeout(timeout);
    return source.poll(*store_);
  }

  double polls(const char* result) {
    return Metrics::global().value("provisiond_snapshot_polls_total",
                                   {{"source", "poll:workday"}, {"result", result}});
  }

  SnapshotSourceConfig config_;
};

TEST_F(HttpSourceTest, PollsWithBearerTokenAndStoresEvents) {
  TinyHttpServer server(TinyHttpServer::ok_json(kReport));
  config_.url = server.url("/ccx/service/customreport2/acme/Workers?format=json");
  config_.token = "s3cret-token";
  auto status = poll_once();
  ASSERT_TRUE(status.ok()) << status.error().message;
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_THAT(requests[0], HasSubstr("GET /ccx/service/customreport2/acme/Workers?format=json "));
  EXPECT_THAT(requests[0], HasSubstr("Authorization: Bearer s3cret-token\r\n"));
  auto events = pending();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].source, "poll:workday");
  EXPECT_EQ(polls("ok"), 1);
  EXPECT_EQ(Metrics::global().value("provisiond_snapshot_events_total",
                                    {{"source", "poll:workday"}, {"type", "HIRE"}}),
            2);
}

TEST_F(HttpSourceTest, NoTokenNoAuthorizationHeader) {
  TinyHttpServer server(TinyHttpServer::ok_json("[]"));
  config_.url = server.url();
  config_.records_pointer = "";
  ASSERT_TRUE(poll_once().ok());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(server.requests()[0], ::testing::Not(HasSubstr("Authorization")));
}

TEST_F(HttpSourceTest, ReadsChunkedAndCsvAnswers) {
  const std::string csv = "workerId,firstName,lastName\n100234,José,\"Núñez, Jr.\"\n";
  std::string chunked =
      "HTTP/1.1 200 OK\r\nContent-Type: text/csv; charset=utf-8\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < csv.size(); i += 10) {
    const std::string part = csv.substr(i, 10);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", part.size());
    chunked += std::string(size) + "\r\n" + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  TinyHttpServer server(chunked);
  config_.url = server.url();
  auto status = poll_once();
  ASSERT_TRUE(status.ok()) << status.error().message;
  auto events = pending();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].worker["lastName"], "Núñez, Jr.");
}

TEST_F(HttpSourceTest, ServerErrorProducesNoEvents) {
  seed_from_source();
  TinyHttpServer server(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: 19\r\n\r\n{\"Report_Entry\":[]}");
  config_.url = server.url();
  auto status = poll_once();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("503"));
  EXPECT_TRUE(pending().empty());
  EXPECT_EQ(polls("error"), 1);
  EXPECT_EQ(polls("ok"), 0);
}

TEST_F(HttpSourceTest, TruncatedBodyProducesNoEvents) {
  seed_from_source();
  TinyHttpServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
      "{\"Report_Entry\":[]}");
  config_.url = server.url();
  auto status = poll_once();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("cut short"));
  EXPECT_TRUE(pending().empty());
}

TEST_F(HttpSourceTest, WrongShapeProducesNoEvents) {
  seed_from_source();
  TinyHttpServer server(TinyHttpServer::ok_json(R"({"error":"report not found"})"));
  config_.url = server.url();
  auto status = poll_once();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("/Report_Entry finds nothing"));
  EXPECT_TRUE(pending().empty());
}

TEST_F(HttpSourceTest, EmptyListDoesNotTerminateEveryone) {
  seed_from_source();
  TinyHttpServer server(TinyHttpServer::ok_json(R"({"Report_Entry":[]})"));
  config_.url = server.url();
  ASSERT_TRUE(poll_once().ok());
  EXPECT_TRUE(pending().empty());
}

TEST_F(HttpSourceTest, RefusedConnectionProducesNoEvents) {
  seed_from_source();
  std::string url;
  {
    TinyHttpServer gone(TinyHttpServer::ok_json("[]"));
    url = gone.url();
  }  // closed: nothing listens on that port now
  config_.url = url;
  auto status = poll_once();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("cannot connect"));
  EXPECT_TRUE(pending().empty());
}

TEST_F(HttpSourceTest, SilentServerTimesOut) {
  seed_from_source();
  TinyHttpServer server("", {}, {}, /*hold=*/true);
  config_.url = server.url();
  const auto started = std::chrono::steady_clock::now();
  auto status = poll_once(std::chrono::milliseconds(300));
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("reading the answer of 127.0.0.1: timed out"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_TRUE(pending().empty());
}

TEST_F(HttpSourceTest, HttpsAgainstAPlainHttpPortFails) {
  TinyHttpServer server(TinyHttpServer::ok_json(kReport));
  config_.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto status = poll_once(std::chrono::seconds(1));  // the plain server never says a word
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("TLS"));
  EXPECT_TRUE(pending().empty());
}

// A self-signed certificate for 127.0.0.1, made by the openssl command line tool.
class HttpsSourceTest : public HttpSourceTest {
 protected:
  void SetUp() override {
    HttpSourceTest::SetUp();
    cert_ = dir_.path() / "cert.pem";
    key_ = dir_.path() / "key.pem";
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
        key_.string() + " -out " + cert_.string() + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl command line tool unavailable";
  }
  fs::path cert_, key_;
};

TEST_F(HttpsSourceTest, UntrustedCertificateIsRefused) {
  seed_from_source();
  TinyHttpServer server(TinyHttpServer::ok_json(kReport), cert_, key_);
  config_.url = server.url();  // system trust store: does not know our certificate
  auto status = poll_once();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("not trusted"));
  EXPECT_TRUE(pending().empty());
}

TEST_F(HttpsSourceTest, HostNameMustMatchTheCertificate) {
  TinyHttpServer server(TinyHttpServer::ok_json(kReport), cert_, key_);
  config_.url = "https://localhost:" + std::to_string(server.port()) + "/";
  config_.ca_file = cert_.string();
  auto status = poll_once();
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("not trusted"));
  EXPECT_TRUE(pending().empty());
}

TEST_F(HttpsSourceTest, TrustedCertificateFromCaFileWorks) {
  TinyHttpServer server(TinyHttpServer::ok_json(kReport), cert_, key_);
  config_.url = server.url("/report");
  config_.ca_file = cert_.string();
  config_.token = "tls-token";
  auto status = poll_once();
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(pending().size(), 2u);
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_THAT(server.requests()[0], HasSubstr("Authorization: Bearer tls-token"));
}

TEST(HttpGet, RejectsUnusableUrls) {
  for (const char* url : {"ftp://x/", "http://", "http://user:pw@host/", "http://host:abc/"}) {
    auto r = http_get(HttpGet{url, "", "", std::chrono::seconds(1)});
    EXPECT_FALSE(r.ok()) << url;
  }
}

}  // namespace
}  // namespace prov
