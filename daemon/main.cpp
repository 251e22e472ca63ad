// jobd: the job scheduler daemon. Always in the foreground, logging to
// stderr; see jobd(8). Parses options and jobd.toml, takes the state
// directory's lock, opens the database and hands over to the Server.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>
#include <thread>

#include "log.hpp"
#include "proto/paths.hpp"
#include "server.hpp"
#include "time/duration.hpp"

namespace {

constexpr int kExitFatal = 1;  // could not start or keep running
constexpr int kExitUsage = 2;  // bad options or configuration

struct ConfigError {
  std::string message;
};

// jobd.toml (jobd(8), CONFIGURATION): the same settings as the options, which win.
void read_config(const std::string& path, jobd::Options& o, bool has_state, bool has_socket, bool has_slots) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError{fmt::format("{}:{}:{}: {}", path, where.line, where.column, e.description())};
  }
  for (const auto& [key, value] : t) {
    const auto at = [&, k = key] {
      return fmt::format("{}:{}:{}: {}", path, k.source().begin.line, k.source().begin.column, k.str());
    };
    // A duration setting's value; `example` shows what one looks like.
    const auto duration = [&](const char* example) {
      auto s = value.value<std::string>();
      auto d = s ? job::time::parse_duration(*s) : job::Result<job::time::Duration>(job::Error{});
      if (!s || !d)
        throw ConfigError{
            at() + ": " +
            (s ? d.error().message : fmt::format("expected a duration such as \"{}\"", example))};
      return *d;
    };
    if (key == "state_dir" || key == "socket") {
      auto s = value.value<std::string>();
      if (!s) throw ConfigError{at() + ": expected a string"};
      if (key == "state_dir" && !has_state) o.state_dir = *s;
      if (key == "socket" && !has_socket) o.socket_path = *s;
    } else if (key == "slots") {
      auto n = value.value<int64_t>();
      if (!n || *n < 1 || *n > 100000) throw ConfigError{at() + ": expected a number of slots, 1 to 100000"};
      if (!has_slots) o.slots = static_cast<int>(*n);
    } else if (key == "kill_grace") {
      o.kill_grace = duration("10s");
    } else if (key == "keep_for") {
      o.keep_for = duration("30d");
    } else if (key == "log_max_bytes") {
      auto n = value.value<int64_t>();
      if (!n || *n < 1) throw ConfigError{at() + ": expected a positive number of bytes"};
      o.log_max_bytes = *n;
    } else {
      throw ConfigError{
          at() +
          ": unknown setting (expected state_dir, socket, slots, kill_grace, keep_for, log_max_bytes)"};
    }
  }
}

// Holds <state>/jobd.lock for the life of the process: a second jobd on the
// same state directory must not start.
bool take_lock(const std::string& state_dir, std::string& why) {
  const std::string path = state_dir + "/jobd.lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    why = fmt::format("cannot open {}: {}", path, std::strerror(errno));
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    const ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    why = fmt::format("another jobd{} is using the state directory {}",
                      n > 0 ? fmt::format(" (pid {})", std::string(pid, static_cast<size_t>(n))) : "",
                      state_dir);
    close(fd);
    return false;
  }
  const std::string mine = std::to_string(getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, mine.data(), mine.size(), 0) < 0) {
    // The lock holds even if the pid cannot be written down.
  }
  return true;  // fd stays open, and locked, until exit
}

}  // namespace

int main(int argc, char** argv) {
  jobd::Options options;
  std::string config_path;
  CLI::App app{"jobd: the job scheduler daemon (see jobd(8))", "jobd"};
  auto* state_opt = app.add_option("--state-dir", options.state_dir, "where the database and run logs live");
  auto* socket_opt = app.add_option("--socket", options.socket_path, "the Unix socket to listen on");
  auto* slots_opt = app.add_option("--slots", options.slots, "runs allowed at once (default: number of CPUs)")
                        ->check(CLI::Range(1, 100000));
  app.add_option("--config", config_path, "a jobd.toml file")->check(CLI::ExistingFile);
  app.set_version_flag("--version", JOBD_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "jobd: {} (see jobd --help)\n", e.what());
    return kExitUsage;
  }
  if (!slots_opt->count())
    options.slots = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  try {
    if (!config_path.empty())
      read_config(config_path, options, state_opt->count() > 0, socket_opt->count() > 0,
                  slots_opt->count() > 0);
  } catch (const ConfigError& e) {
    fmt::print(stderr, "jobd: {}\n", e.message);
    return kExitUsage;
  }
  if (options.state_dir.empty()) options.state_dir = job::proto::default_state_dir();
  if (options.socket_path.empty()) options.socket_path = job::proto::default_socket_path();

  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  std::filesystem::create_directories(std::filesystem::path(options.socket_path).parent_path(), ec);
  options.state_dir = std::filesystem::absolute(options.state_dir).string();
  std::string why;
  if (!take_lock(options.state_dir, why)) {
    jobd::log(jobd::Level::error, "jobd: {}", why);
    return kExitFatal;
  }
  std::signal(SIGPIPE, SIG_IGN);

  auto zone = job::time::local_zone();
  if (!zone) {
    jobd::log(jobd::Level::error, "jobd: {}", zone.error().message);
    return kExitUsage;
  }
  auto store = job::store::Store::open(options.state_dir + "/jobd.db");
  if (!store) {
    jobd::log(jobd::Level::error, "jobd: {}", store.error().message);
    return kExitFatal;
  }
  jobd::Server server(options, std::move(*store), *zone);
  if (auto e = server.start()) {
    jobd::log(jobd::Level::error, "jobd: {}", e->message);
    return kExitFatal;
  }
  server.run();
  return 0;
}
