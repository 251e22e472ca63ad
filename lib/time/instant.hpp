// Instants and durations. An Instant is a UTC point in time with microsecond
// resolution (int64 microseconds since the Unix epoch, ±292,000 years); a
// Duration is a signed count of microseconds. Plain std::chrono types, so the
// compiler keeps seconds and microseconds apart.
#pragma once

#include <chrono>
#include <cstdint>

namespace job::time {

using Duration = std::chrono::microseconds;
using Instant = std::chrono::sys_time<Duration>;

// The end of time as jobd shows it: RFC 3339 has four-digit years, so no
// schedule fires at or after 10000-01-01T00:00:00Z.
inline constexpr int64_t kYear10000 = 253'402'300'800;

inline constexpr Instant from_unix_seconds(int64_t s) { return Instant{std::chrono::seconds{s}}; }

// Whole seconds since the epoch, rounded toward the past (also for negatives).
inline constexpr int64_t unix_seconds_floor(Instant t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

}  // namespace job::time
