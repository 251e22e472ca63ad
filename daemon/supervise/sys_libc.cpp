// sys.hpp over glibc: for architectures without sys_raw_*.cpp, and for
// sanitized and fuzzing builds, which need the C library.
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "sys.hpp"

extern char** environ;

namespace sys {
namespace {

alignas(16) char child_stack[64 * 1024];

void set(int sig, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigaction(sig, &action, nullptr);
}

}  // namespace

long call(long number, long a, long b, long c, long d) {
  const long r = syscall(number, a, b, c, d);
  return r == -1 ? -errno : r;
}

void handle(int sig, void (*handler)(int)) { set(sig, handler); }
void ignore(int sig) { set(sig, SIG_IGN); }
void reset(int sig) { set(sig, SIG_DFL); }

pid_t clone_vfork(int (*fn)(void*), void* arg) {
  const pid_t pid = clone(fn, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, arg);
  return pid < 0 ? -errno : pid;
}

void exit(int status) { std::_Exit(status); }

}  // namespace sys

int main(int argc, char** argv) { return supervise(argc, argv, environ); }
