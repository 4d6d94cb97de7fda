// Group-commit ingest. Each commit with synchronous=FULL costs one fsync, so committing one event
// per request caps ingest at the disk's fsync rate. The writer thread instead takes everything
// queued while the previous commit was syncing and commits it as one transaction: under load the
// batch grows and the cost per event falls, and each request is still answered only after the
// commit that holds its event.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "prov/fault.h"
#include "prov/log.h"
#include "prov/thread_name.h"
#include "store/sqlite_store.h"

namespace prov {
namespace {

constexpr std::chrono::milliseconds kDepthRefresh{200};

class QueuedInboxWriter final : public InboxWriter {
 public:
  QueuedInboxWriter(std::unique_ptr<Store> store, std::size_t high_water,
                    std::function<void()> on_stored)
      : store_(std::move(store)),
        high_water_(static_cast<std::int64_t>(high_water)),
        on_stored_(std::move(on_stored)),
        thread_([this] {
          name_this_thread("prov-inbox");
          run();
        }) {}

  ~QueuedInboxWriter() override { stop(); }

  void submit(HrEvent event, std::function<void(IngestResult)> done) override {
    // Serialised here, on the submitting thread, and the worker record freed here too: the
    // writer thread's time is what every waiting request waits for.
    std::string body;
    try {
      body = Store::inbox_body(event);
    } catch (const StoreError& e) {
      return answer(done, IngestResult{IngestStatus::Failed, e.what(), 0});
    }
    event.worker = Json();
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(Request{std::move(event), std::move(body), std::move(done)});
        cv_.notify_one();
        return;
      }
    }
    answer(done,
           IngestResult{IngestStatus::Failed, "inbox writer is stopped; event not stored", 0});
  }

  void stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    std::lock_guard join_lock(join_mu_);
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Request {
    HrEvent event;     // without its worker record, which is in `body`
    std::string body;  // Store::inbox_body(event)
    std::function<void(IngestResult)> done;
  };

  void run() {
    std::vector<Request> batch;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything queued has been committed
        batch.swap(queue_);
      }
      commit(batch);
      batch.clear();
    }
  }

  void commit(std::vector<Request>& batch) {
    std::vector<IngestResult> results(batch.size());
    bool stored_any = false;
    try {
      std::int64_t depth = 0;
      store_->transaction([&] {
        bool exact = false;
        depth = known_depth(exact);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (depth >= high_water_ && !exact) {
            // Only refuse on a fresh count: the engine may have drained rows since the last one.
            // Inside the transaction the count includes this batch's own inserts.
            depth = store_->inbox_depth();
            exact = true;
          }
          if (depth >= high_water_) {
            results[i] = IngestResult{IngestStatus::Overloaded,
                                      "inbox holds " + std::to_string(depth) +
                                          " unprocessed events (high-water mark " +
                                          std::to_string(high_water_) + "); event not stored",
                                      0};
            continue;
          }
          try {
            // insert_event is one statement: a failure undoes only this event.
            results[i] = store_->insert_event(batch[i].event, batch[i].body);
          } catch (const StoreError& e) {
            results[i] = IngestResult{IngestStatus::Failed, e.what(), 0};
            continue;
          }
          if (results[i].status == IngestStatus::Stored) ++depth;
        }
      });
      depth_ = depth;
      for (const auto& r : results) stored_any = stored_any || r.status == IngestStatus::Stored;
      // Committed, not yet acknowledged: the sender must retry and get 200, never a second event.
      PROV_FAULT_POINT("after_inbox_commit");
    } catch (const std::exception& e) {
      // Nothing of this batch is committed: no event may be reported as stored.
      depth_ = -1;
      log::error("inbox commit failed",
                 {{"error", e.what()}, {"events", std::to_string(batch.size())}});
      for (auto& r : results) {
        if (r.status == IngestStatus::Overloaded) continue;
        r = IngestResult{IngestStatus::Failed, std::string("inbox commit failed: ") + e.what(), 0};
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) answer(batch[i].done, std::move(results[i]));
    if (stored_any && on_stored_) {
      try {
        on_stored_();
      } catch (const std::exception& e) {
        log::error("inbox on_stored callback threw", {{"error", e.what()}});
      }
    }
  }

  // Counting pending rows costs a walk over them (~100k at the default mark), too much for every
  // small batch. Between counts the depth is tracked from our own inserts; the engine only ever
  // lowers it, so the estimate errs on the side of a recount, never of storing too much. Counts
  // are refreshed periodically so other writers (imports, a second daemon) are noticed too.
  std::int64_t known_depth(bool& counted) {
    const auto now = std::chrono::steady_clock::now();
    counted = depth_ < 0 || now - counted_at_ >= kDepthRefresh;
    if (counted) {
      depth_ = store_->inbox_depth();
      counted_at_ = now;
    }
    return depth_;
  }

  // A throwing callback must not take the writer thread (and every later request) down.
  static void answer(const std::function<void(IngestResult)>& done, IngestResult result) {
    if (!done) return;
    try {
      done(std::move(result));
    } catch (const std::exception& e) {
      log::error("ingest completion callback threw", {{"error", e.what()}});
    }
  }

  std::unique_ptr<Store> store_;
  const std::int64_t high_water_;
  std::function<void()> on_stored_;
  // Writer-thread state: the last known inbox depth (-1: unknown) and when it was counted.
  std::int64_t depth_ = -1;
  std::chrono::steady_clock::time_point counted_at_{};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Request> queue_;
  bool stopping_ = false;
  std::mutex join_mu_;
  std::thread thread_;  // last: it starts running as soon as it is constructed
};

}  // namespace

std::unique_ptr<InboxWriter> InboxWriter::start(const std::filesystem::path& db_path,
                                                InboxLimits limits,
                                                std::function<void()> on_stored) {
  // Opened here, on the caller's thread, so a bad path fails start() instead of every submit.
  auto store = Store::open(db_path);
  return std::make_unique<QueuedInboxWriter>(std::move(store), limits.high_water,
                                             std::move(on_stored));
}

}  // namespace prov
