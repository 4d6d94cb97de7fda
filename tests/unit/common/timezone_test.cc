#include "prov/timezone.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace prov {
namespace {
using namespace std::chrono;

TimePoint at(const char* s) { return *parse_time(s); }
year_month_day date(int y, unsigned m, unsigned d) { return year{y} / month{m} / day{d}; }

TimeZone zone(const char* name) {
  auto z = TimeZone::load(name);
  EXPECT_TRUE(z.has_value()) << name << " missing from the zone database (tzdata installed?)";
  return z.value_or(TimeZone::utc());
}

TEST(TimeZone, UtcHasNoOffsetAndMidnightIsMidnight) {
  auto z = TimeZone::load("UTC");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->name(), "UTC");
  EXPECT_EQ(z->offset_at(at("2026-07-01T12:00:00Z")), seconds{0});
  EXPECT_EQ(z->local_midnight(date(2026, 12, 1)), at("2026-12-01T00:00:00Z"));
  EXPECT_EQ(z->end_of_local_day(at("2026-03-31T17:00:00Z")), at("2026-03-31T23:59:59.999Z"));
  EXPECT_EQ(zone("Etc/UTC").offset_at(at("2030-01-01T00:00:00Z")), seconds{0});
}

TEST(TimeZone, BerlinWinterAndSummerOffsets) {
  TimeZone berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.name(), "Europe/Berlin");
  EXPECT_EQ(berlin.offset_at(at("2026-01-15T12:00:00Z")), hours{1});
  EXPECT_EQ(berlin.offset_at(at("2026-07-15T12:00:00Z")), hours{2});
  // The switch itself: 2026-03-29 01:00Z and 2026-10-25 01:00Z.
  EXPECT_EQ(berlin.offset_at(at("2026-03-29T00:59:59Z")), hours{1});
  EXPECT_EQ(berlin.offset_at(at("2026-03-29T01:00:00Z")), hours{2});
  EXPECT_EQ(berlin.offset_at(at("2026-10-25T00:59:59Z")), hours{2});
  EXPECT_EQ(berlin.offset_at(at("2026-10-25T01:00:00Z")), hours{1});
  EXPECT_EQ(berlin.local_midnight(date(2026, 12, 1)), at("2026-11-30T23:00:00Z"));
  EXPECT_EQ(berlin.local_midnight(date(2026, 7, 1)), at("2026-06-30T22:00:00Z"));
  EXPECT_EQ(berlin.local_date(at("2026-06-30T22:30:00Z")), date(2026, 7, 1));
  EXPECT_EQ(berlin.end_of_local_day(at("2026-03-31T17:00:00Z")), at("2026-03-31T21:59:59.999Z"));
}

TEST(TimeZone, RulesContinueBeyondTheListedTransitions) {
  // Far-future instants come from the zone file's POSIX rule, not from its transition table.
  TimeZone berlin = zone("Europe/Berlin");
  EXPECT_EQ(berlin.offset_at(at("2091-01-15T12:00:00Z")), hours{1});
  EXPECT_EQ(berlin.offset_at(at("2091-07-15T12:00:00Z")), hours{2});
  TimeZone sydney = zone("Australia/Sydney");  // southern hemisphere: DST across new year
  EXPECT_EQ(sydney.offset_at(at("2091-01-15T12:00:00Z")), hours{11});
  EXPECT_EQ(sydney.offset_at(at("2091-07-15T12:00:00Z")), hours{10});
}

TEST(TimeZone, NewYorkSummerAndWinter) {
  TimeZone ny = zone("America/New_York");
  EXPECT_EQ(ny.offset_at(at("2026-01-15T12:00:00Z")), hours{-5});
  EXPECT_EQ(ny.offset_at(at("2026-07-15T12:00:00Z")), hours{-4});
  // On the day DST starts the gap is at 02:00: midnight itself exists, still on EST.
  EXPECT_EQ(ny.local_midnight(date(2026, 3, 8)), at("2026-03-08T05:00:00Z"));
  EXPECT_EQ(ny.local_midnight(date(2026, 3, 9)), at("2026-03-09T04:00:00Z"));
}

TEST(TimeZone, MidnightInADstGapIsTheFirstInstantAfterIt) {
  // Santiago and Havana move their clocks at midnight: 2026-09-06 in Santiago and 2026-03-08 in
  // Havana have no 00:00 and begin at 01:00 local.
  TimeZone santiago = zone("America/Santiago");
  const TimePoint start = santiago.local_midnight(date(2026, 9, 6));
  EXPECT_EQ(start, at("2026-09-06T04:00:00Z"));
  EXPECT_EQ(santiago.offset_at(start), hours{-3});
  EXPECT_EQ(santiago.offset_at(start - milliseconds{1}), hours{-4});
  EXPECT_EQ(santiago.local_date(start), date(2026, 9, 6));
  EXPECT_EQ(santiago.local_date(start - milliseconds{1}), date(2026, 9, 5));
  TimeZone havana = zone("America/Havana");
  EXPECT_EQ(havana.local_midnight(date(2026, 3, 8)), at("2026-03-08T05:00:00Z"));
  // The day before ends where the gap begins.
  EXPECT_EQ(havana.end_of_local_day(at("2026-03-07T12:00:00Z")), at("2026-03-08T04:59:59.999Z"));
}

TEST(TimeZone, MidnightThatOccursTwiceIsTheEarlierOne) {
  // Havana falls back from 01:00 CDT to 00:00 CST on 2026-11-01: midnight happens twice.
  TimeZone havana = zone("America/Havana");
  EXPECT_EQ(havana.local_midnight(date(2026, 11, 1)), at("2026-11-01T04:00:00Z"));
}

TEST(TimeZone, UnknownOrUnsafeNamesAreRejected) {
  for (const char* bad : {"", "Europe/Berln", "Mars/Olympus", "/etc/passwd", "../zoneinfo/UTC",
                          "Europe/../Europe/Berlin", "Europe", "zone.tab", "Europe/Berlin "})
    EXPECT_FALSE(TimeZone::load(bad).has_value()) << '"' << bad << '"';
}

TEST(TimeZone, PlainDatesAreLocalMidnightDateTimesKeepTheirOffset) {
  TimeZone la = zone("America/Los_Angeles");
  EXPECT_EQ(parse_time_in("2026-03-02", la), at("2026-03-02T08:00:00Z"));
  EXPECT_EQ(parse_time_in("2026-07-01", la), at("2026-07-01T07:00:00Z"));
  EXPECT_EQ(parse_time_in("2026-03-02T09:00:00+01:00", la), at("2026-03-02T08:00:00Z"));
  EXPECT_FALSE(parse_time_in("2026-02-30", la).has_value());
}

TEST(TimeZone, WorkerZoneFallsBackWhenMissingOrUnknown) {
  TimeZone fallback = zone("Europe/Berlin");
  EXPECT_EQ(zone_of_worker(nlohmann::json{{"timeZone", "Asia/Tokyo"}}, fallback).name(),
            "Asia/Tokyo");
  EXPECT_EQ(zone_of_worker(nlohmann::json{{"timeZone", "Nowhere/Land"}}, fallback).name(),
            "Europe/Berlin");
  EXPECT_EQ(zone_of_worker(nlohmann::json{{"timeZone", 3}}, fallback).name(), "Europe/Berlin");
  EXPECT_EQ(zone_of_worker(nlohmann::json::object(), fallback).name(), "Europe/Berlin");
}

TEST(TimeZone, ConcurrentLoadsAgree) {
  std::vector<std::thread> threads;
  std::vector<std::int64_t> offsets(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      auto z = TimeZone::load(i % 2 ? "Asia/Kolkata" : "Pacific/Chatham");
      offsets[i] = z ? z->offset_at(at("2026-07-01T00:00:00Z")).count() : -1;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(offsets[i], i % 2 ? 5 * 3600 + 1800 : 12 * 3600 + 45 * 60) << i;
}

}  // namespace
}  // namespace prov
