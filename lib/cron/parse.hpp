// The cron dialect (documented for users in jobctl(1), section CRON
// EXPRESSIONS):
//   5 fields   minute hour day-of-month month day-of-week
//   6 fields   second minute hour day-of-month month day-of-week
//   elements   * ? n a-b */n a-b/n a/n, lists with ',', names JAN-DEC SUN-SAT
//   extensions L L-n nW LW (day-of-month), nL n#k (day-of-week)
//   H          H, H/n, H(a-b), H(a-b)/n: a value picked by a stable hash of
//              the seed (a job's name), to spread load
//   macros     @yearly @annually @monthly @weekly @daily @midnight @hourly
//              @every DURATION, @reboot
#pragma once

#include <string_view>

#include "cron/schedule.hpp"
#include "error.hpp"

namespace job::cron {

// Parses an expression. Every error is Errc::invalid_cron with a message of
// the form: invalid cron expression "61 * * * *": minute: 61 is out of range 0-59
// An expression that can never fire ("0 0 30 2 *") is an error too.
Result<Schedule> parse_cron(std::string_view expression, std::string_view seed = {});

// The stable hash behind H: FNV-1a (64 bit) of the seed, then of the field's
// index (0 = second .. 5 = day-of-week), then MurmurHash3's fmix64. A value
// is lo + hash % (hi - lo + 1). Part of the dialect's contract: the same seed
// picks the same minute in every version of jobd.
uint64_t h_hash(std::string_view seed, int field_index);

}  // namespace job::cron
