// A progress line for long-running commands (wait, apply): shown on
// standard error only when it is a terminal, rewritten in place with \r,
// and erased when the Progress goes (before an error or a result is
// printed). Elsewhere, nothing: scripts and logs see only the outcome.
#pragma once

#include <string>

namespace jobctl {

class Progress {
 public:
  Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { clear(); }

  bool enabled() const { return enabled_; }
  // Replaces the line with `text`, cut to the terminal's width.
  void show(const std::string& text);
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace jobctl
