#include "prov/timezone.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <vector>

namespace prov {

namespace {

using std::chrono::days;
using std::chrono::seconds;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr std::int64_t kDaySeconds = 86400;
constexpr std::size_t kMaxZoneFileBytes = 1 << 20;  // real zone files are a few KiB

// One half of a POSIX TZ rule ("M3.5.0/2"): the day a DST period starts or ends, and the local
// wall-clock time (seconds, may be negative or beyond 24 h) at which it does.
struct PosixDate {
  enum class Kind { MonthWeekDay, Julian1, Julian0 } kind = Kind::MonthWeekDay;
  int month = 0, week = 0, weekday = 0;  // Mm.w.d: w = 5 means the last such weekday
  int day = 0;                           // Jn (1..365, no Feb 29) or n (0..365)
  std::int64_t time = 7200;              // default 02:00
};

// The footer of a TZif file: how offsets continue after the last listed transition.
struct PosixRule {
  std::int64_t std_offset = 0;  // east of UTC, seconds
  bool has_dst = false;
  std::int64_t dst_offset = 0;
  PosixDate start, end;
};

}  // namespace

struct TimeZone::Rules {
  std::string name;
  std::vector<std::int64_t> transitions;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets;      // offset in effect from transitions[i] on
  std::int32_t initial_offset = 0;        // before the first transition
  std::optional<PosixRule> footer;        // after the last transition
};

namespace {

// ---- POSIX TZ strings ("CET-1CEST,M3.5.0,M10.5.0/3", "<+03>-3") -----------------------------

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  std::optional<PosixRule> parse() {
    PosixRule r;
    if (!name()) return std::nullopt;
    auto std_off = offset();
    if (!std_off) return std::nullopt;
    r.std_offset = -*std_off;  // POSIX counts hours west of Greenwich
    if (at_end()) return r;
    if (!name()) return std::nullopt;
    r.has_dst = true;
    r.dst_offset = r.std_offset + 3600;
    if (!at_end() && peek() != ',') {
      auto dst_off = offset();
      if (!dst_off) return std::nullopt;
      r.dst_offset = -*dst_off;
    }
    if (at_end()) {
      // No rule given: POSIX leaves it to the implementation; use the US rule like glibc.
      r.start = PosixDate{PosixDate::Kind::MonthWeekDay, 3, 2, 0, 0, 7200};
      r.end = PosixDate{PosixDate::Kind::MonthWeekDay, 11, 1, 0, 0, 7200};
      return r;
    }
    if (!eat(',') || !date(r.start) || !eat(',') || !date(r.end) || !at_end()) return std::nullopt;
    return r;
  }

 private:
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  bool name() {
    if (eat('<')) {
      auto close = s_.find('>', pos_);
      if (close == std::string_view::npos || close == pos_) return false;
      pos_ = close + 1;
      return true;
    }
    std::size_t begin = pos_;
    while (!at_end() && ((peek() >= 'A' && peek() <= 'Z') || (peek() >= 'a' && peek() <= 'z')))
      ++pos_;
    return pos_ - begin >= 3;
  }
  std::optional<std::int64_t> number(int max_digits) {
    std::int64_t n = 0;
    int digits = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9' && digits < max_digits) {
      n = n * 10 + (peek() - '0');
      ++pos_;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return n;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  std::optional<std::int64_t> offset() {
    int sign = 1;
    if (eat('-'))
      sign = -1;
    else
      eat('+');
    auto h = number(3);
    if (!h || *h > 167) return std::nullopt;
    std::int64_t total = *h * 3600;
    if (eat(':')) {
      auto m = number(2);
      if (!m || *m > 59) return std::nullopt;
      total += *m * 60;
      if (eat(':')) {
        auto sec = number(2);
        if (!sec || *sec > 59) return std::nullopt;
        total += *sec;
      }
    }
    return sign * total;
  }
  bool date(PosixDate& d) {
    if (eat('M')) {
      auto m = number(2);
      if (!m || !eat('.')) return false;
      auto w = number(1);
      if (!w || !eat('.')) return false;
      auto wd = number(1);
      if (!wd || *m < 1 || *m > 12 || *w < 1 || *w > 5 || *wd > 6) return false;
      d.kind = PosixDate::Kind::MonthWeekDay;
      d.month = static_cast<int>(*m);
      d.week = static_cast<int>(*w);
      d.weekday = static_cast<int>(*wd);
    } else if (eat('J')) {
      auto n = number(3);
      if (!n || *n < 1 || *n > 365) return false;
      d.kind = PosixDate::Kind::Julian1;
      d.day = static_cast<int>(*n);
    } else {
      auto n = number(3);
      if (!n || *n > 365) return false;
      d.kind = PosixDate::Kind::Julian0;
      d.day = static_cast<int>(*n);
    }
    d.time = 7200;
    if (eat('/')) {
      auto t = offset();  // same syntax; RFC 8536 allows -167..167 hours
      if (!t) return false;
      d.time = *t;
    }
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// Local (wall-clock) seconds since the epoch at which `d` happens in `year`.
std::int64_t rule_local_seconds(const PosixDate& d, int year) {
  using namespace std::chrono;
  sys_days day;
  switch (d.kind) {
    case PosixDate::Kind::MonthWeekDay: {
      const sys_days first = sys_days{std::chrono::year{year} / month{unsigned(d.month)} / 1};
      const unsigned first_wd = weekday{first}.c_encoding();
      unsigned dom = 1 + (unsigned(d.weekday) + 7 - first_wd) % 7 + unsigned(d.week - 1) * 7;
      const unsigned month_end = unsigned(
          year_month_day_last{std::chrono::year{year} / month{unsigned(d.month)} / last}.day());
      while (dom > month_end) dom -= 7;
      day = first + std::chrono::days{dom - 1};
      break;
    }
    case PosixDate::Kind::Julian1: {
      // 1..365, February 29 never counted: day 60 is always March 1.
      int n = d.day;
      if (std::chrono::year{year}.is_leap() && n >= 60) ++n;
      day = sys_days{std::chrono::year{year} / January / 1} + std::chrono::days{n - 1};
      break;
    }
    case PosixDate::Kind::Julian0:
      day = sys_days{std::chrono::year{year} / January / 1} + std::chrono::days{d.day};
      break;
  }
  return day.time_since_epoch().count() * kDaySeconds + d.time;
}

std::int64_t footer_offset(const PosixRule& r, std::int64_t utc) {
  if (!r.has_dst) return r.std_offset;
  const auto local_days = std::chrono::floor<days>(sys_days{} + seconds{utc + r.std_offset});
  const int year = int(year_month_day{local_days}.year());
  // Transitions happen at local wall-clock time: DST starts on standard time, ends on DST.
  const std::int64_t start = rule_local_seconds(r.start, year) - r.std_offset;
  const std::int64_t end = rule_local_seconds(r.end, year) - r.dst_offset;
  const bool dst = start < end ? (utc >= start && utc < end)    // northern hemisphere
                               : !(utc >= end && utc < start);  // southern: DST spans new year
  return dst ? r.dst_offset : r.std_offset;
}

// ---- TZif (RFC 8536) -------------------------------------------------------------------------

class Reader {
 public:
  explicit Reader(const std::string& data) : d_(data) {}
  bool skip(std::size_t n) {
    if (n > d_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  bool be32(std::int64_t& out) {
    if (d_.size() - pos_ < 4) return false;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(d_[pos_++]);
    out = static_cast<std::int32_t>(v);
    return true;
  }
  bool be64(std::int64_t& out) {
    if (d_.size() - pos_ < 8) return false;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(d_[pos_++]);
    out = static_cast<std::int64_t>(v);
    return true;
  }
  bool byte(unsigned& out) {
    if (pos_ >= d_.size()) return false;
    out = static_cast<unsigned char>(d_[pos_++]);
    return true;
  }
  std::string_view rest() const { return std::string_view(d_).substr(pos_); }

 private:
  const std::string& d_;
  std::size_t pos_ = 0;
};

struct Header {
  char version = 0;
  std::int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool read_header(Reader& r, Header& h) {
  std::string_view rest = r.rest();
  if (rest.size() < 44 || rest.substr(0, 4) != "TZif") return false;
  h.version = rest[4];
  r.skip(20);
  if (!r.be32(h.isutcnt) || !r.be32(h.isstdcnt) || !r.be32(h.leapcnt) || !r.be32(h.timecnt) ||
      !r.be32(h.typecnt) || !r.be32(h.charcnt))
    return false;
  for (auto n : {h.isutcnt, h.isstdcnt, h.leapcnt, h.timecnt, h.typecnt, h.charcnt})
    if (n < 0 || n > 100000) return false;
  return h.typecnt >= 1;
}

std::shared_ptr<TimeZone::Rules> parse_tzif(const std::string& data, std::string name) {
  Reader r(data);
  Header h;
  if (!read_header(r, h) || h.version < '2') return nullptr;  // the 64-bit section needs v2+
  // Skip the version 1 (32-bit) data block.
  if (!r.skip(static_cast<std::size_t>(h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 +
                                       h.isstdcnt + h.isutcnt)))
    return nullptr;
  if (!read_header(r, h)) return nullptr;

  auto rules = std::make_shared<TimeZone::Rules>();
  rules->name = std::move(name);
  rules->transitions.resize(static_cast<std::size_t>(h.timecnt));
  for (auto& t : rules->transitions)
    if (!r.be64(t)) return nullptr;
  std::vector<unsigned> type_of(static_cast<std::size_t>(h.timecnt));
  for (auto& i : type_of)
    if (!r.byte(i) || i >= h.typecnt) return nullptr;
  std::vector<std::int32_t> type_offset(static_cast<std::size_t>(h.typecnt));
  for (auto& off : type_offset) {
    std::int64_t utoff;
    unsigned isdst, abbr;
    if (!r.be32(utoff) || !r.byte(isdst) || !r.byte(abbr)) return nullptr;
    off = static_cast<std::int32_t>(utoff);
  }
  if (!r.skip(static_cast<std::size_t>(h.charcnt + h.leapcnt * 12 + h.isstdcnt + h.isutcnt)))
    return nullptr;
  if (!std::is_sorted(rules->transitions.begin(), rules->transitions.end())) return nullptr;
  rules->initial_offset = type_offset[0];
  for (unsigned i : type_of) rules->offsets.push_back(type_offset[i]);

  // Footer: "\n<POSIX TZ string>\n"; empty when the zone has no rule beyond its transitions.
  std::string_view footer = r.rest();
  if (footer.size() >= 2 && footer.front() == '\n') {
    auto nl = footer.find('\n', 1);
    if (nl != std::string_view::npos && nl > 1) {
      rules->footer = PosixParser(footer.substr(1, nl - 1)).parse();
      if (!rules->footer) return nullptr;
    }
  }
  return rules;
}

// Zone names are relative paths inside the database: no absolute paths, no "..", no oddities.
bool plausible_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '/' || name.back() == '/') return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  std::size_t begin = 0;
  while (begin <= name.size()) {
    auto end = name.find('/', begin);
    if (end == std::string_view::npos) end = name.size();
    auto part = name.substr(begin, end - begin);
    if (part.empty() || part.front() == '.' || part.front() == '-') return false;
    begin = end + 1;
  }
  return true;
}

std::shared_ptr<const TimeZone::Rules> read_zone(const std::string& name) {
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  std::string data;
  data.resize(kMaxZoneFileBytes + 1);
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got == 0 || got > kMaxZoneFileBytes) return nullptr;  // a folder, or not a zone file
  data.resize(got);
  return parse_tzif(data, name);
}

const std::shared_ptr<const TimeZone::Rules>& utc_rules() {
  static const std::shared_ptr<const TimeZone::Rules> rules = [] {
    auto r = std::make_shared<TimeZone::Rules>();
    r->name = "UTC";
    return r;
  }();
  return rules;
}

}  // namespace

std::optional<TimeZone> TimeZone::load(std::string_view name) {
  if (name == "UTC") return utc();
  if (!plausible_name(name)) return std::nullopt;
  // Worker records name zones too: unknown names are remembered as well, up to a bound, so a
  // misspelt timeZone does not cost a file open on every plan.
  constexpr std::size_t kMaxCached = 1024;
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Rules>, std::less<>> cache;
  {
    std::lock_guard l(mu);
    if (auto it = cache.find(name); it != cache.end()) {
      if (!it->second) return std::nullopt;
      return TimeZone(it->second);
    }
  }
  auto rules = read_zone(std::string(name));  // outside the lock: file I/O
  std::lock_guard l(mu);
  if (rules || cache.size() < kMaxCached) cache.emplace(std::string(name), rules);
  if (!rules) return std::nullopt;
  return TimeZone(rules);
}

TimeZone TimeZone::utc() { return TimeZone(utc_rules()); }

const std::string& TimeZone::name() const { return rules_->name; }

std::chrono::seconds TimeZone::offset_at(TimePoint t) const {
  const std::int64_t s = std::chrono::floor<seconds>(t).time_since_epoch().count();
  const Rules& r = *rules_;
  if (r.transitions.empty())
    return seconds{r.footer ? footer_offset(*r.footer, s) : r.initial_offset};
  if (s < r.transitions.front()) return seconds{r.initial_offset};
  auto it = std::upper_bound(r.transitions.begin(), r.transitions.end(), s);
  if (it == r.transitions.end() && r.footer) return seconds{footer_offset(*r.footer, s)};
  return seconds{r.offsets[static_cast<std::size_t>(std::distance(r.transitions.begin(), it)) - 1]};
}

std::chrono::year_month_day TimeZone::local_date(TimePoint t) const {
  return year_month_day{std::chrono::floor<days>(t + offset_at(t))};
}

TimePoint TimeZone::local_midnight(std::chrono::year_month_day date) const {
  using std::chrono::milliseconds;
  const TimePoint local = std::chrono::time_point_cast<milliseconds>(sys_days{date});
  // The offsets in force a day either side bracket any transition near this midnight.
  const seconds before = offset_at(local - days{1});
  const seconds after = offset_at(local + days{1});
  std::optional<TimePoint> best;
  for (seconds off : {before, after}) {
    const TimePoint u = local - off;
    if (offset_at(u) == off && (!best || u < *best)) best = u;
  }
  if (best) return *best;
  // Midnight falls in a gap (clocks jump past it): the day begins at the transition. It lies
  // between the two candidates; search the first instant already on the later offset.
  auto lo = std::chrono::floor<seconds>(local - std::max(before, after));
  auto hi = std::chrono::floor<seconds>(local - std::min(before, after));
  while (lo < hi) {
    auto mid = lo + (hi - lo) / 2;
    if (offset_at(mid) == after)
      hi = mid;
    else
      lo = mid + seconds{1};
  }
  return std::chrono::time_point_cast<milliseconds>(lo);
}

TimePoint TimeZone::end_of_local_day(TimePoint t) const {
  const year_month_day next{sys_days{local_date(t)} + days{1}};
  return local_midnight(next) - std::chrono::milliseconds{1};
}

std::optional<TimePoint> parse_time_in(std::string_view text, const TimeZone& zone) {
  auto t = parse_time(text);
  if (!t || text.size() != 10) return t;  // a date-time carries its own offset
  return zone.local_midnight(year_month_day{std::chrono::floor<days>(*t)});
}

TimeZone zone_of_worker(const nlohmann::json& record, const TimeZone& fallback) {
  if (!record.is_object()) return fallback;
  auto it = record.find(kWorkerTimeZoneKey);
  if (it == record.end() || !it->is_string()) return fallback;
  return TimeZone::load(it->get_ref<const std::string&>()).value_or(fallback);
}

TimeZone zone_or_utc(std::string_view name) {
  return TimeZone::load(name).value_or(TimeZone::utc());
}

}  // namespace prov
