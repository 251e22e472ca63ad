// jobctl status: is jobd up, and how busy.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

void add_status(CLI::App& app) {
  auto* cmd = app.add_subcommand("status", "jobd's version, uptime, slots, running and queued runs");
  cmd->callback([] {
    Client client = connect();
    const auto reply = must(client.call({{"op", "status"}}));
    if (globals().json) return print_reply(reply);
    fmt::print("jobd {} (pid {}), up {}s, socket {}\n", cell(reply["version"]), cell(reply["pid"]),
               cell(reply["uptime_seconds"]), cell(reply["socket"]));
    fmt::print("slots {}/{} busy, {} queued, {} jobs, state in {}\n", cell(reply["running"]),
               cell(reply["slots"]), cell(reply["queued"]), cell(reply["jobs"]), cell(reply["state_dir"]));
  });
}

}  // namespace jobctl
