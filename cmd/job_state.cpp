// jobctl pause|resume|delete JOB: the commands that change a job's state and
// print it. They differ only in the op they send.
//   pause   stops a job from firing; its active runs go on. Fires missed while
//           paused are caught up on resume as its catch-up policy says.
//   resume  lets a paused job fire again (resuming an active job is a no-op).
//   delete  cancels a job's runs and removes it from `list`; its history stays
//           (`list --all`, `runs j<ID>`) until retention removes it.
#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {
namespace {

void add_job_state_command(CLI::App& app, const char* op, const char* help) {
  auto ref = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(op, help);
  cmd->add_option("job", *ref, "job id or name")->required();
  cmd->callback([ref, op] {
    Client client = connect();
    const auto reply = must(client.call({{"op", op}, {"job", *ref}}));
    if (globals().json) return print_reply(reply);
    print_job_state(reply["job"]);
  });
}

}  // namespace

void add_pause(CLI::App& app) {
  add_job_state_command(app, "pause", "stop a job from firing (its running runs go on)");
}
void add_resume(CLI::App& app) { add_job_state_command(app, "resume", "let a paused job fire again"); }
void add_delete(CLI::App& app) {
  add_job_state_command(app, "delete", "delete a job, cancelling its runs (its history stays)");
}

}  // namespace jobctl
