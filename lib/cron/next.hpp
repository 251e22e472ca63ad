// When a schedule fires next. The search jumps field by field (month, day,
// hour, minute, second), never minute by minute, and covers years up to 9999.
//
// Time zones and daylight saving time. A schedule is read on the wall clock of
// its zone. When the clock jumps:
//  - fixed hour field (anything not starting with '*'): a matching wall time
//    that does not exist (spring-forward gap) fires once, at the first instant
//    after the gap, however many matches the gap held; a wall time that occurs
//    twice (fall-back) fires once, at its first occurrence;
//  - hour field starting with '*': the schedule follows the wall clock; it
//    skips wall times that do not exist and fires in both passes of a repeated
//    hour (Vixie cron's rule for wildcard jobs).
#pragma once

#include <optional>

#include "cron/schedule.hpp"
#include "time/instant.hpp"
#include "time/zone.hpp"

namespace job::cron {

// The first fire strictly after `after`, or nullopt when there is none before
// the year 10000 (or the schedule is @reboot). `anchor` aligns @every
// schedules: they fire at anchor + k * period, k >= 1, with anchor taken to
// the whole second.
std::optional<time::Instant> next_fire_after(const Schedule& s, time::Instant after,
                                             const time::Zone& zone = {}, time::Instant anchor = {});

// Whether the day fields can ever match in the allowed months: false for
// "0 0 30 2 *". parse_cron refuses schedules that cannot fire.
bool can_ever_fire(const Schedule& s);

// The matching days (bit d = day d) of a month with the given length whose
// first day is the given weekday (0 = Sunday). Exposed for tests.
uint32_t matching_days(const Schedule& s, int days_in_month, int first_weekday);

}  // namespace job::cron
