// The DST policy of next.hpp, in zones with one-hour, 30-minute and
// 45-minute-offset shifts. Fixed-hour schedules fire once per day whatever
// the clocks do; schedules whose hour field starts with '*' follow the wall
// clock, skipping what does not exist and repeating what happens twice.
#include "cron_helpers.hpp"

using test::fires;
using test::Strings;

TEST_CASE("America/New_York, spring forward (2026-03-08 02:00 -> 03:00)") {
  const char* ny = "America/New_York";
  SUBCASE("a fixed time inside the gap fires at the first instant after it") {
    CHECK(fires("30 2 * * *", "2026-03-07T00:00:00-05:00", 3, ny) ==
          Strings{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"});
  }
  SUBCASE("several matches inside one gap fire once") {
    CHECK(fires("*/15 2 * * *", "2026-03-08T01:50:00-05:00", 2, ny) ==
          Strings{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"});
  }
  SUBCASE("a gap match and 03:00 are the same instant and fire once") {
    CHECK(fires("0 2,3 * * *", "2026-03-08T00:00:00-05:00", 2, ny) ==
          Strings{"2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"});
  }
  SUBCASE("starting at the transition, the gap is behind us") {
    CHECK(fires("30 2 * * *", "2026-03-08T03:00:00-04:00", 1, ny) == Strings{"2026-03-09T02:30:00-04:00"});
  }
  SUBCASE("a wildcard hour skips the missing wall times") {
    CHECK(fires("30 * * * *", "2026-03-08T00:00:00-05:00", 3, ny) ==
          Strings{"2026-03-08T00:30:00-05:00", "2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"});
    CHECK(fires("*/30 */1 * * *", "2026-03-08T01:00:00-05:00", 2, ny) ==
          Strings{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"});
  }
  SUBCASE("days and weeks keep their wall time") {
    CHECK(fires("0 9 * * *", "2026-03-07T12:00:00-05:00", 2, ny) ==
          Strings{"2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"});
  }
}

TEST_CASE("America/New_York, fall back (2026-11-01 02:00 -> 01:00)") {
  const char* ny = "America/New_York";
  SUBCASE("a fixed time that occurs twice fires at its first occurrence") {
    CHECK(fires("30 1 * * *", "2026-10-31T12:00:00-04:00", 2, ny) ==
          Strings{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"});
    CHECK(fires("* 1 * * *", "2026-11-01T01:59:00-04:00", 1, ny) == Strings{"2026-11-02T01:00:00-05:00"});
    CHECK(fires("0 1 * * *", "2026-11-01T01:30:00-04:00", 1, ny) == Strings{"2026-11-02T01:00:00-05:00"});
  }
  SUBCASE("starting inside the second pass") {
    CHECK(fires("30 1 * * *", "2026-11-01T01:15:00-05:00", 1, ny) == Strings{"2026-11-02T01:30:00-05:00"});
    CHECK(fires("0 2 * * *", "2026-11-01T01:15:00-05:00", 1, ny) == Strings{"2026-11-01T02:00:00-05:00"});
  }
  SUBCASE("a wildcard hour fires in both passes") {
    CHECK(fires("*/30 * * * *", "2026-11-01T00:15:00-04:00", 6, ny) ==
          Strings{"2026-11-01T00:30:00-04:00", "2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
                  "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"});
  }
}

TEST_CASE("America/New_York after 2037 follows the zone's rule") {
  const char* ny = "America/New_York";
  CHECK(fires("30 2 * * *", "2040-03-10T12:00:00-05:00", 2, ny) ==
        Strings{"2040-03-11T03:00:00-04:00", "2040-03-12T02:30:00-04:00"});
  CHECK(fires("0 12 1 7 *", "2100-01-01T00:00:00Z", 1, ny) == Strings{"2100-07-01T12:00:00-04:00"});
  CHECK(fires("30 1 * * *", "2100-11-06T12:00:00-04:00", 2, ny) ==
        Strings{"2100-11-07T01:30:00-04:00", "2100-11-08T01:30:00-05:00"});
}

TEST_CASE("Europe/London") {
  const char* london = "Europe/London";
  CHECK(fires("30 1 * * *", "2026-03-28T12:00:00Z", 2, london) ==
        Strings{"2026-03-29T02:00:00+01:00", "2026-03-30T01:30:00+01:00"});
  CHECK(fires("30 1 * * *", "2026-10-24T12:00:00Z", 2, london) ==
        Strings{"2026-10-25T01:30:00+01:00", "2026-10-26T01:30:00+00:00"});
  CHECK(fires("30 * * * *", "2026-10-25T00:00:00+01:00", 4, london) ==
        Strings{"2026-10-25T00:30:00+01:00", "2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00",
                "2026-10-25T02:30:00+00:00"});
  CHECK(fires("0 0 * * *", "2026-03-28T12:00:00Z", 2, london) ==
        Strings{"2026-03-29T00:00:00+00:00", "2026-03-30T00:00:00+01:00"});
}

TEST_CASE("Australia/Lord_Howe: a 30-minute shift") {
  const char* lh = "Australia/Lord_Howe";
  SUBCASE("spring forward 2026-10-04 02:00 -> 02:30") {
    CHECK(fires("15 2 * * *", "2026-10-03T12:00:00+10:30", 2, lh) ==
          Strings{"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"});
    // 02:15 does not exist, 02:45 does.
    CHECK(fires("15,45 * * * *", "2026-10-04T01:00:00+10:30", 4, lh) ==
          Strings{"2026-10-04T01:15:00+10:30", "2026-10-04T01:45:00+10:30", "2026-10-04T02:45:00+11:00",
                  "2026-10-04T03:15:00+11:00"});
  }
  SUBCASE("fall back 2026-04-05 02:00 -> 01:30") {
    CHECK(fires("45 1 * * *", "2026-04-04T12:00:00+11:00", 2, lh) ==
          Strings{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"});
    CHECK(fires("45 * * * *", "2026-04-05T00:00:00+11:00", 4, lh) ==
          Strings{"2026-04-05T00:45:00+11:00", "2026-04-05T01:45:00+11:00", "2026-04-05T01:45:00+10:30",
                  "2026-04-05T02:45:00+10:30"});
    // 01:15 is before the repeated half hour: it happens once.
    CHECK(fires("15 * * * *", "2026-04-05T00:00:00+11:00", 3, lh) ==
          Strings{"2026-04-05T00:15:00+11:00", "2026-04-05T01:15:00+11:00", "2026-04-05T02:15:00+10:30"});
  }
}

TEST_CASE("Pacific/Chatham: +12:45 / +13:45, shifting at 02:45") {
  const char* chatham = "Pacific/Chatham";
  SUBCASE("spring forward 2026-09-27 02:45 -> 03:45") {
    CHECK(fires("0 3 * * *", "2026-09-26T12:00:00+12:45", 2, chatham) ==
          Strings{"2026-09-27T03:45:00+13:45", "2026-09-28T03:00:00+13:45"});
    CHECK(fires("50 * * * *", "2026-09-27T01:00:00+12:45", 2, chatham) ==
          Strings{"2026-09-27T01:50:00+12:45", "2026-09-27T03:50:00+13:45"});
    CHECK(fires("0 * * * *", "2026-09-27T01:30:00+12:45", 2, chatham) ==
          Strings{"2026-09-27T02:00:00+12:45", "2026-09-27T04:00:00+13:45"});
  }
  SUBCASE("fall back 2026-04-05 03:45 -> 02:45") {
    CHECK(fires("0 3 * * *", "2026-04-04T12:00:00+13:45", 2, chatham) ==
          Strings{"2026-04-05T03:00:00+13:45", "2026-04-06T03:00:00+12:45"});
    CHECK(fires("0 * * * *", "2026-04-05T01:30:00+13:45", 4, chatham) ==
          Strings{"2026-04-05T02:00:00+13:45", "2026-04-05T03:00:00+13:45", "2026-04-05T03:00:00+12:45",
                  "2026-04-05T04:00:00+12:45"});
  }
}

TEST_CASE("consecutive fires always move forward, across many transitions") {
  for (const char* z : {"America/New_York", "Europe/London", "Australia/Lord_Howe", "Pacific/Chatham"}) {
    for (const char* expr : {"*/7 * * * *", "30 1,2,3 * * *", "0 0 L * *", "0 */13 * * * *"}) {
      const auto s = test::parse(expr);
      const auto zone = test::zone(z);
      auto t = test::at("2025-12-01T00:00:00Z");
      const auto end = test::at("2027-01-01T00:00:00Z");
      int count = 0;
      while (t < end && count < 200000) {
        const auto next = job::cron::next_fire_after(s, t, zone);
        REQUIRE(next);
        REQUIRE_MESSAGE(*next > t, z, " ", expr);
        t = *next;
        ++count;
      }
      CHECK(t >= end);
    }
  }
}
