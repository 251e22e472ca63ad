// Every way an expression can be wrong gets one line naming the field and the
// problem: invalid cron expression "61 * * * *": minute: 61 is out of range 0-59
#include <fmt/format.h>

#include "cron_helpers.hpp"

namespace {

struct Case {
  const char* expression;
  const char* why;
};

const Case kCases[] = {
    // Shape.
    {"", "empty expression"},
    {"   ", "empty expression"},
    {"*", "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), found 1"},
    {"* * * *",
     "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), found 4"},
    {"* * * * * * *",
     "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), found 7"},
    {"0 0 0 0 0 0 0 0",
     "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), found 8"},
    // Out of range, per field.
    {"61 * * * *", "minute: 61 is out of range 0-59"},
    {"60 * * * *", "minute: 60 is out of range 0-59"},
    {"* 24 * * *", "hour: 24 is out of range 0-23"},
    {"* 99 * * *", "hour: 99 is out of range 0-23"},
    {"* * 0 * *", "day-of-month: 0 is out of range 1-31"},
    {"* * 32 * *", "day-of-month: 32 is out of range 1-31"},
    {"* * * 0 *", "month: 0 is out of range 1-12"},
    {"* * * 13 *", "month: 13 is out of range 1-12"},
    {"* * * * 8", "day-of-week: 8 is out of range 0-7"},
    {"60 * * * * *", "second: 60 is out of range 0-59"},
    {"0 60 * * * *", "minute: 60 is out of range 0-59"},
    {"0 0 24 * * *", "hour: 24 is out of range 0-23"},
    {"0 0 0 32 * *", "day-of-month: 32 is out of range 1-31"},
    {"0 0 0 * 13 *", "month: 13 is out of range 1-12"},
    {"0 0 0 * * 8", "day-of-week: 8 is out of range 0-7"},
    {"99999999999 * * * *", "minute: 99999999999 is out of range 0-59"},
    {"1-60 * * * *", "minute: 60 is out of range 0-59"},
    {"* * 1-32 * *", "day-of-month: 32 is out of range 1-31"},
    {"* * * 1-13 *", "month: 13 is out of range 1-12"},
    {"* * * * 1-8", "day-of-week: 8 is out of range 0-7"},
    {"0,61 * * * *", "minute: 61 is out of range 0-59"},
    {"* 1,2,25 * * *", "hour: 25 is out of range 0-23"},
    {"70/5 * * * *", "minute: 70 is out of range 0-59"},
    // Ranges must ascend.
    {"30-10 * * * *",
     "minute: range 30-10 is descending (ranges must ascend; write a list such as 30-59,0-10 instead)"},
    {"* 20-5 * * *",
     "hour: range 20-5 is descending (ranges must ascend; write a list such as 20-23,0-5 instead)"},
    {"* * 31-1 * *",
     "day-of-month: range 31-1 is descending (ranges must ascend; write a list such as 31,1 instead)"},
    {"* * * DEC-JAN *",
     "month: range DEC-JAN is descending (ranges must ascend; write a list such as DEC,JAN instead)"},
    {"* * * 12-1 *",
     "month: range 12-1 is descending (ranges must ascend; write a list such as 12,1 instead)"},
    {"* * * * FRI-MON",
     "day-of-week: range FRI-MON is descending (ranges must ascend; write a list such as FRI-6,0-MON "
     "instead)"},
    {"* * * * 6-1",
     "day-of-week: range 6-1 is descending (ranges must ascend; write a list such as 6,0-1 instead)"},
    {"* * * * 7-1",
     "day-of-week: range 7-1 is descending (ranges must ascend; write a list such as 7,0-1 instead)"},
    {"50-40/2 * * * *",
     "minute: range 50-40 is descending (ranges must ascend; write a list such as 50-59,0-40 instead)"},
    // Steps.
    {"*/0 * * * *", "minute: step 0 must be at least 1"},
    {"*/ * * * *", "minute: missing step after '/'"},
    {"*/x * * * *", "minute: step \"x\" is not a number"},
    {"*/60 * * * *", "minute: step 60 is too large (at most 59)"},
    {"* */24 * * *", "hour: step 24 is too large (at most 23)"},
    {"* * */32 * *", "day-of-month: step 32 is too large (at most 31)"},
    {"* * * */13 *", "month: step 13 is too large (at most 12)"},
    {"* * * * */8", "day-of-week: step 8 is too large (at most 7)"},
    {"*/5/2 * * * *", "minute: step \"5/2\" is not a number"},
    {"*/5-10 * * * *", "minute: step \"5-10\" is not a number"},
    {"5-10/ * * * *", "minute: missing step after '/'"},
    {"*/-1 * * * *", "minute: step \"-1\" is not a number"},
    {"*/99999999999 * * * *", "minute: step 99999999999 is too large (at most 59)"},
    {"0-59/0 * * * *", "minute: step 0 must be at least 1"},
    // Lists and values.
    {"1,,2 * * * *", "minute: empty list element"},
    {",1 * * * *", "minute: empty list element"},
    {"1, * * * *", "minute: empty list element"},
    {"* * * * 1,", "day-of-week: empty list element"},
    {"a * * * *", "minute: \"a\" is not a number"},
    {"MON * * * *", "minute: \"MON\" is not a number"},
    {"* JAN * * *", "hour: \"JAN\" is not a number"},
    {"* * MON * *", "day-of-month: \"MON\" is not a number"},
    {"-5 * * * *", "minute: \"-5\" is not a number"},
    {"+5 * * * *", "minute: \"+5\" is not a number"},
    {"5- * * * *", "minute: missing value"},
    {"1-2-3 * * * *", "minute: \"2-3\" is not a number"},
    {"5.5 * * * *", "minute: \"5.5\" is not a number"},
    {"5a * * * *", "minute: \"5a\" is not a number"},
    {"** * * * *", "minute: \"**\" is not a number"},
    {"*5 * * * *", "minute: \"*5\" is not a number"},
    {"0x1F * * * *", "minute: \"0x1F\" is not a number"},
    {"* * W * *", "day-of-month: \"W\" is not a number"},
    // Names.
    {"* * * JANUARY *", "month: unknown month name \"JANUARY\" (expected JAN-DEC)"},
    {"* * * FOO *", "month: unknown month name \"FOO\" (expected JAN-DEC)"},
    {"* * * MON *", "month: unknown month name \"MON\" (expected JAN-DEC)"},
    {"* * * JAN-FOO *", "month: unknown month name \"FOO\" (expected JAN-DEC)"},
    {"* * * * FUNDAY", "day-of-week: unknown day name \"FUNDAY\" (expected SUN-SAT)"},
    {"* * * * MONDAY", "day-of-week: unknown day name \"MONDAY\" (expected SUN-SAT)"},
    {"* * * * JAN", "day-of-week: unknown day name \"JAN\" (expected SUN-SAT)"},
    {"* * * * MON-XYZ", "day-of-week: unknown day name \"XYZ\" (expected SUN-SAT)"},
    // '?' and the extensions belong to the day fields.
    {"? * * * *", "minute: '?' is only allowed in day-of-month and day-of-week"},
    {"* ? * * *", "hour: '?' is only allowed in day-of-month and day-of-week"},
    {"* * * ? *", "month: '?' is only allowed in day-of-month and day-of-week"},
    {"L * * * *", "minute: \"L\": L, W and # are only allowed in day-of-month and day-of-week"},
    {"* L * * *", "hour: \"L\": L, W and # are only allowed in day-of-month and day-of-week"},
    {"* * * L *", "month: \"L\": L, W and # are only allowed in day-of-month and day-of-week"},
    {"15W * * * *", "minute: \"15W\": L, W and # are only allowed in day-of-month and day-of-week"},
    {"* 1#2 * * *", "hour: \"1#2\": L, W and # are only allowed in day-of-month and day-of-week"},
    {"* * * 5L *", "month: \"5L\": L, W and # are only allowed in day-of-month and day-of-week"},
    {"* * * * 15W", "day-of-week: \"15W\": L-n, nW and LW belong in day-of-month"},
    {"* * * * LW", "day-of-week: \"LW\": L-n, nW and LW belong in day-of-month"},
    {"* * * * L-2", "day-of-week: \"L-2\": L-n, nW and LW belong in day-of-month"},
    {"* * * * L", "day-of-week: \"L\" needs a weekday before it (e.g. 5L for the last Friday)"},
    {"* * 5L * *", "day-of-month: \"5L\": nL and n#k belong in day-of-week"},
    {"* * 1#2 * *", "day-of-month: \"1#2\": nL and n#k belong in day-of-week"},
    // Extension arguments.
    {"* * * * 1#6", "day-of-week: \"1#6\": week 6 is out of range 1-5"},
    {"* * * * 1#0", "day-of-week: \"1#0\": week 0 is out of range 1-5"},
    {"* * * * 1#", "day-of-week: \"1#\": expected n#k with k a week number 1-5"},
    {"* * * * 1#12", "day-of-week: \"1#12\": expected n#k with k a week number 1-5"},
    {"* * * * 1#x", "day-of-week: \"1#x\": expected n#k with k a week number 1-5"},
    {"* * * * #2", "day-of-week: missing value"},
    {"* * * * 8#1", "day-of-week: 8 is out of range 0-7"},
    {"* * * * 8L", "day-of-week: 8 is out of range 0-7"},
    {"* * * * XYZL", "day-of-week: unknown day name \"XYZ\" (expected SUN-SAT)"},
    {"* * L-31 * *", "day-of-month: L-31 is out of range L-0 to L-30"},
    {"* * L- * *", "day-of-month: \"L-\": expected L-n with n a number of days"},
    {"* * L-x * *", "day-of-month: \"L-x\": expected L-n with n a number of days"},
    {"* * 32W * *", "day-of-month: 32 is out of range 1-31"},
    {"* * 0W * *", "day-of-month: 0 is out of range 1-31"},
    {"* * L/2 * *", "day-of-month: \"L\" cannot take a step"},
    {"* * 15W/2 * *", "day-of-month: \"15W\" cannot take a step"},
    {"* * * * 5L/2", "day-of-week: \"5L\" cannot take a step"},
    {"* * * * 1#2/2", "day-of-week: \"1#2\" cannot take a step"},
    // H.
    {"H(30-10) * * * *", "minute: range 30-10 in \"H(30-10)\" is descending"},
    {"H(0-60) * * * *", "minute: 60 is out of range 0-59"},
    {"H(5) * * * *", "minute: \"H(5)\": H(...) needs a range a-b, e.g. H(0-29)"},
    {"H5 * * * *", "minute: \"H5\": H takes an optional range in parentheses, e.g. H(0-29)"},
    {"Hx * * * *", "minute: \"Hx\": H takes an optional range in parentheses, e.g. H(0-29)"},
    {"H(0-29 * * * *", "minute: \"H(0-29\": H takes an optional range in parentheses, e.g. H(0-29)"},
    {"H/0 * * * *", "minute: step 0 must be at least 1"},
    {"H/99 * * * *", "minute: step 99 is too large (at most 59)"},
    {"* H(0-24) * * *", "hour: 24 is out of range 0-23"},
    // Macros.
    {"@fortnightly",
     "unknown macro \"@fortnightly\" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
     "@hourly, @every DURATION or @reboot)"},
    {"@",
     "unknown macro \"@\" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, "
     "@every DURATION or @reboot)"},
    {"@daily 5", "@daily takes no fields after it"},
    {"@hourly * * * * *", "@hourly takes no fields after it"},
    {"@reboot now", "@reboot takes no fields after it"},
    {"@every", "@every takes a duration, e.g. @every 90s"},
    {"@every 0s", "@every: the period must be a whole number of seconds, at least 1s"},
    {"@every 500ms", "@every: the period must be a whole number of seconds, at least 1s"},
    {"@every 1500ms", "@every: the period must be a whole number of seconds, at least 1s"},
    {"@every 2 hours", "@every: \"2 hours\" is not a duration (try \"2h\")"},
    {"@every 1.5h", "@every: \"1.5h\" is not a duration (try \"1h30m\")"},
    {"@every 90 seconds", "@every: \"90 seconds\" is not a duration (try \"1m30s\")"},
    {"@every x",
     "@every: \"x\" is not a duration (write a number and a unit: us, ms, s, m, h, d, w; e.g. \"90s\", "
     "\"1h30m\")"},
    {"@every 5",
     "@every: \"5\" is not a duration (write a number and a unit: us, ms, s, m, h, d, w; e.g. \"90s\", "
     "\"1h30m\")"},
    {"@every -5m",
     "@every: \"-5m\" is not a duration (write a number and a unit: us, ms, s, m, h, d, w; e.g. \"90s\", "
     "\"1h30m\")"},
    {"@every 99999999999999999999s", "@every: duration \"99999999999999999999s\" is too large"},
    // Expressions that can never fire.
    {"0 0 30 2 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 31 2 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 31 4 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 31 4,6,9,11 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 31 FEB *", "never fires (no allowed month has a day that matches)"},
    {"0 0 30,31 2 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 30W 2 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 L-29 2 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 L-30 2,4 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 31 2 */2", "never fires (no allowed month has a day that matches)"},
    {"0 0 0 30 2 *", "never fires (no allowed month has a day that matches)"},
    {"0 0 0 31 9 ?", "never fires (no allowed month has a day that matches)"},
};

}  // namespace

TEST_CASE("invalid expressions are rejected with a message naming the problem") {
  CHECK(std::size(kCases) >= 100);
  for (const Case& c : kCases) {
    CAPTURE(c.expression);
    CHECK(test::error_of(c.expression) ==
          fmt::format("invalid cron expression \"{}\": {}", c.expression, c.why));
  }
}

TEST_CASE("the error code is invalid_cron") {
  auto r = job::cron::parse_cron("61 * * * *");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == job::Errc::invalid_cron);
  CHECK(job::code_name(r.error().code) == "invalid_cron");
}

TEST_CASE("rare but possible schedules are not mistaken for impossible ones") {
  for (const char* e : {"0 0 29 2 *", "0 0 L-28 2 *", "0 0 * 2 MON#5", "0 0 */30 2 *", "0 0 31 2 MON",
                        "0 0 29W 2 *", "0 0 L-30 1 *", "0 0 */28 2 1", "0 0 0 29 2 *"}) {
    CAPTURE(e);
    CHECK(test::error_of(e) == "");
  }
}
