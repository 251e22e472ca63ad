// Benchmarks of the cron engine (not tests: they print figures and never
// fail on speed). Run: meson test -C build --benchmark --verbose, or the
// binary directly with an optional scale factor (default 1).
//   parse        expressions parsed per second, single thread
//   next         next-fire computations per second, per expression and zone
//   memory       bytes per parsed schedule, and RSS growth for a million
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cron/next.hpp"
#include "cron/parse.hpp"
#include "time/rfc3339.hpp"
#include "time/zone.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Keeps the optimiser from deleting work whose result is unused.
template <class T>
void keep(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

long rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return 0;
}

const char* const kTypical[] = {"*/5 * * * *", "0 3 * * 1-5", "0 0 L * *"};

void bench_parse(long scale) {
  const char* const exprs[] = {"*/5 * * * *",        "0 3 * * 1-5", "0 0 L * *",  "30 2 1,15 * *",
                               "0 9-17 * * MON-FRI", "H H * * *",   "0 0 * * 5L", "@daily"};
  const long n = 2'000'000 * scale;
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    auto s = job::cron::parse_cron(exprs[i % 8], "job");
    keep(s);
  }
  const double secs = seconds_since(start);
  fmt::print("parse   {:>6.2f} M expressions/s  (mix of 8 typical expressions, {} parses)\n",
             static_cast<double>(n) / secs / 1e6, n);
}

void bench_next(const char* expr, const char* zone_name, long scale) {
  const auto schedule = *job::cron::parse_cron(expr);
  const auto zone = *job::time::find_zone(zone_name);
  const long n = 5'000'000 * scale;
  // Scattered start instants (a prime stride through ten years), so that
  // every search starts cold, as in a heap of many schedules.
  const int64_t base = 1'767'225'600;  // 2026-01-01
  const auto start = Clock::now();
  int64_t sink = 0;
  for (long i = 0; i < n; ++i) {
    const auto from = job::time::from_unix_seconds(base + (i * 7'919'993) % 315'360'000);
    const auto next = job::cron::next_fire_after(schedule, from, zone);
    sink += next->time_since_epoch().count();
  }
  const double secs = seconds_since(start);
  keep(sink);
  fmt::print("next    {:>6.2f} M computations/s  {:<14} {}\n", static_cast<double>(n) / secs / 1e6, expr,
             zone_name);
}

void bench_memory() {
  constexpr long kCount = 1'000'000;
  const long before = rss_kib();
  std::vector<job::cron::Schedule> schedules;
  schedules.reserve(kCount);
  for (long i = 0; i < kCount; ++i)
    schedules.push_back(*job::cron::parse_cron(kTypical[i % 3], fmt::format("job-{}", i)));
  const long after = rss_kib();
  keep(schedules);
  fmt::print("memory  {} bytes per parsed schedule (sizeof); RSS grew {:.1f} bytes each for {} schedules\n",
             sizeof(job::cron::Schedule), static_cast<double>(after - before) * 1024.0 / kCount, kCount);
}

}  // namespace

int main(int argc, char** argv) {
  const long scale = argc > 1 ? std::max(1L, std::atol(argv[1])) : 1;
  bench_parse(scale);
  for (const char* zone : {"UTC", "America/New_York"})
    for (const char* expr : kTypical) bench_next(expr, zone, scale);
  bench_next("0 0 29 2 1", "UTC", scale);
  bench_memory();
  return 0;
}
