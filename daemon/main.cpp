// jobd: the job scheduler daemon. Always in the foreground, logging to
// stderr; see jobd(8). Parses options and jobd.toml (config.hpp), takes the
// state directory's lock, opens the database and hands over to the Server.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <filesystem>

#include "config.hpp"
#include "keeper.hpp"
#include "log.hpp"
#include "server.hpp"
#include "worker_node.hpp"

namespace {

constexpr int kExitFatal = 1;  // could not start or keep running
constexpr int kExitUsage = 2;  // bad options or configuration

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
  // Not an option users give: a worker starts its keeper so (keeper.hpp).
  if (argc == 2 && std::string_view(argv[1]) == "--keeper") return jobd::keeper_main();
  jobd::CommandLine command_line;
  std::string state_dir, socket_path, jobs_dir, metrics_listen, listen, token_file;
  int slots = 0;
  bool check_config = false;
  CLI::App app{"jobd: the job scheduler daemon (see jobd(8))", "jobd"};
  auto* state_opt = app.add_option("--state-dir", state_dir, "where the database and run logs live");
  auto* socket_opt = app.add_option("--socket", socket_path, "the Unix socket to listen on");
  auto* slots_opt = app.add_option("--slots", slots, "runs allowed at once (default: number of CPUs)")
                        ->check(CLI::Range(0, 100000));
  auto* jobs_dir_opt = app.add_option("--jobs-dir", jobs_dir, "the directory of jobs.toml files to watch");
  auto* metrics_opt = app.add_option("--metrics-listen", metrics_listen,
                                     "serve Prometheus metrics over HTTP on HOST:PORT (e.g. 127.0.0.1:9465)");
  auto* listen_opt = app.add_option("--listen", listen,
                                    "also serve the protocol over TCP on HOST:PORT (needs --token-file)");
  auto* token_opt = app.add_option("--token-file", token_file, "the cluster token TCP clients must send");
  std::string name, join;
  auto* join_opt = app.add_option("--join", join, "run as a worker of the coordinator at HOST:PORT (needs --token-file)");
  auto* name_opt = app.add_option("--name", name, "this node's name in a cluster (default: the host name)");
  app.add_option("--tag", command_line.tags, "a tag of this node, KEY=VALUE (repeatable), for job constraints");
  app.add_option("--config", command_line.config_path, "a jobd.toml file")->check(CLI::ExistingFile);
  app.add_flag("--check-config", check_config,
               "check the options and jobd.toml, then exit (0: valid, 2: not)");
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
  if (state_opt->count()) command_line.state_dir = state_dir;
  if (socket_opt->count()) command_line.socket_path = socket_path;
  if (slots_opt->count()) command_line.slots = slots;
  if (jobs_dir_opt->count()) command_line.jobs_dir = jobs_dir;
  if (metrics_opt->count()) command_line.metrics_listen = metrics_listen;
  if (listen_opt->count()) command_line.listen = listen;
  if (token_opt->count()) command_line.token_file = token_file;
  if (name_opt->count()) command_line.name = name;
  if (join_opt->count()) command_line.join = join;
  auto loaded = jobd::load_options(command_line);
  if (!loaded) {
    fmt::print(stderr, "jobd: {}\n", loaded.error().message);
    return kExitUsage;
  }
  jobd::Options options = std::move(*loaded);
  if (sodium_init() < 0) {
    fmt::print(stderr, "jobd: libsodium failed to initialise\n");
    return 1;
  }
  auto zone = job::time::local_zone();
  if (!zone) {
    fmt::print(stderr, "jobd: {}\n", zone.error().message);
    return kExitUsage;
  }
  if (check_config) {
    fmt::print("jobd: configuration OK\n");
    return 0;
  }
  jobd::min_log_level = options.log_level;

  std::error_code ec;
  std::filesystem::create_directories(options.state_dir, ec);
  std::filesystem::create_directories(std::filesystem::path(options.socket_path).parent_path(), ec);
  std::string why;
  if (!take_lock(options.state_dir, why)) {
    jobd::log(jobd::Level::error, "jobd: {}", why);
    return kExitFatal;
  }
  std::signal(SIGPIPE, SIG_IGN);

  if (!options.coordinator.empty()) {
    std::string coordinator = options.coordinator;
    return jobd::WorkerNode(std::move(options), std::move(coordinator)).run();
  }
  auto store = job::store::Store::open(options.state_dir + "/jobd.db");
  if (!store) {
    jobd::log(jobd::Level::error, "jobd: {}", store.error().message);
    return kExitFatal;
  }
  jobd::Server server(std::move(command_line), std::move(options), std::move(*store), *zone);
  if (auto e = server.start()) {
    jobd::log(jobd::Level::error, "jobd: {}", e->message);
    return kExitFatal;
  }
  server.run();
  return 0;
}
