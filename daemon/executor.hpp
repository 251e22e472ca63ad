// Starting runs as processes: posix_spawn (vfork-based in glibc, so its cost
// does not grow with jobd's memory, unlike libuv 1.44's fork-based uv_spawn),
// in a new session so that the run's whole process tree can be signalled, with
// stdout and stderr opened as files for the child: no pipe, no descriptor kept
// in jobd per running job. jobd's runs outlive it (a restarted jobd adopts
// them); a worker's die with it, being started by its keeper (keeper.hpp).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "error.hpp"
#include "sched/model.hpp"
#include "time/zone.hpp"

namespace jobd {

struct Spawned {
  pid_t pid;
  int64_t start_ticks;  // from /proc/PID/stat: with the pid, names the process (0: not read)
};

struct LogPaths {
  std::string out, err;
};

// Everything a spawn needs, copied out of the job and run on the loop thread,
// so that the spawn itself may happen on another thread.
struct SpawnRequest {
  int64_t run;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  LogPaths logs;
  std::string user;  // run as this user (resolved at spawn, on the node that spawns)
  job::sched::Confinement confine;
};

SpawnRequest spawn_request(const job::sched::Job& job, const job::sched::TaskSpec* task,
                           const job::sched::Run& run, const LogPaths& logs, const job::time::Zone& zone);

// Starts the process. Thread-safe: it touches nothing but its argument.
// Leaves start_ticks 0: only jobd's own runs, adopted after a restart, need it.
// A run that switches user, has limits or a sandbox is started by
// confined_spawn (confined_spawn.hpp), in its cgroup if it needs one
// (cgroups.hpp), under bwrap if sandboxed; the others by posix_spawn.
job::Result<Spawned> spawn(const SpawnRequest& request);

// The reason a run did not start, from posix_spawn's errno:
// "cannot start: PROGRAM: No such file or directory".
std::string cannot_start(int error, const std::string& program, const std::string& cwd);

// The start time of a process in clock ticks since boot, or 0 if it is gone.
int64_t process_start_ticks(pid_t pid);

// Keeps the last max_bytes of a log file, dropping the head.
void trim_log(const std::string& path, int64_t max_bytes);

// Up to `limit` bytes of a log file from `offset`, and the file's size (0
// when there is none yet): what `jobctl logs` is sent, a chunk at a time.
inline constexpr int64_t kMaxLogChunk = 1 << 20;
std::pair<std::string, int64_t> read_log_chunk(const std::string& path, int64_t offset, int64_t limit);

}  // namespace jobd
