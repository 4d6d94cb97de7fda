#include <gtest/gtest.h>

#include "prov/clock.h"

namespace prov {
namespace {

TEST(Time, ParsesRfc3339AndPlainDates) {
  EXPECT_EQ(format_time(*parse_time("2026-12-01T08:00:00Z")), "2026-12-01T08:00:00.000Z");
  EXPECT_EQ(format_time(*parse_time("2026-12-01")), "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(format_time(*parse_time("2026-12-01T09:30:00+01:30")), "2026-12-01T08:00:00.000Z");
  EXPECT_EQ(format_time(*parse_time("2026-12-01T08:00:00.5Z")), "2026-12-01T08:00:00.500Z");
  EXPECT_EQ(format_time(*parse_time("2026-12-01T08:00:00-05:00")), "2026-12-01T13:00:00.000Z");
}

TEST(Time, RejectsWhatIsNotATime) {
  for (const char* bad : {"", "2026-13-01", "2026-02-30", "2026-12-01T08:00:00",
                          "2026-12-01T25:00:00Z", "yesterday", "2026-12-01T08:00Z",
                          "2026-12-01T08:00:00.Z", "2026-12-01X"})
    EXPECT_FALSE(parse_time(bad).has_value()) << bad;
}

TEST(Time, ManualClockMovesOnlyWhenTold) {
  ManualClock c(*parse_time("2026-01-01"));
  auto t = c.now();
  EXPECT_EQ(c.now(), t);
  c.advance(std::chrono::hours(25));
  EXPECT_EQ(format_time(c.now()), "2026-01-02T01:00:00.000Z");
}

}  // namespace
}  // namespace prov
