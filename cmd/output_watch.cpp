#include "output_watch.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace jobctl {

namespace {
// Without a watch (no file yet, or no inotify), look this often.
constexpr std::chrono::milliseconds kUnwatchedPoll{100};
}  // namespace

OutputWatch::OutputWatch(std::string path) : path_(std::move(path)) {
  fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  arm();
}

OutputWatch::~OutputWatch() {
  if (fd_ >= 0) close(fd_);
}

bool OutputWatch::arm() {
  if (watch_ >= 0) return true;
  if (fd_ < 0) return false;
  watch_ = inotify_add_watch(fd_, path_.c_str(), IN_MODIFY | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF);
  return watch_ >= 0;
}

OutputWatch::Woken OutputWatch::wait(std::chrono::milliseconds timeout) {
  if (!arm()) {
    poll(nullptr, 0, static_cast<int>(std::min(timeout, kUnwatchedPoll).count()));
    return Woken::timeout;
  }
  pollfd p{fd_, POLLIN, 0};
  int rc;
  do rc = poll(&p, 1, static_cast<int>(timeout.count()));
  while (rc < 0 && errno == EINTR);
  if (rc <= 0) return Woken::timeout;
  alignas(inotify_event) char buf[4096];
  Woken woken = Woken::grew;
  ssize_t n;
  while ((n = read(fd_, buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + i);
      if (e->mask & (IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) woken = Woken::closed;
      // The file was replaced (trimmed to its tail): watch the new one.
      if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) watch_ = -1;
      i += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  return woken;
}

}  // namespace jobctl
