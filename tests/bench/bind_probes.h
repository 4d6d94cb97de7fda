#pragma once
// Lock-out as a leaver would see it: probes that bind as each leaver, from the moment the
// TERMINATION was accepted, until the directory refuses the bind. Shared by the benchmarks that
// report TERMINATION 202 → bind refused.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "harness/bind_probe.h"

namespace prov::testing {

// Polls binds until `dn` can no longer bind; returns the milliseconds since `since`, or -1.
inline double wait_bind_refused(const std::string& url, const std::string& dn,
                                const std::string& pw, SteadyClock::time_point since) {
  const auto deadline = SteadyClock::now() + std::chrono::seconds(30);
  while (SteadyClock::now() < deadline) {
    if (!can_bind(url, dn, pw, "")) return ms_since(since);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // probe interval
  }
  return -1;
}

struct ProbeJob {
  std::string dn, password;
  SteadyClock::time_point accepted;
};

// Probes run beside the sender so a slow lock never slows the offered load.
class BindProbes {
 public:
  BindProbes(std::string url, int threads) : url_(std::move(url)) {
    for (int i = 0; i < threads; ++i) pool_.emplace_back([this] { run(); });
  }
  ~BindProbes() { finish(); }
  void add(ProbeJob job) {
    std::lock_guard l(mu_);
    jobs_.push_back(std::move(job));
    cv_.notify_one();
  }
  void finish() {
    {
      std::lock_guard l(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    for (auto& t : pool_)
      if (t.joinable()) t.join();
  }
  std::vector<double> results() {
    std::lock_guard l(mu_);
    return results_;
  }
  int timeouts() const { return timeouts_.load(); }

 private:
  void run() {
    for (;;) {
      ProbeJob job;
      {
        std::unique_lock l(mu_);
        cv_.wait(l, [&] { return closing_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      double ms = wait_bind_refused(url_, job.dn, job.password, job.accepted);
      std::lock_guard l(mu_);
      if (ms < 0) {
        ++timeouts_;
      } else {
        results_.push_back(ms);
      }
    }
  }

  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ProbeJob> jobs_;
  std::vector<double> results_;
  std::atomic<int> timeouts_{0};
  bool closing_ = false;
  std::vector<std::thread> pool_;
};

}  // namespace prov::testing
