#include <doctest/doctest.h>

#include "time/duration.hpp"

using job::time::format_duration;
using job::time::parse_duration;
using namespace std::chrono_literals;

TEST_CASE("durations as people write them") {
  CHECK(*parse_duration("90s") == 90s);
  CHECK(*parse_duration("1h30m") == 90min);
  CHECK(*parse_duration("1h90m") == 150min);
  CHECK(*parse_duration("2d") == 48h);
  CHECK(*parse_duration("1w") == 168h);
  CHECK(*parse_duration("250ms") == 250ms);
  CHECK(*parse_duration("7us") == 7us);
  CHECK(*parse_duration("0s") == 0s);
  CHECK(*parse_duration("1m1s1ms") == 61001ms);
}

TEST_CASE("canonical spelling round-trips") {
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(48h + 1s) == "2d1s");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(-5s) == "-5s");
  for (job::time::Duration d : {job::time::Duration{1us}, job::time::Duration{999ms},
                                job::time::Duration{3601s}, job::time::Duration{1000h}})
    CHECK(*parse_duration(format_duration(d)) == d);
}

TEST_CASE("bad durations say what is wrong and suggest a spelling") {
  auto error = [](const char* text) {
    auto r = parse_duration(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == job::Errc::invalid_duration);
    return r.error().message;
  };
  CHECK(error("2 hours") == "\"2 hours\" is not a duration (try \"2h\")");
  CHECK(error("1.5h") == "\"1.5h\" is not a duration (try \"1h30m\")");
  CHECK(error("1 hour and 30 minutes") == "\"1 hour and 30 minutes\" is not a duration (try \"1h30m\")");
  CHECK(error("5 sec") == "\"5 sec\" is not a duration (try \"5s\")");
  CHECK(
      error("5") ==
      "\"5\" is not a duration (write a number and a unit: us, ms, s, m, h, d, w; e.g. \"90s\", \"1h30m\")");
  CHECK(
      error("h") ==
      "\"h\" is not a duration (write a number and a unit: us, ms, s, m, h, d, w; e.g. \"90s\", \"1h30m\")");
  CHECK(error("5y").starts_with("\"5y\" is not a duration"));
  CHECK(error("-5s").starts_with("\"-5s\" is not a duration"));
  CHECK(error("") == "empty duration (e.g. \"90s\", \"1h30m\")");
  CHECK(error("9999999999999999999s") == "duration \"9999999999999999999s\" is too large");
  CHECK(error("999999999999w") == "duration \"999999999999w\" is too large");
}
