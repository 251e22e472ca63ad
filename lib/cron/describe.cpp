#include "cron/describe.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>
#include <vector>

#include "time/duration.hpp"

namespace job::cron {
namespace {

constexpr std::array<std::string_view, 13> kMonths = {
    "",     "January", "February",  "March",   "April",    "May",     "June",
    "July", "August",  "September", "October", "November", "December"};
constexpr std::array<std::string_view, 7> kDays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                   "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 5> kOrdinals = {"first", "second", "third", "fourth", "fifth"};

std::vector<int> values(uint64_t bits, int lo, int hi) {
  std::vector<int> v;
  for (int i = lo; i <= hi; ++i)
    if (bits & (uint64_t{1} << i)) v.push_back(i);
  return v;
}

uint64_t all_bits(int lo, int hi) {
  uint64_t b = 0;
  for (int i = lo; i <= hi; ++i) b |= uint64_t{1} << i;
  return b;
}

// "a, b and c".
std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

// Runs of consecutive values: "1 through 5, 10 and 12".
template <class Name>
std::string list(const std::vector<int>& v, Name name) {
  std::vector<std::string> items;
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (j - i >= 2) {
      items.push_back(fmt::format("{} through {}", name(v[i]), name(v[j])));
    } else {
      for (size_t k = i; k <= j; ++k) items.push_back(name(v[k]));
    }
    i = j + 1;
  }
  return join(items);
}

// The step n when v is lo, lo+n, lo+2n, ... up to the field's end, else 0.
int step_from(const std::vector<int>& v, int lo, int hi) {
  if (v.size() < 2 || v[0] != lo) return 0;
  const int n = v[1] - v[0];
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] - v[i - 1] != n) return 0;
  return v.back() + n > hi ? n : 0;
}

std::string number(int v) { return std::to_string(v); }
std::string two_digits(int v) { return fmt::format("{:02}", v); }

std::string plural(std::string_view word, size_t n) {
  return n == 1 ? std::string(word) : fmt::format("{}s", word);
}

std::string time_of_day(const Schedule& s) {
  const auto secs = values(s.seconds, 0, 59), mins = values(s.minutes, 0, 59), hours = values(s.hours, 0, 23);
  const bool all_secs = s.seconds == all_bits(0, 59), all_mins = s.minutes == all_bits(0, 59),
             all_hours = s.hours == all_bits(0, 23);
  const bool zero_secs = secs.size() == 1 && secs[0] == 0;

  // Fixed times of day: "At 03:00", "At 09:00 and 17:00:30".
  if (secs.size() == 1 && mins.size() == 1 && hours.size() <= 4) {
    std::vector<std::string> times;
    for (int h : hours)
      times.push_back(zero_secs ? fmt::format("{:02}:{:02}", h, mins[0])
                                : fmt::format("{:02}:{:02}:{:02}", h, mins[0], secs[0]));
    return "at " + join(times);
  }

  std::vector<std::string> parts;
  if (all_secs) {
    parts.push_back("every second");
  } else if (int n = step_from(secs, 0, 59)) {
    parts.push_back(fmt::format("every {} seconds", n));
  } else if (!zero_secs) {
    parts.push_back(fmt::format("at {} {}", plural("second", secs.size()), list(secs, number)));
  }

  if (all_mins) {
    if (zero_secs) parts.push_back("every minute");
  } else if (int n = step_from(mins, 0, 59)) {
    parts.push_back(fmt::format("every {} minutes", n));
  } else {
    parts.push_back(fmt::format("at {} {}{}", plural("minute", mins.size()), list(mins, number),
                                all_hours ? " past every hour" : ""));
  }

  if (!all_hours) {
    if (int n = step_from(hours, 0, 23)) {
      parts.push_back(fmt::format("every {} hours", n));
    } else if (hours.size() > 1 && hours.back() - hours.front() + 1 == static_cast<int>(hours.size())) {
      parts.push_back(fmt::format("between {:02}:00 and {:02}:59", hours.front(), hours.back()));
    } else {
      parts.push_back(fmt::format("during {} {}", plural("hour", hours.size()), list(hours, two_digits)));
    }
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string day_of_month(const Schedule& s) {
  std::vector<std::string> parts;
  const auto days = values(s.days, 1, 31);
  if (!days.empty() && s.days != all_bits(1, 31)) {
    if (int n = step_from(days, 1, 31))
      parts.push_back(fmt::format("every {} days of the month starting on the 1st", n));
    else
      parts.push_back(fmt::format("on {} {} of the month", plural("day", days.size()), list(days, number)));
  }
  for (int n : values(s.days_before_last, 0, 30))
    parts.push_back(n == 0
                        ? std::string("on the last day of the month")
                        : fmt::format("{} {} before the last day of the month", n, plural("day", size_t(n))));
  for (int d : values(s.nearest_weekday, 1, 31))
    parts.push_back(fmt::format("on the weekday nearest day {} of the month", d));
  if (s.last_weekday_of_month) parts.push_back("on the last weekday of the month");
  return join(parts);
}

std::string day_of_week(const Schedule& s) {
  std::vector<std::string> parts;
  const auto days = values(s.weekdays, 0, 6);
  if (!days.empty() && s.weekdays != 0x7F) {
    const auto name = [](int d) { return std::string(kDays[static_cast<size_t>(d)]); };
    parts.push_back(days.size() >= 3 && days.back() - days.front() + 1 == static_cast<int>(days.size())
                        ? list(days, name)
                        : "on " + list(days, name));
  }
  for (int w : values(s.last_weekdays, 0, 6))
    parts.push_back(fmt::format("on the last {} of the month", kDays[static_cast<size_t>(w)]));
  for (int bit : values(s.nth_weekdays, 0, 34))
    parts.push_back(fmt::format("on the {} {} of the month", kOrdinals[static_cast<size_t>(bit / 7)],
                                kDays[static_cast<size_t>(bit % 7)]));
  return join(parts);
}

std::string months(const Schedule& s) {
  if (s.months == all_bits(1, 12)) return "";
  const auto m = values(s.months, 1, 12);
  if (int n = step_from(m, 1, 12)) return fmt::format("every {} months starting in January", n);
  const auto name = [](int v) { return std::string(kMonths[static_cast<size_t>(v)]); };
  return m.size() >= 3 && m.back() - m.front() + 1 == static_cast<int>(m.size()) ? list(m, name)
                                                                                 : "in " + list(m, name);
}

}  // namespace

std::string describe(const Schedule& s) {
  if (s.kind == Schedule::Kind::reboot) return "At jobd start-up";
  if (s.kind == Schedule::Kind::every)
    return fmt::format("Every {}, counted from the schedule's start", time::format_duration(s.period));

  std::string out = time_of_day(s);
  const std::string dom = day_of_month(s), dow = day_of_week(s);
  std::string days;
  if (!dom.empty() && !dow.empty())
    days = s.dom_star || s.dow_star ? fmt::format("{}, if it is also {}", dom, dow)
                                    : fmt::format("{}, or {}", dom, dow);
  else
    days = dom.empty() ? dow : dom;
  if (!days.empty()) out += ", " + days;
  if (const std::string m = months(s); !m.empty()) out += ", " + m;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace job::cron
