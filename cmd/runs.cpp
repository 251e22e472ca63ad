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
  if (run.value("waiting", job::proto::Json(nullptr)).is_string())
    parts.push_back("waits: " + run["waiting"].get<std::string>());
  if (run.value("epoch", job::proto::Json(nullptr)).is_number())  // leased to a worker
    parts.push_back("on " + run["worker"].get<std::string>());
  if (run["missed_count"].is_number_integer() && run["missed_count"].get<int64_t>() > 1)
    parts.push_back(fmt::format("covers {} missed fires since {}", run["missed_count"].get<int64_t>(),
                                short_time(run["missed_since"])));
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

void print_runs(const job::proto::Json& runs) {
  std::vector<std::vector<std::string>> rows{
      {"RUN", "JOB", "ATTEMPT", "STATE", "EXIT", "SCHEDULED", "STARTED", "FINISHED", "NOTE"}};
  for (const auto& r : runs)
    rows.push_back({cell(r["id"]), cell(r["job_name"]), cell(r["attempt"]), cell(r["state"]),
                    cell(r["exit_code"]), short_time(r["scheduled_at"]), short_time(r["started_at"]),
                    short_time(r["finished_at"]), run_note(r)});
  const auto lines = align(rows);
  fmt::print("{}\n", lines[0]);
  for (size_t i = 0; i < runs.size(); ++i) {
    fmt::print("{}\n", lines[i + 1]);
    // A job run of a task graph: one indented line per task, in graph order.
    const auto& tasks = runs[i].value("tasks", job::proto::Json::array());
    std::vector<std::vector<std::string>> task_rows;
    for (const auto& t : tasks) {
      auto get = [&t](const char* key) { return t.value(key, job::proto::Json(nullptr)); };
      task_rows.push_back({cell(get("task")), cell(get("run")), cell(get("state")),
                           get("attempt").is_null() ? "-" : "attempt " + cell(get("attempt")),
                           get("exit_code").is_null() ? "-" : "exit " + cell(get("exit_code"))});
      if (get("reason").is_string()) task_rows.back().push_back(cell(get("reason")));
    }
    for (const auto& line : align(task_rows)) fmt::print("  {}\n", line);
  }
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
