// `jobd --keeper`: the process that starts a worker's runs and ends them if
// the worker dies (keeper.hpp says why and what the wire carries). One
// thread, blocking calls, poll() on the socket and a signalfd for SIGCHLD.
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <set>

#include "keeper.hpp"

namespace jobd {

namespace proto = job::proto;

namespace {

class KeeperProcess {
 public:
  explicit KeeperProcess(int sigchld) : sigchld_(sigchld) {}

  // Until the worker's end of the socket closes (or breaks).
  void serve() {
    char buffer[64 * 1024];
    for (;;) {
      pollfd fds[2] = {{kKeeperFd, POLLIN, 0}, {sigchld_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents) reap();
      if (fds[0].revents) {
        const ssize_t n = read(kKeeperFd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        reader_.feed(std::string_view(buffer, static_cast<size_t>(n)));
        while (auto line = reader_.next())
          if (!handle(*line)) return;
        if (reader_.overflowed()) return;
      }
      if (broken_) return;
    }
  }

  // The worker is gone: so are its runs, grandchildren included.
  void kill_all() {
    for (pid_t pid : live_) ::kill(-pid, SIGKILL);
  }

 private:
  bool handle(const std::string& line) {
    const auto msg = proto::Json::parse(line, nullptr, false);
    if (msg.is_discarded() || !msg.is_object()) return false;  // not jobd: end, and end the runs
    if (msg.contains("spawn")) {
      const SpawnRequest request = spawn_from_wire(msg["spawn"]);
      auto spawned = spawn(request);
      proto::Json reply = {{"run", request.run}};
      if (spawned) {
        live_.insert(spawned->pid);
        reply["pid"] = spawned->pid;
        reply["start_ticks"] = spawned->start_ticks;
      } else {
        reply["error"] = spawned.error().message;
      }
      // Before it can be reaped: a run's "spawned" precedes its "exited".
      send(proto::Json{{"spawned", std::move(reply)}});
    } else if (msg.contains("kill")) {
      const pid_t pid = msg["kill"].value("pid", pid_t{0});
      // Only an unreaped child of ours: its pid, and so its group, is not
      // anyone else's yet.
      if (pid > 0 && live_.contains(pid)) ::kill(-pid, msg["kill"].value("signal", SIGTERM));
    }
    return true;
  }

  void reap() {
    signalfd_siginfo info;
    while (read(sigchld_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
      if (live_.erase(pid)) send(proto::Json{{"exited", {{"pid", pid}, {"status", status}}}});
  }

  // Blocking: the worker reads at once, and while it does not (stopped), we
  // have nothing better to do. A broken socket ends us.
  void send(const proto::Json& msg) {
    const std::string line = msg.dump(-1, ' ', false, proto::Json::error_handler_t::replace) + "\n";
    for (size_t done = 0; done < line.size() && !broken_;) {
      const ssize_t n = write(kKeeperFd, line.data() + done, line.size() - done);
      if (n > 0)
        done += static_cast<size_t>(n);
      else if (n < 0 && errno != EINTR)
        broken_ = true;
    }
  }

  int sigchld_;
  std::set<pid_t> live_;  // started, not reaped: their pids name their groups
  proto::LineReader reader_{proto::kMaxFrame};
  bool broken_ = false;
};

}  // namespace

int keeper_main() {
  // Not the runs' (jobd::spawn resets every signal for them); ours: a
  // Ctrl-C or a SIGTERM to the worker's group must leave us to outlive it and
  // end its runs, and a worker gone must not kill us by SIGPIPE.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(sig, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  const int sigchld = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigchld < 0 || fcntl(kKeeperFd, F_SETFD, FD_CLOEXEC) != 0) return 1;  // not the runs' either
  KeeperProcess keeper(sigchld);
  keeper.serve();
  keeper.kill_all();
  return 0;
}

}  // namespace jobd
