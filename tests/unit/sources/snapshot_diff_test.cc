#include "sources/snapshot_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sources_fixture.h"

namespace prov {
namespace {

using testing::count_type;
using ::testing::HasSubstr;
using testing::person;
using ::testing::StartsWith;
using testing::types_by_worker;

constexpr const char* kSource = "poll:workday";

SnapshotContext context(bool missing_means_terminated = false) {
  SnapshotContext c;
  c.source = kSource;
  c.snapshot_time = from_unix_ms(1'780'000'000'000);  // 2026-05-28
  c.received_at = c.snapshot_time;
  c.missing_means_terminated = missing_means_terminated;
  return c;
}

KnownWorker known(const Json& record, const std::string& source = kSource,
                  LifecycleState state = LifecycleState::Active) {
  KnownWorker k;
  k.worker.worker_id = record.at("workerId").get<std::string>();
  k.worker.record = record;
  k.worker.record["_hireAt"] = 1'000;  // engine bookkeeping rides along in the record
  k.worker.state = state;
  k.worker.last_event_id = source + ":" + k.worker.worker_id + ":0123456789abcdef";
  k.last_source = source;
  return k;
}

TEST(SnapshotDiff, UnknownWorkerIsHiredWithSourceTimeAndDeterministicId) {
  const Json jose = person("100234", "José", "Núñez");
  auto d = diff_snapshot({jose}, {}, context());
  ASSERT_EQ(d.events.size(), 1u);
  const HrEvent& e = d.events[0];
  EXPECT_EQ(e.type, EventType::Hire);
  EXPECT_EQ(e.worker_id, "100234");
  EXPECT_EQ(e.source, kSource);
  EXPECT_EQ(e.effective_at, context().snapshot_time);
  EXPECT_EQ(e.worker, jose);
  EXPECT_THAT(e.event_id, StartsWith("poll:workday:100234:"));
  EXPECT_EQ(e.event_id.size(), std::string("poll:workday:100234:").size() + 16);
  EXPECT_EQ(e.body_sha256.size(), 64u);
}

TEST(SnapshotDiff, SameInputsGiveSameIdsAndDigestsWhateverTheTime) {
  const std::vector<Json> records{person("1", "A", "B"), person("2", "C", "D")};
  auto first = diff_snapshot(records, {}, context());
  SnapshotContext later = context();
  later.snapshot_time += std::chrono::hours(1);
  later.received_at = later.snapshot_time;
  auto second = diff_snapshot(records, {}, later);
  ASSERT_EQ(first.events.size(), 2u);
  ASSERT_EQ(second.events.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(first.events[i].event_id, second.events[i].event_id);
    EXPECT_EQ(first.events[i].body_sha256, second.events[i].body_sha256);
  }
  auto changed = diff_snapshot({person("1", "A", "B", "Sales")}, {}, context());
  EXPECT_NE(changed.events[0].event_id, first.events[0].event_id);
}

TEST(SnapshotDiff, EqualRecordIgnoringEngineKeysAndNullsIsUnchanged) {
  Json record = person("1", "A", "B");
  Json with_null = record;
  with_null["terminationDate"] = nullptr;
  with_null["_terminatedAt"] = 5;  // a snapshot cannot smuggle engine keys in either
  auto d = diff_snapshot({with_null}, {known(record)}, context());
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.unchanged, 1u);
}

TEST(SnapshotDiff, AnyDifferingHrFieldIsAChange) {
  auto d =
      diff_snapshot({person("1", "A", "B", "Sales")}, {known(person("1", "A", "B"))}, context());
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].type, EventType::Change);
  EXPECT_EQ(d.events[0].worker["department"], "Sales");
  Json added = person("1", "A", "B");
  added["costCenter"] = "CC-1";
  EXPECT_EQ(diff_snapshot({added}, {known(person("1", "A", "B"))}, context()).events.at(0).type,
            EventType::Change);
}

TEST(SnapshotDiff, TerminatedWorkerAppearingActiveIsRehired) {
  auto d = diff_snapshot({person("1", "A", "B"), person("2", "C", "D")},
                         {known(person("1", "A", "B"), kSource, LifecycleState::Terminated),
                          known(person("2", "C", "D"), kSource, LifecycleState::Deleted)},
                         context());
  auto types = types_by_worker(d.events);
  EXPECT_EQ(types["1"], EventType::Rehire);
  EXPECT_EQ(types["2"], EventType::Rehire);
}

TEST(SnapshotDiff, PlainTerminationDateIsMidnightInTheZone) {
  // The snapshot is taken at 2026-05-28T20:26:40Z: already 29 May in Tokyo, not yet in UTC.
  Json record = person("1", "A", "B");
  record["terminationDate"] = "2026-05-29";
  SnapshotContext utc = context();
  EXPECT_EQ(types_by_worker(diff_snapshot({record}, {known(person("1", "A", "B"))}, utc).events)["1"],
            EventType::Change);
  SnapshotContext tokyo = context();
  tokyo.timezone = "Asia/Tokyo";
  EXPECT_EQ(
      types_by_worker(diff_snapshot({record}, {known(person("1", "A", "B"))}, tokyo).events)["1"],
      EventType::Termination);
  record["timeZone"] = "Asia/Tokyo";  // the record's own zone, engine zone UTC
  EXPECT_EQ(types_by_worker(diff_snapshot({record}, {known(person("1", "A", "B"))}, utc).events)["1"],
            EventType::Termination);
}

TEST(SnapshotDiff, PastTerminationDateTerminatesFutureOneIsOnlyAChange) {
  Json past = person("1", "A", "B");
  past["terminationDate"] = "2026-05-01";
  Json future = person("2", "C", "D");
  future["terminationDate"] = "2026-07-01";
  auto d = diff_snapshot({past, future},
                         {known(person("1", "A", "B")), known(person("2", "C", "D"))}, context());
  auto types = types_by_worker(d.events);
  EXPECT_EQ(types["1"], EventType::Termination);
  EXPECT_EQ(types["2"], EventType::Change);
}

TEST(SnapshotDiff, AlreadyTerminatedStrangerIsNotHired) {
  Json gone = person("9", "A", "B");
  gone["terminationDate"] = "2020-01-31";
  auto d = diff_snapshot({gone}, {}, context());
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.already_terminated, 1u);
  // …and a terminated worker whose record still says terminated stays put.
  auto again = diff_snapshot({gone}, {known(gone, kSource, LifecycleState::Terminated)}, context());
  EXPECT_TRUE(again.events.empty());
}

TEST(SnapshotDiff, RecordsWithoutRequiredFieldsAreSkippedAndReported) {
  Json no_last = person("1", "A", "B");
  no_last.erase("lastName");
  Json blank_first = person("2", "  ", "B");
  Json bad_date = person("3", "A", "B");
  bad_date["terminationDate"] = "soon";
  Json no_id = person("x", "A", "B");
  no_id.erase("workerId");
  auto d =
      diff_snapshot({no_last, blank_first, bad_date, no_id, person("4", "A", "B")}, {}, context());
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].worker_id, "4");
  ASSERT_EQ(d.skipped.size(), 4u);
  EXPECT_EQ(d.skipped[0].worker_id, "1");
  EXPECT_THAT(d.skipped[0].reason, HasSubstr("lastName is required"));
  EXPECT_THAT(d.skipped[1].reason, HasSubstr("firstName must not be empty"));
  EXPECT_THAT(d.skipped[2].reason, HasSubstr("terminationDate"));
  EXPECT_EQ(d.skipped[3].index, 3u);
  EXPECT_THAT(d.skipped[3].reason, HasSubstr("workerId is required"));
}

TEST(SnapshotDiff, NumericWorkerIdIsTakenAsText) {
  Json record = {{"workerId", 42}, {"firstName", "A"}, {"lastName", "B"}};
  auto d = diff_snapshot({record}, {}, context());
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].worker_id, "42");
  EXPECT_EQ(d.events[0].worker["workerId"], "42");
}

TEST(SnapshotDiff, DuplicateWorkerIdUsesTheFirstRecord) {
  auto d = diff_snapshot({person("1", "A", "B"), person("1", "X", "Y")}, {}, context());
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].worker["firstName"], "A");
  ASSERT_EQ(d.skipped.size(), 1u);
  EXPECT_EQ(d.skipped[0].index, 1u);
}

class MissingWorkers : public ::testing::TestWithParam<bool> {};

// Ten workers from this source, three (30 %) absent from today's snapshot.
TEST_P(MissingWorkers, AreTerminatedOnlyWhenTheSourceSaysSo) {
  const bool missing_means_terminated = GetParam();
  std::vector<KnownWorker> stored;
  std::vector<Json> snapshot;
  for (int i = 0; i < 10; ++i) {
    Json r = person(std::to_string(100 + i), "F" + std::to_string(i), "L");
    stored.push_back(known(r));
    if (i % 3 != 0 || i == 0) snapshot.push_back(r);  // drops 103, 106, 109
  }
  ASSERT_EQ(snapshot.size(), 7u);
  auto d = diff_snapshot(snapshot, stored, context(missing_means_terminated));
  EXPECT_EQ(d.missing, 3u);
  EXPECT_EQ(d.unchanged, 7u);
  EXPECT_TRUE(d.terminations_withheld.empty());
  if (!missing_means_terminated) {
    EXPECT_TRUE(d.events.empty());
    return;
  }
  ASSERT_EQ(d.events.size(), 3u);
  std::set<std::string> ended;
  for (const auto& e : d.events) {
    EXPECT_EQ(e.type, EventType::Termination);
    EXPECT_EQ(e.effective_at, context().snapshot_time);
    EXPECT_FALSE(e.worker.contains("_hireAt"));
    ended.insert(e.worker_id);
  }
  EXPECT_EQ(ended, (std::set<std::string>{"103", "106", "109"}));
}
INSTANTIATE_TEST_SUITE_P(SnapshotDiff, MissingWorkers, ::testing::Bool());

TEST(SnapshotDiff, WorkersOfWebhooksOrOtherSourcesAreNeverTerminatedByASnapshot) {
  auto d =
      diff_snapshot({person("1", "A", "B")},
                    {known(person("1", "A", "B")), known(person("2", "C", "D"), "webhook"),
                     known(person("3", "E", "F"), "file:other"), known(person("4", "G", "H"), "")},
                    context(true));
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.missing, 0u);
}

TEST(SnapshotDiff, AlreadyEndedWorkersAreNotTerminatedAgain) {
  auto d = diff_snapshot({person("1", "A", "B")},
                         {known(person("1", "A", "B")),
                          known(person("2", "C", "D"), kSource, LifecycleState::Terminated),
                          known(person("3", "E", "F"), kSource, LifecycleState::Rescinded)},
                         context(true));
  EXPECT_TRUE(d.events.empty());
}

TEST(SnapshotDiff, SkippedRecordStillCountsAsPresent) {
  Json broken = person("2", "C", "D");
  broken.erase("lastName");
  auto d =
      diff_snapshot({person("1", "A", "B"), broken},
                    {known(person("1", "A", "B")), known(person("2", "C", "D"))}, context(true));
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.skipped.size(), 1u);
}

TEST(SnapshotDiff, UnidentifiableRecordOrEmptySnapshotWithholdsTerminations) {
  const std::vector<KnownWorker> stored{known(person("1", "A", "B")), known(person("2", "C", "D"))};
  Json anonymous = person("x", "C", "D");
  anonymous.erase("workerId");
  auto unidentified = diff_snapshot({person("1", "A", "B"), anonymous}, stored, context(true));
  EXPECT_EQ(count_type(unidentified.events, EventType::Termination), 0u);
  EXPECT_EQ(unidentified.missing, 1u);
  EXPECT_THAT(unidentified.terminations_withheld, HasSubstr("workerId"));

  auto empty = diff_snapshot({}, stored, context(true));
  EXPECT_TRUE(empty.events.empty());
  EXPECT_EQ(empty.missing, 2u);
  EXPECT_FALSE(empty.terminations_withheld.empty());
}

}  // namespace
}  // namespace prov
