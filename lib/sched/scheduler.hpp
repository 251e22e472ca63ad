// The scheduler core: a deterministic state machine over jobs and runs.
//
// It never reads a clock, a socket or a file. The daemon feeds it inputs (a
// submitted spec, the time, a started or exited process) and carries out the
// actions it returns (start run R, signal run R's process group, tell the
// waiters of run R). After each batch of inputs the daemon persists the jobs
// and runs the core marks dirty, in one transaction. Not thread-safe: one
// loop owns it.
#pragma once

#include <functional>
#include <optional>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "error.hpp"
#include "sched/model.hpp"

namespace job::sched {

struct Config {
  int slots = 1;                                         // runs that may run at once
  time::Duration kill_grace = std::chrono::seconds{10};  // SIGTERM -> SIGKILL
  time::Zone local_zone{};                               // the zone of cron jobs that name none
};

struct Action {
  enum class Kind {
    start,     // spawn run `run` (its state is already `running`)
    signal,    // send `signal` to run `run`'s process group
    finished,  // run `run` reached a final state
  };
  Kind kind;
  int64_t run;
  int signal = 0;
};

class Scheduler {
 public:
  explicit Scheduler(Config config);

  // Start-up: give back what was persisted, then call resume(). Runs found
  // `running` are reported by the daemon through lost() or adopted as they are.
  // A job whose schedule no longer parses is kept but fires nothing; the
  // error says why.
  std::optional<Error> restore(Job job);
  void restore(Run run);
  void resume(time::Instant now);

  // Validates the spec (errors name the field) and creates the job; a job to
  // run now gets its run at once. Returns the job's id.
  Result<int64_t> submit(JobSpec spec, time::Instant now);

  // Fires due jobs, enforces timeouts, and fills free slots by priority.
  void tick(time::Instant now);

  void started(int64_t run, int64_t pid, int64_t pid_start);
  void start_failed(int64_t run, std::string reason, time::Instant now);
  // A run's process ended: exit_code, or the signal that killed it.
  void exited(int64_t run, std::optional<int> exit_code, int signal, time::Instant now);
  void lost(int64_t run, std::string reason, time::Instant now);
  // Stop: every running process group gets SIGTERM now and SIGKILL after the
  // grace, and nothing starts any more.
  void shutdown(time::Instant now);
  // Undoes a submit whose commit failed: the job and its runs vanish. None of
  // its runs has been started (starts wait for the commit).
  void forget(int64_t job);

  // When tick() next has work, if ever.
  std::optional<time::Instant> next_wakeup() const;
  std::vector<Action> take_actions() { return std::exchange(actions_, {}); }
  std::vector<int64_t> take_dirty_jobs() { return std::exchange(dirty_jobs_, {}); }
  std::vector<int64_t> take_dirty_runs() { return std::exchange(dirty_runs_, {}); }
  bool dirty() const { return !dirty_jobs_.empty() || !dirty_runs_.empty(); }

  // Lookups. A job reference is an id ("j12") or a name; a run's is "r345".
  const Job* find_job(std::string_view ref) const;
  const Run* find_run(std::string_view ref) const;
  const Job* job(int64_t id) const;
  const Run* run(int64_t id) const;
  template <class F>
  void for_each_job(F f) const {
    for (int64_t id : job_order_) f(jobs_.at(id));
  }
  // Runs newest first, all or one job's, at most `limit`.
  std::vector<const Run*> recent_runs(const Job* job, size_t limit) const;
  int slots() const { return config_.slots; }
  int running() const { return running_; }
  size_t queued() const { return queued_; }
  size_t job_count() const { return jobs_.size(); }

 private:
  struct Timer {
    enum class Kind { fire, timeout, kill } kind;
    time::Instant when;
    int64_t id;  // job for fire, run otherwise
    bool operator>(const Timer& o) const { return when > o.when; }
  };
  struct Ready {
    int64_t priority;
    int64_t seq;
    int64_t run;
    bool operator<(const Ready& o) const {  // the top is the highest priority, then the oldest
      return priority != o.priority ? priority < o.priority : seq > o.seq;
    }
  };

  Result<Job> validate(JobSpec spec, time::Instant now) const;
  void schedule_next(Job& job, time::Instant after);
  void fire(Job& job, time::Instant scheduled_at, time::Instant now);
  void enqueue(Run& run);
  void set_state(Run& run, RunState to);
  void set_state(Job& job, JobState to);
  void finish(Run& run, RunState to, time::Instant now);
  Job& job_of(const Run& run) { return jobs_.at(run.job); }
  void mark(const Job& job) { dirty_jobs_.push_back(job.id); }
  void mark(const Run& run) { dirty_runs_.push_back(run.id); }

  Config config_;
  std::unordered_map<int64_t, Job> jobs_;
  std::vector<int64_t> job_order_;  // creation order, for listing
  std::unordered_map<std::string, int64_t> names_;
  std::unordered_map<int64_t, Run> runs_;
  int64_t next_job_id_ = 1;
  int64_t next_run_id_ = 1;
  int64_t next_seq_ = 0;
  int running_ = 0;
  size_t queued_ = 0;
  bool stopping_ = false;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::priority_queue<Ready> ready_;
  std::vector<Action> actions_;
  std::vector<int64_t> dirty_jobs_;
  std::vector<int64_t> dirty_runs_;
};

}  // namespace job::sched
