// The keeper: what ends a worker's runs when the worker dies. A run must not
// outlive a worker killed with -9, for the coordinator retries it elsewhere;
// nothing inside the dead worker can end it, so a small process beside it,
// `jobd --keeper`, started once, holds the list of its runs' process groups.
//
// The worker spawns its runs itself (jobd::spawn, as jobd does, at the same
// cost) and tells the keeper, without waiting for an answer, about each: it
// is about to start (hold), its process group (started), it is over (ended).
// When the worker dies, its end of the socket closes, whatever killed it;
// the keeper reads the end of file and SIGKILLs every group it holds. A run
// held but not yet started, or whose start the worker had not yet told (it
// died in between), is found by its JOBD_RUN_ID in /proc/*/environ.
//
// Why not a supervisor per run (PR_SET_PDEATHSIG, as the issue first put
// it): that is an exec per run, 10-20% of the spawn rate of /bin/true here;
// the keeper is exec'd once, and its messages are off the path of a start.
//
// If the keeper dies instead, the runs go on (they are the worker's
// children): the worker starts another and tells it what it holds.
#pragma once

#include <uv.h>

#include <functional>
#include <optional>
#include <string>

#include "error.hpp"
#include "keeper_wire.hpp"

namespace jobd {

// The keeper's side: `jobd --keeper`, the socket on kKeeperFd. Returns its
// exit status once the worker is gone.
inline constexpr int kKeeperFd = 3;
int keeper_main();

// The worker's side, on its loop.
class Keeper {
 public:
  // `lost` is called when the keeper is gone (it died, or the socket broke).
  Keeper(uv_loop_t* loop, std::function<void(const std::string& why)> lost);
  ~Keeper();
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

  // Starts a keeper process: `program --keeper` (jobd's own executable).
  std::optional<job::Error> start(const std::string& program);
  bool running() const { return pipe_ != nullptr; }
  pid_t pid() const { return pid_; }  // the latest keeper's, for the worker to reap

  // `marker` is the run's JOBD_RUN_ID entry ("JOBD_RUN_ID=r42"). Written at
  // once: it must be in the keeper's socket before the run can start.
  void hold(int64_t run, const std::string& marker);
  // Written at the end of the loop's turn, a turn's worth in one write: one
  // lost with us is harmless (the keeper finds an untold run by its marker,
  // and killing an ended group finds nobody).
  void started(int64_t run, pid_t pid) { pending_ += keeper_wire::started(run, pid); }
  void ended(int64_t run) { pending_ += keeper_wire::ended(run); }
  // Closes the socket: the keeper kills what it still holds and exits.
  void close();

 private:
  void send(std::string frames);
  void flush();
  void fail(const std::string& why);

  uv_loop_t* loop_;
  std::function<void(const std::string&)> lost_;
  uv_pipe_t* pipe_ = nullptr;
  uv_check_t* check_ = nullptr;  // flushes pending_ after each turn
  std::string pending_;
  pid_t pid_ = 0;
};

}  // namespace jobd
