#include "systemd.hpp"

#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace jobd::systemd {

using job::Errc;
using job::Error;

job::Result<int> activated_socket() {
  const int n = sd_listen_fds(1);
  if (n < 0) return Error{Errc::internal, fmt::format("socket activation: {}", std::strerror(-n))};
  if (n == 0) return -1;
  if (n > 1)
    return Error{Errc::invalid_argument,
                 fmt::format("systemd passed {} sockets, jobd listens on one: give its socket unit a "
                             "single ListenStream= with a path",
                             n)};
  const int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
    return Error{Errc::invalid_argument,
                 "the socket systemd passed is not a listening Unix stream socket: give its socket unit "
                 "ListenStream= with a path"};
  return fd;
}

void Notifier::start(uv_loop_t* loop, std::string status) {
  status_ = std::move(status);
  // Read once and cleared, so that runs do not inherit the variables.
  if (sd_watchdog_enabled(1, &watchdog_usec_) <= 0) watchdog_usec_ = 0;
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  started_ = true;
  const uint64_t repeat_ms = watchdog_usec_ ? std::max<uint64_t>(1, watchdog_usec_ / 2 / 1000) : 0;
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<Notifier*>(t->data)->on_timer(); }, 0, repeat_ms);
}

void Notifier::on_timer() {
  if (!ready_sent_) {
    ready_sent_ = true;
    ready(status_);
  }
  if (watchdog_usec_) sd_notify(0, "WATCHDOG=1");
}

void Notifier::reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto usec = static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
                    static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  sd_notify(0,
            fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading the configuration", usec).c_str());
}

void Notifier::ready(const std::string& status) {
  ready_sent_ = true;
  sd_notify(0, fmt::format("READY=1\nSTATUS={}", status).c_str());
}

void Notifier::stopping(const std::string& status) {
  sd_notify(0, fmt::format("STOPPING=1\nSTATUS={}", status).c_str());
}

void Notifier::close() {
  if (started_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_)))
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

}  // namespace jobd::systemd
