#include "time/rfc3339.hpp"

#include <fmt/format.h>

#include <cctype>

#include "time/civil.hpp"

namespace job::time {
namespace {

Error bad_time(std::string_view text, std::string_view why) {
  return Error{Errc::invalid_time, fmt::format("invalid time \"{}\": {} (expected RFC 3339, e.g. "
                                               "2026-03-08T01:30:00Z or 2026-03-08T01:30:00-05:00)",
                                               text, why)};
}

// Reads exactly n digits at pos.
bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

Result<Instant> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || s.size() < 5 || s[4] != '-' || !digits(s, 5, 2, mo) || s.size() < 8 ||
      s[7] != '-' || !digits(s, 8, 2, d))
    return bad_time(s, "the date must be YYYY-MM-DD");
  if (s.size() == 10) return bad_time(s, "a time of day and an offset are missing");
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return bad_time(s, "expected 'T' between date and time");
  if (!digits(s, 11, 2, h) || s.size() < 14 || s[13] != ':' || !digits(s, 14, 2, mi) || s.size() < 17 ||
      s[16] != ':' || !digits(s, 17, 2, sec))
    return bad_time(s, "the time of day must be HH:MM:SS");
  if (mo < 1 || mo > 12) return bad_time(s, fmt::format("month {} is out of range 1-12", mo));
  if (d < 1 || d > days_in_month(y, mo))
    return bad_time(s, fmt::format("day {} does not exist in {:04}-{:02}", d, y, mo));
  if (h > 23) return bad_time(s, fmt::format("hour {} is out of range 0-23", h));
  if (mi > 59) return bad_time(s, fmt::format("minute {} is out of range 0-59", mi));
  if (sec > 59) return bad_time(s, fmt::format("second {} is out of range 0-59", sec));

  size_t i = 19;
  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    size_t start = i;
    int64_t scale = 100000;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      micros += (s[i] - '0') * scale;  // digits past the microsecond are dropped
      scale /= 10;
      ++i;
    }
    if (i == start) return bad_time(s, "a fraction needs digits after '.'");
  }
  int offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om))
      return bad_time(s, "the offset must be Z or ±HH:MM");
    if (oh > 23 || om > 59) return bad_time(s, "the offset is out of range");
    offset = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return bad_time(s, "the offset (Z or ±HH:MM) is missing");
  }
  if (i != s.size()) return bad_time(s, "unexpected text after the offset");

  const int64_t local = seconds_from_civil({y, mo, d, h, mi, sec});
  return from_unix_seconds(local - offset) + Duration{micros};
}

std::string format_rfc3339(Instant t, const Zone& zone) {
  const int64_t utc = unix_seconds_floor(t);
  const int64_t micros = (t - from_unix_seconds(utc)).count();
  const int32_t offset = zone.span_at(utc).offset;
  const CivilTime c = civil_from_seconds(utc + offset);
  std::string out =
      fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second);
  if (micros != 0) {
    std::string frac = fmt::format("{:06}", micros);
    frac.erase(frac.find_last_not_of('0') + 1);
    out += '.' + frac;
  }
  const int32_t a = offset < 0 ? -offset : offset;
  // Offsets with seconds (before 1900 in some zones) cannot be written in
  // RFC 3339; they are rounded down to the minute, as date(1) does.
  out += fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
  return out;
}

}  // namespace job::time
