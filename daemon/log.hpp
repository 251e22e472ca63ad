// jobd logs one line per event to stderr. Under systemd (JOURNAL_STREAM is
// set) each line starts with a syslog priority such as "<6>", which journald
// reads as the line's level; by hand, lines are plain. Lines less severe
// than min_log_level (jobd.toml's log_level) are not written.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

namespace jobd {

enum class Level { error = 3, warning = 4, info = 6, debug = 7 };  // syslog priorities

inline std::atomic<Level> min_log_level{Level::info};

template <class... Args>
void log(Level level, fmt::format_string<Args...> format, Args&&... args) {
  if (static_cast<int>(level) > static_cast<int>(min_log_level.load(std::memory_order_relaxed))) return;
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string line = journal ? fmt::format("<{}>", static_cast<int>(level)) : std::string();
  line += fmt::format(format, std::forward<Args>(args)...);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace jobd
