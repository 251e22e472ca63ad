// jobctl list: the jobs, one line each.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

void add_list(CLI::App& app) {
  auto all = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("list", "list jobs: id, name, state, schedule, next fire, last result");
  cmd->add_flag("--all", *all, "include deleted jobs");
  cmd->callback([all] {
    Client client = connect();
    const auto reply = must(client.call({{"op", "list"}, {"all", *all}}));
    if (globals().json) return print_json(reply["jobs"]);
    std::vector<std::vector<std::string>> rows;
    for (const auto& j : reply["jobs"]) {
      std::string last = "-";
      if (!j["last_run"].is_null()) {
        last = j["last_run"]["state"].get<std::string>();
        if (!j["last_run"]["exit_code"].is_null())
          last += fmt::format(" ({})", j["last_run"]["exit_code"].get<int>());
      }
      // Another namespace's job (an admin sees them all) as NS/NAME.
      std::string name = cell(j["name"]);
      if (reply.contains("namespace") && j.contains("namespace") && j["namespace"] != reply["namespace"])
        name = j["namespace"].get<std::string>() + "/" + name;
      rows.push_back({cell(j["id"]), name, cell(j["state"]), cell(j["schedule"]),
                      short_time(j["next_fire"]), last});
    }
    print_table({"ID", "NAME", "STATE", "SCHEDULE", "NEXT FIRE", "LAST"}, rows);
  });
}

}  // namespace jobctl
