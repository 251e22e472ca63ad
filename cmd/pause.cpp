// jobctl pause JOB: stop a job from firing; its active runs go on. Fires
// missed while paused are caught up on resume as its catch-up policy says.
#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

void add_pause(CLI::App& app) {
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("pause", "stop a job from firing (its running runs go on)");
  cmd->add_option("job", *ref, "job id or name")->required();
  cmd->callback([ref] {
    Client client = connect();
    const auto reply = must(client.call({{"op", "pause"}, {"job", *ref}}));
    if (globals().json) return print_reply(reply);
    print_job_state(reply["job"]);
  });
}

}  // namespace jobctl
