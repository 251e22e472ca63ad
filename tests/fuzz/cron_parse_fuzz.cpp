// libFuzzer target: any bytes as a cron expression (and a seed). Parsing must
// return a schedule or an error, never crash or hang; a schedule that parses
// must yield fire times that are in the future, in order, and match in
// every zone the search walks.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cron/describe.hpp"
#include "cron/next.hpp"
#include "cron/parse.hpp"
#include "time/zone.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\n');
  const std::string_view expr = input.substr(0, split);
  const std::string_view seed = split == std::string_view::npos ? "" : input.substr(split + 1);

  const auto schedule = job::cron::parse_cron(expr, seed);
  if (!schedule) {
    if (schedule.error().message.empty()) __builtin_trap();
    return 0;
  }
  (void)job::cron::describe(*schedule);

  static const auto zones = [] {
    std::array<job::time::Zone, 3> z{};
    z[1] = *job::time::find_zone("America/New_York");
    z[2] = *job::time::find_zone("Australia/Lord_Howe");
    return z;
  }();
  const auto start = job::time::from_unix_seconds(1'700'000'000 + static_cast<int64_t>(size) * 7919);
  for (const auto& zone : zones) {
    auto t = start;
    for (int i = 0; i < 4; ++i) {
      const auto next = job::cron::next_fire_after(*schedule, t, zone, start);
      if (!next) break;
      if (*next <= t) __builtin_trap();  // must move strictly forward
      t = *next;
    }
  }
  return 0;
}
