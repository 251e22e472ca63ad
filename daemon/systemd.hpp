// jobd under systemd: the notify protocol (sd_notify(3): READY, RELOADING,
// STOPPING, STATUS, and the watchdog's keep-alives) and socket activation
// (sd_listen_fds(3)). Without $NOTIFY_SOCKET, $WATCHDOG_USEC and $LISTEN_FDS
// all of it does nothing: jobd started by hand behaves as before.
// Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "error.hpp"

namespace jobd::systemd {

// The listening socket systemd passed, or -1 when it passed none. An error
// when it passed several, or one that is not a listening AF_UNIX stream
// socket. Clears $LISTEN_FDS and $LISTEN_PID: runs do not inherit them.
job::Result<int> activated_socket();

// Tells the service manager how jobd is doing.
class Notifier {
 public:
  // READY=1 with `status` at the loop's first turn (the socket listens
  // already); from then on WATCHDOG=1 every half watchdog period, when the
  // manager asked for keep-alives ($WATCHDOG_USEC, for this pid).
  void start(uv_loop_t* loop, std::string status);
  void reloading();                          // RELOADING=1: a SIGHUP is being handled
  void ready(const std::string& status);     // READY=1 again, after the reload
  void stopping(const std::string& status);  // STOPPING=1: shutdown has begun
  void close();                              // closes the timer; before the loop is closed

 private:
  void on_timer();

  uv_timer_t timer_{};
  std::string status_;
  uint64_t watchdog_usec_ = 0;
  bool started_ = false;
  bool ready_sent_ = false;
};

}  // namespace jobd::systemd
