#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "output.hpp"

namespace jobctl {

Progress::Progress() : enabled_(isatty(STDERR_FILENO) == 1) {}

void Progress::show(const std::string& text) {
  if (!enabled_) return;
  winsize ws{};
  const size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1u : 79u;
  // One line whatever the width: a wrapped line could not be rewritten by \r.
  const std::string line = "\r" + fit(text, width) + "\033[K";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace jobctl
