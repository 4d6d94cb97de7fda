#include "sources/snapshot_ingest.h"

#include <gtest/gtest.h>

#include "prov/metrics.h"
#include "sources_fixture.h"

namespace prov {
namespace {

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

}  // namespace
}  // namespace prov
