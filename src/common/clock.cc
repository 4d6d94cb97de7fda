#include "prov/clock.h"

#include <charconv>
#include <cstdio>

namespace prov {

TimePoint SystemClock::now() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

namespace {

bool read_int(std::string_view s, size_t pos, size_t len, int& out) {
  if (pos + len > s.size()) return false;
  for (size_t i = pos; i < pos + len; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  auto r = std::from_chars(s.data() + pos, s.data() + pos + len, out);
  return r.ec == std::errc();
}

}  // namespace

std::optional<TimePoint> parse_time(std::string_view s) {
  using namespace std::chrono;
  int y, mo, d;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  if (!read_int(s, 0, 4, y) || !read_int(s, 5, 2, mo) || !read_int(s, 8, 2, d)) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  TimePoint t = time_point_cast<milliseconds>(sys_days{ymd});
  if (s.size() == 10) return t;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  int hh, mm, ss;
  if (s.size() < 19 || s[13] != ':' || s[16] != ':') return std::nullopt;
  if (!read_int(s, 11, 2, hh) || !read_int(s, 14, 2, mm) || !read_int(s, 17, 2, ss))
    return std::nullopt;
  if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  t += hours{hh} + minutes{mm} + seconds{ss};
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int ms = 0, digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) ms *= 10;
    t += milliseconds{ms};
  }
  if (pos >= s.size()) return std::nullopt;  // a date-time needs an offset (RFC 3339)
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return t;
  if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
    int oh, om;
    if (!read_int(s, pos + 1, 2, oh) || !read_int(s, pos + 4, 2, om)) return std::nullopt;
    auto off = hours{oh} + minutes{om};
    return s[pos] == '+' ? t - off : t + off;
  }
  return std::nullopt;
}

std::string format_time(TimePoint t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  hh_mm_ss<milliseconds> hms{t - days};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()),
                int(hms.subseconds().count()));
  return buf;
}

int64_t to_unix_ms(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint from_unix_ms(int64_t ms) { return TimePoint{std::chrono::milliseconds{ms}}; }

}  // namespace prov
