#pragma once
// Time is injected wherever it matters so tests can move it without sleeping.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace prov {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
};

// A clock tests (and `--now`) set by hand. Not thread-safe for concurrent set/now.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint t) : t_(t) {}
  TimePoint now() const override { return t_; }
  void set(TimePoint t) { t_ = t; }
  void advance(std::chrono::milliseconds d) { t_ += d; }

 private:
  TimePoint t_;
};

// System time shifted by a fixed offset: `provisiond --now T` starts the clock at T and lets it
// run, so effective dates can be exercised end to end without waiting for the calendar.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(TimePoint start) : offset_(start - SystemClock().now()) {}
  TimePoint now() const override { return SystemClock().now() + offset_; }

 private:
  std::chrono::milliseconds offset_;
};

// RFC 3339 date-time ("2026-12-01T08:00:00Z", "2026-12-01T09:00:00.5+01:00") or a plain date
// ("2026-12-01", meaning midnight UTC). Returns nullopt when the text is neither.
std::optional<TimePoint> parse_time(std::string_view text);
// "2026-12-01T08:00:00.000Z"
std::string format_time(TimePoint t);
int64_t to_unix_ms(TimePoint t);
TimePoint from_unix_ms(int64_t ms);

}  // namespace prov
