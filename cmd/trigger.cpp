// jobctl trigger JOB [--wait]: fire a job now, outside its schedule, and print
// the new run's id; with --wait, also wait for that run and exit with it.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"
#include "wait.hpp"

namespace jobctl {

void add_trigger(CLI::App& app) {
  struct Options {
    std::string job;
    bool wait = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("trigger", "fire a job now and print the new run's id");
  cmd->add_option("job", o->job, "job id or name")->required();
  cmd->add_flag("--wait", o->wait, "wait for the run; exit 0 if it succeeded, 1 if not");
  cmd->callback([o] {
    Client client = connect();
    const auto reply = must(client.call({{"op", "trigger"}, {"job", o->job}}));
    const auto& run = reply["run"];
    if (globals().json)
      print_reply(reply);
    else
      fmt::print("{}\n", cell(run["id"]));
    std::fflush(stdout);
    if (o->wait) wait_and_exit(client, {{"op", "wait"}, {"run", run["id"]}}, std::nullopt);
    // Not an error: the job's overlap policy said no, and the run records why.
    if (run["state"] == "skipped")
      fmt::print(stderr, "jobctl: run {} of job {} skipped{}\n", cell(run["id"]), cell(run["job_name"]),
                 run["reason"].is_string() ? ": " + run["reason"].get<std::string>() : "");
  });
}

}  // namespace jobctl
