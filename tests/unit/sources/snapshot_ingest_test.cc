#include "sources/snapshot_ingest.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <semaphore>
#include <thread>

#include "../store/commit_sizes.h"
#include "prov/metrics.h"
#include "sources_fixture.h"

namespace prov {
namespace {

using testing::CommitSizes;
using testing::count_type;
using testing::person;
using testing::types_by_worker;

class SnapshotIngest : public testing::SourcesTest {
 protected:
  SnapshotContext context(bool missing_means_terminated = false) {
    SnapshotContext c;
    c.source = "poll:workday";
    c.snapshot_time = clock_.now();
    c.received_at = clock_.now();
    c.missing_means_terminated = missing_means_terminated;
    return c;
  }
  SnapshotReport ingest(const std::vector<Json>& records, bool missing_means_terminated = false) {
    return ingest_snapshot(records, *store_, *writer_, context(missing_means_terminated));
  }
};

TEST_F(SnapshotIngest, RepollingTheSameSnapshotOnlyYieldsDuplicates) {
  const std::vector<Json> snapshot{person("1", "José", "Núñez"), person("2", "Ann", "Lee")};
  auto first = ingest(snapshot);
  EXPECT_EQ(first.stored, 2u);
  EXPECT_TRUE(first.complete());
  clock_.advance(std::chrono::minutes(15));  // the next interval, engine not caught up yet
  auto second = ingest(snapshot);
  EXPECT_EQ(second.stored, 0u);
  EXPECT_EQ(second.duplicates, 2u);
  EXPECT_EQ(second.conflicts, 0u);
  EXPECT_EQ(pending().size(), 2u);
}

TEST_F(SnapshotIngest, OnceAppliedAnUnchangedSnapshotYieldsNothing) {
  const std::vector<Json> snapshot{person("1", "José", "Núñez"), person("2", "Ann", "Lee")};
  ASSERT_EQ(ingest(snapshot).stored, 2u);
  apply_pending();  // the engine adds its own "_" keys to the stored records
  ASSERT_TRUE(store_->worker("1")->record.contains("_hireAt"));
  clock_.advance(std::chrono::minutes(15));
  auto again = ingest(snapshot);
  EXPECT_TRUE(again.diff.events.empty());
  EXPECT_EQ(again.diff.unchanged, 2u);
}

TEST_F(SnapshotIngest, StoredEventsCarrySourceAndCountInMetrics) {
  Metrics::global().reset();
  ASSERT_EQ(ingest({person("1", "A", "B")}).stored, 1u);
  auto events = pending();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].source, "poll:workday");
  EXPECT_EQ(events[0].type, EventType::Hire);
  EXPECT_EQ(Metrics::global().value("provisiond_snapshot_events_total",
                                    {{"source", "poll:workday"}, {"type", "HIRE"}}),
            1);
  (void)ingest({person("1", "A", "B")});  // duplicates are not new events
  EXPECT_EQ(Metrics::global().value("provisiond_snapshot_events_total",
                                    {{"source", "poll:workday"}, {"type", "HIRE"}}),
            1);
}

TEST_F(SnapshotIngest, WebhookOnlyWorkersAreNeverTerminated) {
  seed_worker(person("1", "A", "B"), "poll:workday");
  seed_worker(person("2", "C", "D"), "webhook");
  // A webhook whose eventId happens to look like this source's ids is still a webhook.
  {
    HrEvent e;
    e.event_id = "poll:workday:3:spoofed";
    e.type = EventType::Hire;
    e.worker_id = "3";
    e.worker = person("3", "E", "F");
    e.body_sha256 = "x";
    e.source = "webhook";
    ASSERT_EQ(store_->insert_event(e).status, IngestStatus::Stored);
    apply_pending();
  }
  auto known = known_workers(*store_, "poll:workday");
  ASSERT_EQ(known.size(), 3u);
  auto report = ingest({person("9", "N", "M")}, /*missing_means_terminated=*/true);
  auto types = types_by_worker(report.diff.events);
  EXPECT_EQ(types.size(), 2u);
  EXPECT_EQ(types["1"], EventType::Termination);
  EXPECT_EQ(types["9"], EventType::Hire);
  EXPECT_EQ(types.count("2"), 0u);
  EXPECT_EQ(types.count("3"), 0u);
}

TEST_F(SnapshotIngest, ThirtyPercentMissingWithAndWithoutMissingMeansTerminated) {
  std::vector<Json> all;
  for (int i = 0; i < 20; ++i) all.push_back(person("w" + std::to_string(i), "F", "L"));
  ASSERT_EQ(ingest(all).stored, 20u);
  apply_pending();
  const std::vector<Json> partial(all.begin(), all.begin() + 14);  // 6 of 20 missing

  clock_.advance(std::chrono::minutes(15));
  auto lenient = ingest(partial, false);
  EXPECT_EQ(lenient.diff.missing, 6u);
  EXPECT_EQ(lenient.stored, 0u);
  EXPECT_TRUE(pending().empty());

  auto strict = ingest(partial, true);
  EXPECT_EQ(strict.stored, 6u);
  EXPECT_EQ(count_type(pending(), EventType::Termination), 6u);
}

TEST_F(SnapshotIngest, TerminateRehireTerminateAgainAreThreeDistinctEvents) {
  const Json r = person("1", "A", "B");
  ASSERT_EQ(ingest({r, person("2", "C", "D")}).stored, 2u);
  apply_pending();
  clock_.advance(std::chrono::hours(1));
  ASSERT_EQ(ingest({person("2", "C", "D")}, true).stored, 1u);
  apply_pending();
  EXPECT_EQ(store_->worker("1")->state, LifecycleState::Terminated);
  clock_.advance(std::chrono::hours(1));
  auto back = ingest({r, person("2", "C", "D")}, true);
  ASSERT_EQ(back.stored, 1u);
  EXPECT_EQ(back.diff.events[0].type, EventType::Rehire);
  apply_pending();
  EXPECT_EQ(store_->worker("1")->state, LifecycleState::Active);
  clock_.advance(std::chrono::hours(1));
  auto gone = ingest({person("2", "C", "D")}, true);
  EXPECT_EQ(gone.stored, 1u);  // not mistaken for the first termination
  EXPECT_EQ(gone.duplicates, 0u);
}

// Webhook events for `workers` distinct workers, `in_flight` waiting for an answer at a time, as
// concurrent HTTP requests would; counts the answers by status.
class WebhookSender {
 public:
  WebhookSender(IngestSink& sink, int events, int in_flight = 16)
      : thread_([this, &sink, events, in_flight] { run(sink, events, in_flight); }) {}
  ~WebhookSender() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  int count(IngestStatus s) {
    std::lock_guard lock(mu_);
    return by_status_[s];
  }

 private:
  void run(IngestSink& sink, int events, int in_flight) {
    std::counting_semaphore<64> window(in_flight);
    for (int i = 0; i < events; ++i) {
      window.acquire();
      HrEvent e;
      e.event_id = "hook-" + std::to_string(i);
      e.type = EventType::Change;
      e.worker_id = "h" + std::to_string(i);
      e.worker = testing::person(e.worker_id, "Web", "Hook");
      e.body_sha256 = "hook";
      e.effective_at = from_unix_ms(1'000);
      e.received_at = from_unix_ms(1'000);
      e.source = "webhook";
      sink.submit(std::move(e), [&](IngestResult r) {
        {
          std::lock_guard lock(mu_);
          ++by_status_[r.status];
        }
        window.release();
      });
    }
    for (int i = 0; i < in_flight; ++i) window.acquire();  // every answer is in
  }

  std::mutex mu_;
  std::map<IngestStatus, int> by_status_;
  std::thread thread_;
};

std::vector<Json> workforce(int n) {
  std::vector<Json> records;
  records.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string id = std::to_string(100000 + i);
    records.push_back(person(id, "First" + id, "Last" + id, i % 2 ? "Finance" : "Sales"));
  }
  return records;
}

TEST_F(SnapshotIngest, HundredThousandWorkerSnapshotBesideWebhooks) {
  // The daemon's wiring: the default limits, and an engine woken after every commit that drains
  // the inbox in transactions of its own.
  writer_->stop();
  CommitSizes sizes(db_path());
  std::mutex mu;
  std::condition_variable_any stored;
  bool woken = false;
  writer_ = InboxWriter::start(db_path(), InboxLimits{}, [&] {
    sizes.after_commit();
    std::lock_guard lock(mu);
    woken = true;
    stored.notify_all();
  });
  std::jthread engine([&](std::stop_token stop) {
    auto db = Store::open(db_path());
    std::unique_lock lock(mu);
    while (stored.wait(lock, stop, [&] { return woken; })) {
      woken = false;
      lock.unlock();
      for (auto rows = db->pending_events(500); !rows.empty(); rows = db->pending_events(500)) {
        db->transaction([&] {
          for (const auto& row : rows) db->set_event_status(row.id, EventStatus::Applied, "");
        });
      }
      lock.lock();
    }
  });

  constexpr int kWorkers = 100'000, kWebhooks = 2'000;
  WebhookSender webhooks(*writer_, kWebhooks);
  const auto report = ingest_snapshot(workforce(kWorkers), *store_, *writer_, context());
  webhooks.join();
  engine.request_stop();
  engine.join();

  EXPECT_EQ(report.stored, static_cast<std::size_t>(kWorkers));
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(webhooks.count(IngestStatus::Stored), kWebhooks);
  EXPECT_EQ(webhooks.count(IngestStatus::Overloaded), 0);
  EXPECT_EQ(webhooks.count(IngestStatus::Failed), 0);
  const InboxLimits limits;
  std::int64_t events = 0;
  for (const auto& c : sizes.commits()) {
    events += c.events;
    EXPECT_LE(c.events, static_cast<std::int64_t>(limits.commit_max_events));
    EXPECT_LE(c.bytes, static_cast<std::int64_t>(limits.commit_max_bytes));
  }
  EXPECT_EQ(events, kWorkers + kWebhooks);
}

TEST_F(SnapshotIngest, SnapshotLargerThanTheRoomLeftStopsAtHalfTheHighWaterMark) {
  // Nobody drains the inbox (the engine is stuck): the snapshot takes half the mark and gives up
  // on the rest after a second without progress; webhooks keep the other half.
  writer_->stop();
  InboxLimits limits;
  limits.high_water = 1'000;
  writer_ = InboxWriter::start(db_path(), limits, {});
  const auto report = ingest_snapshot(workforce(1'500), *store_, *writer_, context(),
                                      std::chrono::seconds(1));
  EXPECT_EQ(report.stored, 500u);
  EXPECT_EQ(report.not_stored, 1'000u);
  EXPECT_FALSE(report.complete());

  WebhookSender webhooks(*writer_, 500);
  webhooks.join();
  EXPECT_EQ(webhooks.count(IngestStatus::Stored), 500);
  EXPECT_EQ(webhooks.count(IngestStatus::Overloaded), 0);
  WebhookSender over(*writer_, 1, 1);
  over.join();
  EXPECT_EQ(over.count(IngestStatus::Overloaded), 1);
}

}  // namespace
}  // namespace prov
