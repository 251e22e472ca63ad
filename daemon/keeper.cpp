// The worker's side of the keeper (keeper.hpp): starting it, and the socket.
#include "keeper.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "log.hpp"

extern char** environ;

namespace jobd {

namespace proto = job::proto;

proto::Json spawn_to_wire(const SpawnRequest& r) {
  return {{"run", r.run}, {"argv", r.argv}, {"env", r.env}, {"cwd", r.cwd}, {"out", r.logs.out}, {"err", r.logs.err}};
}

SpawnRequest spawn_from_wire(const proto::Json& j) {
  SpawnRequest r;
  r.run = j.value("run", int64_t{0});
  r.argv = j.value("argv", std::vector<std::string>{});
  r.env = j.value("env", std::vector<std::string>{});
  r.cwd = j.value("cwd", std::string());
  r.logs = {j.value("out", std::string()), j.value("err", std::string())};
  return r;
}

namespace {

struct Write {
  uv_write_t req{};
  std::string data;
};

}  // namespace

Keeper::Keeper(uv_loop_t* loop, Handlers handlers) : loop_(loop), handlers_(std::move(handlers)) {}

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
  reader_ = proto::LineReader(proto::kMaxFrame);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(pipe_),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char buffer[64 * 1024];
        *buf = uv_buf_init(buffer, sizeof buffer);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* self = static_cast<Keeper*>(stream->data);
        if (n < 0) return self->fail(n == UV_EOF ? "it exited" : uv_strerror(static_cast<int>(n)));
        self->reader_.feed(std::string_view(buf->base, static_cast<size_t>(n)));
        while (self->pipe_ && reinterpret_cast<uv_stream_t*>(self->pipe_) == stream) {
          auto line = self->reader_.next();
          if (!line) break;
          self->on_line(*line);
        }
      });
  return std::nullopt;
}

void Keeper::spawn(const SpawnRequest& request) {
  send(proto::Json{{"spawn", spawn_to_wire(request)}}.dump(-1, ' ', false, proto::Json::error_handler_t::replace));
}

void Keeper::kill(pid_t pid, int signal) { send(proto::Json{{"kill", {{"pid", pid}, {"signal", signal}}}}.dump()); }

void Keeper::send(std::string line) {
  if (!pipe_) return;  // lost: the worker has been told, and settles its runs itself
  auto* w = new Write{};
  w->data = std::move(line) + "\n";
  w->req.data = w;
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(pipe_), &buf, 1,
                          [](uv_write_t* req, int) { delete static_cast<Write*>(req->data); });
  if (rc != 0) {
    delete w;
    fail(fmt::format("write: {}", uv_strerror(rc)));
  }
}

void Keeper::on_line(const std::string& line) {
  const auto msg = proto::Json::parse(line, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) return fail("it sent a line that is not JSON");
  if (msg.contains("exited")) {
    const auto& e = msg["exited"];
    return handlers_.exited(e.value("pid", pid_t{0}), e.value("status", 0));
  }
  if (msg.contains("spawned")) {
    const auto& s = msg["spawned"];
    SpawnResult result{s.value("run", int64_t{0}), job::Error{job::Errc::internal, s.value("error", std::string())}};
    if (!s.contains("error")) result.spawned = Spawned{s.value("pid", pid_t{0}), s.value("start_ticks", int64_t{0})};
    return handlers_.spawned(std::move(result));
  }
}

void Keeper::fail(const std::string& why) {
  if (!pipe_) return;
  close();
  handlers_.lost(why);
}

void Keeper::close() {
  if (!pipe_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(pipe_), [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
  pipe_ = nullptr;
}

}  // namespace jobd
