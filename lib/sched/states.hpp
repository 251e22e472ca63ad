// Run and job states, and the one table of the transitions between them
// (DESIGN.md, "States"). The scheduler changes a state only through
// transition(); anything the table does not allow is a bug and is refused.
#pragma once

#include <optional>
#include <string_view>

namespace job::sched {

enum class RunState {
  pending,    // waiting for its time or its upstream
  queued,     // ready, waiting for a slot
  running,    // its process was started (or is about to be)
  succeeded,  // exited 0
  failed,     // exited non-zero, was killed by a signal, or could not start
  timed_out,  // killed after its timeout
  cancelled,  // stopped by a user
  retrying,   // waiting out a backoff before it is queued again
  skipped,    // not run (an upstream failed, or an overlap policy)
  lost,       // jobd lost track of its process (restart, vanished node)
};

enum class JobState {
  active,     // fires on its schedule
  paused,     // fires nothing new
  completed,  // a one-time job whose run is over
  deleted,    // gone from `list`; history kept until retention
};

std::string_view name(RunState s);
std::string_view name(JobState s);
std::optional<RunState> run_state_from(std::string_view s);
std::optional<JobState> job_state_from(std::string_view s);

bool is_final(RunState s);
bool allowed(RunState from, RunState to);
bool allowed(JobState from, JobState to);

}  // namespace job::sched
