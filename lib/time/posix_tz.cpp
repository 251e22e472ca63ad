#include "time/posix_tz.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

#include "time/civil.hpp"

namespace job::time {
namespace {

struct Reader {
  std::string_view s;
  size_t i = 0;

  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  std::optional<int> number(int max_digits) {
    int n = 0, digits = 0;
    while (digits < max_digits && std::isdigit(static_cast<unsigned char>(peek()))) {
      n = n * 10 + (s[i++] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return n;
  }
  // A zone abbreviation: three or more letters, or anything inside <...>.
  bool name() {
    if (eat('<')) {
      while (!done() && peek() != '>') ++i;
      return eat('>');
    }
    size_t start = i;
    while (std::isalpha(static_cast<unsigned char>(peek()))) ++i;
    return i - start >= 3;
  }
  // [+-]hh[:mm[:ss]] with hours up to max_hours.
  std::optional<int32_t> hms(int max_hours) {
    int sign = 1;
    if (eat('-'))
      sign = -1;
    else
      eat('+');
    auto h = number(3);
    if (!h || *h > max_hours) return std::nullopt;
    int32_t total = *h * 3600;
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
  std::optional<PosixTz::Day> day() {
    PosixTz::Day d{};
    if (eat('J')) {
      auto n = number(3);
      if (!n || *n < 1 || *n > 365) return std::nullopt;
      d.kind = PosixTz::Day::julian_no_leap;
      d.a = *n;
    } else if (eat('M')) {
      auto m = number(2);
      if (!m || *m < 1 || *m > 12 || !eat('.')) return std::nullopt;
      auto w = number(1);
      if (!w || *w < 1 || *w > 5 || !eat('.')) return std::nullopt;
      auto wd = number(1);
      if (!wd || *wd > 6) return std::nullopt;
      d = {PosixTz::Day::month_week_day, *m, *w, *wd};
    } else {
      auto n = number(3);
      if (!n || *n > 365) return std::nullopt;
      d.kind = PosixTz::Day::zero_based;
      d.a = *n;
    }
    return d;
  }
};

// Days since the epoch of a rule day in a given year.
int64_t rule_day(const PosixTz::Day& d, int64_t year) {
  const int64_t jan1 = days_from_civil(year, 1, 1);
  switch (d.kind) {
    case PosixTz::Day::julian_no_leap:
      // Day 60 is always March 1: February 29 is never counted.
      return jan1 + d.a - 1 + (is_leap_year(year) && d.a >= 60 ? 1 : 0);
    case PosixTz::Day::zero_based:
      return jan1 + d.a;
    case PosixTz::Day::month_week_day: {
      const int64_t first = days_from_civil(year, d.a, 1);
      int64_t day = first + (d.c - weekday_from_days(first) + 7) % 7 + 7 * (d.b - 1);
      const int64_t next_month = first + days_in_month(year, d.a);
      while (day >= next_month) day -= 7;  // week 5 means "the last"
      return day;
    }
  }
  return jan1;
}

}  // namespace

std::optional<PosixTz> parse_posix_tz(std::string_view text) {
  Reader r{text};
  PosixTz tz;
  if (!r.name()) return std::nullopt;
  auto std_west = r.hms(24);
  if (!std_west) return std::nullopt;
  tz.std_offset = -*std_west;
  if (r.done()) return tz;
  if (!r.name()) return std::nullopt;
  tz.has_dst = true;
  tz.dst_offset = tz.std_offset + 3600;
  if (r.peek() != ',' && !r.done()) {
    auto dst_west = r.hms(24);
    if (!dst_west) return std::nullopt;
    tz.dst_offset = -*dst_west;
  }
  // Without a rule POSIX leaves the dates to the implementation; TZif
  // footers always carry one, so anything else is refused.
  if (!r.eat(',')) return std::nullopt;
  auto start = r.day();
  if (!start) return std::nullopt;
  tz.start = *start;
  if (r.eat('/')) {
    auto t = r.hms(167);
    if (!t) return std::nullopt;
    tz.start_time = *t;
  }
  if (!r.eat(',')) return std::nullopt;
  auto end = r.day();
  if (!end) return std::nullopt;
  tz.end = *end;
  if (r.eat('/')) {
    auto t = r.hms(167);
    if (!t) return std::nullopt;
    tz.end_time = *t;
  }
  if (!r.done()) return std::nullopt;
  return tz;
}

OffsetSpan posix_span_at(const PosixTz& rule, int64_t utc_seconds) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (!rule.has_dst) return {kMin, kMax, rule.std_offset};

  // Transitions of the years around t, as (instant, offset from then on).
  struct Transition {
    int64_t at;
    int32_t offset;
  };
  std::array<Transition, 6> ts{};
  const int64_t year = civil_from_days(floor_div(utc_seconds, 86400)).year;
  size_t n = 0;
  for (int64_t y = year - 1; y <= year + 1; ++y) {
    // DST starts at a local standard time and ends at a local daylight time.
    ts[n++] = {rule_day(rule.start, y) * 86400 + rule.start_time - rule.std_offset, rule.dst_offset};
    ts[n++] = {rule_day(rule.end, y) * 86400 + rule.end_time - rule.dst_offset, rule.std_offset};
  }
  std::sort(ts.begin(), ts.end(), [](const Transition& a, const Transition& b) { return a.at < b.at; });
  // The previous year's transitions guarantee one at or before t.
  size_t k = 0;
  while (k + 1 < ts.size() && ts[k + 1].at <= utc_seconds) ++k;
  return {ts[k].at, k + 1 < ts.size() ? ts[k + 1].at : kMax, ts[k].offset};
}

}  // namespace job::time
