// jobd-supervise: starts one run's command and stays beside it, so that the
// run cannot outlive the jobd that started it.
//
//   jobd-supervise [--parent PID] [--report-fd FD] -- COMMAND [ARG]...
//
// jobd posix_spawns it with the run's environment, working directory and
// output already in place, as the leader of a new session: its pid is the
// run's process group, which jobd signals for timeouts, cancels and stops.
// It starts COMMAND in that group (PATH searched in its environment, every
// signal at its default, none blocked) and waits for it, ignoring SIGTERM,
// SIGINT and SIGHUP itself so that a signal to the group reaches the command
// and the supervisor lives to report how it ended. When its parent dies (for
// jobd, even by kill -9) it SIGKILLs the whole group: a worker's runs must
// not go on unsupervised while the coordinator retries them elsewhere.
//
// Exit status: the command's; a command killed by a signal kills the
// supervisor with the same signal, so that its parent's waitpid sees the
// same WIFSIGNALED/WTERMSIG. A command that cannot be started: status 127, as
// a shell's, with the reason on stderr, or, given --report-fd, our pid and
// the errno as two native ints on FD, in one write (jobd's supervisors share
// one pipe), before we exit. jobd reads it when it reaps us, to fail such a
// run as it fails any spawn, with its reason, rather than as a command that
// happened to exit 127. FD is closed once the command has started. 125: bad
// usage, or the parent already gone.
//
// It costs an exec per run, so it is small and, on x86-64, built without a
// C library (sys.hpp says why; docs/ARCHITECTURE.md, "Runs that die with
// their worker", has the figures). Hence no printf, strerror or getenv here.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <initializer_list>

#include "sys.hpp"

namespace {

constexpr int kExitCannotStart = 127;
constexpr int kExitOwnFailure = 125;
// The parent-death signal: one jobd never sends to a run's group.
constexpr int kParentDeathSignal = SIGUSR1;
// The signals whose disposition we change: the command gets them back at
// their default. jobd hands us every other one at its default already.
constexpr int kChanged[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, kParentDeathSignal};

pid_t parent = 0;

// PR_SET_PDEATHSIG fires when the *thread* that spawned us ends (jobd spawns
// from a thread of its own), and anyone may send the same signal: only a
// parent process that is really gone (we were reparented) ends the run.
void on_parent_death_signal(int) {
  if (sys::call(SYS_getppid) != parent) sys::call(SYS_kill, 0, SIGKILL);  // the group, us included
}

size_t length(const char* s) {
  size_t n = 0;
  while (s[n]) ++n;
  return n;
}

bool equal(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}

// A positive decimal number, or -1.
long number(const char* s) {
  long n = 0;
  if (!*s) return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || n > 100'000'000) return -1;
    n = n * 10 + (*s - '0');
  }
  return n;
}

void say(std::initializer_list<const char*> parts) {
  for (const char* p : parts)
    sys::call(SYS_write, 2, reinterpret_cast<long>(p), static_cast<long>(length(p)));
}

const char* describe(int error) {
  switch (error) {
    case ENOENT:
      return "No such file or directory";
    case EACCES:
      return "Permission denied";
    case ENOEXEC:
      return "Exec format error";
    case ENOTDIR:
      return "Not a directory";
    case ELOOP:
      return "Too many levels of symbolic links";
    case ENAMETOOLONG:
      return "File name too long";
    case E2BIG:
      return "Argument list too long";
    case ENOMEM:
      return "Cannot allocate memory";
    case ETXTBSY:
      return "Text file busy";
    case EAGAIN:
      return "Resource temporarily unavailable";
    default:
      return "error";
  }
}

int usage() {
  say({"usage: jobd-supervise [--parent PID] [--report-fd FD] -- COMMAND [ARG]...\n"});
  return kExitOwnFailure;
}

// What the child of clone_vfork needs, and what it tells us back (we share
// its memory and wait while it runs).
struct Start {
  char** argv;
  char** envp;
  int error;  // why the command could not be started
};

const char* path_of(char** envp) {
  for (char** e = envp; *e; ++e)
    if ((*e)[0] == 'P' && (*e)[1] == 'A' && (*e)[2] == 'T' && (*e)[3] == 'H' && (*e)[4] == '=') return *e + 5;
  return "/bin:/usr/bin";  // glibc's default
}

// The child: the command's signals back to their defaults, none blocked,
// then execve, searching PATH as posix_spawnp does (a name with a slash is
// taken as it is; EACCES from any directory wins over ENOENT).
int start_command(void* arg) {
  auto* start = static_cast<Start*>(arg);
  for (int sig : kChanged) sys::reset(sig);
  const unsigned long none = 0;
  sys::call(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0, sizeof none);
  const char* name = start->argv[0];
  auto exec = [&](const char* path) {
    return static_cast<int>(-sys::call(SYS_execve, reinterpret_cast<long>(path),
                                       reinterpret_cast<long>(start->argv),
                                       reinterpret_cast<long>(start->envp)));
  };
  bool slash = false;
  for (const char* c = name; *c; ++c) slash = slash || *c == '/';
  if (slash) {
    start->error = exec(name);
    return kExitCannotStart;
  }
  const size_t name_length = length(name);
  char path[4096];
  bool denied = false;
  int error = ENOENT;
  for (const char* dir = path_of(start->envp);;) {
    const char* end = dir;
    while (*end && *end != ':') ++end;
    const size_t dir_length = static_cast<size_t>(end - dir);
    if (dir_length + name_length + 2 > sizeof path) {
      error = ENAMETOOLONG;
    } else {
      size_t n = 0;
      for (const char* c = dir; c < end; ++c) path[n++] = *c;
      if (dir_length) path[n++] = '/';  // an empty entry is the current directory
      for (const char* c = name; *c; ++c) path[n++] = *c;
      path[n] = '\0';
      error = exec(path);
      if (error == EACCES)
        denied = true;
      else if (error != ENOENT && error != ENOTDIR)
        break;
    }
    if (!*end) break;
    dir = end + 1;
  }
  start->error = denied ? EACCES : error;
  return kExitCannotStart;
}

// Ends the supervisor as the command ended.
[[noreturn]] void die_like(int status) {
  if (WIFEXITED(status)) sys::exit(WEXITSTATUS(status));
  const int sig = WTERMSIG(status);
  // The command dumped its core (or not) already: no second one of ours.
  const rlimit no_core{0, 0};
  sys::call(SYS_prlimit64, 0, RLIMIT_CORE, reinterpret_cast<long>(&no_core), 0);
  sys::reset(sig);
  const unsigned long just_it = 1UL << (sig - 1);
  sys::call(SYS_rt_sigprocmask, SIG_UNBLOCK, reinterpret_cast<long>(&just_it), 0, sizeof just_it);
  sys::call(SYS_kill, sys::call(SYS_getpid), sig);
  sys::exit(128 + sig);  // not reached for a signal that killed the command
}

}  // namespace

int supervise(int argc, char** argv, char** envp) {
  int report_fd = -1;
  int command = 1;
  for (; command < argc && !equal(argv[command], "--"); command += 2) {
    if (command + 1 >= argc) return usage();
    const long value = number(argv[command + 1]);
    if (equal(argv[command], "--parent") && value > 0)
      parent = static_cast<pid_t>(value);
    else if (equal(argv[command], "--report-fd") && value > 2)
      report_fd = static_cast<int>(value);
    else
      return usage();
  }
  if (++command >= argc) return usage();
  // Without --parent, the parent is whoever started us; jobd names itself,
  // closing the race in which it died before the check below.
  if (parent == 0) parent = static_cast<pid_t>(sys::call(SYS_getppid));
  if (report_fd >= 0) sys::call(SYS_fcntl, report_fd, F_SETFD, FD_CLOEXEC);  // not the command's

  // jobd made us a session leader already (the group must exist as soon as
  // its posix_spawn returns); started by hand, we become one.
  if (sys::call(SYS_getsid, 0) != sys::call(SYS_getpid)) sys::call(SYS_setsid);

  sys::ignore(SIGTERM);
  sys::ignore(SIGINT);
  sys::ignore(SIGHUP);
  sys::ignore(SIGPIPE);  // a reader gone is not our end
  sys::handle(kParentDeathSignal, on_parent_death_signal);
  sys::call(SYS_prctl, PR_SET_PDEATHSIG, kParentDeathSignal);
  if (sys::call(SYS_getppid) != parent) {  // died before prctl: no signal will come
    say({"jobd-supervise: the parent is gone\n"});
    return kExitOwnFailure;
  }

  // No handler may run in the child, which shares our memory: every signal
  // stays blocked from before the clone until the child has reset them.
  const unsigned long all = ~0UL, none = 0;
  sys::call(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&all), 0, sizeof all);
  Start start{argv + command, envp, 0};
  const pid_t child = sys::clone_vfork(start_command, &start);
  sys::call(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&none), 0, sizeof none);
  const int error = child < 0 ? -child : start.error;
  if (error != 0) {
    int status = 0;
    if (child > 0) sys::call(SYS_wait4, child, reinterpret_cast<long>(&status), 0, 0);
    const int report[2] = {static_cast<int>(sys::call(SYS_getpid)), error};
    if (report_fd < 0 || sys::call(SYS_write, report_fd, reinterpret_cast<long>(report), sizeof report) !=
                             static_cast<long>(sizeof report))
      say({"jobd-supervise: cannot start ", argv[command], ": ", describe(error), "\n"});
    return kExitCannotStart;
  }
  if (report_fd >= 0) sys::call(SYS_close, report_fd);  // started

  int status = 0;
  for (;;) {
    const long r = sys::call(SYS_wait4, child, reinterpret_cast<long>(&status), 0, 0);
    if (r == child) break;
    if (r != -EINTR) {
      say({"jobd-supervise: wait4 failed\n"});
      return kExitOwnFailure;
    }
  }
  die_like(status);
}
