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
    if (reply.contains("cgroups")) fmt::print("cgroups {}\n", cell(reply["cgroups"]));
    if (reply.contains("metrics") && reply["metrics"].is_string())
      fmt::print("metrics http://{}/metrics\n", cell(reply["metrics"]));
    if (const auto& dir = reply.value("jobs_dir", job::proto::Json()); dir.is_object() && !dir["path"].is_null()) {
      fmt::print("jobs_dir {}{}\n", cell(dir["path"]), dir.value("watching", false) ? "" : " (not watched)");
      // A broken file keeps its jobs as they were: say so until it is fixed.
      for (const auto& e : dir["errors"]) fmt::print("  not applied: {}\n", cell(e["error"]));
    }
    for (const auto& w : reply.value("warnings", job::proto::Json::array()))
      fmt::print("warning: {}\n", cell(w));
    if (const auto& n = reply.value("notifications", job::proto::Json()); n.is_object())
      fmt::print("notifications {} sent, {} failed, {} pending\n", cell(n["sent"]), cell(n["failed"]),
                 cell(n["pending"]));
  });
}

}  // namespace jobctl
