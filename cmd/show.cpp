// jobctl show JOB: a job's spec, state, next fires and recent runs.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "dag.hpp"
#include "output.hpp"
#include "runs_table.hpp"

namespace jobctl {

void add_show(CLI::App& app) {
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("show", "a job: spec, state, next fires, recent runs");
  cmd->add_option("job", *ref, "job id or name")->required();
  cmd->callback([ref] {
    Client client = connect();
    auto reply = must(client.call({{"op", "show"}, {"job", *ref}}));
    if (globals().json) {
      job::proto::Json out = reply["job"];
      out["next_fires"] = reply["next_fires"];
      out["recent_runs"] = reply["runs"];
      return print_json(out);
    }
    const auto& j = reply["job"];
    std::string command;
    if (j["command"].is_array())
      for (const auto& a : j["command"])
        command += (command.empty() ? "" : " ") + shell_quote(a.get<std::string>());
    else if (j["command"].is_string())  // null for a task graph
      command = "sh -c " + shell_quote(j["command"].get<std::string>());
    auto field = [](const char* k, const std::string& v) { fmt::print("{:<13}{}\n", k, v); };
    field("id", cell(j["id"]));
    field("name", cell(j["name"]));
    field("state", cell(j["state"]));
    field("schedule", cell(j["schedule"]) + (j["tz"].is_null() ? "" : " (" + cell(j["tz"]) + ")"));
    field("priority", cell(j["priority"]));
    field("timeout", cell(j["timeout"]));
    field("retries", j["retries"] == 0
                         ? "0"
                         : fmt::format("{}, backoff {} doubling up to {}, jitter {}", cell(j["retries"]),
                                       cell(j["backoff"]), cell(j["max_backoff"]), cell(j["jitter"])));
    field("concurrency", cell(j["concurrency"]));
    field("catchup", cell(j["catchup"]));
    if (!j["starting_deadline"].is_null()) field("deadline", cell(j["starting_deadline"]) + " to start");
    field("keep runs", cell(j["keep_runs"]));
    const bool graph = !j.value("tasks", job::proto::Json::array()).empty();
    if (graph) {
      // The graph as `dag` prints it, under one heading.
      const auto lines = graph_lines(j);
      for (size_t i = 0; i < lines.size(); ++i) fmt::print("{:<13}{}\n", i ? "" : "tasks", lines[i]);
    } else {
      field("command", command);
    }
    for (const auto& a : j.value("after", job::proto::Json::array()))
      field("after", fmt::format("{} ({})", cell(a["ref"]), cell(a["rule"])));
    if (!j["cwd"].is_null()) field("cwd", cell(j["cwd"]));
    if (j.contains("user")) field("user", cell(j["user"]));
    if (j.contains("limits")) {
      std::string limits;
      for (const auto& [k, v] : j["limits"].items())
        limits += (limits.empty() ? "" : ", ") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
      field("limits", limits);
    }
    if (j.contains("sandbox")) {
      std::string sandbox = j.value("network", true) ? "yes" : "yes, no network";
      for (const auto& p : j.value("paths_rw", job::proto::Json::array()))
        sandbox += ", writable " + p.get<std::string>();
      field("sandbox", sandbox);
    }
    for (const auto& [k, v] : j["env"].items()) field("env", k + "=" + v.get<std::string>());
    field("created", short_time(j["created_at"]));
    for (const auto& f : reply["next_fires"]) field("next fire", short_time(f));
    if (!reply["runs"].empty()) {
      fmt::print("\n");
      print_runs(reply["runs"]);
    }
  });
}

}  // namespace jobctl
