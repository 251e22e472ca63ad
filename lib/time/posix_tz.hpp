// The POSIX TZ rule that closes every TZif file (RFC 8536 section 3.3), such
// as "EST5EDT,M3.2.0,M11.1.0". Debian's TZif files list transitions only up
// to 2037; beyond them, the rule is the zone's future (tzif.hpp applies it).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace job::time {

struct PosixTz {
  // A day of the year on which DST starts or ends.
  struct Day {
    enum Kind { julian_no_leap, zero_based, month_week_day } kind;
    int a = 0;  // Jn: n (1..365); n: n (0..365); Mm.w.d: m (1..12)
    int b = 0;  // Mm.w.d: w (1..5, 5 = last)
    int c = 0;  // Mm.w.d: d (0..6, 0 = Sunday)
  };
  int32_t std_offset = 0;  // seconds east of UTC (POSIX writes them west)
  bool has_dst = false;
  int32_t dst_offset = 0;
  Day start{}, end{};
  int32_t start_time = 7200;  // seconds after local midnight, may be <0 or >24h
  int32_t end_time = 7200;
};

std::optional<PosixTz> parse_posix_tz(std::string_view text);

// The span of constant UTC offset containing utc_seconds: [begin, end).
struct OffsetSpan {
  int64_t begin;
  int64_t end;
  int32_t offset;  // seconds east of UTC
};

OffsetSpan posix_span_at(const PosixTz& rule, int64_t utc_seconds);

}  // namespace job::time
