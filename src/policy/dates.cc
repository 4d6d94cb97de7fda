#include "policy/dates.h"

#include <cstdio>

namespace prov::policy {
namespace {

// Howard Hinnant's days_from_civil.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& value) {
  value = 0;
  if (pos + n > s.size()) return false;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

constexpr std::int64_t kDayMs = 86'400'000;

}  // namespace

std::optional<std::int64_t> parse_date_ms(std::string_view text) {
  unsigned y = 0, m = 0, d = 0;
  if (text.size() < 10 || !digits(text, 0, 4, y) || text[4] != '-' || !digits(text, 5, 2, m) ||
      text[7] != '-' || !digits(text, 8, 2, d) || m < 1 || m > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  const std::int64_t day_ms = days_from_civil(y, m, d) * kDayMs;
  if (text.size() == 10) return day_ms;
  const auto t = parse_time(text);
  if (!t) return std::nullopt;
  return to_unix_ms(*t);
}

std::int64_t day_number(std::int64_t ms) {
  return ms >= 0 ? ms / kDayMs : -((-ms + kDayMs - 1) / kDayMs);
}

std::string unsupported_directive(std::string_view fmt) {
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') continue;
    if (i + 1 >= fmt.size()) return "%";
    const char c = fmt[++i];
    if (c != 'Y' && c != 'y' && c != 'm' && c != 'd' && c != 'H' && c != 'M' && c != 'S' &&
        c != '%') {
      return std::string("%") + c;
    }
  }
  return {};
}

bool format_date(std::int64_t ms, std::string_view fmt, std::string& out) {
  if (!unsupported_directive(fmt).empty()) return false;
  const std::int64_t days = day_number(ms);
  const std::int64_t in_day = ms - days * kDayMs;
  std::int64_t y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  const auto secs = in_day / 1000;
  char buf[16];
  for (std::size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out.push_back(fmt[i]);
      continue;
    }
    const char c = fmt[++i];
    int n = 0;
    switch (c) {
      case 'Y':
        n = std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(y));
        break;
      case 'y':
        n = std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(y % 100));
        break;
      case 'm':
        n = std::snprintf(buf, sizeof buf, "%02u", m);
        break;
      case 'd':
        n = std::snprintf(buf, sizeof buf, "%02u", d);
        break;
      case 'H':
        n = std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(secs / 3600));
        break;
      case 'M':
        n = std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(secs / 60 % 60));
        break;
      case 'S':
        n = std::snprintf(buf, sizeof buf, "%02lld", static_cast<long long>(secs % 60));
        break;
      default:
        buf[0] = '%';
        n = 1;
        break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace prov::policy
