#pragma once
// Dates as the policy language sees them: plain dates ("2026-12-01", midnight UTC) or RFC 3339
// date-times. Plain dates stay calendar labels here, independent of engine.timezone: compared with
// other plain dates or formatted back, they must give the same day whatever the zone. Plain dates are parsed without allocation because derived facts parse hireDate on
// every evaluation.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "prov/clock.h"

namespace prov::policy {

// Milliseconds since the Unix epoch, or nullopt when `text` is not a date.
std::optional<std::int64_t> parse_date_ms(std::string_view text);

// Whole UTC days since the epoch containing `ms` (floor division, also before 1970).
std::int64_t day_number(std::int64_t ms);

// Formats with %Y %y %m %d %H %M %S %%. Returns false (and leaves `out` alone) for another
// directive.
bool format_date(std::int64_t ms, std::string_view fmt, std::string& out);
// The first unsupported directive in `fmt`, or empty when every directive is supported.
std::string unsupported_directive(std::string_view fmt);

}  // namespace prov::policy
