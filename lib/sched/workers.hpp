// The coordinator's view of the nodes that run its jobs: who registered,
// how healthy each is by its heartbeats, how busy (leases held), and where
// the next run goes. Pure and deterministic like the rest of the core: the
// daemon feeds it registrations, heartbeats and `now`, so that these
// decisions can later become replicated log entries.
//
// The coordinator itself is one of the nodes (the "local" one, always
// healthy) unless its slots are 0.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "time/instant.hpp"

namespace job::sched {

struct WorkerSpec {
  std::string name;  // unique; a re-registration under a known name is the same worker
  int slots = 1;
  std::map<std::string, std::string> tags;
  std::string address;  // where it says it is, for humans
  std::string version;
  friend bool operator==(const WorkerSpec&, const WorkerSpec&) = default;
};

enum class WorkerState {
  ready,      // heartbeats on time: takes new runs
  draining,   // told to take no new runs; its running ones finish
  unhealthy,  // no heartbeat for unhealthy_after: no new runs, leases kept
  down,       // no heartbeat for down_after: its leases have expired
};
std::string_view name(WorkerState s);

struct Health {
  time::Duration heartbeat = std::chrono::seconds{1};  // how often workers are asked to beat
  time::Duration unhealthy_after = std::chrono::seconds{5};
  time::Duration down_after = std::chrono::seconds{15};
};

struct Worker {
  WorkerSpec spec;
  bool local = false;    // the coordinator itself
  bool drained = false;  // jobctl workers drain
  bool registered = false;  // false: only known from runs restored after a restart
  time::Instant last_heartbeat{};
  int used = 0;           // runs leased to it now: runs.size()
  std::set<int64_t> runs;  // those runs
  // Runs assigned to it lately: a count that halves every kRecentHalfLife,
  // as of recent_at. Ties go to the one given fewer lately; not fewer ever,
  // which would hand a worker that joins late every tie for days.
  double recent = 0;
  time::Instant recent_at{};
  double load = 0;        // its 1-minute load average, as its last heartbeat said (shown, not used)
  size_t position = 0;    // among all workers, for the registry (Workers::at)
};

// Why a run has no place, in words for `jobctl show` ("no ready worker has
// disk=ssd"); empty when it has one.
struct Placement {
  Worker* worker = nullptr;
  std::string why_not;
};

class Workers {
 public:
  explicit Workers(Health health = {}, uint64_t seed = 1) : health_(health), rng_(seed) {}

  const Health& health() const { return health_; }
  void set_health(Health h) { health_ = h; }

  // The coordinator's own node: its slots (0: it runs nothing itself) and tags.
  void set_local(WorkerSpec spec);
  // A worker (re-)registers: a known name keeps its leases and counters and
  // takes the new slots and tags. Counts as a heartbeat.
  Worker& join(WorkerSpec spec, time::Instant now);
  // A worker known only from restored runs (the coordinator restarted): it
  // has until down_after from `now` to register again.
  Worker& expect(const std::string& name, time::Instant now);
  // Returns false for an unknown name.
  bool heartbeat(const std::string& name, time::Instant now);
  bool drain(const std::string& name, bool drained);

  WorkerState state(const Worker& w, time::Instant now) const;
  Worker* find(const std::string& name);
  const Worker* find(const std::string& name) const;
  Worker& local() { return slot(kLocal); }
  const Worker& local() const { return workers_[index_.at(kLocal)]; }
  // When `w` goes down if it stays silent.
  time::Instant down_at(const Worker& w) const { return w.last_heartbeat + health_.down_after; }

  // Where a run goes: among ready workers with a free slot that carry every
  // tag of `constraints` (and are named `node`, if given), the one with the
  // most free slots, then the fewest recent assignments, then the name. With more
  // than kSampleAbove workers and no constraint, the better of two drawn at
  // random (power of two choices: O(1), and within a small factor of the
  // best); when draws keep missing (most workers busy), a full scan.
  Placement place(const std::map<std::string, std::string>& constraints, const std::string& node,
                  time::Instant now);
  // A run leased to / released by `w`.
  void take(Worker& w, int64_t run, time::Instant now) {
    if (w.runs.insert(run).second) {
      w.recent = recent(w, now) + 1;
      w.recent_at = now;
    }
    w.used = static_cast<int>(w.runs.size());
  }
  static constexpr time::Duration kRecentHalfLife = std::chrono::seconds{60};
  static double recent(const Worker& w, time::Instant now);
  void release(Worker& w, int64_t run) {
    w.runs.erase(run);
    w.used = static_cast<int>(w.runs.size());
  }
  // A worker's place among all, stable for its life (timers name it so).
  size_t position(const Worker& w) const { return w.position; }
  Worker* at(size_t position) { return position < workers_.size() ? &workers_[position] : nullptr; }

  // Whether any worker could take a run now, ignoring constraints: the
  // dispatch loop stops when none can.
  bool any_free(time::Instant now) const;

  template <class F>
  void for_each(F f) const {
    for (const Worker& w : workers_) f(w);
  }
  size_t size() const { return workers_.size(); }

  static constexpr size_t kSampleAbove = 64;  // workers past which two are sampled

 private:
  Worker& slot(const std::string& key);  // by key, created empty if new
  bool eligible(const Worker& w, const std::map<std::string, std::string>& constraints, time::Instant now) const;

  static inline const std::string kLocal = "\x01local";  // a key no worker name can take
  Health health_;
  // Never shrinks: a worker that left stays known (down), with its name.
  // Indexed, so that two can be drawn at random in O(1); a deque, so that a
  // Worker& stays valid when others join.
  std::deque<Worker> workers_;
  std::map<std::string, size_t> index_;  // key (its name; the local node's kLocal) -> position
  std::mt19937_64 rng_;
};

}  // namespace job::sched
