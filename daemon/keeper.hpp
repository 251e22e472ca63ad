// The keeper: a worker's runs are started, watched and, when the worker dies,
// killed by one small process of its own, `jobd --keeper`, which it starts
// once and talks to over a socket pair.
//
// Why a process beside the worker, not a supervisor per run: a run must not
// outlive a worker killed with -9 (the coordinator retries it elsewhere), so
// something that survives the worker must hold the run's process group. A
// supervisor exec'd per run costs an exec per run (10-20% of the spawn rate
// of /bin/true here); the keeper is exec'd once and spawns each run exactly
// as jobd does (jobd::spawn: posix_spawn, own session, output to files).
//
// The keeper is every run's parent. When the worker dies its end of the
// socket closes, whatever killed it; the keeper reads the end of file,
// SIGKILLs every process group it started that has not ended, and exits.
// If the keeper dies instead, the worker learns it the same way (Handlers::
// lost), kills the orphaned groups itself and starts another keeper.
//
// Wire (one JSON object per line), worker -> keeper:
//   {"spawn": {"run", "argv", "env", "cwd", "out", "err"}}
//   {"kill": {"pid", "signal"}}       the group, if its leader is not reaped yet
// keeper -> worker, a run's "spawned" always before its "exited":
//   {"spawned": {"run", "pid", "start_ticks"}} or {"spawned": {"run", "error"}}
//   {"exited": {"pid", "status"}}     waitpid's status
// Kills go through the keeper because only it knows, race-free, that a pid
// is still its unreaped child, and so still names the run's group.
#pragma once

#include <uv.h>

#include <functional>
#include <optional>
#include <string>

#include "error.hpp"
#include "proto/codec.hpp"
#include "executor.hpp"
#include "proto/protocol.hpp"
#include "spawner.hpp"

namespace jobd {

// The keeper's side: `jobd --keeper`, the socket on kKeeperFd. Returns its
// exit status once the worker is gone.
inline constexpr int kKeeperFd = 3;
int keeper_main();

// A spawn request on the wire, both ways.
job::proto::Json spawn_to_wire(const SpawnRequest& request);
SpawnRequest spawn_from_wire(const job::proto::Json& j);

// The worker's side, on its loop.
class Keeper {
 public:
  struct Handlers {
    std::function<void(SpawnResult)> spawned;
    std::function<void(pid_t pid, int status)> exited;
    // The keeper is gone (it died, or the socket broke): the runs it
    // started are nobody's children any more and will not be reported.
    std::function<void(const std::string& why)> lost;
  };

  Keeper(uv_loop_t* loop, Handlers handlers);
  ~Keeper();
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

  // Starts a keeper process: `program --keeper` (jobd's own executable).
  std::optional<job::Error> start(const std::string& program);
  bool running() const { return pipe_ != nullptr; }
  pid_t pid() const { return pid_; }  // the latest keeper's, for the worker to reap

  void spawn(const SpawnRequest& request);
  void kill(pid_t pid, int signal);
  // Closes the socket: the keeper kills what is left and exits.
  void close();

 private:
  void send(std::string line);
  void on_line(const std::string& line);
  void fail(const std::string& why);

  uv_loop_t* loop_;
  Handlers handlers_;
  uv_pipe_t* pipe_ = nullptr;
  pid_t pid_ = 0;
  job::proto::LineReader reader_;
};

}  // namespace jobd
