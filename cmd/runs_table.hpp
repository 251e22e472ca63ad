// The runs table, printed by `runs` and `show`.
#pragma once

#include "proto/codec.hpp"

namespace jobctl {

// Columns RUN, JOB, ATTEMPT, STATE, EXIT, SCHEDULED, STARTED, FINISHED and
// NOTE: "retry at TIME" while a run waits to retry, its reason (why it failed,
// was skipped, lost or cancelled), "covers N missed fires since TIME" for a
// catch-up; "; " between them. A job run of a task graph (a run with a
// `tasks` array) is followed by one line per task, indented: its name, its
// run, state, "attempt N" and "exit N" ("-" for none).
void print_runs(const job::proto::Json& runs);

}  // namespace jobctl
