// A spawn that can do what posix_spawn cannot: switch user, set rlimits and
// join a cgroup between fork and exec. clone(CLONE_VM | CLONE_VFORK), like
// glibc's posix_spawn: the parent is suspended until the child has exec'd
// or failed, so its cost does not grow with jobd's memory. The child runs on
// data built beforehand by the parent and makes only async-signal-safe
// calls: no malloc, no lock. The set*id calls are raw syscalls: glibc's
// wrappers would broadcast the change to every thread of what it takes for
// the calling process, which, sharing jobd's memory, is jobd.
// Thread-safe: it touches nothing but its argument (and the caller's
// signal mask, restored before it returns).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace jobd {

struct ConfinedSpawn {
  std::string program;  // a path (resolved with find_program): no PATH search happens in the child
  std::vector<std::string> argv, env;
  std::string cwd;                        // empty: jobd's
  std::string stdout_path, stderr_path;   // created 0640, owned by the run's user
  std::vector<std::string> cgroup_procs;  // each is written "0", before privileges are dropped
  std::vector<std::pair<int, rlimit>> rlimits;
  bool switch_user = false;  // then: setgroups(groups), setgid(gid), setuid(uid)
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

struct ConfinedResult {
  pid_t pid = -1;
  int error = 0;          // errno of the step that failed
  std::string_view step;  // "exec", "chdir", "setuid", ...: what failed
};

// Starts the child in a new session with default signal dispositions and an
// empty mask, /dev/null on stdin and the two log files on stdout and stderr.
// A failure before or at exec is returned, the child reaped.
ConfinedResult confined_spawn(const ConfinedSpawn& spawn);

// The NULL-terminated array of `strings`' characters that exec and
// posix_spawn take as argv or envp (valid while `strings` is untouched).
std::vector<char*> pointers(std::vector<std::string>& strings);

// What execvp would run for `name` with the PATH of `env` (jobd's, if env
// has none): `name` itself if it holds a '/'. Empty, with errno ENOENT or
// EACCES, if nothing fits.
std::string find_program(const std::string& name, const std::vector<std::string>& env);

}  // namespace jobd
