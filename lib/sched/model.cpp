#include "sched/model.hpp"

#include <array>
#include <charconv>

namespace job::sched {
namespace {
constexpr std::array<std::string_view, 4> kTriggers = {"now", "cron", "at", "every"};
}

std::string_view name(JobSpec::Trigger t) { return kTriggers[static_cast<size_t>(t)]; }

std::optional<JobSpec::Trigger> trigger_from(std::string_view s) {
  for (size_t i = 0; i < kTriggers.size(); ++i)
    if (kTriggers[i] == s) return static_cast<JobSpec::Trigger>(i);
  return std::nullopt;
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
