// jobctl runs [JOB]: run history, newest first.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"
#include "runs_table.hpp"

namespace jobctl {

namespace {

std::string run_note(const job::proto::Json& run) {
  std::vector<std::string> parts;
  if (run["state"] == "retrying" && run["retry_at"].is_string())
    parts.push_back("retry at " + short_time(run["retry_at"]));
  if (run["reason"].is_string()) parts.push_back(run["reason"].get<std::string>());
  if (run["missed_count"].is_number_integer() && run["missed_count"].get<int64_t>() > 1)
    parts.push_back(fmt::format("covers {} missed fires since {}", run["missed_count"].get<int64_t>(),
                                short_time(run["missed_since"])));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

void print_runs(const job::proto::Json& runs) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs)
    rows.push_back({cell(r["id"]), cell(r["job_name"]), cell(r["attempt"]), cell(r["state"]),
                    cell(r["exit_code"]), short_time(r["scheduled_at"]), short_time(r["started_at"]),
                    short_time(r["finished_at"]), run_note(r)});
  print_table({"RUN", "JOB", "ATTEMPT", "STATE", "EXIT", "SCHEDULED", "STARTED", "FINISHED", "NOTE"}, rows);
}

void add_runs(CLI::App& app) {
  struct Options {
    std::string job;
    int64_t limit = 20;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("runs", "run history, newest first");
  cmd->add_option("job", o->job, "only this job's runs (id or name)");
  cmd->add_option("--limit,-n", o->limit, "at most N runs (default 20)");
  cmd->callback([o] {
    job::proto::Json req = {{"op", "runs"}, {"limit", o->limit}};
    if (!o->job.empty()) req["job"] = o->job;
    Client client = connect();
    const auto reply = must(client.call(req));
    if (globals().json) return print_json(reply["runs"]);
    print_runs(reply["runs"]);
  });
}

}  // namespace jobctl
