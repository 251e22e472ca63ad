// jobctl audit [--since TIME] [--limit N]: who changed what, when, from where,
// and how it went (admins only), oldest first.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

void add_audit(CLI::App& app) {
  auto* cmd = app.add_subcommand("audit", "the audit log of changes: who did what, when, from where (admins)");
  auto since = std::make_shared<std::string>();
  auto limit = std::make_shared<int64_t>(100);
  cmd->add_option("--since", *since, "only entries at or after this time (RFC 3339)");
  cmd->add_option("--limit", *limit, "at most this many (the newest); default 100")->check(CLI::PositiveNumber);
  cmd->callback([=] {
    Client client = connect();
    job::proto::Json request{{"op", "audit"}, {"limit", *limit}};
    if (!since->empty()) request["since"] = *since;
    const auto reply = must(client.call(request));
    if (globals().json) {
      fmt::print("{}\n", reply["entries"].dump());
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : reply["entries"])
      rows.push_back({e["at"].get<std::string>(), e["who"].get<std::string>(), e["from"].get<std::string>(),
                      e["op"].get<std::string>(), e["target"].get<std::string>().empty() ? "-" : e["target"].get<std::string>(),
                      e["result"].get<std::string>()});
    print_table({"TIME", "WHO", "FROM", "OP", "TARGET", "RESULT"}, rows);
  });
}

}  // namespace jobctl
