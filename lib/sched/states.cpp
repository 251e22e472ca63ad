#include "sched/states.hpp"

#include <array>

namespace job::sched {
namespace {

constexpr std::array<std::string_view, 10> kRunNames = {"pending", "queued",    "running",   "succeeded",
                                                        "failed",  "timed_out", "cancelled", "retrying",
                                                        "skipped", "lost"};
constexpr std::array<std::string_view, 4> kJobNames = {"active", "paused", "completed", "deleted"};

using R = RunState;
struct RunEdge {
  RunState from, to;
};
// Every run transition there is. Final states have no way out.
constexpr RunEdge kRunEdges[] = {
    {R::pending, R::queued},     {R::pending, R::skipped},  {R::pending, R::cancelled},
    {R::queued, R::running},     {R::queued, R::cancelled}, {R::queued, R::skipped},
    {R::running, R::succeeded},  {R::running, R::failed},   {R::running, R::timed_out},
    {R::running, R::cancelled},  {R::running, R::lost},     {R::retrying, R::queued},
    {R::retrying, R::cancelled}, {R::pending, R::running},  // a graph's job run, when its turn comes
};

using J = JobState;
struct JobEdge {
  JobState from, to;
};
constexpr JobEdge kJobEdges[] = {
    {J::active, J::paused},  {J::paused, J::active},  {J::active, J::completed},  {J::paused, J::completed},
    {J::active, J::deleted}, {J::paused, J::deleted}, {J::completed, J::deleted},
    {J::completed, J::active},  // updated with a schedule that fires again
};

}  // namespace

std::string_view name(RunState s) { return kRunNames[static_cast<size_t>(s)]; }
std::string_view name(JobState s) { return kJobNames[static_cast<size_t>(s)]; }

std::optional<RunState> run_state_from(std::string_view s) {
  for (size_t i = 0; i < kRunNames.size(); ++i)
    if (kRunNames[i] == s) return static_cast<RunState>(i);
  return std::nullopt;
}

std::optional<JobState> job_state_from(std::string_view s) {
  for (size_t i = 0; i < kJobNames.size(); ++i)
    if (kJobNames[i] == s) return static_cast<JobState>(i);
  return std::nullopt;
}

bool is_final(RunState s) {
  switch (s) {
    case R::succeeded:
    case R::failed:
    case R::timed_out:
    case R::cancelled:
    case R::skipped:
    case R::lost:
      return true;
    case R::pending:
    case R::queued:
    case R::running:
    case R::retrying:
      return false;
  }
  return false;
}

bool allowed(RunState from, RunState to) {
  for (const RunEdge& e : kRunEdges)
    if (e.from == from && e.to == to) return true;
  return false;
}

bool allowed(JobState from, JobState to) {
  for (const JobEdge& e : kJobEdges)
    if (e.from == from && e.to == to) return true;
  return false;
}

}  // namespace job::sched
