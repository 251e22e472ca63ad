#include "confined_spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <memory>

namespace jobd {
namespace {

// What the child needs, as plain pointers into the parent's strings. The
// child writes back `error` and `step` (shared memory: CLONE_VM) on failure.
struct ChildData {
  const char* program;
  char* const* argv;
  char* const* envp;
  const char* cwd;
  const char* out;
  const char* err;
  const char* const* procs;
  size_t procs_count;
  const std::pair<int, rlimit>* rlimits;
  size_t rlimits_count;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t groups_count;
  volatile int error;
  const char* volatile step;
};

constexpr size_t kStackSize = 64 * 1024;

[[noreturn]] void fail(ChildData& d, const char* step) {
  d.error = errno;
  d.step = step;
  _exit(127);
}

// Opens `path` onto descriptor `target`.
bool open_onto(const char* path, int flags, int target) {
  const int fd = open(path, flags, 0640);
  if (fd < 0) return false;
  if (fd == target) return true;
  const bool ok = dup2(fd, target) == target;
  close(fd);
  return ok;
}

int child(void* arg) {
  ChildData& d = *static_cast<ChildData*>(arg);
  // The parent blocked every signal around the clone: no handler of jobd's
  // may run here. Reset the dispositions, then unblock.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, nullptr);  // glibc's own ones: EINVAL, harmless
  if (setsid() < 0) fail(d, "setsid");
  constexpr int kLog = O_WRONLY | O_CREAT | O_TRUNC | O_APPEND;
  if (!open_onto("/dev/null", O_RDONLY, 0)) fail(d, "/dev/null");
  if (!open_onto(d.out, kLog, 1)) fail(d, "stdout log");
  if (!open_onto(d.err, kLog, 2)) fail(d, "stderr log");
  if (d.switch_user && (fchown(1, d.uid, d.gid) != 0 || fchown(2, d.uid, d.gid) != 0)) fail(d, "chown log");
  for (size_t i = 0; i < d.procs_count; ++i) {
    const int fd = open(d.procs[i], O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1) fail(d, "cgroup");
    close(fd);
  }
  for (size_t i = 0; i < d.rlimits_count; ++i)
    if (setrlimit(static_cast<__rlimit_resource_t>(d.rlimits[i].first), &d.rlimits[i].second) != 0)
      fail(d, "setrlimit");
  if (d.switch_user) {
    if (syscall(SYS_setgroups, d.groups_count, d.groups) != 0) fail(d, "setgroups");
    if (syscall(SYS_setgid, d.gid) != 0) fail(d, "setgid");
    if (syscall(SYS_setuid, d.uid) != 0) fail(d, "setuid");
  }
  if (d.cwd && chdir(d.cwd) != 0) fail(d, "chdir");
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(d.program, d.argv, d.envp);
  fail(d, "exec");
}

}  // namespace

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  p.reserve(strings.size() + 1);
  for (auto& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

ConfinedResult confined_spawn(const ConfinedSpawn& s) {
  std::vector<std::string> argv = s.argv, env = s.env;
  auto argv_p = pointers(argv);
  auto env_p = pointers(env);
  std::vector<const char*> procs;
  for (const std::string& p : s.cgroup_procs) procs.push_back(p.c_str());
  ChildData d{s.program.c_str(),
              argv_p.data(),
              env_p.data(),
              s.cwd.empty() ? nullptr : s.cwd.c_str(),
              s.stdout_path.c_str(),
              s.stderr_path.c_str(),
              procs.data(),
              procs.size(),
              s.rlimits.data(),
              s.rlimits.size(),
              s.switch_user,
              s.uid,
              s.gid,
              s.groups.data(),
              s.groups.size(),
              0,
              nullptr};
  auto stack = std::make_unique_for_overwrite<char[]>(kStackSize);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = clone(child, stack.get() + kStackSize, CLONE_VM | CLONE_VFORK | SIGCHLD, &d);
  const int clone_error = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) return {-1, clone_error, "clone"};
  if (d.error != 0) {
    waitpid(pid, nullptr, 0);  // ECHILD if jobd's SIGCHLD handler took it first: no matter
    return {-1, d.error, d.step};
  }
  return {pid, 0, {}};
}

std::string find_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path;
  for (const std::string& e : env)
    if (e.starts_with("PATH=")) path = e.substr(5);
  if (path.empty()) {
    const char* own = std::getenv("PATH");
    path = own ? own : "/usr/local/bin:/usr/bin:/bin";
  }
  int error = ENOENT;
  for (size_t begin = 0; begin <= path.size();) {
    const size_t end = std::min(path.find(':', begin), path.size());
    const std::string dir = end == begin ? "." : path.substr(begin, end - begin);
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      error = EACCES;
    }
    begin = end + 1;
  }
  errno = error;
  return {};
}

}  // namespace jobd
