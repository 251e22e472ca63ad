// Durations as people write them: "90s", "1h30m", "2d", "250ms".
// Units: us, ms, s, m, h, d (24 hours), w (7 days); components may repeat
// units in any order and are summed ("1h90m" is 2h30m). No signs, no spaces,
// no fractions: a duration is a whole number of each unit.
#pragma once

#include <string>
#include <string_view>

#include "error.hpp"
#include "time/instant.hpp"

namespace job::time {

// Errors carry Errc::invalid_duration and, when the text looks like a
// duration written another way ("2 hours", "1.5h"), a suggestion.
Result<Duration> parse_duration(std::string_view text);

// The canonical spelling parse_duration accepts: "1d2h3m4s", "250ms", "0s".
std::string format_duration(Duration d);

}  // namespace job::time
