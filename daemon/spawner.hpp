// Spawns run processes on a thread of its own. posix_spawn blocks its caller
// until the child has exec'd (vfork), a few hundred microseconds here; on the
// loop thread that stalled every client while jobs started. Requests go in
// from the loop thread; results come back to it through a uv_async.
#pragma once

#include <uv.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "executor.hpp"

namespace jobd {

struct SpawnResult {
  int64_t run;
  job::Result<Spawned> spawned;
};

class Spawner {
 public:
  // `done` is called on the loop thread, once per request, in order.
  Spawner(uv_loop_t* loop, std::function<void(SpawnResult)> done);
  ~Spawner();  // finishes what was asked, then joins the thread
  Spawner(const Spawner&) = delete;
  Spawner& operator=(const Spawner&) = delete;

  void submit(SpawnRequest request);
  size_t in_flight() const { return in_flight_; }  // loop thread only
  // Closes the async handle; call before the loop's last run.
  void close();

 private:
  void work();
  void deliver();

  std::function<void(SpawnResult)> done_;
  uv_async_t async_{};
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<SpawnRequest> requests_;
  std::deque<SpawnResult> results_;
  bool quit_ = false;
  size_t in_flight_ = 0;
  std::thread thread_;
};

}  // namespace jobd
