// The scheduler core: a deterministic state machine over jobs and runs.
//
// It never reads a clock, a socket or a file. The daemon feeds it inputs (a
// submitted spec, the time, a started or exited process) and carries out the
// actions it returns (start run R, signal run R's process group, tell the
// waiters of run R). After each batch of inputs the daemon persists the jobs
// and runs the core marks dirty, in one transaction. Not thread-safe: one
// loop owns it.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "error.hpp"
#include "sched/model.hpp"
#include "sched/workers.hpp"

namespace job::sched {

struct Config {
  int slots = 1;                                         // runs that may run at once
  time::Duration kill_grace = std::chrono::seconds{10};  // SIGTERM -> SIGKILL
  time::Zone local_zone{};                               // the zone of cron jobs that name none
  time::Duration keep_for = std::chrono::days{30};       // finished runs older than this are removed
  uint64_t seed = 1;                                     // of the jitter of retries
  // Cluster mode: this node's name and tags (it runs jobs itself with
  // `slots`, as any worker), and how workers' heartbeats are judged.
  std::string node_name{};
  std::map<std::string, std::string> tags{};
  Health health{};
};

// A lease as a worker names it: the run, and the epoch it was granted under.
struct Lease {
  int64_t run = 0;
  uint64_t epoch = 0;
  friend bool operator==(const Lease&, const Lease&) = default;
};

// What cancel() did: the runs it cancelled (or asked to stop), and the state
// of a run that had already finished.
struct Cancelled {
  std::vector<int64_t> runs;
  std::optional<RunState> already;
};

// A change for subscribers (`jobctl events`), in the order it happened: a
// job submitted, updated or changing state, a run created or changing state.
struct Event {
  int64_t job = 0;
  std::string job_name;   // as it was: a deleted job's is gone by the time the event is told
  int64_t run = 0;        // 0: an event of the job itself
  std::string_view what;  // "submitted", "updated", or the job's or run's new state
  std::string_view from;  // the state before; empty for a new job or run
};

struct Action {
  enum class Kind {
    start,     // spawn run `run` (its state is already `running`)
    assign,    // send run `run` to its worker (run.worker, under run.epoch); it is `running`
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
  // run now gets its run at once. `source`: the file it came from, if any.
  // Returns the job's id.
  Result<int64_t> submit(JobSpec spec, time::Instant now, std::string source = {});
  // What submit(), or update() of job `updating`, would say of the spec,
  // changing nothing: for all-or-nothing batches (`jobctl apply`).
  std::optional<Error> check(const JobSpec& spec, time::Instant now, int64_t updating = 0) const;
  // Replaces a job's spec; its name, id and history stay. Runs already
  // started carry on as they were (a job run in progress keeps its tasks);
  // the new spec applies to runs that start afterwards. A changed schedule
  // fires next from now on; a change of `paused` pauses or resumes the job.
  std::optional<Error> update(int64_t job, JobSpec spec, time::Instant now);
  void set_source(int64_t job, std::string source);

  // Fires due jobs, enforces timeouts, and fills free slots by priority.
  void tick(time::Instant now);

  void started(int64_t run, int64_t pid, int64_t pid_start);
  void start_failed(int64_t run, std::string reason, time::Instant now);
  // A run's process ended: exit_code, or the signal that killed it.
  void exited(int64_t run, std::optional<int> exit_code, int signal, time::Instant now);
  void lost(int64_t run, std::string reason, time::Instant now);
  // Cluster mode, as the coordinator. A worker (re-)registers with the
  // leases it holds, and beats with them: leases it names that are not (or no
  // longer) its own are returned, for it to kill their process groups; runs
  // leased to it that it no longer names are lost (but not those granted
  // after `seen_epoch`, the newest epoch it had received: still on their way).
  // A worker that stays silent for down_after loses all its leases: their
  // runs are lost, and retried per their policy, elsewhere.
  std::vector<Lease> join_worker(WorkerSpec spec, const std::vector<Lease>& held, uint64_t seen_epoch,
                                 time::Instant now);
  Result<std::vector<Lease>> worker_heartbeat(const std::string& worker, const std::vector<Lease>& held,
                                              uint64_t seen_epoch, time::Instant now);
  // A worker's run ended. A report that does not match the run's current
  // lease (another worker, another epoch, a run already over) is refused:
  // Errc::invalid_argument, "stale lease ...", and changes nothing.
  std::optional<Error> worker_exited(const std::string& worker, Lease lease, std::optional<int> exit_code,
                                     int signal, time::Instant now);
  // The same checks, for a run that never got going there: it could not
  // start (start_failed: not retried), or the worker lost it without seeing
  // it end, as when it restarts (lost: retried per the job's policy).
  std::optional<Error> worker_start_failed(const std::string& worker, Lease lease, std::string reason,
                                           time::Instant now);
  std::optional<Error> worker_lost(const std::string& worker, Lease lease, std::string reason, time::Instant now);
  std::optional<Error> drain_worker(const std::string& worker, bool drained);
  void set_worker_load(const std::string& worker, double load) {
    if (Worker* w = workers_.find(worker)) w->load = load;
  }
  const Workers& workers() const { return workers_; }

  // Stop: every running process group gets SIGTERM now and SIGKILL after the
  // grace, and nothing starts any more. Runs on workers go on: a restarted
  // coordinator adopts them again.
  void shutdown(time::Instant now);
  // Undoes a submit whose commit failed: the job and its runs vanish. None of
  // its runs has been started (starts wait for the commit).
  void forget(int64_t job);

  // Control. Errors: Errc::invalid_argument when the request makes no sense
  // for the job's state (pausing a completed job).
  // A run that waits is cancelled at once; a running one gets SIGTERM (SIGKILL
  // after the grace) and ends `cancelled` when it exits. Never retried.
  Cancelled cancel_run(int64_t run, time::Instant now);
  // Cancels the job's active runs; a one-time job is then completed.
  Cancelled cancel_job(int64_t job, time::Instant now);
  std::optional<Error> pause(int64_t job);
  // Fires missed while paused follow the job's catch-up policy.
  std::optional<Error> resume_job(int64_t job, time::Instant now);
  // One run now, outside the schedule, under the job's overlap policy: the
  // run returned may be `skipped`.
  Result<int64_t> trigger(int64_t job, time::Instant now);
  // Cancels the job's active runs and marks it deleted: its name is free
  // again, its runs stay until retention removes them, and then it goes too.
  Cancelled remove_job(int64_t job, time::Instant now);

  // Retention: runs and jobs removed from memory since the last call, for the
  // daemon to delete from the database (with the runs' logs).
  std::vector<int64_t> take_removed_runs() { return std::exchange(removed_runs_, {}); }
  std::vector<int64_t> take_removed_jobs() { return std::exchange(removed_jobs_, {}); }

  // When tick() next has work, if ever.
  std::optional<time::Instant> next_wakeup() const;
  std::vector<Action> take_actions() { return std::exchange(actions_, {}); }
  std::vector<int64_t> take_dirty_jobs() { return std::exchange(dirty_jobs_, {}); }
  std::vector<int64_t> take_dirty_runs() { return std::exchange(dirty_runs_, {}); }
  std::vector<Event> take_events() { return std::exchange(events_, {}); }
  bool dirty() const { return !dirty_jobs_.empty() || !dirty_runs_.empty(); }

  // Lookups. A job reference is an id ("j12"), a name in namespace `ns`, or
  // "NS/NAME"; a run's is "r345". Deleted jobs are not found, except by id
  // with `deleted` set. Who may see which is the daemon's business.
  const Job* find_job(std::string_view ns, std::string_view ref, bool deleted = false) const;
  const Run* find_run(std::string_view ref) const;
  const Job* job(int64_t id) const;
  const Run* run(int64_t id) const;
  const TaskSpec* task_of(const Run& run) const;  // a task run's task, else null
  bool has_process(const Run& run) const;         // all runs but a graph's job runs
  template <class F>
  void for_each_job(F f) const {
    for (int64_t id : job_order_) f(jobs_.at(id));
  }
  // Every run held (task runs too), in no particular order.
  template <class F>
  void for_each_run(F f) const {
    for (const auto& [id, run] : runs_) f(run);
  }
  // Runs newest first, all or one job's, at most `limit`, of those `keep`
  // accepts (all if it is empty).
  using RunFilter = std::function<bool(const Run&)>;
  std::vector<const Run*> recent_runs(const Job* job, size_t limit, const RunFilter& keep = {}) const;
  // Runs newest first whose state is one of `states`, task runs included
  // (their processes are what runs), all or one job's, at most `limit`.
  std::vector<const Run*> runs_in_states(const std::vector<RunState>& states, const Job* job, size_t limit,
                                         const RunFilter& keep = {}) const;
  int slots() const { return config_.slots; }
  // Settings from a reloaded configuration (the seed and the local zone stay).
  // More slots start queued runs at the next tick; fewer stop no running
  // run. A new kill_grace counts for kills decided afterwards; a shorter
  // keep_for removes what it no longer keeps at the next tick.
  void reconfigure(const Config& config);
  int running() const { return running_; }
  int running_here() const { return workers_.local().used; }  // runs on this node, not on workers
  size_t queued() const { return queued_; }
  size_t job_count() const { return jobs_.size(); }

 private:
  // Why a worker's report about lease.run is refused, if it is.
  std::optional<Error> stale_report(const std::string& worker, Lease lease) const;
  struct Timer {
    enum class Kind { fire, timeout, kill, retry, sweep, deadline, lease } kind;
    time::Instant when;
    int64_t id;  // job for fire, worker (its position) for lease, run otherwise
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

  Result<Job> validate(JobSpec spec, time::Instant now, const Job* updating = nullptr) const;
  void schedule_next(Job& job, time::Instant after);
  // A new run of `job` in `state` (queued, pending, retrying or skipped), or
  // a task run of job run `parent`. A graph's queued job run starts at once.
  Run& new_run(Job& job, time::Instant scheduled_at, time::Instant now, RunState state, int64_t parent = 0,
               std::string task = {});
  // Graph jobs: one Readiness per job run in progress.
  struct GraphRun {
    std::shared_ptr<const JobGraph> graph;  // the one it started with, kept alive with the run
    Readiness readiness;
    std::vector<int64_t> latest;  // by task: its newest task run, or 0
  };
  // A job run's readiness, from its task runs so far, and its first advance.
  void start_graph(Run& job_run, time::Instant now);
  // Starts the tasks that became ready, records those skipped, and ends the
  // job run when every task has ended.
  void advance(int64_t job_run, time::Instant now);
  static Outcome outcome_of(RunState s);
  struct Policy {
    int64_t priority;
    time::Duration timeout;
    int retries;
    time::Duration backoff, max_backoff;
    double jitter;
  };
  Policy policy_of(const Run& run) const;  // the job's, or its task's overrides
  // A waiting run's turn: queued, or for a graph's job run, started.
  void activate(Run& run, time::Instant now);
  // Cross-job dependencies (`after`): the pending run of a job that waits
  // for upstream runs checks them, and either waits on (indexed by the run
  // or the job it waits for, so that each end touches only its waiters),
  // starts, or is skipped.
  bool waits_for_upstream(const Run& run) const;
  void wait_upstream(int64_t run, time::Instant now);
  // One fire of the schedule (or a trigger), under the overlap policy.
  int64_t fire(Job& job, time::Instant scheduled_at, time::Instant now);
  // Fires from job.next_fire up to now at once (jobd was down, the job was
  // paused, the loop was late): the catch-up policy decides what runs.
  void catch_up(Job& job, time::Instant now, std::string_view why);
  void enqueue(Run& run);
  void set_state(Run& run, RunState to);
  void set_state(Job& job, JobState to);
  // Cluster: leases.
  void dispatch(time::Instant now);  // queued runs to free slots, by priority
  void expire_leases(Worker& w, time::Instant now);
  std::vector<Lease> reconcile(Worker& w, const std::vector<Lease>& held, uint64_t seen_epoch, time::Instant now);
  void arm_lease_timer(const Worker& w);
  Worker* worker_of(const Run& run);
  void note(const Job& job, int64_t run, std::string_view what, std::string_view from);  // an Event
  Cancelled cancel_runs(Job& job, time::Instant now);  // its unfinished runs
  void finish(Run& run, RunState to, time::Instant now, bool may_retry = true);
  void retry(Run& failed, time::Instant now);
  time::Duration backoff(const Policy& policy, int attempt);
  void start_next_pending(Job& job, time::Instant now);
  void apply_retention(Job& job);
  void sweep(time::Instant now);
  void remove_run(Job& job, int64_t run);
  // A deleted job goes with its last run: true if it went (`job` dangles).
  bool drop_if_gone(Job& job);
  void timeout_or_cancel_grace(Run& run, time::Instant now);
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
  Workers workers_;
  uint64_t epoch_ = 0;    // the newest lease's; restored as the highest of the runs'
  bool blocked_ = false;  // the queue's head runs have no place: wait for a change, do not spin
  size_t queued_ = 0;
  bool stopping_ = false;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::priority_queue<Ready> ready_;
  std::vector<Action> actions_;
  std::vector<int64_t> dirty_jobs_;
  std::vector<int64_t> dirty_runs_;
  std::vector<Event> events_;
  std::vector<int64_t> removed_runs_;
  std::vector<int64_t> removed_jobs_;
  std::vector<int64_t> retention_due_;  // jobs whose history to trim at the next tick
  std::deque<int64_t> finish_order_;    // finished runs, oldest first, for keep_for
  std::unordered_map<int64_t, GraphRun> graphs_;
  std::unordered_map<int64_t, std::vector<int64_t>> waiting_on_run_;  // upstream run -> waiting runs
  std::unordered_map<int64_t, std::vector<int64_t>> waiting_on_job_;  // job (its next run) -> waiting runs
  uint64_t rng_;
  bool sweep_armed_ = false;
};

}  // namespace job::sched
