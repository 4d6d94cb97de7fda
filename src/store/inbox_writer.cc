// Group-commit ingest. Each durable commit costs one fsync, so committing one event per request
// caps ingest at the disk's fsync rate. The writer thread instead takes what is queued
// while the previous commit was syncing and commits it as one transaction: under load the batch
// grows and the cost per event falls, and each request is still answered only after the commit
// that holds its event.
//
// A transaction is capped (InboxLimits: events and bytes of event bodies), because everything
// queued behind it — the next webhook's 202, the engine's next group — waits for its commit: a
// snapshot source handing over 100,000 events at once would otherwise hold the write lock for
// seconds. Webhook events go first in every transaction; bulk (snapshot) events fill what is left
// and only while the inbox is below half the high-water mark, so a snapshot never takes the room
// that keeps webhooks from being refused.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
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
  QueuedInboxWriter(std::unique_ptr<Store> store, const InboxLimits& limits,
                    std::function<void()> on_stored)
      : store_(std::move(store)),
        high_water_(static_cast<std::int64_t>(limits.high_water)),
        bulk_mark_(static_cast<std::int64_t>(limits.high_water / 2)),
        max_events_(std::max<std::size_t>(1, limits.commit_max_events)),
        max_bytes_(limits.commit_max_bytes),
        on_stored_(std::move(on_stored)),
        thread_([this] {
          name_this_thread("prov-inbox");
          run();
        }) {}

  ~QueuedInboxWriter() override { stop(); }

  void submit(HrEvent event, std::function<void(IngestResult)> done) override {
    enqueue(std::move(event), std::move(done), false);
  }

  void submit_bulk(HrEvent event, std::function<void(IngestResult)> done) override {
    enqueue(std::move(event), std::move(done), true);
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
    bool bulk = false;
  };

  void enqueue(HrEvent event, std::function<void(IngestResult)> done, bool bulk) {
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
        (bulk ? bulk_ : queue_)
            .push_back(Request{std::move(event), std::move(body), std::move(done), bulk});
        cv_.notify_one();
        return;
      }
    }
    answer(done,
           IngestResult{IngestStatus::Failed, "inbox writer is stopped; event not stored", 0});
  }

  void run() {
    std::vector<Request> batch;
    for (;;) {
      std::deque<Request> refused;
      {
        std::unique_lock lock(mu_);
        for (;;) {
          if (!queue_.empty() || (!bulk_.empty() && !bulk_waits_) || stopping_) break;
          if (bulk_.empty()) {
            cv_.wait(lock);
          } else if (cv_.wait_for(lock, kDepthRefresh) == std::cv_status::timeout) {
            bulk_waits_ = false;  // look again: the engine may have drained the inbox
          }
        }
        if (stopping_ && queue_.empty() && (bulk_.empty() || bulk_waits_)) {
          // Everything that can be stored is committed; bulk events still waiting for room
          // would wait for ever.
          refused.swap(bulk_);
        } else {
          take(batch);
        }
      }
      if (batch.empty()) {
        for (auto& r : refused) {
          answer(r.done, IngestResult{IngestStatus::Overloaded,
                                      "inbox writer stopped while the inbox was full; event not "
                                      "stored",
                                      0});
        }
        return;
      }
      commit(batch);
      batch.clear();
    }
  }

  // Moves the next transaction's requests out of the queues (under mu_): webhook events first,
  // then bulk ones unless they are waiting for room, up to the caps; at least one request.
  void take(std::vector<Request>& batch) {
    std::size_t bytes = 0;
    const auto fits = [&](const Request& r) {
      return batch.empty() || (batch.size() < max_events_ && bytes + r.body.size() <= max_bytes_);
    };
    for (auto* q : {&queue_, &bulk_}) {
      if (q == &bulk_ && bulk_waits_) break;
      while (!q->empty() && fits(q->front())) {
        bytes += q->front().body.size();
        batch.push_back(std::move(q->front()));
        q->pop_front();
      }
    }
  }

  void commit(std::vector<Request>& batch) {
    std::vector<IngestResult> results(batch.size());
    // Bulk requests that found no room: not answered, back to the front of their queue.
    std::vector<bool> deferred(batch.size(), false);
    bool stored_any = false;
    try {
      std::int64_t depth = 0;
      store_->transaction([&] {
        bool exact = false;
        depth = known_depth(exact);
        const auto room_below = [&](std::int64_t mark) {
          if (depth >= mark && !exact) {
            // Only refuse on a fresh count: the engine may have drained rows since the last one.
            // Inside the transaction the count includes this batch's own inserts.
            depth = store_->inbox_depth();
            exact = true;
          }
          return depth < mark;
        };
        for (std::size_t i = 0; i < batch.size(); ++i) {
          if (batch[i].bulk && !room_below(bulk_mark_)) {
            deferred[i] = true;
            continue;
          }
          if (!room_below(high_water_)) {
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
      // Durable before anyone is told: the sync runs after the write lock is released, so the
      // engine commits while this writer waits for the disk.
      store_->sync();
      depth_ = depth;
      for (std::size_t i = 0; i < batch.size(); ++i)
        stored_any = stored_any || (!deferred[i] && results[i].status == IngestStatus::Stored);
      // Committed, not yet acknowledged: the sender must retry and get 200, never a second event.
      PROV_FAULT_POINT("after_inbox_commit");
    } catch (const std::exception& e) {
      // Nothing of this batch is committed, or it is not known to be durable: no event may be
      // reported as stored (a sender's retry of a committed one is answered as a duplicate).
      depth_ = -1;
      log::error("inbox commit failed",
                 {{"error", e.what()}, {"events", std::to_string(batch.size())}});
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!deferred[i] && results[i].status == IngestStatus::Overloaded) continue;
        deferred[i] = false;
        results[i] =
            IngestResult{IngestStatus::Failed, std::string("inbox commit failed: ") + e.what(), 0};
      }
    }
    std::vector<Request> waiting;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (deferred[i]) {
        waiting.push_back(std::move(batch[i]));
        continue;
      }
      answer(batch[i].done, std::move(results[i]));
    }
    if (!waiting.empty()) {
      std::lock_guard lock(mu_);
      bulk_.insert(bulk_.begin(), std::make_move_iterator(waiting.begin()),
                   std::make_move_iterator(waiting.end()));
      bulk_waits_ = true;
    }
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
  const std::int64_t bulk_mark_;  // bulk events wait while the inbox holds this many
  const std::size_t max_events_, max_bytes_;  // per transaction
  std::function<void()> on_stored_;
  // Writer-thread state: the last known inbox depth (-1: unknown) and when it was counted.
  std::int64_t depth_ = -1;
  std::chrono::steady_clock::time_point counted_at_{};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;  // webhooks
  std::deque<Request> bulk_;   // snapshot sources
  // The last transaction found no room for bulk events: they wait until the next depth refresh
  // (or a webhook's transaction) instead of opening a transaction to be turned away again.
  bool bulk_waits_ = false;
  bool stopping_ = false;
  std::mutex join_mu_;
  std::thread thread_;  // last: it starts running as soon as it is constructed
};

}  // namespace

std::unique_ptr<InboxWriter> InboxWriter::start(const std::filesystem::path& db_path,
                                                InboxLimits limits,
                                                std::function<void()> on_stored) {
  // Opened here, on the caller's thread, so a bad path fails start() instead of every submit.
  auto store = Store::open(db_path, CommitSync::OnRequest);
  return std::make_unique<QueuedInboxWriter>(std::move(store), limits, std::move(on_stored));
}

}  // namespace prov
