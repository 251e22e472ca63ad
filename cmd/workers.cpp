// jobctl workers [drain NAME | undrain NAME]: the nodes that run the jobs of
// this coordinator, their health and load; drain stops new runs going to one.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

namespace {

using job::proto::Json;

void list_workers() {
  Client client = connect();
  const auto reply = must(client.call({{"op", "workers"}}));
  if (globals().json) {
    fmt::print("{}\n", reply["workers"].dump());
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : reply["workers"]) {
    std::vector<std::string> tags;
    for (const auto& [k, v] : w["tags"].items()) tags.push_back(k + "=" + v.get<std::string>());
    std::string name = w["name"].get<std::string>();
    if (w["local"].get<bool>()) name += " (coordinator)";
    rows.push_back({name, w["state"].get<std::string>(),
                    fmt::format("{}/{}", w["used"].get<int>(), w["slots"].get<int>()),
                    w["load"].is_number() ? fmt::format("{:.2f}", w["load"].get<double>()) : "-",
                    w["last_heartbeat"].is_string() ? short_time(w["last_heartbeat"]) : "-",
                    tags.empty() ? "-" : fmt::format("{}", fmt::join(tags, ","))});
  }
  print_table({"NAME", "STATE", "SLOTS", "LOAD", "LAST HEARTBEAT", "TAGS"}, rows);
}

void set_drained(const std::string& worker, bool drained) {
  Client client = connect();
  must(client.call({{"op", "drain"}, {"worker", worker}, {"drained", drained}}));
  if (globals().json) fmt::print("{}\n", Json{{"worker", worker}, {"drained", drained}}.dump());
}

}  // namespace

void add_workers(CLI::App& app) {
  auto* cmd = app.add_subcommand("workers", "list the nodes running jobs; drain or undrain one");
  cmd->callback([cmd] {
    if (cmd->get_subcommands().empty()) list_workers();
  });
  auto name = std::make_shared<std::string>();
  auto* drain = cmd->add_subcommand("drain", "send no new runs to a worker; its running ones finish");
  drain->add_option("worker", *name, "the worker's name")->required();
  drain->callback([name] { set_drained(*name, true); });
  auto* undrain = cmd->add_subcommand("undrain", "let a drained worker take runs again");
  undrain->add_option("worker", *name, "the worker's name")->required();
  undrain->callback([name] { set_drained(*name, false); });
}

}  // namespace jobctl
