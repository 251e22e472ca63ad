// RFC 3339 timestamps: "2026-03-08T03:00:00-04:00", "2026-03-08T07:00:00Z",
// optionally with a fraction of a second (kept to the microsecond).
#pragma once

#include <string>
#include <string_view>

#include "error.hpp"
#include "time/instant.hpp"
#include "time/zone.hpp"

namespace job::time {

// Accepts 'T', 't' or a space between date and time, and 'Z', 'z' or
// ±HH:MM for the offset. Years 0000-9999. Errors carry Errc::invalid_time.
Result<Instant> parse_rfc3339(std::string_view text);

// Wall-clock time in the zone with seconds and a numeric offset, never 'Z':
// "2026-03-08T03:00:00-04:00", "+00:00" for UTC. A fraction of a second is
// printed only when there is one.
std::string format_rfc3339(Instant t, const Zone& zone);

}  // namespace job::time
