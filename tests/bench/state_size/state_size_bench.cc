// Does provisiond slow down as its state database grows? The same measurements against an empty
// state database and against one holding the history of millions of events, in one run, each
// with its own slapd and daemon:
//   - durable ingest: signed CHANGE events (effective a year ahead, so only stored) over
//     keep-alive connections for a few seconds, in events/s;
//   - leavers: terminations effective now at a steady rate, TERMINATION 202 → the leaver's bind
//     refused (a probe binding with the delivered password), p50/p95/p99/max;
//   - meanwhile a status check polls GET /v1/status once a second, as a monitoring system would;
//     its answer time is reported too.
// The history is seeded straight into SQLite (HTTP would take days here) with the shapes the
// daemon writes: per event one applied inbox row carrying the full record, one done operation and
// two audit rows (event.applied, op.applied), for `--workers` people who each have a worker
// record and an account. It is written at schema version 3, which every build since opens
// (a newer build migrates it at start; the start time is reported).
//
//   state_size_bench [--events 10000000] [--workers 100000] [--leavers 300] [--rate 10]
//                    [--ingest-seconds 10] [--connections 64] [--runs 1]
//                    [--seeded FILE]   reuse (or create, when missing) the seeded database;
//                                      --runs 0 only creates it
// PROV_DAEMON_BINARY=path/to/provisiond measures another build's daemon on the same harness.
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include "bench/bench_util.h"
#include "bench/bind_probes.h"
#include "bench/http_load.h"
#include "e2e/daemon_fixture.h"
#include "reliability/figures.h"
#include "reliability/reliability_env.h"
#include "reliability/state_db.h"
#include "reliability/workforce.h"
#include "store/schema.h"
#include "store/sqlite.h"

using namespace prov;
using namespace prov::testing;

namespace {

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "?";
    sqlite3_free(error);
    throw std::runtime_error("seeding failed: " + message + "\n  in: " + sql.substr(0, 200));
  }
}

// The history of `events` events of `workers` people, spread over the two years before now.
void seed(const std::string& path, long events, int workers) {
  {
    sql::Database db(path, sql::Database::Mode::ReadWrite);
    auto v3 = schema::migrations();
    v3.resize(3);
    schema::migrate(db, v3);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) throw std::runtime_error("cannot open " + path);
  // Bulk loading, not what the daemon does: no journal, no sync, a large cache. The file is
  // switched back to WAL at the end, as the daemon expects it.
  exec(db, "PRAGMA journal_mode=OFF");
  exec(db, "PRAGMA synchronous=OFF");
  exec(db, "PRAGMA cache_size=-1500000");
  const long now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const long span_ms = 2L * 365 * 24 * 3600 * 1000;
  const std::string w = std::to_string(workers), n = std::to_string(events),
                    t0 = std::to_string(now_ms - span_ms),
                    step = std::to_string(std::max(1L, span_ms / std::max(1L, events)));
  const auto t = SteadyClock::now();
  // People: a worker record as the engine stores it, and an account as the planner keeps it.
  const std::string record =
      "json_object('workerId', printf('%d', 300000 + i), 'firstName', 'Seed', 'lastName', "
      "printf('Person%d', i), 'department', CASE i % 4 WHEN 0 THEN 'Finance' WHEN 1 THEN "
      "'Engineering' WHEN 2 THEN 'Sales' ELSE 'Marketing' END, 'jobTitle', 'Analyst', "
      "'jobCode', 'FIN-ACC-2', 'location', 'Berlin', 'country', 'DE', 'costCenter', 'CC-4100', "
      "'managerId', printf('%d', 300000 + i / 10 * 10), 'workerType', 'Employee', 'hireDate', "
      "'2024-01-01', 'terminationDate', NULL)";
  exec(db, "BEGIN");
  exec(db, "WITH RECURSIVE p(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM p WHERE i + 1 < " + w +
               ") INSERT INTO workers(worker_id, record, state, last_effective_at, last_event_id) "
               "SELECT printf('%d', 300000 + i), " + record + ", 'active', " + t0 +
               ", printf('seed-%010d', i) FROM p");
  exec(db, "WITH RECURSIVE p(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM p WHERE i + 1 < " + w +
               ") INSERT INTO accounts(worker_id, username, planned, applied) "
               "SELECT printf('%d', 300000 + i), printf('seed.person%d', i), a, a FROM (SELECT i, "
               "json_object('workerId', printf('%d', 300000 + i), 'username', "
               "printf('seed.person%d', i), 'dn', printf('uid=seed.person%d,ou=people,"
               "dc=example,dc=com', i), 'enabled', json('true'), 'groups', "
               "json_array('staff', 'finance', 'office-berlin'), 'attributes', json_object("
               "'givenName', 'Seed', 'sn', printf('Person%d', i), 'mail', "
               "printf('seed.person%d@example.com', i), 'title', 'Analyst')) AS a FROM p)");
  exec(db, "COMMIT");
  // Events, in chunks of a million so progress shows.
  const long chunk = 1'000'000;
  for (long lo = 0; lo < events; lo += chunk) {
    const std::string from = std::to_string(lo), to = std::to_string(std::min(events, lo + chunk));
    const std::string series = "WITH RECURSIVE e(i) AS (SELECT " + from +
                               " UNION ALL SELECT i + 1 FROM e WHERE i + 1 < " + to + ") ";
    const std::string when = "(" + t0 + " + i * " + step + ")";
    const std::string worker = "printf('%d', 300000 + i % " + w + ")";
    exec(db, "BEGIN");
    exec(db, series +
                 "INSERT INTO inbox(event_id, body_sha256, event_type, worker_id, effective_at, "
                 "received_at, source, body, status) SELECT printf('seed-%010d', i), "
                 "lower(hex(randomblob(32))), CASE i % 4 WHEN 0 THEN 'HIRE' WHEN 3 THEN "
                 "'TERMINATION' ELSE 'CHANGE' END, " + worker + ", " + when + ", " + when +
                 ", 'webhook', json_object('eventId', printf('seed-%010d', i), 'eventType', "
                 "'CHANGE', 'effectiveAt', strftime('%Y-%m-%dT%H:%M:%fZ', " + when +
                 " / 1000.0, 'unixepoch'), 'workerId', " + worker + ", 'worker', " +
                 "json_object('workerId', " + worker + ", 'firstName', 'Seed', 'lastName', "
                 "printf('Person%d', i % " + w + "), 'department', 'Finance', 'jobTitle', "
                 "printf('Step %d', i), 'jobCode', 'FIN-ACC-2', 'location', 'Berlin', 'country', "
                 "'DE', 'costCenter', 'CC-4100', 'managerId', '300000', 'workerType', "
                 "'Employee', 'hireDate', '2024-01-01', 'terminationDate', NULL), 'bodySha256', "
                 "lower(hex(randomblob(32))), 'receivedAt', strftime('%Y-%m-%dT%H:%M:%fZ', " +
                 when + " / 1000.0, 'unixepoch'), 'source', 'webhook'), 'applied' FROM e");
    exec(db, series +
                 "INSERT INTO outbox(worker_id, kind, destructive, payload, status, attempts, "
                 "next_attempt_at, last_error, event_id, created_at, updated_at) SELECT " + worker +
                 ", CASE i % 4 WHEN 3 THEN 'disable' ELSE 'update' END, i % 4 = 3, "
                 "json_object('kind', CASE i % 4 WHEN 3 THEN 'disable' ELSE 'update' END, "
                 "'workerId', " + worker + ", 'username', printf('seed.person%d', i % " + w +
                 "), 'dn', printf('uid=seed.person%d,ou=people,dc=example,dc=com', i % " + w +
                 "), 'attributes', json_object('title', printf('Step %d', i)), 'reason', "
                 "'attribute changed'), 'done', 1, " + when + ", '', printf('seed-%010d', i), " +
                 when + ", " + when + " + 40 FROM e");
    exec(db, series +
                 "INSERT INTO audit(at, worker_id, event_id, op_id, action, detail) SELECT " +
                 when + " + 20, " + worker + ", printf('seed-%010d', i), 0, 'event.applied', "
                 "json_object('eventType', 'CHANGE', 'operations', 1) FROM e "
                 "UNION ALL SELECT " + when + " + 40, " + worker +
                 ", printf('seed-%010d', i), i + 1, 'op.applied', json_object('kind', 'update', "
                 "'dn', printf('uid=seed.person%d,ou=people,dc=example,dc=com', i % " + w +
                 "), 'outcome', 'ok') FROM e");
    exec(db, "COMMIT");
    std::cout << "  seeded " << to << " events (" << static_cast<int>(seconds_since(t)) << " s)\n"
              << std::flush;
  }
  exec(db, "PRAGMA journal_mode=WAL");
  sqlite3_close(db);
}

double file_gb(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? static_cast<double>(st.st_size) / 1e9 : 0;
}

// GET /v1/status once a second (the next one a second after the previous answer), timing each.
class StatusPoller {
 public:
  explicit StatusPoller(Daemon& daemon)
      : thread_([this, &daemon](std::stop_token stop) {
          while (!stop.stop_requested()) {
            const auto t = SteadyClock::now();
            const auto r = daemon.admin_get("/v1/status");
            {
              std::lock_guard l(mu_);
              ms_.push_back(ms_since(t));
              if (r.status != 200) ++failed_;
            }
            std::unique_lock l(mu_);
            cv_.wait_for(l, stop, std::chrono::seconds(1), [] { return false; });
          }
        }) {}
  Percentiles stop() {
    thread_.request_stop();
    thread_.join();
    std::lock_guard l(mu_);
    return percentiles(ms_);
  }

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::vector<double> ms_;
  int failed_ = 0;
  std::jthread thread_;
};

struct Phase {
  std::string label;
  double start_s = 0, ingest_rate = 0, db_gb = 0;
  long ingest_other = 0;
  Percentiles accept, leaver, status;
  int never = 0;
};

// Event and worker ids are unique per invocation too: a reused seeded database keeps the events
// of earlier invocations, and the same id with another body would be answered 409.
const std::string& nonce() {
  static const std::string n = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count() %
      1000);
  return n;
}

Phase measure(const std::string& label, const std::string& state_path, int run, int leavers,
              int rate, int ingest_seconds, int connections) {
  Phase out;
  out.label = label;
  auto slapd = Slapd::start();
  DaemonOptions options;
  options.extra_yaml = kNoBrakeYaml;
  options.state_path = state_path;
  options.webhook_yaml = "max_connections: 1024, max_connections_per_source: 1024";
  Daemon daemon(*slapd, options);
  auto t = SteadyClock::now();
  daemon.start();
  out.start_s = seconds_since(t);
  StateDb db(daemon.state_path());
  StatusPoller status(daemon);

  // The leavers, hired through provisiond before the clock starts (ids unique per run and phase).
  const std::string prefix =
      "5" + nonce() + std::to_string(run % 10) + (label == "empty" ? "1" : "2");
  const auto staff = make_workforce(leavers, 1, prefix, 11 + static_cast<unsigned>(run));
  {
    LoadGenerator preload(daemon, staff, 8);
    preload.start();
    preload.join();
    if (!eventually([&] { return db.idle(); }, std::chrono::seconds(600)))
      throw std::runtime_error(label + ": the leavers' hires were not applied within 600 s");
  }
  std::map<std::string, std::string> dn_of;
  for (const auto& e : daemon.search(slapd->info().base_dn, "(objectClass=inetOrgPerson)"))
    dn_of[e.first("employeeNumber")] = e.dn;

  // Durable ingest.
  const std::string key = daemon.secret_key();
  const std::string effective = format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365)));
  const Run ingest = drive(daemon.webhook_port(), connections, ingest_seconds, 202,
                           [&](int conn, long n) {
                             return signed_change(key,
                                                  nonce() + "-" + label + "-" +
                                                      std::to_string(run) + "-" +
                                                      std::to_string(conn) + "-" +
                                                      std::to_string(n),
                                                  900000 + conn, effective);
                           });
  out.ingest_rate = ingest.rate();
  out.ingest_other = ingest.other;
  eventually([&] { return db.inbox_pending() == 0; }, std::chrono::seconds(120));

  // Leavers at a steady rate.
  BindProbes probes(slapd->info().url, 8);
  std::mutex mu;
  std::vector<double> accept_ms;
  const auto t0 = SteadyClock::now() + std::chrono::milliseconds(100);
  paced(rate, leavers, 8, t0, [&](int i) {
    const auto& w = staff[static_cast<std::size_t>(i)];
    Json worker = w.events.front().worker;
    worker["terminationDate"] = now_rfc3339();
    Json body{{"eventId", "leave-" + nonce() + "-" + label + "-" + std::to_string(run) + "-" +
                              std::to_string(i)},
              {"eventType", "TERMINATION"},
              {"effectiveAt", now_rfc3339()},
              {"worker", worker}};
    const auto sent = SteadyClock::now();
    const auto r = daemon.send(body.dump());
    const double took = ms_since(sent);
    if (r.status == 202)
      probes.add(ProbeJob{dn_of[w.worker_id], daemon.password_of(w.worker_id), sent});
    std::lock_guard l(mu);
    accept_ms.push_back(took);
  });
  eventually([&] { return db.idle(); }, std::chrono::seconds(300));
  probes.finish();
  out.accept = percentiles(accept_ms);
  out.leaver = percentiles(probes.results());
  out.never = probes.timeouts();
  out.status = status.stop();
  daemon.stop();
  out.db_gb = file_gb(state_path);
  return out;
}

void print(const Phase& p) {
  std::cout << std::fixed << std::setprecision(1) << "  " << std::setw(6) << p.label
            << " | start " << p.start_s << " s | ingest " << std::setprecision(0)
            << p.ingest_rate << " events/s (" << p.ingest_other << " not 202)"
            << " | TERMINATION 202 -> bind refused p50/p95/p99/max " << p.leaver.p50 << " / "
            << p.leaver.p95 << " / " << p.leaver.p99 << " / " << p.leaver.max << " ms ("
            << p.leaver.n << " refused, " << p.never << " never) | webhook 202 p50/p99 "
            << std::setprecision(1) << p.accept.p50 << " / " << p.accept.p99
            << " ms | GET /v1/status p50/max " << p.status.p50 << " / " << p.status.max
            << " ms | state " << std::setprecision(2) << p.db_gb << " GB\n";
}

}  // namespace

int main(int argc, char** argv) {
  long events = 10'000'000;
  int workers = 100'000, leavers = 300, rate = 10, ingest_seconds = 10, connections = 64, runs = 1;
  std::string seeded;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--events") events = std::atol(v.c_str());
    if (a == "--workers") workers = std::atoi(v.c_str());
    if (a == "--leavers") leavers = std::atoi(v.c_str());
    if (a == "--rate") rate = std::atoi(v.c_str());
    if (a == "--ingest-seconds") ingest_seconds = std::atoi(v.c_str());
    if (a == "--connections") connections = std::atoi(v.c_str());
    if (a == "--runs") runs = std::atoi(v.c_str());
    if (a == "--seeded") seeded = v;
  }
  const char* other = std::getenv("PROV_DAEMON_BINARY");
  std::cout << "state_size: " << events << " events of " << workers << " people seeded; daemon "
            << (other && *other ? other : "of this build") << "; " << leavers
            << " leavers at " << rate << "/s; ingest " << ingest_seconds << " s over "
            << connections << " connections; /v1/status polled every second\n";
  char tmpl[] = "/tmp/prov-state-size.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  if (seeded.empty()) seeded = dir + "/seeded.db";
  if (!std::filesystem::exists(seeded)) {
    const auto t = SteadyClock::now();
    seed(seeded, events, workers);
    std::cout << "seeded " << seeded << " in " << static_cast<int>(seconds_since(t)) << " s, "
              << file_gb(seeded) << " GB\n";
  } else {
    std::cout << "reusing " << seeded << " (" << file_gb(seeded) << " GB)\n";
  }

  if (runs < 1) return 0;  // --runs 0: only seed (e.g. once, for runs of several builds)
  std::vector<double> ingest_ratio, p50_ratio, p99_ratio;
  for (int run = 0; run < runs; ++run) {
    std::cout << "run " << run + 1 << " of " << runs << "\n";
    const std::string empty = dir + "/empty-" + std::to_string(run) + ".db";
    const Phase e = measure("empty", empty, run, leavers, rate, ingest_seconds, connections);
    print(e);
    const Phase s = measure("seeded", seeded, run, leavers, rate, ingest_seconds, connections);
    print(s);
    std::filesystem::remove(empty);
    ingest_ratio.push_back(s.ingest_rate / std::max(1.0, e.ingest_rate));
    p50_ratio.push_back(s.leaver.p50 / std::max(0.001, e.leaver.p50));
    p99_ratio.push_back(s.leaver.p99 / std::max(0.001, e.leaver.p99));
    std::cout << std::setprecision(3) << "  seeded/empty: ingest " << ingest_ratio.back()
              << ", leaver p50 " << p50_ratio.back() << ", p99 " << p99_ratio.back() << "\n"
              << std::flush;
  }
  const auto range = [](const std::vector<double>& v) {
    const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    std::ostringstream s;
    s << std::setprecision(3) << *lo << "–" << *hi;
    return s.str();
  };
  std::cout << "seeded/empty over " << runs << " run(s): ingest " << range(ingest_ratio)
            << ", leaver p50 " << range(p50_ratio) << ", p99 " << range(p99_ratio) << "\n";
  return 0;
}
