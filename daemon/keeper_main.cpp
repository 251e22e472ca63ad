// `jobd --keeper`: holds the list of a worker's runs and kills them when the
// worker is gone (keeper.hpp says why). One thread, blocking reads.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <string>

#include "keeper.hpp"

namespace jobd {

namespace {

constexpr useconds_t kPace = 20'000;

// Whether process `pid`'s environment holds `entry` ("JOBD_RUN_ID=r42").
bool has_entry(const char* pid, const std::string& entry) {
  const int fd = open((std::string("/proc/") + pid + "/environ").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string env;
  char buffer[8192];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) env.append(buffer, static_cast<size_t>(n));
  close(fd);
  for (size_t at = 0; at < env.size();) {
    const size_t end = env.find('\0', at);
    if (env.compare(at, (end == std::string::npos ? env.size() : end) - at, entry) == 0) return true;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return false;
}

// Runs the worker had asked to start but had not (or not yet told us) the
// group of: every process carrying their marker, and its group.
void kill_marked(const std::map<int64_t, std::string>& markers) {
  if (markers.empty()) return;
  DIR* proc = opendir("/proc");
  if (!proc) return;
  const pid_t self = getpid();
  while (const dirent* e = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == self) continue;
    for (const auto& [run, marker] : markers)
      if (has_entry(e->d_name, marker)) {
        const pid_t group = getpgid(static_cast<pid_t>(pid));
        if (group > 0) kill(-group, SIGKILL);
        kill(static_cast<pid_t>(pid), SIGKILL);
        break;
      }
  }
  closedir(proc);
}

}  // namespace

int keeper_main() {
  // A Ctrl-C or a SIGTERM to the worker's process group must leave us to
  // outlive it and end its runs.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) std::signal(sig, SIG_IGN);
  if (fcntl(kKeeperFd, F_SETFD, FD_CLOEXEC) != 0) return 1;
  std::map<int64_t, pid_t> groups;          // run -> its process group; 0: not told yet
  std::map<int64_t, std::string> markers;   // run -> its JOBD_RUN_ID entry
  keeper_wire::Reader reader;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = read(kKeeperFd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the worker is gone
    // Nothing here is urgent but the end of file: let a few runs' frames
    // gather in the socket rather than wake for each (on two cores the
    // wake-ups cost the runs' own start rate). The runs then die within
    // kPace of the worker.
    if (static_cast<size_t>(n) < sizeof buffer) usleep(kPace);
    reader.feed(std::string_view(buffer, static_cast<size_t>(n)));
    while (auto m = reader.next()) {
      switch (m->kind) {
        case keeper_wire::Kind::hold:
          groups[m->run] = 0;
          markers[m->run] = std::move(m->marker);
          break;
        case keeper_wire::Kind::started:
          groups[m->run] = m->pid;
          break;
        case keeper_wire::Kind::ended:
          groups.erase(m->run);
          markers.erase(m->run);
          break;
      }
    }
    if (reader.bad()) break;  // not a worker's: end what we hold all the same
  }
  std::map<int64_t, std::string> untold;
  for (const auto& [run, group] : groups)
    if (group > 0)
      kill(-group, SIGKILL);
    else if (auto m = markers.find(run); m != markers.end())
      untold.insert(*m);
  kill_marked(untold);
  return 0;
}

}  // namespace jobd
