// jobctl cancel JOB|RUN: stop a run (a job: its active and waiting runs); a
// cancelled run ends `cancelled` and is never retried.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"
#include "sched/model.hpp"

namespace jobctl {

void add_cancel(CLI::App& app) {
  auto target = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("cancel", "cancel a run, or a job's active and waiting runs");
  cmd->add_option("target", *target, "a run id (r12), or a job id or name")->required();
  cmd->callback([target] {
    const bool is_run = job::sched::parse_ref(*target, 'r').has_value();
    Client client = connect();
    const auto reply = must(client.call({{"op", "cancel"}, {is_run ? "run" : "job", *target}}));
    if (globals().json) return print_reply(reply);
    fmt::print("{}\n", cell(reply["message"]));
  });
}

}  // namespace jobctl
