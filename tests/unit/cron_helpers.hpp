// Helpers shared by the cron tests: run the real parser and search, and
// return what a user would see (RFC 3339 strings, error messages).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "cron/next.hpp"
#include "cron/parse.hpp"
#include "time/rfc3339.hpp"
#include "time/zone.hpp"

namespace test {

inline job::time::Zone zone(const char* name) {
  auto z = job::time::find_zone(name);
  REQUIRE_MESSAGE(z.ok(), name);
  return *z;
}

inline job::time::Instant at(const char* rfc3339) {
  auto t = job::time::parse_rfc3339(rfc3339);
  REQUIRE_MESSAGE(t.ok(), rfc3339);
  return *t;
}

inline job::cron::Schedule parse(const std::string& expr, const std::string& seed = "") {
  auto s = job::cron::parse_cron(expr, seed);
  REQUIRE_MESSAGE(s.ok(), expr, ": ", s.ok() ? "" : s.error().message);
  return *s;
}

// The next `count` fires of `expr` strictly after `from`, shown in `zone_name`.
inline std::vector<std::string> fires(const std::string& expr, const char* from, int count,
                                      const char* zone_name = "UTC") {
  const auto s = parse(expr);
  const auto z = zone(zone_name);
  std::vector<std::string> out;
  auto t = at(from);
  const auto anchor = t;
  for (int i = 0; i < count; ++i) {
    auto next = job::cron::next_fire_after(s, t, z, anchor);
    if (!next) break;
    out.push_back(job::time::format_rfc3339(*next, z));
    t = *next;
  }
  return out;
}

// The error message parse_cron gives, or "" when the expression parses.
inline std::string error_of(const std::string& expr) {
  auto s = job::cron::parse_cron(expr);
  return s.ok() ? "" : s.error().message;
}

using Strings = std::vector<std::string>;

}  // namespace test
