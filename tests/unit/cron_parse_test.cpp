// What the parser makes of each element form: the bit sets, the Vixie star
// flags, the extensions, and H's stable spreading.
#include <set>

#include "cron_helpers.hpp"

using test::parse;

namespace {
uint64_t bits(std::initializer_list<int> values) {
  uint64_t b = 0;
  for (int v : values) b |= uint64_t{1} << v;
  return b;
}
}  // namespace

TEST_CASE("five fields leave seconds at 0; six put seconds first") {
  const auto five = parse("1 2 3 4 5");
  CHECK(five.seconds == bits({0}));
  CHECK(five.minutes == bits({1}));
  CHECK(five.hours == bits({2}));
  CHECK(five.days == bits({3}));
  CHECK(five.months == bits({4}));
  CHECK(five.weekdays == bits({5}));
  const auto six = parse("9 1 2 3 4 5");
  CHECK(six.seconds == bits({9}));
  CHECK(six.minutes == bits({1}));
  CHECK(six.weekdays == bits({5}));
}

TEST_CASE("whitespace between fields may be any run of spaces and tabs") {
  CHECK(parse("  0\t3  * *\t1-5 ") == parse("0 3 * * 1-5"));
}

TEST_CASE("ranges, steps and lists") {
  CHECK(parse("*/15 * * * *").minutes == bits({0, 15, 30, 45}));
  CHECK(parse("10-20/5 * * * *").minutes == bits({10, 15, 20}));
  CHECK(parse("45/5 * * * *").minutes == bits({45, 50, 55}));
  CHECK(parse("5/59 * * * *").minutes == bits({5}));  // a step past the end keeps the start
  CHECK(parse("1,5-7,50/5 * * * *").minutes == bits({1, 5, 6, 7, 50, 55}));
  CHECK(parse("* * */10 * *").days == bits({1, 11, 21, 31}));
  CHECK(parse("* * * */4 *").months == bits({1, 5, 9}));
  CHECK(parse("* * * * */2").weekdays == bits({0, 2, 4, 6}));
  CHECK(parse("* * * * 7/3").weekdays == bits({0}));
  CHECK(parse("* * * * 7/3,1").weekdays == bits({0, 1}));
}

TEST_CASE("names in any case; 7 folds to Sunday") {
  CHECK(parse("* * * jan-Mar *").months == bits({1, 2, 3}));
  // JUL ends in L, yet "6-JUL" is a range of months, not the nL extension.
  CHECK(parse("* * * 6-JUL *").months == bits({6, 7}));
  CHECK(parse("* * * 7-Jul/1 *").months == bits({7}));
  CHECK(parse("* * * * sun,Wed,FRI").weekdays == bits({0, 3, 5}));
  CHECK(parse("* * * * 7").weekdays == bits({0}));
  CHECK(parse("* * * * 5-7").weekdays == bits({0, 5, 6}));
  CHECK(parse("* * * * SAT-SUN").weekdays == bits({0, 6}));
  CHECK(parse("* * * * SUN-SAT").weekdays == 0x7F);
  CHECK(parse("* * * * 0-7").weekdays == 0x7F);
  CHECK(parse("* * * * SUN-SUN").weekdays == bits({0}));
  CHECK(parse("* * * * 0-SUN").weekdays == bits({0}));
  // a/n stops at Saturday, as '*' does: 7 would be Sunday again.
  CHECK(parse("* * * * 1/2").weekdays == bits({1, 3, 5}));
  CHECK(parse("* * * * */2").weekdays == bits({0, 2, 4, 6}));
  CHECK(parse("* * * * 7/3").weekdays == bits({0}));
  CHECK(parse("* * * * 7/3,1").weekdays == bits({0, 1}));
}

TEST_CASE("a day field is restricted unless its text starts with '*' or '?'") {
  CHECK(parse("0 0 * * *").dom_star);
  CHECK(parse("0 0 * * *").dow_star);
  CHECK(parse("0 0 ? * 1").dom_star);
  CHECK_FALSE(parse("0 0 ? * 1").dow_star);
  CHECK(parse("0 0 */2 * 1").dom_star);
  CHECK_FALSE(parse("0 0 1-31 * 1").dom_star);  // every day, but written as restricted
  CHECK_FALSE(parse("0 0 L * *").dom_star);
}

TEST_CASE("the hour field decides the DST policy") {
  CHECK(parse("0 * * * *").hour_star);
  CHECK(parse("0 */2 * * *").hour_star);
  CHECK_FALSE(parse("0 2 * * *").hour_star);
  CHECK_FALSE(parse("0 0-23 * * *").hour_star);
  CHECK_FALSE(parse("@daily").hour_star);
  CHECK(parse("@hourly").hour_star);
}

TEST_CASE("extensions") {
  const auto dom = parse("0 0 L,L-3,15W,LW * *");
  CHECK(dom.days == 0);
  CHECK(dom.days_before_last == bits({0, 3}));
  CHECK(dom.nearest_weekday == bits({15}));
  CHECK(dom.last_weekday_of_month);
  const auto dow = parse("0 0 * * 5L,MON#2,7#5,sunL");
  CHECK(dow.weekdays == 0);
  CHECK(dow.last_weekdays == bits({0, 5}));
  CHECK(dow.nth_weekdays == bits({7 * 1 + 1, 7 * 4 + 0}));
}

TEST_CASE("@every and @reboot") {
  const auto every = parse("@every 1h30m");
  CHECK(every.kind == job::cron::Schedule::Kind::every);
  CHECK(every.period == std::chrono::minutes{90});
  CHECK(parse("@EVERY 2h").period == std::chrono::hours{2});
  CHECK(parse("@reboot").kind == job::cron::Schedule::Kind::reboot);
}

TEST_CASE("H picks a stable value from the seed") {
  const auto a = parse("H H * * *", "backup");
  CHECK(a == parse("H H * * *", "backup"));
  CHECK(__builtin_popcountll(a.minutes) == 1);
  CHECK(__builtin_popcount(a.hours) == 1);
  CHECK_FALSE(a.hour_star);
  // The hash is part of the contract: these values must never change.
  CHECK(job::cron::h_hash("backup", 1) == job::cron::h_hash("backup", 1));
  CHECK(job::cron::h_hash("", 0) == 0xb9034ad37056f5fbULL);
  CHECK(a.minutes == bits({47}));  // computed independently (FNV-1a + fmix64, in Python)
  CHECK(a.hours == bits({23}));
  CHECK(job::cron::h_hash("backup", 1) != job::cron::h_hash("backup", 2));
}

TEST_CASE("H spreads a thousand jobs over the hour") {
  std::set<int> minutes;
  for (int i = 0; i < 1000; ++i) {
    const auto s = parse("H * * * *", "job-" + std::to_string(i));
    minutes.insert(__builtin_ctzll(s.minutes));
  }
  CHECK(minutes.size() == 60);
}

TEST_CASE("H forms stay in their ranges") {
  for (int i = 0; i < 300; ++i) {
    const std::string seed = "seed" + std::to_string(i);
    const auto r = parse("H(0-29) H(9-17) H * *", seed);
    CHECK(__builtin_ctzll(r.minutes) <= 29);
    CHECK(__builtin_ctz(r.hours) >= 9);
    CHECK(__builtin_ctz(r.hours) <= 17);
    CHECK(__builtin_ctz(r.days) >= 1);
    CHECK(__builtin_ctz(r.days) <= 28);  // every month has it

    const auto step = parse("H/15 * * * H", seed);
    CHECK(__builtin_popcountll(step.minutes) == 4);
    const int first = __builtin_ctzll(step.minutes);
    CHECK(first < 15);
    CHECK(step.minutes == bits({first, first + 15, first + 30, first + 45}));
    CHECK(__builtin_popcount(step.weekdays) == 1);
    CHECK(__builtin_ctz(step.weekdays) <= 6);

    const auto ranged = parse("H(0-29)/10 * * * *", seed);
    const int start = __builtin_ctzll(ranged.minutes);
    CHECK(start < 10);
    CHECK(ranged.minutes == bits({start, start + 10, start + 20}));
  }
}

TEST_CASE("a parsed schedule stays small") { CHECK(sizeof(job::cron::Schedule) <= 80); }
