// jobctl delete JOB: cancel a job's runs and remove it from `list`; its
// history stays (`list --all`) until retention removes it.
#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

void add_delete(CLI::App& app) {
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("delete", "delete a job, cancelling its runs (its history stays)");
  cmd->add_option("job", *ref, "job id or name")->required();
  cmd->callback([ref] {
    Client client = connect();
    const auto reply = must(client.call({{"op", "delete"}, {"job", *ref}}));
    if (globals().json) return print_reply(reply);
    print_job_state(reply["job"]);
  });
}

}  // namespace jobctl
