// The worker's side of the keeper (keeper.hpp): starting it, and the socket.
#include "keeper.hpp"

#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

#include "log.hpp"
#include "uv_write.hpp"

extern char** environ;

namespace jobd {

Keeper::Keeper(uv_loop_t* loop, std::function<void(const std::string&)> lost) : loop_(loop), lost_(std::move(lost)) {}

Keeper::~Keeper() { close(); }

std::optional<job::Error> Keeper::start(const std::string& program) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return job::Error{job::Errc::internal, fmt::format("keeper: socketpair: {}", std::strerror(errno))};
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  // Its end on kKeeperFd (dup2 clears close-on-exec), ours closed for it.
  posix_spawn_file_actions_adddup2(&actions, sv[1], kKeeperFd);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::string name = "jobd", flag = "--keeper";
  char* argv[] = {name.data(), flag.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(sv[1]);
  if (rc != 0) {
    ::close(sv[0]);
    return job::Error{job::Errc::internal, fmt::format("cannot start the keeper ({}): {}", program, std::strerror(rc))};
  }
  pid_ = pid;
  pipe_ = new uv_pipe_t{};
  uv_pipe_init(loop_, pipe_, 0);
  pipe_->data = this;
  uv_pipe_open(pipe_, sv[0]);
  check_ = new uv_check_t{};
  uv_check_init(loop_, check_);
  check_->data = this;
  uv_check_start(check_, [](uv_check_t* c) { static_cast<Keeper*>(c->data)->flush(); });
  // It never writes: a read ends only with the end of file (or an error).
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe_),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char buffer[256];
        *buf = uv_buf_init(buffer, sizeof buffer);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
        auto* self = static_cast<Keeper*>(stream->data);
        if (n < 0) self->fail(n == UV_EOF ? "it exited" : uv_strerror(static_cast<int>(n)));
        else if (n > 0) self->fail("it wrote to the worker");
      });
  return std::nullopt;
}

void Keeper::hold(int64_t run, const std::string& marker) {
  pending_ += keeper_wire::hold(run, marker);
  flush();
}

void Keeper::flush() {
  if (!pending_.empty()) send(std::exchange(pending_, {}));
}

void Keeper::send(std::string frames) {
  if (!pipe_) return;  // lost: the worker tells the next keeper what it holds
  if (const int rc = write_owned(reinterpret_cast<uv_stream_t*>(pipe_), std::move(frames)); rc != 0)
    fail(fmt::format("write: {}", uv_strerror(rc)));
}

void Keeper::fail(const std::string& why) {
  if (!pipe_) return;
  close();
  lost_(why);
}

void Keeper::close() {
  pending_.clear();
  if (check_) {
    uv_close(reinterpret_cast<uv_handle_t*>(check_), [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
    check_ = nullptr;
  }
  if (!pipe_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(pipe_), [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
  pipe_ = nullptr;
}

}  // namespace jobd
