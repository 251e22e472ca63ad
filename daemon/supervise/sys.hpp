// The few system services jobd-supervise uses, in two builds: raw system
// calls with no C library at all (sys_raw_x86_64.cpp, the default on x86-64:
// glibc's start-up alone, mostly CPU feature probing, cost ~0.5 ms per exec
// in this VM, as much as the run's own /bin/true), and the same over glibc
// (sys_libc.cpp: other architectures, sanitized and fuzzing builds).
//
// Nothing here sets errno: failures come back as -errno, as from the kernel.
#pragma once

#include <sys/types.h>

namespace sys {

// A system call by number (<sys/syscall.h>): its result, or -errno.
long call(long number, long a = 0, long b = 0, long c = 0, long d = 0);

// Signal dispositions (SA_RESTART off: a handled signal interrupts waits).
void handle(int sig, void (*handler)(int));
void ignore(int sig);
void reset(int sig);  // to the default

// Runs fn(arg) in a child that shares our memory, on a stack of its own,
// while we wait (CLONE_VM | CLONE_VFORK): fn must end in execve or exit.
// The child's pid, or -errno.
pid_t clone_vfork(int (*fn)(void*), void* arg);

[[noreturn]] void exit(int status);

}  // namespace sys

// The program: main.cpp. Called by the C library's main() or by _start.
int supervise(int argc, char** argv, char** envp);
