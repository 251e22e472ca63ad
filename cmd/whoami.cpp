// jobctl whoami: who jobd takes the caller for — name, role, namespace — and
// so what it may see and do (jobctl(1), SECURITY).
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"

namespace jobctl {

void add_whoami(CLI::App& app) {
  auto* cmd = app.add_subcommand("whoami", "print your identity, role and namespace as jobd sees them");
  cmd->callback([] {
    Client client = connect();
    auto reply = must(client.call({{"op", "whoami"}}));
    if (globals().json) {
      for (const char* key : {"id", "ok"}) reply.erase(key);
      fmt::print("{}\n", reply.dump());
      return;
    }
    fmt::print("name:      {}\nrole:      {}\nnamespace: {}\n", reply["name"].get<std::string>(),
               reply["role"].get<std::string>(), reply["namespace"].get<std::string>());
    if (reply["user"].is_string()) fmt::print("runs as:   {}\n", reply["user"].get<std::string>());
    fmt::print("from:      {}\n", reply["from"].get<std::string>());
  });
}

}  // namespace jobctl
