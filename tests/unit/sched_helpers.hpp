// What the scheduler tests share: a fake clock's instants, a plain job, and
// the actions a batch of inputs produced.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sched/scheduler.hpp"
#include "time/rfc3339.hpp"

namespace sched_test {

using job::sched::Action;
using job::sched::JobSpec;
using job::sched::Scheduler;
using job::time::Instant;

inline Instant at(const char* s) { return *job::time::parse_rfc3339(s); }
inline const Instant T0 = at("2026-01-01T00:01:00Z");

// A job running `true` now. No retries unless a test asks: most tests look
// at one attempt.
inline JobSpec spec(std::string name, int64_t priority = 0) {
  JobSpec s;
  s.name = std::move(name);
  s.priority = priority;
  s.argv = {"true"};
  s.retries = 0;
  return s;
}

// The runs the actions started, in order.
inline std::vector<int64_t> starts(const std::vector<Action>& actions) {
  std::vector<int64_t> out;
  for (const Action& a : actions)
    if (a.kind == Action::Kind::start) out.push_back(a.run);
  return out;
}
inline std::vector<int64_t> starts(Scheduler& s) { return starts(s.take_actions()); }

// (run, signal) of each signal action, in order.
inline std::vector<std::pair<int64_t, int>> signals(const std::vector<Action>& actions) {
  std::vector<std::pair<int64_t, int>> out;
  for (const Action& a : actions)
    if (a.kind == Action::Kind::signal) out.emplace_back(a.run, a.signal);
  return out;
}

}  // namespace sched_test
