#pragma once
// A synthetic workforce for the crash and outage tests: for each worker a fixed script of HR
// events (hire, changes, terminations, rehires) with strictly increasing effective dates, a load
// generator that delivers the scripts over signed webhooks and retries whatever was not
// acknowledged, and the model of the directory those acknowledged events imply.
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e/daemon_fixture.h"

namespace prov::testing {

struct ScriptedEvent {
  std::string event_id;
  std::string type;  // HIRE, CHANGE, TERMINATION, REHIRE
  Json worker;       // the full record as of the event
  std::string body;  // the exact webhook body; retries resend these bytes
};

struct WorkerScript {
  std::string worker_id;
  std::string username;  // what the example policy must give this worker (names are unique)
  std::vector<ScriptedEvent> events;
};

// `workers` scripts with `events_per_worker` events each (at least 1: the hire). Worker ids are
// `id_prefix` + a 5-digit number; the same seed gives the same scripts. Event types are drawn at
// random (a hire, then changes and terminations, a rehire after each termination) unless
// `lifecycle` names them: then every worker's event k has type lifecycle[k] (it must start with
// HIRE, follow each TERMINATION with a REHIRE, and hold events_per_worker types).
std::vector<WorkerScript> make_workforce(int workers, int events_per_worker,
                                         const std::string& id_prefix, unsigned seed,
                                         const std::vector<std::string>& lifecycle = {});

// What the example policy must show in the directory after the last event of `e` applies.
struct ExpectedAccount {
  bool active = true;             // false: terminated (locked, in ou=disabled, no groups)
  std::string title;              // active accounts only
  std::set<std::string> groups;   // cn of the policy groups
};
ExpectedAccount expected_after(const ScriptedEvent& e);

// Compares the directory with the model: for each worker, the last acknowledged event
// (`acked[i]` = index into scripts[i].events, -1 = none). Returns one line per discrepancy.
std::vector<std::string> compare_directory(const Daemon& daemon,
                                           const std::vector<WorkerScript>& scripts,
                                           const std::vector<int>& acked);

// "N discrepancies, first: [...]": a count and the first `shown` lines, for a failure message.
std::string summarize(const std::vector<std::string>& lines, const std::string& what,
                      std::size_t shown = 20);

// Prints the end of the daemon's log (debug lines left out) to stderr, for a failed run.
void print_log_tail(const Daemon& daemon, int lines = 60);

// Delivers every script over `threads` connections-at-a-time. Events of one worker go in order:
// the next is sent only once the previous was acknowledged (202 or 200). Anything else (connection
// refused or reset while the daemon is down, 503) is retried. Any other status is a protocol
// error: it is recorded and that event is skipped.
class LoadGenerator {
 public:
  LoadGenerator(Daemon& daemon, const std::vector<WorkerScript>& scripts, int threads);
  ~LoadGenerator();
  void start();
  void join();
  bool finished() const { return finished_threads_.load() == threads_; }
  int acknowledged() const { return acked_total_.load(); }
  long attempts() const { return attempts_.load(); }
  long unacknowledged_attempts() const { return failed_attempts_.load(); }
  // Index of the last acknowledged event per script (valid after join()).
  const std::vector<int>& acked() const { return acked_; }
  std::vector<std::string> protocol_errors() const;

 private:
  void run(int thread_index);

  Daemon& daemon_;
  const std::vector<WorkerScript>& scripts_;
  const int threads_;
  std::vector<int> acked_;
  std::vector<std::jthread> pool_;
  std::atomic<int> finished_threads_{0}, acked_total_{0};
  std::atomic<long> attempts_{0}, failed_attempts_{0};
  mutable std::mutex errors_mu_;
  std::vector<std::string> errors_;
};

}  // namespace prov::testing
