// sys.hpp on x86-64 Linux with no C library: system calls in inline
// assembly, our own _start, and the memory functions the compiler may call.
// Built -ffreestanding -nostdlib -static (daemon/meson.build). Why: see sys.hpp.
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <cstddef>

#include "sys.hpp"

extern "C" {

// The process starts here: argc, argv..., nullptr, envp..., nullptr on the stack.
[[noreturn]] void supervise_start(long* stack) {
  const int argc = static_cast<int>(stack[0]);
  char** argv = reinterpret_cast<char**>(stack + 1);
  sys::exit(supervise(argc, argv, argv + argc + 1));
}

// rt_sigreturn, which the kernel requires x86-64 handlers to return through;
// _start; and clone(CLONE_VM | CLONE_VFORK) with the child on its own stack
// (as musl's __clone): supervise_clone(fn, stack_top, flags, arg).
__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call supervise_start\n"
    "  hlt\n"
    ".global supervise_sigreturn\n"
    "supervise_sigreturn:\n"
    "  mov $15, %eax\n"  // SYS_rt_sigreturn
    "  syscall\n"
    "  hlt\n"
    ".global supervise_clone\n"
    "supervise_clone:\n"
    "  and $-16, %rsi\n"
    "  sub $8, %rsi\n"
    "  mov %rcx, (%rsi)\n"  // arg, popped by the child
    "  mov %rdi, %r9\n"     // fn: the child's copy of the registers has it
    "  mov %rdx, %rdi\n"    // flags
    "  xor %edx, %edx\n"
    "  xor %r10d, %r10d\n"
    "  xor %r8d, %r8d\n"
    "  mov $56, %eax\n"  // SYS_clone
    "  syscall\n"
    "  test %eax, %eax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"
    "  pop %rdi\n"
    "  call *%r9\n"
    "  mov %eax, %edi\n"
    "  mov $60, %eax\n"  // SYS_exit
    "  syscall\n"
    "  hlt\n"
    "1: ret\n");

void supervise_sigreturn();
long supervise_clone(int (*fn)(void*), void* stack_top, long flags, void* arg);

// What the compiler may emit calls to, even freestanding.
void* memset(void* dest, int c, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  while (n--) *d++ = static_cast<unsigned char>(c);
  return dest;
}

void* memcpy(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  while (n--) *d++ = *s++;
  return dest;
}

void* memmove(void* dest, const void* src, size_t n) {
  auto* d = static_cast<unsigned char*>(dest);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d < s)
    while (n--) *d++ = *s++;
  else
    while (n--) d[n] = s[n];
  return dest;
}

int memcmp(const void* a, const void* b, size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (; n; --n, ++x, ++y)
    if (*x != *y) return *x - *y;
  return 0;
}

}  // extern "C"

namespace sys {
namespace {

alignas(16) char child_stack[64 * 1024];

// The kernel's struct sigaction on x86-64 (not the C library's).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};
constexpr unsigned long kSaRestorer = 0x04000000;

void set(int sig, void (*handler)(int)) {
  KernelSigaction action{handler, kSaRestorer, supervise_sigreturn, 0};
  call(SYS_rt_sigaction, sig, reinterpret_cast<long>(&action), 0, sizeof action.mask);
}

}  // namespace

long call(long number, long a, long b, long c, long d) {
  long result;
  register long r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return result;
}

void handle(int sig, void (*handler)(int)) { set(sig, handler); }
void ignore(int sig) { set(sig, SIG_IGN); }
void reset(int sig) { set(sig, SIG_DFL); }

pid_t clone_vfork(int (*fn)(void*), void* arg) {
  return static_cast<pid_t>(
      supervise_clone(fn, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, arg));
}

void exit(int status) {
  for (;;) call(SYS_exit_group, status);
}

}  // namespace sys
