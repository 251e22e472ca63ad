#include <doctest/doctest.h>

#include <cstdlib>

#include "time/posix_tz.hpp"
#include "time/rfc3339.hpp"
#include "time/zone.hpp"

using job::time::find_zone;
using job::time::from_unix_seconds;

TEST_CASE("zones by IANA name") {
  auto ny = find_zone("America/New_York");
  REQUIRE(ny.ok());
  CHECK(ny->name() == "America/New_York");
  CHECK_FALSE(ny->is_utc());
  CHECK(ny->offset_at(*job::time::parse_rfc3339("2026-07-01T00:00:00Z")) == -4 * 3600);
  CHECK(ny->offset_at(*job::time::parse_rfc3339("2026-01-01T00:00:00Z")) == -5 * 3600);
  CHECK(find_zone("UTC")->is_utc());
  CHECK(find_zone("Etc/UTC")->is_utc());
  CHECK(*find_zone("America/New_York") == *ny);  // one shared copy
}

TEST_CASE("unknown zones are errors naming the zone") {
  for (const char* bad : {"Mars/Olympus", "", "america/new_york", "../../etc/passwd", "EST+5"}) {
    auto z = find_zone(bad);
    REQUIRE_FALSE(z.ok());
    CHECK(z.error().code == job::Errc::unknown_zone);
    CHECK(z.error().message.starts_with(std::string("unknown time zone \"") + bad + "\""));
  }
}

TEST_CASE("the local zone comes from $TZ, else /etc/localtime") {
  const char* saved = std::getenv("TZ");
  const std::string old = saved ? saved : "";
  setenv("TZ", "Europe/Paris", 1);
  CHECK(job::time::local_zone()->name() == "Europe/Paris");
  setenv("TZ", ":Asia/Tokyo", 1);
  CHECK(job::time::local_zone()->name() == "Asia/Tokyo");
  setenv("TZ", "/usr/share/zoneinfo/Asia/Kolkata", 1);
  CHECK(job::time::local_zone()->name() == "Asia/Kolkata");
  setenv("TZ", "Bogus/Zone", 1);
  auto bad = job::time::local_zone();
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.starts_with("$TZ: unknown time zone \"Bogus/Zone\""));
  setenv("TZ", "", 1);
  CHECK(job::time::local_zone()->is_utc());
  unsetenv("TZ");
  CHECK(job::time::local_zone().ok());
  if (saved) setenv("TZ", old.c_str(), 1);
}

TEST_CASE("POSIX TZ rules parse") {
  using job::time::parse_posix_tz;
  auto ny = parse_posix_tz("EST5EDT,M3.2.0,M11.1.0");
  REQUIRE(ny);
  CHECK(ny->std_offset == -5 * 3600);
  CHECK(ny->dst_offset == -4 * 3600);
  CHECK(ny->start.kind == job::time::PosixTz::Day::month_week_day);
  auto lord_howe = parse_posix_tz("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  REQUIRE(lord_howe);
  CHECK(lord_howe->std_offset == 10 * 3600 + 1800);
  CHECK(lord_howe->dst_offset == 11 * 3600);
  auto chatham = parse_posix_tz("<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45");
  REQUIRE(chatham);
  CHECK(chatham->start_time == 2 * 3600 + 45 * 60);
  auto tokyo = parse_posix_tz("JST-9");
  REQUIRE(tokyo);
  CHECK_FALSE(tokyo->has_dst);
  CHECK(parse_posix_tz("<-04>4<-03>,M9.1.6/24,M4.1.6/24"));
  CHECK(parse_posix_tz("<+0330>-3:30<+0430>,J79/24,J263/24"));
  CHECK(parse_posix_tz("XXX3YYY,300/-2,J300/167"));
  for (const char* bad : {"", "E5", "EST", "EST5EDT", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
                          "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J365", "EST5EDT,M3.2.0",
                          "EST5EDT,M3.2.0,M11.1.0x", "<EST5", "EST99"})
    CHECK_MESSAGE(!parse_posix_tz(bad), bad);
}

TEST_CASE("POSIX rules agree with the tz database where both apply") {
  struct Case {
    const char* zone;
    const char* rule;
  };
  // The footers of these zones' TZif files (zdump -v shows the same dates).
  const Case cases[] = {
      {"America/New_York", "EST5EDT,M3.2.0,M11.1.0"},
      {"Europe/London", "GMT0BST,M3.5.0/1,M10.5.0"},
      {"Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
      {"Australia/Lord_Howe", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"},
      {"Pacific/Chatham", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45"},
      {"America/Santiago", "<-04>4<-03>,M9.1.6/24,M4.1.6/24"},
  };
  const int64_t from = job::time::unix_seconds_floor(*job::time::parse_rfc3339("2024-01-01T00:00:00Z"));
  const int64_t to = job::time::unix_seconds_floor(*job::time::parse_rfc3339("2037-01-01T00:00:00Z"));
  for (const Case& c : cases) {
    const auto zone = *find_zone(c.zone);
    const auto rule = *job::time::parse_posix_tz(c.rule);
    int mismatches = 0;
    for (int64_t t = from; t < to; t += 3 * 3600 + 17) {
      const auto a = zone.span_at(t);
      const auto b = job::time::posix_span_at(rule, t);
      if (a.offset != b.offset || a.begin != b.begin || a.end != b.end) ++mismatches;
    }
    CHECK_MESSAGE(mismatches == 0, c.zone);
  }
}

TEST_CASE("beyond 2037 a zone keeps changing its clocks") {
  const auto ny = *find_zone("America/New_York");
  const auto summer = *job::time::parse_rfc3339("2050-07-01T12:00:00Z");
  const auto winter = *job::time::parse_rfc3339("2050-12-01T12:00:00Z");
  CHECK(ny.offset_at(summer) == -4 * 3600);
  CHECK(ny.offset_at(winter) == -5 * 3600);
  const auto span = ny.span_at(job::time::unix_seconds_floor(summer));
  CHECK(job::time::format_rfc3339(from_unix_seconds(span.begin), ny) == "2050-03-13T03:00:00-04:00");
  CHECK(job::time::format_rfc3339(from_unix_seconds(span.end), ny) == "2050-11-06T01:00:00-05:00");
}
