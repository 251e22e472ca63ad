// Proleptic Gregorian calendar arithmetic on plain integers, with no time zone
// and no table: the algorithms of Howard Hinnant's "chrono-compatible low-level
// date algorithms". Constexpr and branch-light, because the cron search runs
// them millions of times a second.
#pragma once

#include <cstdint>

namespace job::time {

// A wall-clock reading: what a calendar and a clock on the wall show.
struct CivilTime {
  int64_t year;
  int month;   // 1..12
  int day;     // 1..31
  int hour;    // 0..23
  int minute;  // 0..59
  int second;  // 0..59
  friend bool operator==(const CivilTime&, const CivilTime&) = default;
};

inline constexpr bool is_leap_year(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

inline constexpr int days_in_month(int64_t y, int m) {
  constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

// Days since 1970-01-01 of the date y-m-d.
inline constexpr int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  int64_t year;
  int month;
  int day;
};

inline constexpr CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

// 0 = Sunday .. 6 = Saturday, of a day counted from 1970-01-01 (a Thursday).
inline constexpr int weekday_from_days(int64_t z) {
  return static_cast<int>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

inline constexpr int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

// Seconds since 1970-01-01T00:00:00 of a wall-clock reading (no zone).
inline constexpr int64_t seconds_from_civil(const CivilTime& c) {
  return days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 + c.minute * 60 + c.second;
}

inline constexpr CivilTime civil_from_seconds(int64_t s) {
  const int64_t days = floor_div(s, 86400);
  const int64_t sod = s - days * 86400;
  const CivilDate d = civil_from_days(days);
  return {d.year,
          d.month,
          d.day,
          static_cast<int>(sod / 3600),
          static_cast<int>(sod / 60 % 60),
          static_cast<int>(sod % 60)};
}

}  // namespace job::time
