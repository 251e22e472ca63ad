#include "sched/model.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace job::sched {
namespace {
constexpr std::array<std::string_view, 4> kTriggers = {"now", "cron", "at", "every"};
constexpr std::array<std::string_view, 3> kConcurrency = {"allow", "forbid", "replace"};
constexpr std::array<std::string_view, 3> kCatchup = {"none", "last", "all"};
constexpr std::array<std::string_view, 3> kAfterRules = {"success", "done", "failure"};
constexpr std::array<std::string_view, 4> kNotifyEvents = {"failure", "success", "retry", "skipped"};

template <class E, size_t N>
std::optional<E> from_names(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view name(JobSpec::Trigger t) { return kTriggers[static_cast<size_t>(t)]; }
std::optional<JobSpec::Trigger> trigger_from(std::string_view s) {
  return from_names<JobSpec::Trigger>(kTriggers, s);
}
std::string_view name(JobSpec::Concurrency c) { return kConcurrency[static_cast<size_t>(c)]; }
std::optional<JobSpec::Concurrency> concurrency_from(std::string_view s) {
  return from_names<JobSpec::Concurrency>(kConcurrency, s);
}
std::string_view name(AfterSpec::Rule r) { return kAfterRules[static_cast<size_t>(r)]; }
std::optional<AfterSpec::Rule> after_rule_from(std::string_view s) {
  return from_names<AfterSpec::Rule>(kAfterRules, s);
}
std::string_view name(JobSpec::Catchup c) { return kCatchup[static_cast<size_t>(c)]; }
std::optional<JobSpec::Catchup> catchup_from(std::string_view s) {
  return from_names<JobSpec::Catchup>(kCatchup, s);
}

std::string_view name(NotifySpec::Event e) { return kNotifyEvents[static_cast<size_t>(e)]; }
std::optional<NotifySpec::Event> notify_event_from(std::string_view s) {
  return from_names<NotifySpec::Event>(kNotifyEvents, s);
}
bool NotifySpec::wants(Event e) const { return std::find(on.begin(), on.end(), e) != on.end(); }

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '-' || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string qualified_name(std::string_view ns, std::string_view name) {
  std::string q;
  q.reserve(ns.size() + 1 + name.size());
  q.append(ns).append("/").append(name);
  return q;
}

std::string job_ref(int64_t id) { return "j" + std::to_string(id); }
std::string run_ref(int64_t id) { return "r" + std::to_string(id); }

std::optional<int64_t> parse_ref(std::string_view text, char prefix) {
  if (text.size() < 2 || text[0] != prefix || text[1] == '0') return std::nullopt;
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data() + 1, text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

}  // namespace job::sched
