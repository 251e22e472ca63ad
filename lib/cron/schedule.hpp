// A parsed cron schedule: plain data, ~70 bytes, cheap to copy and to keep a
// million of in memory. Produced by parse_cron (cron/parse.hpp), read by
// next_fire_after (cron/next.hpp) and describe (cron/describe.hpp).
#pragma once

#include <cstdint>

#include "time/instant.hpp"

namespace job::cron {

struct Schedule {
  enum class Kind : uint8_t {
    cron,    // the six time fields below
    every,   // @every PERIOD: anchor + k * period, k >= 1
    reboot,  // @reboot: fires when jobd starts, never at a time
  };
  Kind kind = Kind::cron;

  // Vixie cron's rule: when both day fields are restricted (neither text
  // starts with '*' or '?'), a day matches if EITHER matches; otherwise
  // BOTH must match (the '*' side matches everything).
  bool dom_star = true;
  bool dow_star = true;
  // An hour field starting with '*' follows the wall clock across DST
  // changes; any other hour field is a fixed time of day (see next.hpp).
  bool hour_star = true;
  bool last_weekday_of_month = false;  // LW

  // Bit n set = value n allowed.
  uint64_t seconds = 0;           // 0..59
  uint64_t minutes = 0;           // 0..59
  uint32_t hours = 0;             // 0..23
  uint32_t days = 0;              // 1..31
  uint32_t days_before_last = 0;  // L-n: bit n, 0..30 (L is L-0)
  uint32_t nearest_weekday = 0;   // nW: bit n, 1..31
  uint16_t months = 0;            // 1..12
  uint8_t weekdays = 0;           // 0..6, 0 = Sunday
  uint8_t last_weekdays = 0;      // nL: bit n, 0..6
  uint64_t nth_weekdays = 0;      // n#k: bit 7 * (k - 1) + n, k = 1..5

  time::Duration period{};  // Kind::every

  friend bool operator==(const Schedule&, const Schedule&) = default;
};

}  // namespace job::cron
