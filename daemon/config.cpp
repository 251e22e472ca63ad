#include "config.hpp"

#include <sys/un.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include "auth.hpp"
#include "jobfile/keys.hpp"
#include "jobfile/read.hpp"
#include "jobfile/toml.hpp"
#include "metrics_http.hpp"
#include "proto/paths.hpp"
#include "sched/model.hpp"

namespace jobd {

using job::Errc;
using job::Error;

namespace {

constexpr std::array<std::string_view, 33> kKeys = {
    "state_dir",       "socket",         "slots",     "jobs_dir",   "kill_grace",     "keep_for",
    "log_max_bytes",   "log_level",      "metrics_listen", "metrics_max_jobs", "listen", "token_file",
    "name",            "tags",           "heartbeat", "unhealthy_after", "down_after", "coordinator",
    "notify_attempts", "notify_backoff", "defaults", "max_connections_per_peer", "tls_cert",
    "tls_key",         "tls_client_ca",  "tls_ca",    "insecure_tcp",
    "admin_group",     "max_request_bytes", "idle_timeout", "submit_rate", "submit_burst", "audit_keep"};

// "K=V" -> (K, V), K a name as job names are.
job::Result<std::pair<std::string, std::string>> parse_tag(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || !job::sched::valid_name(text.substr(0, eq)))
    return Error{Errc::invalid_argument, fmt::format("tag \"{}\": expected KEY=VALUE, such as disk=ssd", text)};
  return std::pair{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

constexpr std::array<Level, 4> kLevels = {Level::debug, Level::info, Level::warning, Level::error};

struct Invalid {
  std::string message;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

std::string absolute(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// A TOML value as JSON; see Options::defaults.
job::proto::Json to_json(const toml::node& node) {
  using job::proto::Json;
  if (const auto* t = node.as_table()) {
    Json object = Json::object();
    for (const auto& [key, value] : *t) object[std::string(key.str())] = to_json(value);
    return object;
  }
  if (const auto* a = node.as_array()) {
    Json array = Json::array();
    for (const auto& value : *a) array.push_back(to_json(value));
    return array;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream text;
  if (const auto* d = node.as_date()) text << d->get();
  if (const auto* t = node.as_time()) text << t->get();
  if (const auto* dt = node.as_date_time()) text << dt->get();
  return text.str();
}

// Applies the settings of the jobd.toml at `path` to `o`, but for those the
// command line gave.
void read_file(const std::string& path, const CommandLine& given, Options& o) {
  if (access(path.c_str(), R_OK) != 0) throw Invalid{fmt::format("{}: {}", path, std::strerror(errno))};
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw Invalid{fmt::format("{}:{}:{}: {}", path, where.line, where.column, e.description())};
  } catch (const job::jobfile::TomlParserBug& e) {
    throw Invalid{fmt::format("{}: not valid TOML ({})", path, e.what())};
  }
  for (const auto& [key, value] : t) {
    const auto at = [&, k = key] {
      return fmt::format("{}:{}:{}: {}", path, k.source().begin.line, k.source().begin.column, k.str());
    };
    const auto string = [&](const char* what) {
      auto s = value.value<std::string>();
      if (!s || s->empty()) throw Invalid{fmt::format("{}: expected {} as a string", at(), what)};
      return *s;
    };
    // A duration setting's value; `example` shows what one looks like.
    const auto duration = [&](const char* example) {
      auto s = value.value<std::string>();
      auto d = s ? job::time::parse_duration(*s) : job::Result<job::time::Duration>(Error{});
      if (!s || !d)
        throw Invalid{at() + ": " +
                      (s ? d.error().message : fmt::format("expected a duration such as \"{}\"", example))};
      return *d;
    };
    // A listening address's value ("" for none); `example` shows one.
    const auto listen_address = [&](const char* example) {
      auto s = value.value<std::string>();
      if (!s) throw Invalid{fmt::format("{}: expected an address as a string, such as \"{}\"", at(), example)};
      if (!s->empty())
        if (auto addr = parse_listen_address(*s); !addr) throw Invalid{at() + ": " + addr.error().message};
      return *s;
    };
    if (key == "state_dir") {
      auto s = string("a directory");
      if (!given.state_dir) o.state_dir = s;
    } else if (key == "socket") {
      auto s = string("a path");
      if (!given.socket_path) o.socket_path = s;
    } else if (key == "jobs_dir") {
      auto s = string("a directory");
      if (!given.jobs_dir) o.jobs_dir = s;
    } else if (key == "slots") {
      auto n = value.value<int64_t>();
      // 0: this node runs nothing itself (a coordinator whose workers run everything).
      if (!value.is_integer() || !n || *n < 0 || *n > 100000)
        throw Invalid{at() + ": expected a number of slots, 0 to 100000"};
      if (!given.slots) o.slots = static_cast<int>(*n);
    } else if (key == "name") {
      auto s = value.value<std::string>();
      if (!s || !job::sched::valid_name(*s))
        throw Invalid{at() + ": expected a node name (letters, digits, '.', '_', '-')"};
      if (!given.name) o.name = *s;
    } else if (key == "tags") {
      const auto* table = value.as_table();
      if (!table) throw Invalid{at() + ": expected a table of strings, such as { disk = \"ssd\" }"};
      for (const auto& [k, v] : *table) {
        auto s = v.value<std::string>();
        if (!s || !job::sched::valid_name(k.str())) throw Invalid{at() + ": expected a table of strings"};
        o.tags[std::string(k.str())] = *s;
      }
    } else if (key == "coordinator") {
      auto s = value.value<std::string>();
      if (!s || s->rfind(':') == std::string::npos)
        throw Invalid{at() + ": expected the coordinator's HOST:PORT, such as \"coord.example.com:7465\""};
      if (!given.join) o.coordinator = *s;
    } else if (key == "heartbeat") {
      o.heartbeat = duration("1s");
    } else if (key == "unhealthy_after") {
      o.unhealthy_after = duration("5s");
    } else if (key == "down_after") {
      o.down_after = duration("15s");
    } else if (key == "kill_grace") {
      o.kill_grace = duration("10s");
    } else if (key == "keep_for") {
      o.keep_for = duration("30d");
    } else if (key == "log_max_bytes") {
      auto n = value.value<int64_t>();
      if (!value.is_integer() || !n || *n < 1) throw Invalid{at() + ": expected a positive number of bytes"};
      o.log_max_bytes = *n;
    } else if (key == "log_level") {
      auto s = value.value<std::string>();
      auto level =
          std::find_if(kLevels.begin(), kLevels.end(), [&](Level l) { return s && level_name(l) == *s; });
      if (level == kLevels.end())
        throw Invalid{
            fmt::format("{}: {} is not a log level (expected \"debug\", \"info\", \"warning\" or \"error\")",
                        at(), s ? fmt::format("\"{}\"", *s) : std::string("the value"))};
      o.log_level = *level;
    } else if (key == "metrics_listen") {
      const std::string s = listen_address("127.0.0.1:9465");
      if (!given.metrics_listen) o.metrics_listen = s;
    } else if (key == "listen") {
      const std::string s = listen_address("0.0.0.0:7465");
      if (!given.listen) o.listen = s;
    } else if (key == "token_file") {
      auto s = value.value<std::string>();
      if (!s || s->empty()) throw Invalid{at() + ": expected a file name as a string"};
      if (!given.token_file) o.token_file = *s;
    } else if (key == "tls_cert" || key == "tls_key" || key == "tls_client_ca" || key == "tls_ca") {
      auto s = value.value<std::string>();
      if (!s || s->empty()) throw Invalid{at() + ": expected a PEM file's name as a string"};
      (key == "tls_cert"  ? o.tls_cert
       : key == "tls_key" ? o.tls_key
       : key == "tls_ca"  ? o.tls_ca
                          : o.tls_client_ca) = absolute(*s);
    } else if (key == "insecure_tcp") {
      auto b = value.value<bool>();
      if (!value.is_boolean() || !b) throw Invalid{at() + ": expected true or false"};
      o.insecure_tcp = *b;
    } else if (key == "metrics_max_jobs") {
      auto n = value.value<int64_t>();
      if (!value.is_integer() || !n || *n < 0 || *n > 100000)
        throw Invalid{at() + ": expected a number of jobs, 0 to 100000"};
      o.metrics_max_jobs = static_cast<size_t>(*n);
    } else if (key == "max_connections_per_peer") {
      auto n = value.value<int64_t>();
      if (!value.is_integer() || !n || *n < 0 || *n > 1000000)
        throw Invalid{at() + ": expected a number of connections, 0 (no limit) to 1000000"};
      o.max_connections_per_peer = static_cast<int>(*n);
    } else if (key == "admin_group") {
      auto s = value.value<std::string>();
      if (!s) throw Invalid{at() + ": expected a group name as a string"};
      o.admin_group = *s;
    } else if (key == "max_request_bytes") {
      auto n = value.value<int64_t>();
      if (!value.is_integer() || !n || *n < 1024 || static_cast<size_t>(*n) > job::proto::kMaxFrame)
        throw Invalid{fmt::format("{}: expected a number of bytes, 1024 to {}", at(), job::proto::kMaxFrame)};
      o.max_request_bytes = static_cast<size_t>(*n);
    } else if (key == "idle_timeout") {
      o.idle_timeout = duration("10m");
    } else if (key == "submit_rate" || key == "submit_burst") {
      auto n = value.value<double>();
      if (!(value.is_integer() || value.is_floating_point()) || !n || *n < 0 || *n > 1e9)
        throw Invalid{at() + (key == "submit_rate" ? ": expected submits a second, 0 (no limit) or more"
                                                   : ": expected a number of submits, 0 or more")};
      (key == "submit_rate" ? o.submit_rate : o.submit_burst) = *n;
    } else if (key == "audit_keep") {
      auto n = value.value<int64_t>();
      if (!value.is_integer() || !n || *n < 0) throw Invalid{at() + ": expected a number of entries, 0 (all) or more"};
      o.audit_keep = *n;
    } else if (key == "notify_attempts") {
      auto n = value.value<int64_t>();
      if (!value.is_integer() || !n || *n < 1 || *n > 20)
        throw Invalid{at() + ": expected a number of attempts, 1 to 20"};
      o.notify_attempts = static_cast<int>(*n);
    } else if (key == "notify_backoff") {
      o.notify_backoff = duration("1s");
      if (o.notify_backoff > std::chrono::hours{1}) throw Invalid{at() + ": at most 1h"};
    } else if (key == "defaults") {
      if (!value.is_table()) throw Invalid{at() + ": expected a table ([defaults])"};
      auto defaults = job::jobfile::defaults_from_keys(to_json(value));
      if (!defaults) throw Invalid{fmt::format("{}:{}:{}: {}", path, value.source().begin.line,
                                               value.source().begin.column, defaults.error().message)};
      o.defaults = std::move(*defaults);
    } else {
      auto near = job::jobfile::closest_word(key.str(), kKeys);
      throw Invalid{fmt::format("{}:{}:{}: unknown setting \"{}\" ({})", path, key.source().begin.line,
                                key.source().begin.column, key.str(),
                                near ? fmt::format("did you mean \"{}\"?", *near)
                                     : fmt::format("expected one of: {}", fmt::join(kKeys, ", ")))};
    }
  }
}

}  // namespace

std::string default_jobs_dir() {
  if (geteuid() == 0) return "/etc/jobd/jobs.d";
  if (auto xdg = env("XDG_CONFIG_HOME"); !xdg.empty()) return xdg + "/jobd/jobs.d";
  return env("HOME") + "/.config/jobd/jobs.d";
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warning:
      return "warning";
    case Level::error:
      return "error";
  }
  return "info";
}

job::Result<Options> load_options(const CommandLine& command_line) {
  Options o;
  o.slots = command_line.slots.value_or(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  o.state_dir = command_line.state_dir.value_or("");
  o.socket_path = command_line.socket_path.value_or("");
  o.jobs_dir = command_line.jobs_dir.value_or("");
  o.metrics_listen = command_line.metrics_listen.value_or("");
  o.listen = command_line.listen.value_or("");
  o.token_file = command_line.token_file.value_or("");
  o.name = command_line.name.value_or("");
  o.coordinator = command_line.join.value_or("");
  try {
    if (!command_line.config_path.empty()) read_file(command_line.config_path, command_line, o);
  } catch (const Invalid& e) {
    return Error{Errc::invalid_argument, e.message};
  }
  if (o.state_dir.empty()) o.state_dir = job::proto::default_state_dir();
  if (o.socket_path.empty()) o.socket_path = job::proto::default_socket_path();
  if (o.jobs_dir.empty()) o.jobs_dir = default_jobs_dir();
  o.state_dir = absolute(o.state_dir);
  o.jobs_dir = absolute(o.jobs_dir);
  for (const auto& [flag, address] : {std::pair{"--metrics-listen", &command_line.metrics_listen},
                                      std::pair{"--listen", &command_line.listen}})
    if (*address && !(*address)->empty())
      if (auto addr = parse_listen_address(**address); !addr)
        return Error{Errc::invalid_argument, std::string(flag) + ": " + addr.error().message};
  for (const std::string& tag : command_line.tags) {
    auto kv = parse_tag(tag);
    if (!kv) return Error{Errc::invalid_argument, "--tag: " + kv.error().message};
    o.tags[kv->first] = kv->second;
  }
  if (o.name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    o.name = host;
  }
  if (!job::sched::valid_name(o.name))
    return Error{Errc::invalid_argument,
                 fmt::format("name \"{}\": not a node name (letters, digits, '.', '_', '-'; set one with --name)", o.name)};
  if (!(o.heartbeat < o.unhealthy_after && o.unhealthy_after < o.down_after))
    return Error{Errc::invalid_argument, "heartbeat < unhealthy_after < down_after is needed"};
  if (!o.token_file.empty()) {
    o.token_file = absolute(o.token_file);
    auto token = read_token_file(o.token_file);
    if (!token) return token.error();
    o.token = std::move(*token);
  }
  if (!o.coordinator.empty() && o.token.empty())
    return Error{Errc::invalid_argument,
                 fmt::format("joining {} needs a token_file (--token-file): the coordinator's token", o.coordinator)};
  if (!o.coordinator.empty() && !o.listen.empty())
    return Error{Errc::invalid_argument, "a worker (--join) does not listen: give --join or --listen, not both"};
  if (!o.listen.empty() && o.tls_cert.empty() && !o.insecure_tcp)
    if (auto addr = parse_listen_address(o.listen); addr && !is_loopback(*addr))
      return Error{Errc::invalid_argument,
                   fmt::format("listen {}: not a loopback address, and without TLS the token and every request "
                               "would cross the network in clear: set tls_cert and tls_key in jobd.toml, or "
                               "insecure_tcp = true",
                               o.listen)};
  if (o.tls_cert.empty() != o.tls_key.empty())
    return Error{Errc::invalid_argument, "tls_cert and tls_key go together: give both or neither"};
  if (!o.tls_client_ca.empty() && o.tls_cert.empty())
    return Error{Errc::invalid_argument,
                 "tls_client_ca needs tls_cert and tls_key: client certificates are asked for over TLS"};
  if (!o.tls_cert.empty() && o.listen.empty() && o.coordinator.empty())
    return Error{Errc::invalid_argument,
                 "tls_cert is for the TCP listener (listen) or a worker (--join): neither is set"};
  if (!o.tls_cert.empty() && !o.coordinator.empty() && o.tls_ca.empty())
    return Error{Errc::invalid_argument,
                 "a worker shows tls_cert and tls_key to a TLS coordinator: set tls_ca, to verify it with"};
  if (!o.tls_ca.empty() && o.coordinator.empty())
    return Error{Errc::invalid_argument,
                 "tls_ca verifies the coordinator a worker joins (--join): not a worker"};
  if (!job::proto::unix_address(o.socket_path))
    return Error{Errc::invalid_argument,
                 fmt::format("socket path too long ({} bytes, at most {}): {}", o.socket_path.size(),
                             sizeof(sockaddr_un::sun_path) - 1, o.socket_path)};
  return o;
}

}  // namespace jobd
