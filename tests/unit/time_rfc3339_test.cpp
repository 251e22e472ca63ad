#include <doctest/doctest.h>

#include "time/rfc3339.hpp"

using job::time::format_rfc3339;
using job::time::from_unix_seconds;
using job::time::parse_rfc3339;

TEST_CASE("parses Z, offsets, fractions and the allowed separators") {
  CHECK(*parse_rfc3339("1970-01-01T00:00:00Z") == from_unix_seconds(0));
  CHECK(*parse_rfc3339("1970-01-01t00:00:00z") == from_unix_seconds(0));
  CHECK(*parse_rfc3339("1970-01-01 01:00:00+01:00") == from_unix_seconds(0));
  CHECK(*parse_rfc3339("2026-03-08T03:00:00-04:00") == from_unix_seconds(1772953200));
  CHECK(*parse_rfc3339("2026-03-08T07:00:00.5Z") ==
        from_unix_seconds(1772953200) + std::chrono::milliseconds{500});
  CHECK(*parse_rfc3339("2026-03-08T07:00:00.123456789Z") ==
        from_unix_seconds(1772953200) + std::chrono::microseconds{123456});
  CHECK(*parse_rfc3339("1969-12-31T23:59:59Z") == from_unix_seconds(-1));
  CHECK(*parse_rfc3339("2024-02-29T12:00:00+05:45") == from_unix_seconds(1709187300));
}

TEST_CASE("rejects what is not RFC 3339, saying why") {
  auto why = [](const char* text) {
    auto r = parse_rfc3339(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == job::Errc::invalid_time);
    return r.error().message;
  };
  CHECK(why("yesterday").find("the date must be YYYY-MM-DD") != std::string::npos);
  CHECK(why("2026-03-08").find("a time of day and an offset are missing") != std::string::npos);
  CHECK(why("2026-03-08T03:00:00").find("the offset (Z or ±HH:MM) is missing") != std::string::npos);
  CHECK(why("2026-03-08T3:00:00Z").find("HH:MM:SS") != std::string::npos);
  CHECK(why("2026-13-08T03:00:00Z").find("month 13 is out of range 1-12") != std::string::npos);
  CHECK(why("2026-02-29T03:00:00Z").find("day 29 does not exist in 2026-02") != std::string::npos);
  CHECK(why("2026-03-08T24:00:00Z").find("hour 24") != std::string::npos);
  CHECK(why("2026-03-08T03:60:00Z").find("minute 60") != std::string::npos);
  CHECK(why("2026-03-08T03:00:60Z").find("second 60") != std::string::npos);
  CHECK(why("2026-03-08T03:00:00+0400").find("the offset must be Z or ±HH:MM") != std::string::npos);
  CHECK(why("2026-03-08T03:00:00+24:00").find("the offset is out of range") != std::string::npos);
  CHECK(why("2026-03-08T03:00:00Zjunk").find("unexpected text after the offset") != std::string::npos);
  CHECK(why("2026-03-08T03:00:00.Z").find("a fraction needs digits") != std::string::npos);
  CHECK(why("2026-03-08X03:00:00Z").find("expected 'T'") != std::string::npos);
  CHECK(why("").find("the date must be YYYY-MM-DD") != std::string::npos);
}

TEST_CASE("formats with seconds and a numeric offset, never Z") {
  const auto ny = *job::time::find_zone("America/New_York");
  CHECK(format_rfc3339(from_unix_seconds(1772953200), {}) == "2026-03-08T07:00:00+00:00");
  CHECK(format_rfc3339(from_unix_seconds(1772953200), ny) == "2026-03-08T03:00:00-04:00");
  CHECK(format_rfc3339(from_unix_seconds(1772953199), ny) == "2026-03-08T01:59:59-05:00");
  CHECK(format_rfc3339(from_unix_seconds(-1), {}) == "1969-12-31T23:59:59+00:00");
  CHECK(format_rfc3339(from_unix_seconds(0) + std::chrono::milliseconds{250}, {}) ==
        "1970-01-01T00:00:00.25+00:00");
  const auto kolkata = *job::time::find_zone("Asia/Kolkata");
  CHECK(format_rfc3339(from_unix_seconds(0), kolkata) == "1970-01-01T05:30:00+05:30");
}

TEST_CASE("round trip") {
  for (const char* s : {"2026-03-08T03:00:00-04:00", "2000-02-29T23:59:59+00:00", "9999-12-31T23:59:59+00:00",
                        "0001-01-01T00:00:00+00:00"}) {
    CHECK(format_rfc3339(
              *parse_rfc3339(s),
              *job::time::find_zone(std::string(s).ends_with("-04:00") ? "America/New_York" : "UTC")) == s);
  }
}
