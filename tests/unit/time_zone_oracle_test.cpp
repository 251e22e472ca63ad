// Our TZif reader against an independent one: Howard Hinnant's date/tz on the
// same OS database, for every instant we can compare. date/tz stops at 2037
// (it ignores the footer rule), so the comparison does too.
#include <date/tz.h>
#include <doctest/doctest.h>

#include "time/zone.hpp"

TEST_CASE("offsets agree with date/tz from 1900 to 2037 in zones all over the world") {
  const char* zones[] = {"America/New_York", "Europe/London",     "Europe/Paris",      "Europe/Moscow",
                         "Asia/Kolkata",     "Asia/Kathmandu",    "Asia/Tokyo",        "Australia/Lord_Howe",
                         "Australia/Sydney", "Pacific/Chatham",   "Pacific/Apia",      "America/Santiago",
                         "America/St_Johns", "Africa/Casablanca", "America/Sao_Paulo", "Pacific/Kiritimati",
                         "Asia/Tehran",      "America/Anchorage", "Etc/GMT+5",         "US/Eastern"};
  const int64_t from = -2208988800;  // 1900-01-01
  const int64_t to = 2114380800;     // 2037-01-01
  for (const char* name : zones) {
    CAPTURE(name);
    const auto ours = job::time::find_zone(name);
    REQUIRE(ours.ok());
    const auto* theirs = date::locate_zone(name);
    int mismatches = 0;
    for (int64_t t = from; t < to; t += 86400 * 3 + 3607) {
      const auto info = theirs->get_info(date::sys_seconds{std::chrono::seconds{t}});
      if (ours->span_at(t).offset != info.offset.count()) ++mismatches;
    }
    CHECK(mismatches == 0);
  }
}
