#pragma once
// IANA time zones read from the system's zone database (TZif files under /usr/share/zoneinfo, or
// $TZDIR), so that a plain date from HR ("2026-12-01") can mean midnight where the worker is.
// libstdc++ 12 has no std::chrono::tzdb; this is the small part of it provisiond needs.
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "prov/clock.h"

namespace prov {

// The worker record field naming the worker's own zone; engine.timezone applies without it.
inline constexpr const char* kWorkerTimeZoneKey = "timeZone";

// An immutable zone; copies share the parsed rules. Every member is thread-safe.
class TimeZone {
 public:
  // The zone called `name` ("Europe/Berlin", "UTC"). Each zone file is read once per process and
  // shared afterwards. nullopt when the name is not a zone in the database (or not a plain
  // relative name) or its file is not a valid TZif file of version 2 or later.
  static std::optional<TimeZone> load(std::string_view name);
  // Always available, even without a zone database.
  static TimeZone utc();

  const std::string& name() const;
  // How far local time is ahead of UTC at instant `t` (Berlin in winter: +3600 s).
  std::chrono::seconds offset_at(TimePoint t) const;
  // The local calendar day containing `t`.
  std::chrono::year_month_day local_date(TimePoint t) const;
  // The first instant of local day `date`: local midnight, or the first instant after a DST gap
  // when midnight does not exist that day (the earlier one when it occurs twice).
  TimePoint local_midnight(std::chrono::year_month_day date) const;
  // The last millisecond of the local day containing `t`.
  TimePoint end_of_local_day(TimePoint t) const;

  struct Rules;  // parsed zone file; defined in timezone.cc

 private:
  explicit TimeZone(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}
  std::shared_ptr<const Rules> rules_;
};

// As parse_time, except that a plain date ("2026-12-01") is the first instant of that day in
// `zone` instead of midnight UTC.
std::optional<TimePoint> parse_time_in(std::string_view text, const TimeZone& zone);

// The zone that governs a worker's dates: the record's `timeZone` when it names a known zone,
// else `fallback`.
TimeZone zone_of_worker(const nlohmann::json& record, const TimeZone& fallback);

// The zone called `name`, or UTC when it is unknown (configuration is validated at load, so this
// only falls back for hand-built configurations).
TimeZone zone_or_utc(std::string_view name);

}  // namespace prov
