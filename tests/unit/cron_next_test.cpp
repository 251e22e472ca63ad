// The next-fire search in UTC: every field form, the day-of-month and
// day-of-week extensions, the Vixie rule, leap days and month ends.
#include "cron_helpers.hpp"

using test::fires;
using test::Strings;

TEST_CASE("fires strictly after the start, at whole seconds") {
  CHECK(fires("*/5 * * * *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-01T00:05:00+00:00", "2026-01-01T00:10:00+00:00", "2026-01-01T00:15:00+00:00"});
  CHECK(fires("*/5 * * * *", "2026-01-01T00:04:59.5Z", 1) == Strings{"2026-01-01T00:05:00+00:00"});
  CHECK(fires("* * * * *", "2026-12-31T23:59:00Z", 1) == Strings{"2027-01-01T00:00:00+00:00"});
  CHECK(fires("0 0 1 1 *", "2026-12-31T23:59:59Z", 1) == Strings{"2027-01-01T00:00:00+00:00"});
}

TEST_CASE("weekday ranges, names and lists") {
  // 2026-01-02 is a Friday.
  CHECK(fires("0 3 * * 1-5", "2026-01-02T04:00:00Z", 2) ==
        Strings{"2026-01-05T03:00:00+00:00", "2026-01-06T03:00:00+00:00"});
  CHECK(fires("0 3 * * mon-FRI", "2026-01-02T04:00:00Z", 2) ==
        Strings{"2026-01-05T03:00:00+00:00", "2026-01-06T03:00:00+00:00"});
  CHECK(fires("0 0 1 */3 *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-04-01T00:00:00+00:00", "2026-07-01T00:00:00+00:00", "2026-10-01T00:00:00+00:00"});
  CHECK(fires("0 0 1 JAN,jul *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-07-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00"});
  CHECK(fires("15,45 9-10 * * *", "2026-01-01T00:00:00Z", 5) ==
        Strings{"2026-01-01T09:15:00+00:00", "2026-01-01T09:45:00+00:00", "2026-01-01T10:15:00+00:00",
                "2026-01-01T10:45:00+00:00", "2026-01-02T09:15:00+00:00"});
  // a/n means a through the end, every n; a step longer than the range keeps a.
  CHECK(fires("50/4 0 * * *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-01T00:50:00+00:00", "2026-01-01T00:54:00+00:00", "2026-01-01T00:58:00+00:00"});
  CHECK(fires("10-20/7 0 * * *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-01T00:10:00+00:00", "2026-01-01T00:17:00+00:00", "2026-01-02T00:10:00+00:00"});
}

TEST_CASE("0 and 7 are both Sunday, SAT-SUN ascends") {
  // 2026-01-03 is a Saturday, 2026-01-04 a Sunday.
  const Strings weekend{"2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00",
                        "2026-01-10T00:00:00+00:00"};
  CHECK(fires("0 0 * * 6-7", "2026-01-01T00:00:00Z", 3) == weekend);
  CHECK(fires("0 0 * * 6,0", "2026-01-01T00:00:00Z", 3) == weekend);
  CHECK(fires("0 0 * * SAT-SUN", "2026-01-01T00:00:00Z", 3) == weekend);
  CHECK(fires("0 0 * * 7", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-04T00:00:00+00:00"});
  CHECK(fires("0 0 * * 0-7", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-02T00:00:00+00:00"});
}

TEST_CASE("leap days") {
  CHECK(fires("0 0 29 2 *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"});
  // 2100 is not a leap year; 2000 was.
  CHECK(fires("0 0 29 2 *", "2096-03-01T00:00:00Z", 1) == Strings{"2104-02-29T00:00:00+00:00"});
  CHECK(fires("0 0 29 2 *", "1999-01-01T00:00:00Z", 1) == Strings{"2000-02-29T00:00:00+00:00"});
  CHECK(fires("0 0 L 2 *", "2027-03-01T00:00:00Z", 2) ==
        Strings{"2028-02-29T00:00:00+00:00", "2029-02-28T00:00:00+00:00"});
}

TEST_CASE("the 31st skips shorter months") {
  CHECK(fires("0 12 31 * *", "2026-01-31T12:00:00Z", 4) ==
        Strings{"2026-03-31T12:00:00+00:00", "2026-05-31T12:00:00+00:00", "2026-07-31T12:00:00+00:00",
                "2026-08-31T12:00:00+00:00"});
  CHECK(fires("0 0 30,31 * *", "2026-02-01T00:00:00Z", 2) ==
        Strings{"2026-03-30T00:00:00+00:00", "2026-03-31T00:00:00+00:00"});
}

TEST_CASE("Vixie rule: restricted day fields OR, a star-led field ANDs") {
  // The 13th, or any Friday.
  CHECK(fires("0 0 13 * FRI", "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00", "2026-01-13T00:00:00+00:00",
                "2026-01-16T00:00:00+00:00"});
  CHECK(fires("0 0 1,15 * 3", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-07T00:00:00+00:00", "2026-01-14T00:00:00+00:00", "2026-01-15T00:00:00+00:00"});
  // */2 starts with '*': odd days AND Mondays.
  CHECK(fires("0 0 */2 * MON", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-05T00:00:00+00:00", "2026-01-19T00:00:00+00:00", "2026-02-09T00:00:00+00:00"});
  // The 1st, when it is a Sunday, Tuesday, Thursday or Saturday.
  CHECK(fires("0 0 1 * */2", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-02-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"});
  CHECK(fires("0 0 ? * MON", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-05T00:00:00+00:00"});
  // Only the 1st or the 29th of a February that fall on a Monday.
  CHECK(fires("0 0 */28 2 MON", "2026-01-01T00:00:00Z", 1) == Strings{"2027-02-01T00:00:00+00:00"});
}

TEST_CASE("L and L-n: the last day of the month and days before it") {
  CHECK(fires("0 0 L * *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00", "2026-03-31T00:00:00+00:00"});
  CHECK(fires("0 0 L-2 * *", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-29T00:00:00+00:00", "2026-02-26T00:00:00+00:00", "2026-03-29T00:00:00+00:00"});
  // Only 31-day months have a day 30 days before their last.
  CHECK(fires("0 0 L-30 * *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-03-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00"});
  CHECK(fires("0 0 1,L * *", "2026-01-02T00:00:00Z", 3) ==
        Strings{"2026-01-31T00:00:00+00:00", "2026-02-01T00:00:00+00:00", "2026-02-28T00:00:00+00:00"});
}

TEST_CASE("nW: the nearest weekday, never leaving the month") {
  // 2026-08-15 is a Saturday: the Friday before.
  CHECK(fires("0 0 15W 8 *", "2026-01-01T00:00:00Z", 1) == Strings{"2026-08-14T00:00:00+00:00"});
  // 2026-02-15 is a Sunday: the Monday after.
  CHECK(fires("0 0 15W 2 *", "2026-01-01T00:00:00Z", 1) == Strings{"2026-02-16T00:00:00+00:00"});
  // 2026-08-01 is a Saturday: not July 31st, but Monday the 3rd.
  CHECK(fires("0 0 1W 8 *", "2026-01-01T00:00:00Z", 1) == Strings{"2026-08-03T00:00:00+00:00"});
  // 2026-05-31 is a Sunday: not June 1st, but Friday the 29th; 30-day months have no 31W.
  CHECK(fires("0 0 31W * *", "2026-05-01T00:00:00Z", 3) ==
        Strings{"2026-05-29T00:00:00+00:00", "2026-07-31T00:00:00+00:00", "2026-08-31T00:00:00+00:00"});
  // A weekday is its own nearest weekday.
  CHECK(fires("0 0 2W 1 *", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-02T00:00:00+00:00"});
}

TEST_CASE("LW: the last weekday of the month") {
  CHECK(fires("0 0 LW * *", "2026-01-01T00:00:00Z", 5) ==
        Strings{"2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00", "2026-03-31T00:00:00+00:00",
                "2026-04-30T00:00:00+00:00", "2026-05-29T00:00:00+00:00"});
}

TEST_CASE("nL and n#k: the last and the k-th weekday of the month") {
  const Strings last_fridays{"2026-01-30T00:00:00+00:00", "2026-02-27T00:00:00+00:00"};
  CHECK(fires("0 0 * * 5L", "2026-01-01T00:00:00Z", 2) == last_fridays);
  CHECK(fires("0 0 * * FRIL", "2026-01-01T00:00:00Z", 2) == last_fridays);
  CHECK(fires("0 0 * * 0L", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-25T00:00:00+00:00"});
  CHECK(fires("0 0 * * 7L", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-25T00:00:00+00:00"});
  CHECK(fires("0 0 * * 1#2", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-12T00:00:00+00:00", "2026-02-09T00:00:00+00:00"});
  CHECK(fires("0 0 * * MON#1,MON#3", "2026-01-01T00:00:00Z", 3) ==
        Strings{"2026-01-05T00:00:00+00:00", "2026-01-19T00:00:00+00:00", "2026-02-02T00:00:00+00:00"});
  // Only months with five Fridays.
  CHECK(fires("0 0 * * 5#5", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-30T00:00:00+00:00", "2026-05-29T00:00:00+00:00"});
  // Restricted day-of-month: the 1st OR the last Friday.
  CHECK(fires("0 0 1 * 5L", "2026-01-02T00:00:00Z", 2) ==
        Strings{"2026-01-30T00:00:00+00:00", "2026-02-01T00:00:00+00:00"});
}

TEST_CASE("six fields: seconds first, with W, LW and 7 as Sunday") {
  // 2026-01-04 is a Sunday.
  CHECK(fires("*/20 0 12 * * 7", "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-04T12:00:00+00:00", "2026-01-04T12:00:20+00:00", "2026-01-04T12:00:40+00:00",
                "2026-01-11T12:00:00+00:00"});
  CHECK(fires("0 0 0 * * 5-7", "2026-01-01T00:00:00Z", 4) ==
        Strings{"2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00", "2026-01-04T00:00:00+00:00",
                "2026-01-09T00:00:00+00:00"});
  CHECK(fires("30 0 0 * * 0,7", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-04T00:00:30+00:00", "2026-01-11T00:00:30+00:00"});
  CHECK(fires("0 30 9 15W * *", "2026-08-01T00:00:00Z", 2) ==
        Strings{"2026-08-14T09:30:00+00:00", "2026-09-15T09:30:00+00:00"});
  CHECK(fires("0 30 9 1W * *", "2026-08-01T00:00:00Z", 1) == Strings{"2026-08-03T09:30:00+00:00"});
  CHECK(fires("15 0 18 LW * *", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-30T18:00:15+00:00", "2026-02-27T18:00:15+00:00"});
  CHECK(fires("59 59 23 L 12 *", "2026-01-01T00:00:00Z", 1) == Strings{"2026-12-31T23:59:59+00:00"});
  CHECK(fires("0 0 0 * * 7L", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-25T00:00:00+00:00"});
  CHECK(fires("0 0 0 * * 7#1", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-04T00:00:00+00:00"});
}

TEST_CASE("macros") {
  CHECK(test::parse("@yearly") == test::parse("0 0 1 1 *"));
  CHECK(test::parse("@annually") == test::parse("0 0 1 1 *"));
  CHECK(test::parse("@monthly") == test::parse("0 0 1 * *"));
  CHECK(test::parse("@weekly") == test::parse("0 0 * * 0"));
  CHECK(test::parse("@daily") == test::parse("0 0 * * *"));
  CHECK(test::parse("@midnight") == test::parse("0 0 * * *"));
  CHECK(test::parse("@HOURLY") == test::parse("0 * * * *"));
  CHECK(fires("@weekly", "2026-01-01T00:00:00Z", 1) == Strings{"2026-01-04T00:00:00+00:00"});
}

TEST_CASE("@every is aligned to the anchor, taken to the whole second") {
  CHECK(fires("@every 90s", "2026-01-01T00:00:00.750Z", 3) ==
        Strings{"2026-01-01T00:01:30+00:00", "2026-01-01T00:03:00+00:00", "2026-01-01T00:04:30+00:00"});
  CHECK(fires("@every 1h30m", "2026-01-01T00:00:00Z", 2) ==
        Strings{"2026-01-01T01:30:00+00:00", "2026-01-01T03:00:00+00:00"});
  const auto s = test::parse("@every 10m");
  const auto anchor = test::at("2026-01-01T00:00:00Z");
  // After a downtime, the next fire is the next slot on the anchor's grid.
  CHECK(*job::cron::next_fire_after(s, test::at("2026-01-01T05:07:00Z"), {}, anchor) ==
        test::at("2026-01-01T05:10:00Z"));
  // Before the anchor, the first fire is one period after it.
  CHECK(*job::cron::next_fire_after(s, test::at("2025-01-01T00:00:00Z"), {}, anchor) ==
        test::at("2026-01-01T00:10:00Z"));
  // DST does not stretch or shrink a period.
  CHECK(fires("@every 1h", "2026-03-08T06:30:00Z", 2, "America/New_York") ==
        Strings{"2026-03-08T03:30:00-04:00", "2026-03-08T04:30:00-04:00"});
}

TEST_CASE("@every stops before the year 10000 too") {
  CHECK(fires("@every 1s", "9999-12-31T23:59:58Z", 3) == Strings{"9999-12-31T23:59:59+00:00"});
}

TEST_CASE("@reboot never fires at a time") {
  CHECK_FALSE(job::cron::next_fire_after(test::parse("@reboot"), test::at("2026-01-01T00:00:00Z")));
}

TEST_CASE("the search ends at the year 9999") {
  CHECK(fires("0 0 1 1 *", "9998-06-01T00:00:00Z", 3) == Strings{"9999-01-01T00:00:00+00:00"});
  CHECK(fires("0 0 29 2 *", "9996-03-01T00:00:00Z", 1).empty());
}

TEST_CASE("rare schedules are found by jumping, not by walking") {
  // February 1st or 29th on a Monday, with the AND rule: years apart.
  CHECK(fires("0 0 */28 2 1", "2027-02-02T00:00:00Z", 3) ==
        Strings{"2038-02-01T00:00:00+00:00", "2044-02-01T00:00:00+00:00", "2044-02-29T00:00:00+00:00"});
  // December 31st or any Friday of December, at the last second of the day.
  CHECK(fires("59 59 23 31 12 5", "2026-01-01T00:00:00Z", 1) == Strings{"2026-12-04T23:59:59+00:00"});
}

TEST_CASE("matching_days lays weekdays over a month") {
  const auto s = test::parse("0 0 * * 1");  // Mondays
  // A 31-day month starting on a Monday: 1, 8, 15, 22, 29.
  CHECK(job::cron::matching_days(s, 31, 1) == ((1u << 1) | (1u << 8) | (1u << 15) | (1u << 22) | (1u << 29)));
  // Starting on a Sunday: 2, 9, 16, 23, 30.
  CHECK(job::cron::matching_days(s, 30, 0) == ((1u << 2) | (1u << 9) | (1u << 16) | (1u << 23) | (1u << 30)));
}
