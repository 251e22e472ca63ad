// Per-run cgroups for memory and process-count limits. jobd finds once which
// hierarchy it can write: "v2" (a writable cgroup2 offering memory and pids),
// "v1" (writable memory and pids controllers under /sys/fs/cgroup), or
// "none", where only the rlimits apply (and one warning says so).
// A run with a memory or nproc limit gets jobd/rN-PID in each hierarchy it
// needs (PID: jobd's, so that two jobds on a host never share a name); its
// child joins it before dropping privileges, and it is removed once the run
// is reaped. Thread-safe: the spawner thread creates, the loop removes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "sched/confinement.hpp"

namespace jobd {

enum class CgroupMode { none, v1, v2 };

CgroupMode cgroup_mode();  // detected on the first call, then remembered
std::string_view name(CgroupMode mode);

// Creates the run's cgroup(s) with the limits that need one (memory, nproc)
// and returns the cgroup.procs files the child must write "0" to; none when
// no limit needs a cgroup or cgroups are unusable.
job::Result<std::vector<std::string>> create_run_cgroup(int64_t run, const job::sched::Limits& limits);

// Removes the run's cgroups, if any; a cgroup still busy (a process of the
// run lives on) is retried at the next call.
void remove_run_cgroup(int64_t run);

// At start: removes the cgroups left by jobds that are gone (killed before
// they could remove them); those of runs still alive are busy and stay.
void remove_stale_cgroups();

}  // namespace jobd
