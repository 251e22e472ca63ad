#include "cron/next.hpp"

#include <algorithm>
#include <limits>

#include "time/civil.hpp"

namespace job::cron {
namespace {

using time::CivilTime;

constexpr int64_t kMaxYear = 9999;

// The smallest set bit >= from, or -1.
inline int next_bit(uint64_t mask, int from) {
  if (from >= 64) return -1;
  const uint64_t m = mask & (~uint64_t{0} << from);
  return m ? __builtin_ctzll(m) : -1;
}

template <class F>
inline void for_each_bit(uint64_t mask, F f) {
  while (mask) {
    f(__builtin_ctzll(mask));
    mask &= mask - 1;
  }
}

// The weekday pattern (bit w = weekday w) laid over the days of a month.
inline uint32_t weekday_days(uint8_t weekdays, int first_weekday) {
  // Rotate so that bit 0 is the weekday of day 1, then repeat every 7 days.
  const uint32_t w = weekdays;
  const auto r = static_cast<uint32_t>(((w >> first_weekday) | (w << (7 - first_weekday))) & 0x7F);
  return (r | r << 7 | r << 14 | r << 21 | r << 28) << 1;
}

// The weekday (Monday-Friday) nearest to day d without leaving the month.
inline int nearest_weekday(int d, int days, int first_weekday) {
  const int wd = (first_weekday + d - 1) % 7;
  if (wd == 6) return d == 1 ? 3 : d - 1;         // Saturday: Friday, or Monday the 3rd
  if (wd == 0) return d == days ? d - 2 : d + 1;  // Sunday: Monday, or Friday before the end
  return d;
}

// The first wall-clock second at or after `from` (seconds since 1970-01-01 on
// the wall clock) that the fields match, or nullopt after year 9999.
std::optional<int64_t> first_match_from(const Schedule& s, int64_t from) {
  const CivilTime c = time::civil_from_seconds(from);
  int64_t year = c.year;
  int month = c.month, day = c.day, hour = c.hour, minute = c.minute, second = c.second;
  int64_t mask_year = -1;
  int mask_month = 0;
  uint32_t days = 0;
  while (year <= kMaxYear) {
    const int m = next_bit(s.months, month);
    if (m < 0) {
      ++year;
      month = 1, day = 1, hour = minute = second = 0;
      continue;
    }
    if (m != month) month = m, day = 1, hour = minute = second = 0;
    if (year != mask_year || month != mask_month) {
      const int dim = time::days_in_month(year, month);
      const int first = time::weekday_from_days(time::days_from_civil(year, month, 1));
      days = matching_days(s, dim, first);
      mask_year = year, mask_month = month;
    }
    const int d = next_bit(days, day);
    if (d < 0) {
      if (++month > 12) ++year, month = 1;
      day = 1, hour = minute = second = 0;
      continue;
    }
    if (d != day) day = d, hour = minute = second = 0;
    const int h = next_bit(s.hours, hour);
    if (h < 0) {
      ++day, hour = minute = second = 0;
      continue;
    }
    if (h != hour) hour = h, minute = second = 0;
    const int mi = next_bit(s.minutes, minute);
    if (mi < 0) {
      ++hour, minute = second = 0;
      continue;
    }
    if (mi != minute) minute = mi, second = 0;
    const int se = next_bit(s.seconds, second);
    if (se < 0) {
      ++minute, second = 0;
      continue;
    }
    return time::seconds_from_civil({year, month, day, hour, minute, se});
  }
  return std::nullopt;
}

std::optional<time::Instant> next_every(const Schedule& s, time::Instant after, time::Instant anchor) {
  const int64_t period = s.period.count();
  const int64_t base = time::unix_seconds_floor(anchor) * 1'000'000;
  const int64_t t = after.time_since_epoch().count();
  const int64_t k = std::max<int64_t>(1, time::floor_div(t - base, period) + 1);
  int64_t fire = 0;
  if (__builtin_mul_overflow(k, period, &fire) || __builtin_add_overflow(fire, base, &fire) ||
      fire >= time::kYear10000 * 1'000'000)
    return std::nullopt;
  return time::Instant{time::Duration{fire}};
}

// The search in a zone with transitions walks the timeline one span of
// constant offset at a time: inside a span, wall clock and UTC differ by a
// constant, so the wall-clock search above answers for it.
std::optional<time::Instant> next_in_zone(const Schedule& s, int64_t after, const time::Zone& zone) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  time::OffsetSpan span = zone.span_at(after);
  int64_t from = after + 1 + span.offset;
  // In the second pass of a repeated hour, fixed-hour schedules already fired
  // in the first pass: start after the repeated wall times.
  if (!s.hour_star && span.begin != kMin) {
    const time::OffsetSpan prev = zone.span_at(span.begin - 1);
    if (prev.offset > span.offset) from = std::max(from, span.begin + prev.offset);
  }
  while (true) {
    const auto match = first_match_from(s, from);
    if (!match) return std::nullopt;
    if (*match - span.offset < span.end) return time::from_unix_seconds(*match - span.offset);
    const time::OffsetSpan next = zone.span_at(span.end);
    const bool in_gap = *match < span.end + next.offset;
    if (in_gap && !s.hour_star) return time::from_unix_seconds(span.end);
    from = span.end + next.offset;
    if (!s.hour_star) from = std::max(from, span.end + span.offset);
    span = next;
  }
}

}  // namespace

uint32_t matching_days(const Schedule& s, int dim, int first_weekday) {
  const uint32_t valid = ((uint32_t{1} << dim) - 1) << 1;
  uint32_t dom = s.days;
  for_each_bit(s.days_before_last, [&](int n) {
    if (dim - n >= 1) dom |= uint32_t{1} << (dim - n);
  });
  for_each_bit(s.nearest_weekday & valid,
               [&](int d) { dom |= uint32_t{1} << nearest_weekday(d, dim, first_weekday); });
  const int last_weekday = (first_weekday + dim - 1) % 7;
  if (s.last_weekday_of_month)
    dom |= uint32_t{1} << (dim - (last_weekday == 6 ? 1 : last_weekday == 0 ? 2 : 0));

  uint32_t dow = weekday_days(s.weekdays, first_weekday);
  for_each_bit(s.last_weekdays, [&](int w) { dow |= uint32_t{1} << (dim - (last_weekday - w + 7) % 7); });
  for_each_bit(s.nth_weekdays, [&](int bit) {
    const int w = bit % 7, k = bit / 7;
    const int d = 1 + (w - first_weekday + 7) % 7 + 7 * k;
    if (d <= dim) dow |= uint32_t{1} << d;
  });
  return (s.dom_star || s.dow_star ? dom & dow : dom | dow) & valid;
}

bool can_ever_fire(const Schedule& s) {
  if (s.kind != Schedule::Kind::cron) return true;
  if (!s.seconds || !s.minutes || !s.hours) return false;
  // A month's matching days depend only on its length and the weekday it
  // starts on, and every month meets every starting weekday (February with
  // both lengths) before the year 9999.
  for (int month = 1; month <= 12; ++month) {
    if (!(s.months & (1u << month))) continue;
    for (int first = 0; first < 7; ++first) {
      if (matching_days(s, time::days_in_month(2001, month), first)) return true;
      if (month == 2 && matching_days(s, 29, first)) return true;
    }
  }
  return false;
}

std::optional<time::Instant> next_fire_after(const Schedule& s, time::Instant after, const time::Zone& zone,
                                             time::Instant anchor) {
  switch (s.kind) {
    case Schedule::Kind::reboot:
      return std::nullopt;
    case Schedule::Kind::every:
      return next_every(s, after, anchor);
    case Schedule::Kind::cron:
      break;
  }
  const int64_t t = time::unix_seconds_floor(after);
  if (zone.is_utc()) {
    const auto match = first_match_from(s, t + 1);
    if (!match) return std::nullopt;
    return time::from_unix_seconds(*match);
  }
  return next_in_zone(s, t, zone);
}

}  // namespace job::cron
