// jobctl resume JOB: let a paused job fire again, catching up the fires it
// missed as its catch-up policy says.
#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

void add_resume(CLI::App& app) {
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("resume", "let a paused job fire again");
  cmd->add_option("job", *ref, "job id or name")->required();
  cmd->callback([ref] {
    Client client = connect();
    const auto reply = must(client.call({{"op", "resume"}, {"job", *ref}}));
    if (globals().json) return print_reply(reply);
    print_job_state(reply["job"]);
  });
}

}  // namespace jobctl
