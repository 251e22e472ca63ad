// jobctl stats: success and retry rates, run time and schedule lag
// percentiles and the busiest jobs, over the finished runs jobd holds.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

namespace {

using job::proto::Json;

std::string percent(const Json& v) {
  return v.is_number() ? fmt::format("{:.1f}%", v.get<double>() * 100) : "-";
}

// Seconds as a person reads them: 850us, 12.3ms, 4.56s, 3m20s.
std::string seconds(const Json& v) {
  if (!v.is_number()) return "-";
  const double s = v.get<double>();
  if (s < 0.001) return fmt::format("{:.0f}us", s * 1e6);
  if (s < 1) return fmt::format("{:.1f}ms", s * 1e3);
  if (s < 60) return fmt::format("{:.2f}s", s);
  return fmt::format("{}m{:02}s", static_cast<int64_t>(s) / 60, static_cast<int64_t>(s) % 60);
}

std::string percentiles(const Json& p) {
  return fmt::format("p50 {}  p95 {}  p99 {}", seconds(p["p50"]), seconds(p["p95"]), seconds(p["p99"]));
}

}  // namespace

void add_stats(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("stats", "success and retry rates, run time and lag percentiles, busiest jobs");
  cmd->callback([] {
    Client client = connect();
    const auto reply = must(client.call({{"op", "stats"}}));
    if (globals().json) return print_reply(reply);
    const Json& since = reply["since_start"];
    std::vector<std::vector<std::string>> rows = {
        {"runs", fmt::format("{} finished, {} succeeded, {} retried", cell(reply["runs"]),
                             percent(reply["success_rate"]), percent(reply["retry_rate"]))},
        {"run time", percentiles(reply["duration_seconds"])},
        {"schedule lag", percentiles(reply["schedule_lag_seconds"])},
        {"since start",
         fmt::format("{} submits, {} runs finished, {} retries (up {}s)", cell(since["submits"]),
                     cell(since["runs"]), cell(since["retries"]), cell(since["uptime_seconds"]))},
    };
    for (const std::string& line : align(rows)) fmt::print("{}\n", line);
    if (reply["busiest"].empty()) return;
    fmt::print("busiest jobs:\n");
    std::vector<std::vector<std::string>> jobs;
    for (const Json& j : reply["busiest"])
      jobs.push_back({cell(j["job"]), cell(j["id"]), fmt::format("{} runs", cell(j["runs"])),
                      fmt::format("{} succeeded", percent(j["success_rate"]))});
    for (const std::string& line : align(jobs)) fmt::print("  {}\n", line);
  });
}

}  // namespace jobctl
