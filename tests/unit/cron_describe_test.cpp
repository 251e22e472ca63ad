// describe(): one line of plain English per schedule.
#include "cron/describe.hpp"
#include "cron_helpers.hpp"

namespace {
std::string explain(const char* expr, const char* seed = "") {
  return job::cron::describe(test::parse(expr, seed));
}
}  // namespace

TEST_CASE("times of day") {
  CHECK(explain("0 3 * * 1-5") == "At 03:00, Monday through Friday");
  CHECK(explain("30 9 * * *") == "At 09:30");
  CHECK(explain("0 9,17 * * *") == "At 09:00 and 17:00");
  CHECK(explain("15 0 9 * * *") == "At 09:00:15");
  CHECK(explain("@daily") == "At 00:00");
}

TEST_CASE("repeating times") {
  CHECK(explain("* * * * *") == "Every minute");
  CHECK(explain("*/5 * * * *") == "Every 5 minutes");
  CHECK(explain("* * * * * *") == "Every second");
  CHECK(explain("*/10 * * * * *") == "Every 10 seconds");
  CHECK(explain("0 * * * *") == "At minute 0 past every hour");
  CHECK(explain("0,30 * * * *") == "Every 30 minutes");
  CHECK(explain("5,35 * * * *") == "At minutes 5 and 35 past every hour");
  CHECK(explain("*/15 9-17 * * *") == "Every 15 minutes, between 09:00 and 17:59");
  CHECK(explain("0 */2 * * *") == "At minute 0, every 2 hours");
  CHECK(explain("0 1,5,9,13,20 * * *") == "At minute 0, during hours 01, 05, 09, 13 and 20");
}

TEST_CASE("days") {
  CHECK(explain("0 0 L * *") == "At 00:00, on the last day of the month");
  CHECK(explain("0 0 L-3 * *") == "At 00:00, 3 days before the last day of the month");
  CHECK(explain("0 0 1,15 * *") == "At 00:00, on days 1 and 15 of the month");
  CHECK(explain("0 0 1-10 * *") == "At 00:00, on days 1 through 10 of the month");
  CHECK(explain("0 0 15W * *") == "At 00:00, on the weekday nearest day 15 of the month");
  CHECK(explain("0 0 LW * *") == "At 00:00, on the last weekday of the month");
  CHECK(explain("0 0 * * 5L") == "At 00:00, on the last Friday of the month");
  CHECK(explain("0 0 * * MON#2") == "At 00:00, on the second Monday of the month");
  CHECK(explain("0 0 * * 0,6") == "At 00:00, on Sunday and Saturday");
  CHECK(explain("0 0 13 * 5") == "At 00:00, on day 13 of the month, or on Friday");
  CHECK(explain("0 0 */2 * 1") ==
        "At 00:00, every 2 days of the month starting on the 1st, if it is also on Monday");
}

TEST_CASE("months") {
  CHECK(explain("0 0 1 1 *") == "At 00:00, on day 1 of the month, in January");
  CHECK(explain("0 0 1 1-3 *") == "At 00:00, on day 1 of the month, January through March");
  CHECK(explain("0 0 1 */3 *") == "At 00:00, on day 1 of the month, every 3 months starting in January");
}

TEST_CASE("macros that are not times") {
  CHECK(explain("@every 90s") == "Every 1m30s, counted from the schedule's start");
  CHECK(explain("@reboot") == "At jobd start-up");
}

TEST_CASE("H is described by the value it picked") {
  const std::string text = explain("H 3 * * *", "backup");
  CHECK(text.starts_with("At 03:"));
  CHECK(text == explain("H 3 * * *", "backup"));
}
