// The C++ side of the differential test (cron_diff.py): evaluates many cron
// expressions in one process.
//
// Input, one case a line:   EXPR <TAB> FROM <TAB> COUNT <TAB> ZONE
//   EXPR   a cron expression (parse_cron, no H seed)
//   FROM   an RFC 3339 instant
//   COUNT  how many fire times to print (0..10000)
//   ZONE   an IANA zone name ("UTC", "Europe/Paris")
// Output, one line per input line, in order:
//   the COUNT next fire instants strictly after FROM, RFC 3339 in ZONE, joined
//   by TABs (each one the first fire strictly after the previous); "END" in
//   place of the remaining ones when the schedule stops firing before 10000;
//   or "ERROR <TAB> message" when the line cannot be evaluated.
#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cron/next.hpp"
#include "cron/parse.hpp"
#include "time/rfc3339.hpp"
#include "time/zone.hpp"

namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      parts.push_back(line.substr(start));
      return parts;
    }
    parts.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

// One output line (without its newline) for one input line.
std::string evaluate(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::vector<std::string_view> parts = split_tabs(line);
  if (parts.size() != 4)
    return "ERROR\texpected 4 TAB-separated fields EXPR FROM COUNT ZONE, found " +
           std::to_string(parts.size());

  int count = -1;
  const std::string_view count_text = parts[2];
  const auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (ec != std::errc{} || end != count_text.data() + count_text.size() || count < 0 || count > 10000)
    return "ERROR\tCOUNT \"" + std::string(count_text) + "\" is not a number 0-10000";

  const auto zone = job::time::find_zone(parts[3]);
  if (!zone) return "ERROR\t" + zone.error().message;
  const auto from = job::time::parse_rfc3339(parts[1]);
  if (!from) return "ERROR\t" + from.error().message;
  const auto schedule = job::cron::parse_cron(parts[0]);
  if (!schedule) return "ERROR\t" + schedule.error().message;

  std::string out;
  job::time::Instant after = *from;
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += '\t';
    const std::optional<job::time::Instant> fire = job::cron::next_fire_after(*schedule, after, *zone);
    if (!fire) {
      out += "END";
      break;
    }
    out += job::time::format_rfc3339(*fire, *zone);
    after = *fire;
  }
  return out;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  std::string out;
  while (std::getline(std::cin, line)) {
    out += evaluate(line);
    out += '\n';
    if (out.size() > (1u << 16)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  return std::cout ? 0 : 1;
}
