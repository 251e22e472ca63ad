#include "spawner.hpp"

#include <csignal>

namespace jobd {

Spawner::Spawner(uv_loop_t* loop, std::function<void(SpawnResult)> done) : done_(std::move(done)) {
  uv_async_init(loop, &async_, [](uv_async_t* a) { static_cast<Spawner*>(a->data)->deliver(); });
  async_.data = this;
  // The thread takes no signals: they are the loop's to handle.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { work(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

Spawner::~Spawner() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void Spawner::close() { uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr); }

void Spawner::submit(SpawnRequest request) {
  ++in_flight_;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(std::move(request));
  }
  wake_.notify_one();
}

void Spawner::work() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return quit_ || !requests_.empty(); });
    if (requests_.empty()) return;  // quit_, and nothing left to do
    SpawnRequest request = std::move(requests_.front());
    requests_.pop_front();
    lock.unlock();
    SpawnResult result{request.run, spawn(request)};
    if (result.spawned) result.spawned->start_ticks = process_start_ticks(result.spawned->pid);
    lock.lock();
    results_.push_back(std::move(result));
    uv_async_send(&async_);
  }
}

void Spawner::deliver() {
  std::deque<SpawnResult> results;
  {
    std::lock_guard lock(mu_);
    results.swap(results_);
  }
  for (auto& r : results) {
    --in_flight_;
    done_(std::move(r));
  }
}

}  // namespace jobd
