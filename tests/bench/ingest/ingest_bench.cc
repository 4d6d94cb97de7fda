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
// --inbox-high-water N sets hr.webhook.inbox_high_water (default 100,000): a burst larger than
// the engine can drain meanwhile reaches it and is answered 503 from there on.
//
//   ingest_bench [--connections 1,16,64,256] [--seconds 5] [--hires N] [--inbox-high-water N]
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

#include "bench/http_load.h"
#include "e2e/daemon_fixture.h"
#include "hr/signature.h"
#include "reliability/figures.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"

using namespace prov;
using namespace prov::testing;

namespace {

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
  long high_water = 0;  // > 0: hr.webhook.inbox_high_water
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--connections") == 0) levels = parse_list(argv[i + 1]);
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--hires") == 0) hires = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--inbox-high-water") == 0) high_water = std::atol(argv[i + 1]);
  }
  if (seconds <= 0) seconds = hires > 0 ? 60 : env_int("PROV_BENCH_SECONDS", 5);  // HIREs: a cap
  SlapdOptions slapd_options;
  slapd_options.durable = hires > 0;  // accounts are really written: as a site runs slapd
  auto slapd = Slapd::start(slapd_options);
  // Every load connection comes from 127.0.0.1: lift the per-address cap to the largest level.
  DaemonOptions options;
  options.webhook_yaml = "max_connections: 1024, max_connections_per_source: 1024";
  if (high_water > 0) options.webhook_yaml += ", inbox_high_water: " + std::to_string(high_water);
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
    return prov::testing::signed_request(key, seq, body);
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
