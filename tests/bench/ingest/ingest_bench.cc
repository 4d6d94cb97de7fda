// Maximum sustained durable ingest: signed HR events POSTed over many keep-alive connections to
// the real provisiond, each answered 202 only after its SQLite commit (WAL, synchronous=FULL).
// Baseline from the same run: GET /healthz on the daemon's admin listener with the same client
// and connection count — the same HTTP stack without signature check, parsing or commit.
// The events are changes effective a year ahead, so the engine stores them as scheduled and the
// directory is not part of what is measured. The engine runs meanwhile: each level reports what
// it had not yet taken from the inbox when the load stopped (its backlog) and how long it took
// to finish that, so a rate the engine cannot keep up with shows as such.
// One thread drives all connections with epoll, as wrk does, so the generator leaves the cores
// to the daemon.
//
// With --hires N the events are instead N distinct HIREs per level, effective now, signed before
// the level starts (as a replay with wrk would send them): the engine plans accounts and group
// memberships for each while ingest goes on, and the executor writes them to slapd (fsync). A
// level ends when its N events are acknowledged (or after --seconds); it then reports the
// inbox backlog and its drain time, and how far the directory was behind.
//
//   ingest_bench [--connections 1,16,64,256] [--seconds 5] [--hires N]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>
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

// One keep-alive HTTP/1.1 connection driven by the event loop below: it sends one request,
// reads the whole answer (head, then Content-Length bytes), records it, and sends the next.
struct Connection {
  int fd = -1;
  std::string out;  // the request being sent
  std::size_t sent = 0;
  std::string in;  // bytes of the answer read so far
  SteadyClock::time_point started{};
};

struct Run {
  double seconds = 0;
  long ok = 0, other = 0;
  std::map<int, long> other_statuses;  // status → count, for everything not ok
  std::vector<double> latency_ms;
  double rate() const { return static_cast<double>(ok) / seconds; }
};

int open_connection(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Parses a complete answer at the front of `in`: its status, or -1 while it is incomplete.
// Sets `close_after` when the server asked to close the connection.
int parse_answer(std::string& in, bool& close_after) {
  const std::size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos || in.size() < 12) return -1;
  std::size_t length = 0;
  close_after = false;
  for (std::size_t pos = in.find("\r\n") + 2; pos < head_end;) {
    const std::size_t eol = in.find("\r\n", pos);
    std::string line = in.substr(pos, eol - pos);
    for (auto& c : line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (line.rfind("content-length:", 0) == 0) length = std::stoul(line.substr(15));
    if (line.rfind("connection:", 0) == 0 && line.find("close") != std::string::npos)
      close_after = true;
    pos = eol + 2;
  }
  if (in.size() < head_end + 4 + length) return -1;
  const int status = std::atoi(in.c_str() + 9);
  in.erase(0, head_end + 4 + length);
  return status;
}

// `connections` keep-alive connections driven by one thread with epoll, as wrk does: a load
// generator with a thread per connection would take the cores it is measuring.
// make(connection, n) returns the n-th request (head without Content-Length, body).
template <typename MakeRequest>
Run drive(int port, int connections, int seconds, int ok_status, MakeRequest make) {
  Run run;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Connection> conns(static_cast<std::size_t>(connections));
  long seq = 0;
  // false: the source has no more requests (the connection then closes)
  auto start_request = [&](std::size_t i) {
    Connection& c = conns[i];
    auto [head, body] = make(static_cast<int>(i), seq++);
    if (head.empty()) return false;
    c.out = std::move(head);
    c.out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    c.out += body;
    c.sent = 0;
    c.started = SteadyClock::now();
    return true;
  };
  auto connect_one = [&](std::size_t i) {
    Connection& c = conns[i];
    if (c.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
    }
    c.fd = open_connection(port);
    c.in.clear();
    if (c.fd < 0) throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  };
  // Sends what is left of the request; asks for EPOLLOUT only while some is left (a socket is
  // nearly always writable, and a level-triggered EPOLLOUT would make the loop spin).
  auto send_rest = [&](std::size_t i) {
    Connection& c = conns[i];
    const bool was_waiting = c.sent > 0 && c.sent < c.out.size();
    while (c.sent < c.out.size()) {
      const ssize_t w = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (w <= 0) break;
      c.sent += static_cast<std::size_t>(w);
    }
    const bool waiting = c.sent < c.out.size();
    if (waiting != was_waiting) {
      epoll_event ev{};
      ev.events = EPOLLIN | (waiting ? EPOLLOUT : 0u);
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    }
  };
  auto count = [&](int status) {
    if (status == ok_status) {
      ++run.ok;
    } else {
      ++run.other;
      ++run.other_statuses[status];
    }
  };

  const auto t0 = SteadyClock::now();
  const auto until = t0 + std::chrono::seconds(seconds);
  std::size_t open = 0;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    if (!start_request(i)) break;
    connect_one(i);
    send_rest(i);
    ++open;
  }
  std::vector<epoll_event> events(conns.size());
  char buf[16384];
  while (open > 0) {
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    for (int k = 0; k < n; ++k) {
      const std::size_t i = events[k].data.u64;
      Connection& c = conns[i];
      if (c.fd < 0) continue;
      send_rest(i);
      // Read the answer.
      bool closed = false;
      for (;;) {
        const ssize_t r = recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          c.in.append(buf, static_cast<std::size_t>(r));
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        break;
      }
      bool close_after = false;
      const int status = parse_answer(c.in, close_after);
      if (status < 0 && !closed) continue;  // not complete yet
      run.latency_ms.push_back(
          std::chrono::duration<double, std::milli>(SteadyClock::now() - c.started).count());
      count(status < 0 ? 0 : status);  // 0: the connection broke before an answer
      if (SteadyClock::now() >= until || !start_request(i)) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        c.fd = -1;
        --open;
        continue;
      }
      if (closed || close_after) connect_one(i);
      send_rest(i);
    }
  }
  ::close(ep);
  run.seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
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
  std::vector<int> levels{1, 16, 64, 256};
  int seconds = 0;
  int hires = 0;  // > 0: that many pre-signed HIREs per level instead of dated-ahead CHANGEs
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--connections") == 0) levels = parse_list(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--hires") == 0) hires = std::atoi(argv[i + 1]);
  }
  if (seconds <= 0) seconds = hires > 0 ? 60 : env_int("PROV_BENCH_SECONDS", 5);  // HIREs: a cap
  SlapdOptions slapd_options;
  slapd_options.durable = hires > 0;  // accounts are really written: as a site runs slapd
  auto slapd = Slapd::start(slapd_options);
  // Every load connection comes from 127.0.0.1: lift the per-address cap to the largest level.
  DaemonOptions options;
  options.webhook_yaml = "max_connections: 1024, max_connections_per_source: 1024";
  options.tolerance_s = 900;  // pre-signed HIREs are signed before their level starts
  Daemon daemon(*slapd, options);
  daemon.start();
  StateDb db(daemon.state_path());
  const std::string key = daemon.secret_key();
  const std::string effective = format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365)));
  const Json worker = make_worker("900000", "Ingest", "Bench");

  std::cout << "ingest: " << (hires > 0 ? std::to_string(hires) + " pre-signed HIREs" : "CHANGEs")
            << " per level (at most " << seconds << " s), keep-alive connections\n";
  auto signed_request = [&](const std::string& seq, const Json& body) {
    const std::string payload = body.dump();
    const std::string id = "msg-ingest-" + seq;
    const auto ts = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    std::string head =
        "POST /v1/hr/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nwebhook-id: " +
        id + "\r\nwebhook-timestamp: " + std::to_string(ts) +
        "\r\nwebhook-signature: " + sign(key, id, ts, payload) + "\r\n";
    return std::pair<std::string, std::string>(std::move(head), payload);
  };
  const char* const departments[] = {"Finance", "Engineering", "Sales", "Marketing"};
  const char* const locations[] = {"Berlin", "Munich", "Hamburg"};
  long accepted_total = 0;
  for (int c : levels) {
    // HIREs: distinct people, spread over departments and locations like a real intake, signed
    // before the clock starts so the generator only writes bytes.
    std::vector<std::pair<std::string, std::string>> presigned;
    const std::string today = format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now()));
    for (int k = 0; k < hires; ++k) {
      const std::string id = std::to_string(c) + "-" + std::to_string(k);
      Json w = make_worker("h" + std::to_string(c) + std::to_string(1000000 + k), "Ina",
                           "Take" + std::to_string(c) + "x" + std::to_string(k),
                           departments[k % 4]);
      w["location"] = locations[(k / 4) % 3];
      w["hireDate"] = today.substr(0, 10);
      presigned.push_back(signed_request(id, Json{{"eventId", "hire-" + id},
                                                  {"eventType", "HIRE"},
                                                  {"effectiveAt", today},
                                                  {"worker", w}}));
    }
    std::size_t next_presigned = 0;
    const auto ops_done_before = db.operations_by_status()["done"];
    Run base = drive(daemon.admin_port(), c, seconds, 200, [](int, long) {
      return std::pair<std::string, std::string>("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n",
                                                 "");
    });
    Run ingest = drive(daemon.webhook_port(), c, seconds, 202, [&](int conn, long n) {
      if (hires > 0)
        return next_presigned < presigned.size() ? std::move(presigned[next_presigned++])
                                                 : std::pair<std::string, std::string>();
      Json w = worker;
      w["workerId"] = std::to_string(900000 + conn);
      // Unique per level, connection and request: n counts per connection.
      const std::string seq =
          std::to_string(c) + "-" + std::to_string(conn) + "-" + std::to_string(n);
      Json body{{"eventId", "ingest-" + seq},
                {"eventType", "CHANGE"},
                {"effectiveAt", effective},
                {"worker", w}};
      return signed_request(seq, body);
    });
    accepted_total += ingest.ok;
    const auto lb = percentiles(base.latency_ms);
    const auto li = percentiles(ingest.latency_ms);
    // Sustained means the engine keeps up: what it had not yet taken from the inbox when the
    // load stopped, and how long it took to finish that.
    const auto backlog = db.inbox_pending();
    const auto drain_start = SteadyClock::now();
    while (db.inbox_pending() > 0 && SteadyClock::now() - drain_start < std::chrono::seconds(600))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval, not a wait
    const double drain_s = std::chrono::duration<double>(SteadyClock::now() - drain_start).count();
    if (hires > 0) {
      // The directory works through what the engine planned at its own pace (slapd with fsync):
      // how much it had done when the inbox was drained, and how much was still queued.
      auto ops = db.operations_by_status();
      std::printf(
          "connections %3d | %ld HIREs sent in %.1f s | directory meanwhile: %ld operations "
          "applied, %ld still queued when the inbox was drained\n",
          c, ingest.ok + ingest.other, ingest.seconds,
          static_cast<long>(ops["done"] - ops_done_before), static_cast<long>(ops["pending"]));
    }
    std::printf(
        "connections %3d | baseline GET /healthz %8.0f req/s (p99 %.1f ms) | durable ingest "
        "%7.0f events/s (p50 %.1f ms, p99 %.1f ms, %ld not 202) | ratio %.3f | engine "
        "backlog %ld, drained in %.1f s\n",
        c, base.rate(), lb.p99, ingest.rate(), li.p50, li.p99, ingest.other,
        ingest.rate() / std::max(1.0, base.rate()), static_cast<long>(backlog), drain_s);
    for (const auto& [code, count] : ingest.other_statuses)
      std::printf("    HTTP %d x %ld (%s)\n", code, count,
                  code == 0 ? "transport error" : "refused");
  }
  // Every 202 is a committed row: count them in the database.
  const auto stored = static_cast<long>(db.event_statuses().size());
  std::printf("acknowledged %ld events, %ld rows in the inbox%s\n", accepted_total, stored,
              stored == accepted_total ? "" : "  — MISMATCH");
  daemon.stop();
  return stored == accepted_total ? 0 : 1;
}
