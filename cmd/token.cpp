// jobctl token create NAME --role R [--namespace NS] | list | revoke NAME:
// the named tokens TCP clients authenticate with (admins only). create prints
// the secret once, alone on stdout, so that `> file` captures exactly it.
#include <fmt/format.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {

namespace {

using job::proto::Json;

void create(const std::string& name, const std::string& role, const std::string& ns) {
  Client client = connect();
  Json request{{"op", "token_create"}, {"name", name}, {"role", role}};
  if (!ns.empty()) request["namespace"] = ns;
  auto reply = must(client.call(request));
  if (globals().json) {
    Json out = reply["token"];
    out["secret"] = reply["secret"];
    fmt::print("{}\n", out.dump());
    return;
  }
  fmt::print("{}\n", reply["secret"].get<std::string>());
}

void list() {
  Client client = connect();
  const auto reply = must(client.call({{"op", "token_list"}}));
  if (globals().json) {
    fmt::print("{}\n", reply["tokens"].dump());
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : reply["tokens"])
    rows.push_back({t["name"].get<std::string>(), t["role"].get<std::string>(), t["namespace"].get<std::string>(),
                    short_time(t["created_at"]), t["created_by"].get<std::string>()});
  print_table({"NAME", "ROLE", "NAMESPACE", "CREATED", "BY"}, rows);
}

void revoke(const std::string& name) {
  Client client = connect();
  const auto reply = must(client.call({{"op", "token_revoke"}, {"name", name}}));
  if (globals().json) fmt::print("{}\n", Json{{"revoked", name}, {"disconnected", reply["disconnected"]}}.dump());
}

}  // namespace

void add_token(CLI::App& app) {
  auto* cmd = app.add_subcommand("token", "create, list or revoke the named tokens of TCP clients (admins)");
  cmd->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto role = std::make_shared<std::string>();
  auto ns = std::make_shared<std::string>();
  auto* c = cmd->add_subcommand("create", "make a token and print its secret (shown this once only)");
  c->add_option("name", *name, "the token's name")->required();
  c->add_option("--role", *role, "admin, operator or viewer")
      ->required()
      ->check(CLI::IsMember({"admin", "operator", "viewer"}));
  c->add_option("--namespace", *ns,
                "the namespace it acts in (default: the token's name; an admin's: jobd's own user's)");
  c->callback([=] { create(*name, *role, *ns); });
  cmd->add_subcommand("list", "the tokens: name, role, namespace, when and by whom made")->callback(list);
  auto* r = cmd->add_subcommand("revoke", "delete a token; its connections are closed at once");
  r->add_option("name", *name, "the token's name")->required();
  r->callback([=] { revoke(*name); });
}

}  // namespace jobctl
