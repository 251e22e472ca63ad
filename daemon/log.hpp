// jobd logs one line per event to stderr. Under systemd (JOURNAL_STREAM is
// set) each line starts with a syslog priority such as "<6>", which journald
// reads as the line's level; by hand, lines are plain.
#pragma once

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace jobd {

enum class Level { error = 3, warning = 4, info = 6 };

template <class... Args>
void log(Level level, fmt::format_string<Args...> format, Args&&... args) {
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  std::string line = journal ? fmt::format("<{}>", static_cast<int>(level)) : std::string();
  line += fmt::format(format, std::forward<Args>(args)...);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace jobd
