// Maximum sustained durable ingest: signed HR events POSTed over many keep-alive connections to
// the real provisiond, each answered 202 only after its SQLite commit (WAL, synchronous=FULL).
// Baseline from the same run: GET /healthz on the daemon's admin listener with the same client
// and connection count — the same HTTP stack without signature check, parsing or commit.
// The events are changes effective a year ahead, so the engine stores them as scheduled and the
// directory is not part of what is measured.
//
//   ingest_bench [--connections 1,16,64] [--seconds 5]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "e2e/daemon_fixture.h"
#include "hr/signature.h"
#include "reliability/figures.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"

using namespace prov;
using namespace prov::testing;
using SteadyClock = std::chrono::steady_clock;

namespace {

// One keep-alive HTTP/1.1 connection; reconnects when the server closes it.
class Connection {
 public:
  explicit Connection(int port) : port_(port) {}
  ~Connection() { close_fd(); }

  // Returns the status, 0 on a transport failure.
  int request(const std::string& head, const std::string& body) {
    if (fd_ < 0 && !open_fd()) return 0;
    std::string out = head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (!send_all(out)) {
      close_fd();
      return 0;
    }
    // Read the head, then Content-Length bytes of body.
    std::size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return 0;
    const int status = std::atoi(buf_.substr(9, 3).c_str());
    std::size_t length = 0;
    bool close_after = false;
    std::istringstream lines(buf_.substr(0, head_end));
    std::string line;
    while (std::getline(lines, line)) {
      std::string lower = line;
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.rfind("content-length:", 0) == 0) length = std::stoul(lower.substr(15));
      if (lower.rfind("connection:", 0) == 0 && lower.find("close") != std::string::npos)
        close_after = true;
    }
    while (buf_.size() < head_end + 4 + length)
      if (!fill()) return 0;
    buf_.erase(0, head_end + 4 + length);
    if (close_after) close_fd();
    return status;
  }

 private:
  bool open_fd() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close_fd();
      return false;
    }
    return true;
  }
  void close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }
  bool send_all(const std::string& s) {
    for (std::size_t sent = 0; sent < s.size();) {
      ssize_t n = ::send(fd_, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool fill() {
    char tmp[16384];
    ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      close_fd();
      return false;
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  int port_;
  int fd_ = -1;
  std::string buf_;
};

struct Run {
  double seconds = 0;
  long ok = 0, other = 0;
  std::map<int, long> other_statuses;  // status → count, for everything not ok
  std::vector<double> latency_ms;
  double rate() const { return static_cast<double>(ok) / seconds; }
};

// `connections` threads, each with one keep-alive connection, for `seconds`.
template <typename MakeRequest>
Run drive(int port, int connections, int seconds, int ok_status, MakeRequest make) {
  Run run;
  std::atomic<long> ok{0}, other{0};
  std::mutex mu;
  const auto until = SteadyClock::now() + std::chrono::seconds(seconds);
  const auto t0 = SteadyClock::now();
  std::vector<std::jthread> pool;
  std::atomic<long> seq{0};
  for (int c = 0; c < connections; ++c) {
    pool.emplace_back([&, c] {
      Connection conn(port);
      std::vector<double> lat;
      std::map<int, long> others;
      while (SteadyClock::now() < until) {
        auto [head, body] = make(c, seq++);
        const auto s = SteadyClock::now();
        int status = conn.request(head, body);
        lat.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - s).count());
        if (status == ok_status) {
          ++ok;
        } else {
          ++other;
          ++others[status];
        }
      }
      std::lock_guard l(mu);
      for (const auto& [code, count] : others) run.other_statuses[code] += count;
      run.latency_ms.insert(run.latency_ms.end(), lat.begin(), lat.end());
    });
  }
  pool.clear();
  run.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  run.ok = ok;
  run.other = other;
  return run;
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> levels{1, 16, 64};
  int seconds = env_int("PROV_BENCH_SECONDS", 5);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--connections") == 0) levels = parse_list(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
  }
  auto slapd = Slapd::start();
  Daemon daemon(*slapd);
  daemon.start();
  StateDb db(daemon.state_path());
  const std::string key = daemon.secret_key();
  const std::string effective = format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365)));
  const Json worker = make_worker("900000", "Ingest", "Bench");

  std::cout << "ingest: " << seconds << " s per level, keep-alive connections\n";
  long accepted_total = 0;
  for (int c : levels) {
    Run base = drive(daemon.admin_port(), c, seconds, 200, [](int, long) {
      return std::pair<std::string, std::string>(
          "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", "");
    });
    Run ingest = drive(daemon.webhook_port(), c, seconds, 202, [&](int conn, long n) {
      Json w = worker;
      w["workerId"] = std::to_string(900000 + conn);
      // Unique per level, connection and request: n counts per connection.
      const std::string seq =
          std::to_string(c) + "-" + std::to_string(conn) + "-" + std::to_string(n);
      Json body{{"eventId", "ingest-" + seq}, {"eventType", "CHANGE"},
                {"effectiveAt", effective}, {"worker", w}};
      const std::string payload = body.dump();
      const std::string id = "msg-ingest-" + seq;
      const auto ts = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
      std::string head = "POST /v1/hr/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Content-Type: application/json\r\nwebhook-id: " + id +
                         "\r\nwebhook-timestamp: " + std::to_string(ts) +
                         "\r\nwebhook-signature: " + sign(key, id, ts, payload) + "\r\n";
      return std::pair<std::string, std::string>(std::move(head), payload);
    });
    accepted_total += ingest.ok;
    const auto lb = percentiles(base.latency_ms);
    const auto li = percentiles(ingest.latency_ms);
    std::printf("connections %3d | baseline GET /healthz %8.0f req/s (p99 %.1f ms) | durable ingest "
                "%7.0f events/s (p50 %.1f ms, p99 %.1f ms, %ld not 202) | ratio %.3f\n",
                c, base.rate(), lb.p99, ingest.rate(), li.p50, li.p99, ingest.other,
                ingest.rate() / std::max(1.0, base.rate()));
    for (const auto& [code, count] : ingest.other_statuses)
      std::printf("    HTTP %d x %ld (%s)\n", code, count, code == 0 ? "transport error" : "refused");
  }
  // Every 202 is a committed row: count them in the database.
  const auto stored = static_cast<long>(db.event_statuses().size());
  std::printf("acknowledged %ld events, %ld rows in the inbox%s\n", accepted_total, stored,
              stored == accepted_total ? "" : "  — MISMATCH");
  daemon.stop();
  return stored == accepted_total ? 0 : 1;
}
