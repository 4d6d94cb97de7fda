#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <semaphore>
#include <thread>

#include "commit_sizes.h"
#include "store_fixture.h"

namespace prov {
namespace {

using testing::cat;
using testing::CommitSizes;
using testing::make_event;
using testing::TempDir;

constexpr auto kDeadline = std::chrono::seconds(60);

IngestResult submit_and_wait(InboxWriter& writer, HrEvent event) {
  auto promise = std::make_shared<std::promise<IngestResult>>();
  auto future = promise->get_future();
  writer.submit(std::move(event), [promise](IngestResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(kDeadline) != std::future_status::ready) {
    ADD_FAILURE() << "no answer within the deadline";
    return {};
  }
  return future.get();
}

// Counts answers and lets the test wait for an expected number with a deadline.
class Answers {
 public:
  void add(IngestStatus s) {
    std::lock_guard lock(mu_);
    ++by_status_[static_cast<int>(s)];
    ++total_;
    cv_.notify_all();
  }
  bool wait_for_total(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return total_ >= n; });
  }
  int count(IngestStatus s) {
    std::lock_guard lock(mu_);
    return by_status_[static_cast<int>(s)];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int by_status_[5] = {};
  int total_ = 0;
};

TEST(InboxWriter, ConcurrentSubmittersStoreEveryEventExactlyOnce) {
  TempDir dir;
  const auto path = dir.path() / "state.db";
  std::atomic<int> wakeups{0};
  auto writer = InboxWriter::start(path, 1'000'000, [&] { ++wakeups; });

  constexpr int kThreads = 4;
  constexpr int kPerThread = 5'000;
  constexpr int kResubmits = 100;  // per thread, answered as duplicates
  constexpr int kInFlight = 64;    // per thread, like concurrent HTTP requests
  Answers answers;
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::counting_semaphore<kInFlight> window(kInFlight);
      auto send = [&](int i) {
        window.acquire();
        const std::string id = cat("evt-", t, "-", i);
        writer->submit(make_event(id, cat("w", i % 500)), [&](IngestResult r) {
          answers.add(r.status);
          window.release();
        });
      };
      for (int i = 0; i < kPerThread; ++i) send(i);
      for (int i = 0; i < kResubmits; ++i) send(i);
      for (int i = 0; i < kInFlight; ++i) window.acquire();  // wait for this thread's answers
    });
  }
  for (auto& th : threads) th.join();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  constexpr int kTotal = kThreads * (kPerThread + kResubmits);
  ASSERT_TRUE(answers.wait_for_total(kTotal));
  writer->stop();

  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::cout << "[ info ] group commit: " << kThreads * kPerThread << " events from " << kThreads
            << " threads in " << seconds
            << " s = " << static_cast<int>(kThreads * kPerThread / seconds) << " events/s\n";

  EXPECT_EQ(answers.count(IngestStatus::Stored), kThreads * kPerThread);
  EXPECT_EQ(answers.count(IngestStatus::Duplicate), kThreads * kResubmits);
  EXPECT_EQ(answers.count(IngestStatus::Failed), 0);
  EXPECT_GT(wakeups.load(), 0);

  auto store = Store::open_read_only(path);
  const StoreCounts counts = store->counts();
  EXPECT_EQ(counts.inbox_pending, kThreads * kPerThread);
  // One receipt per stored event in the audit log, none for the re-submissions.
  EXPECT_EQ(store->audit_log("", -1).size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(store->event(cat("evt-", t, "-0")).has_value());
    EXPECT_TRUE(store->event(cat("evt-", t, "-", kPerThread - 1)).has_value());
  }
  EXPECT_EQ(store->integrity_check(), "ok");
}

TEST(InboxWriter, RefusesEventsAboveTheHighWaterMark) {
  TempDir dir;
  const auto path = dir.path() / "state.db";
  auto writer = InboxWriter::start(path, 3, {});
  std::vector<IngestStatus> got;
  for (int i = 0; i < 5; ++i) {
    got.push_back(submit_and_wait(*writer, make_event(cat("e", i), "w1")).status);
  }
  EXPECT_EQ(got, (std::vector<IngestStatus>{IngestStatus::Stored, IngestStatus::Stored,
                                            IngestStatus::Stored, IngestStatus::Overloaded,
                                            IngestStatus::Overloaded}));
  {
    // The engine works one off; there is room again.
    auto engine = Store::open(path);
    EXPECT_EQ(engine->inbox_depth(), 3);
    EXPECT_FALSE(engine->event("e3").has_value());
    engine->set_event_status(engine->event("e0")->id, EventStatus::Applied, "");
  }
  EXPECT_EQ(submit_and_wait(*writer, make_event("e5", "w1")).status, IngestStatus::Stored);
  EXPECT_EQ(submit_and_wait(*writer, make_event("e6", "w1")).status, IngestStatus::Overloaded);
}

HrEvent event_with_notes(const std::string& id, std::size_t notes_bytes) {
  HrEvent e = make_event(id, "w-" + id);
  e.worker["notes"] = std::string(notes_bytes, 'n');
  return e;
}

TEST(InboxWriter, NoCommitHoldsMoreThanItsCapOfEventsOrBytes) {
  TempDir dir;
  const auto path = dir.path() / "state.db";
  CommitSizes sizes(path);
  InboxLimits limits;
  limits.high_water = 1'000'000;
  limits.commit_max_events = 200;
  limits.commit_max_bytes = 64 * 1024;
  auto writer = InboxWriter::start(path, limits, [&] { sizes.after_commit(); });

  // Everything at once, as a snapshot source hands over its events, while the engine holds the
  // write lock (so all of it is queued when the writer's turn comes): small events (the event cap
  // binds), then large ones (the byte cap binds), then one larger than the byte cap by itself.
  Answers answers;
  const auto count = [&](IngestResult r) { answers.add(r.status); };
  constexpr int kSmall = 1500, kLarge = 1500;
  auto engine = Store::open(path);
  engine->transaction([&] {
    for (int i = 0; i < kSmall; ++i) writer->submit(make_event(cat("s", i), cat("w", i)), count);
    for (int i = 0; i < kLarge; ++i) writer->submit(event_with_notes(cat("l", i), 1200), count);
    writer->submit(event_with_notes("huge", 100 * 1024), count);
  });
  ASSERT_TRUE(answers.wait_for_total(kSmall + kLarge + 1));
  writer->stop();

  EXPECT_EQ(answers.count(IngestStatus::Stored), kSmall + kLarge + 1);
  std::int64_t stored = 0;
  for (const auto& c : sizes.commits()) {
    stored += c.events;
    EXPECT_LE(c.events, 200);
    // Only an event larger than the cap by itself may exceed it, and then it is alone.
    if (c.bytes > 64 * 1024) {
      EXPECT_EQ(c.events, 1);
    }
  }
  EXPECT_EQ(stored, kSmall + kLarge + 1);
}

TEST(InboxWriter, BulkEventsLeaveHalfTheHighWaterMarkToWebhooks) {
  TempDir dir;
  const auto path = dir.path() / "state.db";
  InboxLimits limits;
  limits.high_water = 100;
  auto writer = InboxWriter::start(path, limits, {});

  // A snapshot of 80 events: half the mark (50) is stored, the other 30 wait for room.
  Answers bulk;
  for (int i = 0; i < 80; ++i)
    writer->submit_bulk(make_event(cat("snap-", i), cat("s", i)),
                        [&](IngestResult r) { bulk.add(r.status); });
  ASSERT_TRUE(bulk.wait_for_total(50));
  EXPECT_EQ(bulk.count(IngestStatus::Stored), 50);

  // Webhooks still have the other half of the mark, and then the mark holds.
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(submit_and_wait(*writer, make_event(cat("hook-", i), cat("h", i))).status,
              IngestStatus::Stored)
        << "webhook " << i;
  }
  EXPECT_EQ(submit_and_wait(*writer, make_event("hook-over", "h")).status,
            IngestStatus::Overloaded);
  EXPECT_EQ(bulk.count(IngestStatus::Stored), 50);

  // The engine drains the inbox: the waiting snapshot events go in, none refused.
  {
    auto engine = Store::open(path);
    engine->transaction([&] {
      for (const auto& row : engine->pending_events(1000))
        engine->set_event_status(row.id, EventStatus::Applied, "");
    });
  }
  ASSERT_TRUE(bulk.wait_for_total(80));
  EXPECT_EQ(bulk.count(IngestStatus::Stored), 80);
  EXPECT_EQ(Store::open_read_only(path)->inbox_depth(), 30);
}

TEST(InboxWriter, StopAnswersBulkEventsStillWaitingForRoom) {
  TempDir dir;
  const auto path = dir.path() / "state.db";
  InboxLimits limits;
  limits.high_water = 10;
  auto writer = InboxWriter::start(path, limits, {});
  Answers bulk;
  for (int i = 0; i < 8; ++i)
    writer->submit_bulk(make_event(cat("snap-", i), cat("s", i)),
                        [&](IngestResult r) { bulk.add(r.status); });
  ASSERT_TRUE(bulk.wait_for_total(5));
  writer->stop();  // must not wait for room that never comes
  ASSERT_TRUE(bulk.wait_for_total(8));
  EXPECT_EQ(bulk.count(IngestStatus::Stored), 5);
  EXPECT_EQ(bulk.count(IngestStatus::Overloaded), 3);
  EXPECT_EQ(Store::open_read_only(path)->inbox_depth(), 5);
}

TEST(InboxWriter, AnswersDuplicateAndConflict) {
  TempDir dir;
  auto writer = InboxWriter::start(dir.path() / "state.db", 100, {});
  const IngestResult first = submit_and_wait(*writer, make_event("e1", "w1", 1000, "d1"));
  ASSERT_EQ(first.status, IngestStatus::Stored);
  const IngestResult dup = submit_and_wait(*writer, make_event("e1", "w1", 1000, "d1"));
  EXPECT_EQ(dup.status, IngestStatus::Duplicate);
  EXPECT_EQ(dup.inbox_id, first.inbox_id);
  EXPECT_EQ(submit_and_wait(*writer, make_event("e1", "w1", 1000, "d2")).status,
            IngestStatus::Conflict);
}

TEST(InboxWriter, StopCommitsWhatIsQueuedThenRefuses) {
  TempDir dir;
  const auto path = dir.path() / "state.db";
  std::atomic<int> stored{0};
  std::atomic<int> answered{0};
  auto writer = InboxWriter::start(path, 10'000, {});
  for (int i = 0; i < 300; ++i) {
    writer->submit(make_event(cat("e", i), "w1"), [&](IngestResult r) {
      if (r.status == IngestStatus::Stored) ++stored;
      ++answered;
    });
  }
  writer->stop();  // joins: every queued request has its answer now
  EXPECT_EQ(answered.load(), 300);
  EXPECT_EQ(stored.load(), 300);

  const IngestResult late = submit_and_wait(*writer, make_event("late", "w1"));
  EXPECT_EQ(late.status, IngestStatus::Failed);
  writer->stop();  // idempotent
  EXPECT_EQ(Store::open_read_only(path)->inbox_depth(), 300);
}

TEST(InboxWriter, ThrowingCallbackDoesNotStopTheWriter) {
  TempDir dir;
  auto writer = InboxWriter::start(dir.path() / "state.db", 100, {});
  writer->submit(make_event("e1", "w1"), [](IngestResult) { throw std::runtime_error("boom"); });
  EXPECT_EQ(submit_and_wait(*writer, make_event("e2", "w1")).status, IngestStatus::Stored);
}

TEST(InboxWriter, StartFailsForAnUnusablePath) {
  TempDir dir;
  EXPECT_THROW(InboxWriter::start(dir.path() / "missing" / "state.db", 10, {}), StoreError);
}

}  // namespace
}  // namespace prov
