// Starting runs as processes: posix_spawn (vfork-based in glibc, so its cost
// does not grow with jobd's memory, unlike libuv 1.44's fork-based uv_spawn),
// in a new session so that the run's whole process tree can be signalled, with
// stdout and stderr opened as files for the child: no pipe, no descriptor kept
// in jobd per running job.
//
// Optionally through jobd-supervise (daemon/supervise/main.cpp), which then
// leads the session and starts the command itself: the run then dies with
// jobd, even by kill -9. Off for the single-node daemon, whose runs must
// outlive it to be adopted after a restart; meant for workers.
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
  int64_t start_ticks;  // from /proc/PID/stat: with the pid, names the process
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
  std::string supervisor;  // jobd-supervise's path; empty: the command is spawned directly
  // The write end of the pipe on which supervisors report a command they
  // could not start (pid, errno: two ints), shared by all; -1: none.
  int report_fd = -1;
};

SpawnRequest spawn_request(const job::sched::Job& job, const job::sched::TaskSpec* task,
                           const job::sched::Run& run, const LogPaths& logs, const job::time::Zone& zone);

// Starts the process. Thread-safe: it touches nothing but its argument.
// Through a supervisor it returns once the supervisor has exec'd, not the
// command: whether the command started is known when the supervisor exits
// (its report comes first), and the Spawner never waits for a second exec.
job::Result<Spawned> spawn(const SpawnRequest& request);

// The reason a run did not start, from posix_spawn's (or a supervisor's)
// errno: "cannot start: PROGRAM: No such file or directory".
std::string cannot_start(int error, const std::string& program, const std::string& cwd);

// Where jobd-supervise is: beside jobd's own executable (the build tree),
// else where it is installed (JOBD_SUPERVISE_PATH, libexecdir). Empty if
// neither is executable.
std::string find_supervisor();

// The start time of a process in clock ticks since boot, or 0 if it is gone.
int64_t process_start_ticks(pid_t pid);

// Keeps the last max_bytes of a log file, dropping the head.
void trim_log(const std::string& path, int64_t max_bytes);

// Up to `limit` bytes of a log file from `offset`, and the file's size (0
// when there is none yet): what `jobctl logs` is sent, a chunk at a time.
inline constexpr int64_t kMaxLogChunk = 1 << 20;
std::pair<std::string, int64_t> read_log_chunk(const std::string& path, int64_t offset, int64_t limit);

}  // namespace jobd
