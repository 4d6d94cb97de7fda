#pragma once
// A load generator for the webhook listener, shared by the benchmarks that measure ingest: many
// keep-alive connections driven by one epoll thread, and signed CHANGE events the engine only
// stores (effective a year ahead), so the directory is not part of what is measured.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_util.h"
#include "e2e/daemon_fixture.h"
#include "hr/signature.h"

namespace prov::testing {

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

inline int open_connection(int port) {
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
inline int parse_answer(std::string& in, bool& close_after) {
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

// A signed POST /v1/hr/events of `body` (head without Content-Length, body), as an HR system
// sends it; `seq` makes the webhook-id unique.
inline std::pair<std::string, std::string> signed_request(const std::string& key,
                                                          const std::string& seq,
                                                          const Json& body) {
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
  return {std::move(head), payload};
}

// The n-th request of an ingest load: a signed CHANGE of worker `worker_number`, effective at
// `effective` (a year ahead keeps the engine from applying it), with `seq` making it unique.
inline std::pair<std::string, std::string> signed_change(const std::string& key,
                                                         const std::string& seq, int worker_number,
                                                         const std::string& effective) {
  const Json body{{"eventId", "ingest-" + seq},
                  {"eventType", "CHANGE"},
                  {"effectiveAt", effective},
                  {"worker", make_worker(std::to_string(worker_number), "Ingest", "Bench")}};
  return signed_request(key, seq, body);
}

}  // namespace prov::testing
