#include "time/duration.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>

namespace job::time {
namespace {

struct Unit {
  std::string_view name;
  int64_t micros;
};

// Longest names first, so "ms" is not read as "m" followed by garbage.
constexpr std::array<Unit, 7> kUnits = {{
    {"us", 1},
    {"ms", 1'000},
    {"s", 1'000'000},
    {"m", 60'000'000},
    {"h", 3'600'000'000},
    {"d", 86'400'000'000},
    {"w", 604'800'000'000},
}};

std::optional<int64_t> unit_micros(std::string_view name) {
  for (const Unit& u : kUnits)
    if (u.name == name) return u.micros;
  return std::nullopt;
}

// Spelled-out unit names that people type, mapped to our symbols.
std::optional<int64_t> loose_unit_micros(std::string_view word) {
  std::string w;
  for (char c : word) w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (w.size() > 1 && w.back() == 's' && w != "us" && w != "ms") w.pop_back();
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kWords = {{
      {"microsecond", "us"},
      {"usec", "us"},
      {"millisecond", "ms"},
      {"msec", "ms"},
      {"second", "s"},
      {"sec", "s"},
      {"minute", "m"},
      {"min", "m"},
      {"hour", "h"},
      {"hr", "h"},
      {"day", "d"},
      {"week", "w"},
  }};
  if (auto m = unit_micros(w)) return m;
  for (auto [name, symbol] : kWords)
    if (name == w) return unit_micros(symbol);
  return std::nullopt;
}

// Reads "2 hours", "1.5h", "90 s", "1h 30m": numbers (possibly with a
// fraction) each followed by a unit word, separated by optional spaces.
// Only used to suggest the canonical spelling after a strict parse failed.
std::optional<Duration> parse_loosely(std::string_view s) {
  double total = 0;
  size_t i = 0;
  bool any = false;
  auto skip_spaces = [&] {
    while (i < s.size() && s[i] == ' ') ++i;
  };
  skip_spaces();
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i || i - start > 18) return std::nullopt;
    double number = 0;
    try {
      number = std::stod(std::string(s.substr(start, i - start)));
    } catch (...) {
      return std::nullopt;
    }
    skip_spaces();
    start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    auto micros = loose_unit_micros(s.substr(start, i - start));
    if (!micros) return std::nullopt;
    total += number * static_cast<double>(*micros);
    any = true;
    skip_spaces();
    if (i < s.size() && s[i] == ',') ++i;
    skip_spaces();
    if (i + 3 < s.size() && s.substr(i, 4) == "and ") i += 4;
  }
  if (!any || total < 1 || total > 1e17) return std::nullopt;
  return Duration{static_cast<int64_t>(total)};
}

Error not_a_duration(std::string_view text) {
  std::string message = fmt::format("\"{}\" is not a duration", text);
  if (auto loose = parse_loosely(text))
    message += fmt::format(" (try \"{}\")", format_duration(*loose));
  else
    message += " (write a number and a unit: us, ms, s, m, h, d, w; e.g. \"90s\", \"1h30m\")";
  return Error{Errc::invalid_duration, message};
}

}  // namespace

Result<Duration> parse_duration(std::string_view text) {
  if (text.empty()) return Error{Errc::invalid_duration, "empty duration (e.g. \"90s\", \"1h30m\")"};
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    int64_t number = 0;
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (number > (std::numeric_limits<int64_t>::max() - 9) / 10)
        return Error{Errc::invalid_duration, fmt::format("duration \"{}\" is too large", text)};
      number = number * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    auto micros = unit_micros(text.substr(unit_start, i - unit_start));
    if (digits == 0 || !micros) return not_a_duration(text);
    int64_t part = 0;
    if (__builtin_mul_overflow(number, *micros, &part) || __builtin_add_overflow(total, part, &total))
      return Error{Errc::invalid_duration, fmt::format("duration \"{}\" is too large", text)};
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  int64_t us = d.count();
  if (us == 0) return "0s";
  std::string out;
  if (us < 0) {
    out += '-';
    us = -us;
  }
  // Largest units first; weeks are left out because "14d" reads better than "2w".
  for (auto it = kUnits.rbegin() + 1; it != kUnits.rend(); ++it) {
    if (us >= it->micros) {
      out += fmt::format("{}{}", us / it->micros, it->name);
      us %= it->micros;
    }
  }
  return out;
}

}  // namespace job::time
