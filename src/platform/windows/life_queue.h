#pragma once
// Stop and reload requests handed from the threads Windows calls back on (console control
// handler, service control handler) to the daemon's main thread, which waits in
// ProcessLife::wait().
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "prov/process_life.h"

namespace prov {

class LifeQueue {
 public:
  void push(LifeRequest request) {
    {
      std::lock_guard l(mu_);
      pending_.push_back(std::move(request));
    }
    cv_.notify_all();
  }
  LifeRequest wait(std::chrono::milliseconds tick) {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, tick, [this] { return !pending_.empty(); })) return {};
    LifeRequest next = std::move(pending_.front());
    pending_.pop_front();
    return next;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LifeRequest> pending_;
};

}  // namespace prov
