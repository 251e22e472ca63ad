// Jobs and runs as the scheduler keeps them: plain data. A JobSpec is what a
// user asks for; a Job is a validated spec with its state; a Run is one
// execution (attempt) of a job, fired for one scheduled instant.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cron/schedule.hpp"
#include "sched/confinement.hpp"
#include "sched/dag.hpp"
#include "sched/states.hpp"
#include "time/instant.hpp"
#include "time/zone.hpp"

namespace job::sched {

// One task of a job's graph. Unset overrides take the job's value.
struct TaskSpec {
  std::string name;
  std::vector<std::string> argv;  // the command: an argv, or a shell string
  std::string shell;
  std::vector<std::string> after;  // the tasks of the same job it runs after
  TriggerRule trigger = TriggerRule::all_success;
  std::optional<int64_t> priority;
  std::optional<time::Duration> timeout;
  std::optional<int> retries;
  std::optional<time::Duration> backoff;
  std::optional<time::Duration> max_backoff;
  std::optional<double> jitter;
  std::vector<std::pair<std::string, std::string>> env;  // added to the job's
  std::string cwd;                                       // empty: the job's

  friend bool operator==(const TaskSpec&, const TaskSpec&) = default;
};

// A cross-job dependency (`submit --after`): the run it names, or a job's
// newest active run (else its next one), must end as the rule says.
struct AfterSpec {
  enum class Rule {
    success,  // Slurm's afterok
    done,     // afterany
    failure,  // afternotok
  };
  std::string ref;  // "r12", or a job's id or name
  Rule rule = Rule::success;

  friend bool operator==(const AfterSpec&, const AfterSpec&) = default;
};

std::string_view name(AfterSpec::Rule r);
std::optional<AfterSpec::Rule> after_rule_from(std::string_view s);

// Where to tell someone that a run ended (jobs.toml(5), NOTIFICATIONS in
// jobd(8)): exactly one of webhook, mail and exec is set.
struct NotifySpec {
  enum class Event {
    failure,  // a run failed, timed out or was lost, and is not retried
    success,  // a run succeeded
    retry,    // an attempt failed and will be retried
    skipped,  // a fire was recorded skipped
  };
  std::vector<Event> on = {Event::failure};
  std::string webhook;            // an http:// or https:// URL, POSTed a JSON document
  std::string mail;               // an address, mailed through `sendmail -t`
  std::vector<std::string> exec;  // a program (absolute path) and its arguments, the JSON on stdin

  bool wants(Event e) const;
  friend bool operator==(const NotifySpec&, const NotifySpec&) = default;
};

std::string_view name(NotifySpec::Event e);
std::optional<NotifySpec::Event> notify_event_from(std::string_view s);

struct JobSpec {
  enum class Trigger {
    now,    // one run, as soon as submitted
    cron,   // the cron expression in `cron`, in zone `tz`
    at,     // one run at `at`
    every,  // every `every`, counted from the submission
  };

  std::string name;  // empty: the job is named after its id
  // The namespace its name lives in: its owner's (daemon/identity.hpp). Names
  // are unique within one; "NS/NAME" names a job from outside it.
  std::string ns;
  Trigger trigger = Trigger::now;
  std::string cron;
  time::Instant at{};
  time::Duration every{};
  std::string tz;  // IANA zone of a cron schedule; empty: jobd's local zone
  int64_t priority = 0;
  time::Duration timeout{};  // zero: none
  // The command: an argv, or a string for /bin/sh -c. Exactly one is set.
  std::vector<std::string> argv;
  std::string shell;
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;      // empty: jobd's working directory (the user's home with `user`)
  std::string user;     // the Unix user its runs run as; empty: jobd's own
  Confinement confine;  // limits and sandbox (sched/confinement.hpp)

  // Failure policy: a failed attempt n (counting from 1) is retried, up to
  // `retries` times, after min(max_backoff, backoff * 2^(n-1)), lengthened
  // by a random fraction in [0, jitter].
  int retries = 3;
  time::Duration backoff = std::chrono::seconds{10};
  time::Duration max_backoff = std::chrono::minutes{10};
  double jitter = 0.1;

  enum class Concurrency {
    allow,    // fires run side by side
    forbid,   // a fire while a run is active is recorded `skipped`
    replace,  // a fire cancels the active runs and starts anew
  };
  enum class Catchup {
    none,  // fires missed (jobd down, job paused) produce no run
    last,  // one run for the newest missed fire
    all,   // one run per missed fire (the newest kCatchupMax), one after another
  };
  Concurrency concurrency = Concurrency::forbid;
  Catchup catchup = Catchup::last;
  time::Duration starting_deadline{};  // zero: none; a fire not started within it is skipped
  int keep_runs = 100;                 // runs kept in history; older ones are removed

  // A graph of tasks instead of one command (argv and shell then empty).
  // Each fire makes one job run, and each task its own task runs.
  std::vector<TaskSpec> tasks;
  // Upstream runs this (run-now) job waits for.
  std::vector<AfterSpec> after;

  // Created paused. An update (`jobctl apply`) pauses or resumes the job only
  // when this changes, so that a `jobctl pause` outlives re-applying a file.
  bool paused = false;

  // Who hears about the job's (top-level) runs ending; none by default.
  std::vector<NotifySpec> notify;

  // Where its runs may go (cluster mode): only to nodes carrying every one of
  // these tags, and only to the node of that name if `node` is set.
  std::map<std::string, std::string> constraints;
  std::string node;

  friend bool operator==(const JobSpec&, const JobSpec&) = default;
};

constexpr int kCatchupMax = 100;

std::string_view name(JobSpec::Trigger t);
std::optional<JobSpec::Trigger> trigger_from(std::string_view s);
std::string_view name(JobSpec::Concurrency c);
std::optional<JobSpec::Concurrency> concurrency_from(std::string_view s);
std::string_view name(JobSpec::Catchup c);
std::optional<JobSpec::Catchup> catchup_from(std::string_view s);

// A job's task graph with the tasks it was built from. A job run in progress
// keeps the one it started with, whatever updates of the job come meanwhile.
struct JobGraph : Graph {
  std::vector<TaskSpec> tasks;
};

struct Job {
  int64_t id = 0;
  JobSpec spec;
  std::string source;  // the file it was applied from (absolute path); empty: submitted
  JobState state = JobState::active;
  time::Instant created_at{};
  std::optional<time::Instant> next_fire;
  // Derived from the spec when the job is created or restored; not stored.
  cron::Schedule schedule{};
  time::Zone zone{};
  std::vector<int64_t> runs;           // top-level runs (not task runs), oldest first
  int active = 0;                      // of those, runs not yet final (derived)
  std::shared_ptr<const JobGraph> graph;  // of spec.tasks, if any (derived)
};

struct Run {
  int64_t id = 0;
  int64_t job = 0;
  int attempt = 1;
  RunState state = RunState::queued;
  time::Instant created_at{};
  time::Instant scheduled_at{};  // the fire instant this run stands for
  std::optional<time::Instant> started_at;
  std::optional<time::Instant> finished_at;
  std::optional<int> exit_code;
  int signal = 0;  // the signal that ended it, if any
  int64_t pid = 0;
  int64_t pid_start = 0;  // the process's start time, to recognise it after a restart
  std::string reason;     // why it failed, was lost, timed out or was skipped, in words
  bool timeout_sent = false;
  bool cancel_requested = false;  // cancelled while running: ends `cancelled` when it exits

  // Attempts: a failed attempt is followed by a new run (attempt + 1) that
  // waits in `retrying` until retry_at. Each keeps its own exit code and logs.
  std::optional<time::Instant> retry_at;
  int64_t retry_of = 0;      // the attempt this one retries
  int64_t next_attempt = 0;  // the attempt that retries this one

  // The fires this run (or `skipped` record) stands for, when it covers
  // missed ones: from missed_since to scheduled_at, missed_count in all.
  int64_t missed_count = 0;
  std::optional<time::Instant> missed_since;

  // Graph jobs: a job run (no process of its own) has task runs; a task run
  // names its job run and its task.
  int64_t parent = 0;
  std::string task;
  std::vector<int64_t> children;  // of a job run, in creation order (derived)

  // Cluster mode: the worker the run was leased to (empty: the coordinator
  // ran it itself), and the lease's fencing epoch. A worker's report counts
  // only if it names this worker and this epoch.
  std::string worker;
  uint64_t epoch = 0;
  std::string waiting;  // a queued run no node can take: why (derived, not stored)
};

// A job's or a task's name: letters, digits, '.', '_' and '-', at most 128,
// not starting with '-' or '.'.
bool valid_name(std::string_view name);
// "NS/NAME": a job's name as seen from outside its namespace, and the key
// names are unique by.
std::string qualified_name(std::string_view ns, std::string_view name);

// Ids as users see them: "j12" for job 12, "r345" for run 345.
std::string job_ref(int64_t id);
std::string run_ref(int64_t id);
// The number in "j12" (prefix 'j') or "r345" (prefix 'r'), if the text is one.
std::optional<int64_t> parse_ref(std::string_view text, char prefix);
// A name that reads as a job or run id ("j12", "r345"): not allowed for a
// job, since JOB arguments take either.
inline bool looks_like_ref(std::string_view name) { return parse_ref(name, 'j') || parse_ref(name, 'r'); }

}  // namespace job::sched
