#include "sched/scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <deque>
#include <set>

#include "cron/next.hpp"
#include "cron/parse.hpp"
#include "time/duration.hpp"

namespace job::sched {
namespace {

Error invalid(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

std::optional<Error> check_command(const std::vector<std::string>& argv, const std::string& shell) {
  if (argv.empty() == shell.empty())
    return invalid(argv.empty() ? "empty command: give a program and its arguments, or a shell string"
                                : "give either an argv or a shell string, not both");
  if (!argv.empty() && argv[0].empty()) return invalid("empty command: the program name is empty");
  return std::nullopt;
}

std::optional<Error> check_env_cwd(const std::vector<std::pair<std::string, std::string>>& env,
                                   const std::string& cwd) {
  for (const auto& [key, value] : env)
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos)
      return invalid(fmt::format("env: \"{}\" is not a variable name", key));
  if (!cwd.empty() && cwd[0] != '/') return invalid(fmt::format("cwd: \"{}\" is not an absolute path", cwd));
  return std::nullopt;
}

std::optional<Error> check_policy(time::Duration timeout, int retries, time::Duration backoff,
                                  time::Duration max_backoff, double jitter) {
  if (timeout < time::Duration::zero()) return invalid("timeout must not be negative");
  if (retries < 0 || retries > 1000)
    return invalid(fmt::format("retries: {} is not between 0 and 1000", retries));
  if (backoff < time::Duration::zero()) return invalid("backoff must not be negative");
  if (max_backoff < backoff)
    return invalid(fmt::format("max_backoff: {} is shorter than backoff ({})",
                               time::format_duration(max_backoff), time::format_duration(backoff)));
  if (!(jitter >= 0 && jitter <= 1)) return invalid(fmt::format("jitter: {} is not between 0 and 1", jitter));
  return std::nullopt;
}

// A mail address as sendmail takes it: "user@host", or a local user as cron's
// MAILTO allows; nothing a header could be split or an option hidden with.
bool plausible_mail(std::string_view address) {
  if (address.empty() || address.size() > 254 || address[0] == '-' || address[0] == '@' ||
      address.back() == '@')
    return false;
  if (std::count(address.begin(), address.end(), '@') > 1) return false;
  return std::none_of(address.begin(), address.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= ' ' || u == 0x7f || std::string_view("<>()[],;:\\\"").find(c) != std::string_view::npos;
  });
}

std::optional<Error> check_notify(const std::vector<NotifySpec>& notify) {
  for (size_t i = 0; i < notify.size(); ++i) {
    const NotifySpec& n = notify[i];
    const auto bad = [&](std::string_view field, std::string what) {
      return invalid(fmt::format("notify[{}]{}{}: {}", i, field.empty() ? "" : ".", field, what));
    };
    const int channels = !n.webhook.empty() + !n.mail.empty() + !n.exec.empty();
    if (channels != 1) return bad("", "give exactly one of webhook, mail and exec");
    if (n.on.empty()) return bad("on", "empty: give one or more of failure, success, retry, skipped");
    if (!n.webhook.empty()) {
      const std::string_view url = n.webhook;
      const size_t scheme = url.starts_with("http://") ? 7 : url.starts_with("https://") ? 8 : 0;
      const bool clean = std::none_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) == 0x7f;
      });
      if (!scheme || url.size() == scheme || url[scheme] == '/' || !clean)
        return bad("webhook", fmt::format("\"{}\" is not an http:// or https:// URL", n.webhook));
    }
    if (!n.mail.empty() && !plausible_mail(n.mail))
      return bad("mail", fmt::format("\"{}\" is not a mail address (such as \"ops@example.com\")", n.mail));
    if (!n.exec.empty() && (n.exec[0].empty() || n.exec[0][0] != '/'))
      return bad("exec", fmt::format("\"{}\" is not an absolute path to a program", n.exec[0]));
  }
  return std::nullopt;
}

// splitmix64: a small, seedable generator, so that tests can pin the jitter.
uint64_t next_random(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool one_time(const JobSpec& spec) {
  return spec.trigger == JobSpec::Trigger::now || spec.trigger == JobSpec::Trigger::at;
}

std::string deadline_reason(time::Duration deadline) {
  return fmt::format("not started within its starting deadline ({})", time::format_duration(deadline));
}

// A job's task graph, checked and indexed, with the tasks it was built from.
Result<std::shared_ptr<const JobGraph>> make_graph(const std::vector<TaskSpec>& tasks) {
  std::vector<TaskDecl> decls;
  decls.reserve(tasks.size());
  for (const TaskSpec& t : tasks) decls.push_back({t.name, t.after, t.trigger});
  auto graph = build_graph(decls);
  if (!graph) return graph.error();
  auto out = std::make_shared<JobGraph>();
  static_cast<Graph&>(*out) = std::move(*graph);
  out->tasks = tasks;
  return std::shared_ptr<const JobGraph>(std::move(out));
}

// Whether a run has a process is decided by its job having tasks: that must
// not change under a run in progress.
std::optional<Error> switch_problem(const Job& job, const JobSpec& spec) {
  if (job.active > 0 && spec.tasks.empty() != job.spec.tasks.empty())
    return invalid(fmt::format("job {} has a run in progress: it cannot switch between a command and tasks "
                               "until the run ends",
                               job.spec.name));
  return std::nullopt;
}

// Counting missed fires stops here; the newest ones are then found from the end.
constexpr int64_t kCountLimit = 200'000;

}  // namespace

Scheduler::Scheduler(Config config)
    : config_(std::move(config)), workers_(config_.health, config_.seed), rng_(config_.seed) {
  workers_.set_local({config_.node_name, config_.slots, config_.tags, {}, {}});
}

void Scheduler::reconfigure(const Config& config) {
  const bool sooner = config.keep_for < config_.keep_for;
  config_.slots = config.slots;
  workers_.local().spec.slots = config.slots;
  blocked_ = false;
  config_.kill_grace = config.kill_grace;
  config_.keep_for = config.keep_for;
  if (!sooner || !sweep_armed_) return;
  // The armed sweep counted with the longer keep_for: replace it with one now.
  std::vector<Timer> others;
  for (; !timers_.empty(); timers_.pop())
    if (timers_.top().kind != Timer::Kind::sweep) others.push_back(timers_.top());
  timers_ = decltype(timers_)(std::greater<>(), std::move(others));
  timers_.push({Timer::Kind::sweep, time::Instant::min(), 0});
}

Result<Job> Scheduler::validate(JobSpec spec, time::Instant now, const Job* updating) const {
  Job job;
  job.id = updating ? updating->id : next_job_id_;
  job.created_at = now;
  if (!spec.name.empty()) {
    if (!valid_name(spec.name))
      return invalid(
          fmt::format("name \"{}\": use letters, digits, '.', '_' and '-' (at most 128, not "
                      "starting with '-' or '.')",
                      spec.name));
    if (looks_like_ref(spec.name))
      return invalid(fmt::format("name \"{}\" looks like a job or run id; choose another", spec.name));
    if (!updating && names_.contains(qualified_name(spec.ns, spec.name)))
      return Error{Errc::name_taken, fmt::format("a job named \"{}\" already exists", spec.name)};
  }
  const std::string seed = spec.name.empty() ? job_ref(job.id) : spec.name;

  switch (spec.trigger) {
    case JobSpec::Trigger::now:
    case JobSpec::Trigger::at:
      break;
    case JobSpec::Trigger::cron: {
      auto schedule = cron::parse_cron(spec.cron, seed);
      if (!schedule) return schedule.error();
      job.schedule = *schedule;
      break;
    }
    case JobSpec::Trigger::every:
      if (spec.every < std::chrono::seconds{1} || spec.every.count() % 1'000'000 != 0)
        return invalid(fmt::format("every: {} is not a whole number of seconds of at least 1s",
                                   time::format_duration(spec.every)));
      job.schedule.kind = cron::Schedule::Kind::every;
      job.schedule.period = spec.every;
      break;
  }
  if (spec.trigger == JobSpec::Trigger::cron) {
    if (spec.tz.empty()) {
      job.zone = config_.local_zone;
    } else {
      auto zone = time::find_zone(spec.tz);
      if (!zone) return zone.error();
      job.zone = *zone;
    }
  } else if (!spec.tz.empty()) {
    return invalid("tz applies to cron schedules only");
  }
  if (spec.tasks.empty()) {
    if (auto e = check_command(spec.argv, spec.shell)) return *e;
  } else if (!spec.argv.empty() || !spec.shell.empty()) {
    return invalid("give either a command or tasks, not both");
  }
  if (auto e = check_env_cwd(spec.env, spec.cwd)) return *e;
  if (auto e = check_notify(spec.notify)) return *e;
  if (auto e = check_policy(spec.timeout, spec.retries, spec.backoff, spec.max_backoff, spec.jitter))
    return *e;
  if (!spec.after.empty()) {
    if (spec.trigger != JobSpec::Trigger::now)
      return invalid("after: only a job that runs now can wait for others (no schedule, at or every)");
    for (const AfterSpec& a : spec.after) {
      if (auto r = parse_ref(a.ref, 'r')) {
        if (!run(*r)) return Error{Errc::not_found, fmt::format("after: no run \"{}\"", a.ref)};
      } else if (!find_job(spec.ns, a.ref)) {
        return Error{Errc::not_found, fmt::format("after: no job \"{}\"", a.ref)};
      }
    }
  }
  if (spec.paused && spec.trigger == JobSpec::Trigger::now)
    return invalid("paused: a job without a schedule runs once, when created; give it a schedule, at or every");
  if (!spec.tasks.empty()) {
    auto graph = make_graph(spec.tasks);
    if (!graph) return graph.error();
    for (const TaskSpec& t : spec.tasks) {
      auto in_task = [&](const Error& e) {
        return invalid(fmt::format("task \"{}\": {}", t.name, e.message));
      };
      if (auto e = check_command(t.argv, t.shell)) return in_task(*e);
      if (auto e = check_env_cwd(t.env, t.cwd)) return in_task(*e);
      if (auto e = check_policy(t.timeout.value_or(spec.timeout), t.retries.value_or(spec.retries),
                                t.backoff.value_or(spec.backoff), t.max_backoff.value_or(spec.max_backoff),
                                t.jitter.value_or(spec.jitter)))
        return in_task(*e);
    }
    job.graph = std::move(*graph);
  }
  if (spec.starting_deadline < time::Duration::zero())
    return invalid("starting_deadline must not be negative");
  if (spec.keep_runs < 1) return invalid(fmt::format("keep_runs: {} is not at least 1", spec.keep_runs));
  job.spec = std::move(spec);
  return job;
}

Result<int64_t> Scheduler::submit(JobSpec spec, time::Instant now, std::string source) {
  auto validated = validate(std::move(spec), now);
  if (!validated) return validated.error();
  Job& job = jobs_[next_job_id_] = std::move(*validated);
  ++next_job_id_;
  job.source = std::move(source);
  if (job.spec.name.empty()) job.spec.name = job_ref(job.id);
  names_.emplace(qualified_name(job.spec.ns, job.spec.name), job.id);
  job_order_.push_back(job.id);
  note(job, 0, "submitted", {});
  switch (job.spec.trigger) {
    case JobSpec::Trigger::now:
      if (job.spec.after.empty()) {
        fire(job, now, now);
        break;
      }
      // A job named upstream means its newest active run, or else its next
      // one, or for a job that will not fire again, its newest run. Saved as
      // "rN" or "jN", so that a restart finds the same runs.
      for (AfterSpec& a : job.spec.after) {
        if (parse_ref(a.ref, 'r')) continue;
        const Job& up = *find_job(job.spec.ns, a.ref);
        a.ref = job_ref(up.id);
        const bool fires_again = up.next_fire.has_value();
        for (auto it = up.runs.rbegin(); it != up.runs.rend(); ++it)
          if (const Run* r = run(*it); r && (!is_final(r->state) || !fires_again)) {
            a.ref = run_ref(r->id);
            break;
          }
      }
      wait_upstream(new_run(job, now, now, RunState::pending).id, now);
      break;
    case JobSpec::Trigger::at:
      job.next_fire = job.spec.at;
      timers_.push({Timer::Kind::fire, job.spec.at, job.id});
      break;
    case JobSpec::Trigger::cron:
    case JobSpec::Trigger::every:
      schedule_next(job, now);
      break;
  }
  if (job.spec.paused) set_state(job, JobState::paused);
  mark(job);
  return job.id;
}

std::optional<Error> Scheduler::check(const JobSpec& spec, time::Instant now, int64_t updating) const {
  const Job* job = updating ? this->job(updating) : nullptr;
  if (job)
    if (auto e = switch_problem(*job, spec)) return e;
  auto validated = validate(spec, now, job);
  return validated ? std::nullopt : std::optional<Error>(validated.error());
}

std::optional<Error> Scheduler::update(int64_t id, JobSpec spec, time::Instant now) {
  Job& job = jobs_.at(id);
  if (job.state == JobState::deleted) return Error{Errc::not_found, fmt::format("no job \"{}\"", job_ref(id))};
  spec.name = job.spec.name;
  if (auto e = switch_problem(job, spec)) return e;
  auto validated = validate(std::move(spec), now, &job);
  if (!validated) return validated.error();
  Job updated = std::move(*validated);
  note(job, 0, "updated", {});
  const JobSpec& was = job.spec;
  const bool rescheduled = was.trigger != updated.spec.trigger || was.cron != updated.spec.cron ||
                           was.at != updated.spec.at || was.every != updated.spec.every ||
                           was.tz != updated.spec.tz;
  const bool pause_changed = was.paused != updated.spec.paused;
  job.spec = std::move(updated.spec);
  job.schedule = updated.schedule;
  job.zone = updated.zone;
  job.graph = std::move(updated.graph);  // job runs in progress keep theirs
  if (rescheduled) {
    job.next_fire.reset();
    if (job.spec.trigger == JobSpec::Trigger::at) {
      job.next_fire = job.spec.at;
      timers_.push({Timer::Kind::fire, job.spec.at, job.id});
    } else if (job.spec.trigger != JobSpec::Trigger::now) {
      schedule_next(job, now);
    }
    if (job.state == JobState::completed && job.next_fire) set_state(job, JobState::active);
  }
  if (pause_changed && (job.state == JobState::active || job.state == JobState::paused)) {
    if (job.spec.paused) {
      if (job.state == JobState::active) set_state(job, JobState::paused);  // else paused by hand already
    } else if (job.state == JobState::paused) {
      set_state(job, JobState::active);
      catch_up(job, now, "paused");
    }
  }
  retention_due_.push_back(job.id);  // keep_runs may have shrunk
  mark(job);
  return std::nullopt;
}

void Scheduler::set_source(int64_t id, std::string source) {
  Job& job = jobs_.at(id);
  if (job.source == source) return;
  job.source = std::move(source);
  mark(job);
}

void Scheduler::schedule_next(Job& job, time::Instant after) {
  job.next_fire = cron::next_fire_after(job.schedule, after, job.zone, job.created_at);
  if (job.next_fire) timers_.push({Timer::Kind::fire, *job.next_fire, job.id});
}

Run& Scheduler::new_run(Job& job, time::Instant scheduled_at, time::Instant now, RunState state,
                        int64_t parent, std::string task) {
  // A graph job's run has no process: it starts its tasks at once.
  const bool job_run = job.graph && parent == 0;
  if (job_run && state == RunState::queued) state = RunState::running;
  Run& run = runs_[next_run_id_];
  run.id = next_run_id_++;
  run.job = job.id;
  run.created_at = now;
  run.scheduled_at = scheduled_at;
  run.state = state;
  note(job, run.id, name(state), {});
  run.parent = parent;
  run.task = std::move(task);
  if (parent == 0) {
    job.runs.push_back(run.id);
    if (!is_final(state)) ++job.active;
    // Runs waiting for this job's next run: this is it.
    if (auto w = waiting_on_job_.find(job.id); w != waiting_on_job_.end()) {
      auto& list = waiting_on_run_[run.id];
      list.insert(list.end(), w->second.begin(), w->second.end());
      waiting_on_job_.erase(w);
    }
  } else {
    runs_.at(parent).children.push_back(run.id);
  }
  if (is_final(state)) {
    run.finished_at = now;
    if (parent == 0) finish_order_.push_back(run.id);
    actions_.push_back({Action::Kind::finished, run.id});
  }
  if (state == RunState::queued) {
    ++queued_;
    enqueue(run);
  }
  // A run still queued when its starting deadline passes is skipped then,
  // not when a slot frees up.
  if (!is_final(state) && parent == 0 && !job_run && job.spec.starting_deadline > time::Duration::zero())
    timers_.push({Timer::Kind::deadline, scheduled_at + job.spec.starting_deadline, run.id});
  mark(run);
  if (job_run && state == RunState::running) {
    run.started_at = now;
    start_graph(run, now);
  }
  return run;
}

bool Scheduler::has_process(const Run& run) const { return run.parent != 0 || !jobs_.at(run.job).graph; }

const TaskSpec* Scheduler::task_of(const Run& run) const {
  if (run.parent == 0) return nullptr;
  // The graph its job run started with; once that has ended, the job's.
  const auto g = graphs_.find(run.parent);
  const JobGraph* graph = g != graphs_.end() ? g->second.graph.get() : jobs_.at(run.job).graph.get();
  const auto index = graph ? graph->find(run.task) : std::nullopt;
  return index ? &graph->tasks[static_cast<size_t>(graph->declared[static_cast<size_t>(*index)])] : nullptr;
}

Scheduler::Policy Scheduler::policy_of(const Run& run) const {
  const JobSpec& spec = jobs_.at(run.job).spec;
  Policy p{spec.priority, spec.timeout, spec.retries, spec.backoff, spec.max_backoff, spec.jitter};
  if (const TaskSpec* t = task_of(run)) {
    p.priority = t->priority.value_or(p.priority);
    p.timeout = t->timeout.value_or(p.timeout);
    p.retries = t->retries.value_or(p.retries);
    p.backoff = t->backoff.value_or(p.backoff);
    p.max_backoff = t->max_backoff.value_or(p.max_backoff);
    p.jitter = t->jitter.value_or(p.jitter);
  }
  return p;
}

void Scheduler::start_graph(Run& job_run, time::Instant now) {
  const Job& job = job_of(job_run);
  GraphRun g{job.graph, Readiness(*job.graph), std::vector<int64_t>(job.graph->size())};
  // Task runs it already has (after a restart) are replayed by advance().
  for (int64_t c : job_run.children)
    if (auto t = job.graph->find(runs_.at(c).task)) g.latest[static_cast<size_t>(*t)] = c;
  graphs_.emplace(job_run.id, std::move(g));
  advance(job_run.id, now);
}

void Scheduler::advance(int64_t job_run, time::Instant now) {
  auto it = graphs_.find(job_run);
  if (it == graphs_.end()) return;
  GraphRun& g = it->second;
  Run& parent = runs_.at(job_run);
  Job& job = job_of(parent);
  // Deciding may decide more (a cancelled job run skips what becomes ready).
  for (bool progress = true; progress;) {
    progress = false;
    for (int t : g.readiness.take_ready()) {
      progress = true;
      const std::string& task = g.graph->names[static_cast<size_t>(t)];
      if (const int64_t existing = g.latest[static_cast<size_t>(t)]) {
        // Restored after a restart: the task run exists; a final one counts.
        const Run& r = runs_.at(existing);
        if (is_final(r.state)) g.readiness.finished(t, outcome_of(r.state));
        continue;
      }
      if (parent.cancel_requested) {
        Run& r = new_run(job, parent.scheduled_at, now, RunState::skipped, job_run, task);
        r.reason = "its job run was cancelled";
        g.latest[static_cast<size_t>(t)] = r.id;
        g.readiness.finished(t, Outcome::skipped);
        continue;
      }
      g.latest[static_cast<size_t>(t)] =
          new_run(job, parent.scheduled_at, now, RunState::queued, job_run, task).id;
    }
    for (auto& skip : g.readiness.take_skipped()) {
      progress = true;
      if (g.latest[static_cast<size_t>(skip.task)]) continue;  // recorded before a restart
      Run& r = new_run(job, parent.scheduled_at, now, RunState::skipped, job_run,
                       g.graph->names[static_cast<size_t>(skip.task)]);
      r.reason = std::move(skip.reason);
      g.latest[static_cast<size_t>(skip.task)] = r.id;
    }
  }
  if (!g.readiness.done()) return;
  const bool ok = g.readiness.succeeded();
  graphs_.erase(it);
  finish(parent,
         parent.cancel_requested ? RunState::cancelled
         : ok                    ? RunState::succeeded
                                 : RunState::failed,
         now, false);
}

Outcome Scheduler::outcome_of(RunState s) {
  switch (s) {
    case RunState::succeeded:
      return Outcome::success;
    case RunState::skipped:
      return Outcome::skipped;
    default:
      return Outcome::failure;
  }
}

int64_t Scheduler::fire(Job& job, time::Instant scheduled_at, time::Instant now) {
  if (job.active > 0) {
    switch (job.spec.concurrency) {
      case JobSpec::Concurrency::forbid: {
        const Run* busy = nullptr;
        for (auto it = job.runs.rbegin(); it != job.runs.rend() && !busy; ++it)
          if (const Run* r = run(*it); r && !is_final(r->state)) busy = r;
        Run& skipped = new_run(job, scheduled_at, now, RunState::skipped);
        skipped.reason =
            busy ? fmt::format("{} was still {} (concurrency forbid)", run_ref(busy->id), name(busy->state))
                 : "a run was still active (concurrency forbid)";
        retention_due_.push_back(job.id);
        return skipped.id;
      }
      case JobSpec::Concurrency::replace: {
        const std::vector<int64_t> ids = job.runs;
        for (int64_t id : ids)
          if (const Run* r = run(id); r && !is_final(r->state)) cancel_run(id, now);
        break;
      }
      case JobSpec::Concurrency::allow:
        break;
    }
  }
  return new_run(job, scheduled_at, now, RunState::queued).id;
}

void Scheduler::catch_up(Job& job, time::Instant now, std::string_view why) {
  if (!job.next_fire) return;
  if (*job.next_fire > now) {
    timers_.push({Timer::Kind::fire, *job.next_fire, job.id});
    return;
  }
  const time::Instant first = *job.next_fire;
  auto after = [&](time::Instant t) -> std::optional<time::Instant> {
    if (job.spec.trigger == JobSpec::Trigger::at) return std::nullopt;
    return cron::next_fire_after(job.schedule, t, job.zone, job.created_at);
  };
  // The missed fires: their number and the newest kCatchupMax of them.
  std::deque<time::Instant> newest;
  int64_t count = 0;
  std::optional<time::Instant> t = first, dropped;
  for (; t && *t <= now && count < kCountLimit; t = after(*t)) {
    ++count;
    newest.push_back(*t);
    if (newest.size() > static_cast<size_t>(kCatchupMax)) {
      dropped = newest.front();
      newest.pop_front();
    }
  }
  bool at_least = false;
  if (t && *t <= now) {
    // Too many to count (a per-second schedule down for days): find the newest
    // ones from a window before now that widens until it holds enough.
    at_least = true;
    const auto spacing = (*t - first) / count;
    for (time::Duration window = spacing * (2 * kCatchupMax);; window *= 2) {
      std::deque<time::Instant> tail;
      const time::Instant from = std::max(*t, now - window);
      for (auto u = after(from - time::Duration{1}); u && *u <= now; u = after(*u)) {
        tail.push_back(*u);
        if (tail.size() > static_cast<size_t>(kCatchupMax)) tail.pop_front();
      }
      if (tail.size() >= static_cast<size_t>(kCatchupMax) || from == *t) {
        count += static_cast<int64_t>(tail.size());
        for (auto u : tail) {
          newest.push_back(u);
          if (newest.size() > static_cast<size_t>(kCatchupMax)) {
            dropped = newest.front();
            newest.pop_front();
          }
        }
        break;
      }
    }
  }
  const time::Instant last = newest.back();
  const std::string counted =
      fmt::format("{}{} missed fire{}", at_least ? "at least " : "", count, count == 1 ? "" : "s");
  switch (job.spec.catchup) {
    case JobSpec::Catchup::none: {
      Run& r = new_run(job, last, now, RunState::skipped);
      r.reason = fmt::format("{}: {} (catchup none)", why, counted);
      r.missed_count = count;
      r.missed_since = first;
      break;
    }
    case JobSpec::Catchup::last: {
      // Never skipped by `forbid`: it stands for fires that found nothing running.
      Run& r = new_run(job, last, now, job.active > 0 ? RunState::pending : RunState::queued);
      r.missed_count = count;
      r.missed_since = first;
      break;
    }
    case JobSpec::Catchup::all: {
      const auto kept = static_cast<int64_t>(newest.size());
      if (count > kept) {
        Run& r = new_run(job, *dropped, now, RunState::skipped);
        r.reason = fmt::format(
            "{}: {} before the newest {} (catchup all)", why,
            count - kept > 1 ? fmt::format("{} missed fires", count - kept) : "1 missed fire", kept);
        r.missed_count = count - kept;
        r.missed_since = first;
      }
      for (time::Instant fire_at : newest) {
        // One after another, in order: start_next_pending() queues the next.
        Run& r = new_run(job, fire_at, now, job.active > 0 ? RunState::pending : RunState::queued);
        r.missed_count = 1;
        r.missed_since = fire_at;
      }
      break;
    }
  }
  if (job.spec.trigger == JobSpec::Trigger::at) {
    job.next_fire.reset();
    // Its one fire was skipped (catchup none): nothing is left to run.
    if (job.state == JobState::active && job.active == 0) set_state(job, JobState::completed);
  } else {
    schedule_next(job, now);
  }
  mark(job);
}

void Scheduler::enqueue(Run& run) {
  ready_.push({policy_of(run).priority, next_seq_++, run.id});
  blocked_ = false;  // a new run may have a place where those before it had none
}

void Scheduler::set_state(Run& run, RunState to) {
  const RunState from = run.state;
  if (!allowed(from, to))
    throw std::logic_error(
        fmt::format("run {}: {} -> {} is not a transition", run_ref(run.id), name(from), name(to)));
  run.state = to;
  note(jobs_.at(run.job), run.id, name(to), name(from));
  if (has_process(run)) {  // a graph's job run takes no slot
    if (from == RunState::queued) --queued_;
    if (from == RunState::running) {
      --running_;
      if (Worker* w = worker_of(run)) workers_.release(*w, run.id);
      blocked_ = false;  // a slot is free
    }
    if (to == RunState::queued) {
      ++queued_;
      enqueue(run);
      blocked_ = false;
    }
    if (to == RunState::running) ++running_;
  }
  if (run.parent == 0 && !is_final(from) && is_final(to)) --job_of(run).active;
  mark(run);
}

void Scheduler::note(const Job& job, int64_t run, std::string_view what, std::string_view from) {
  events_.push_back({job.id, job.spec.name, run, what, from});
}

void Scheduler::set_state(Job& job, JobState to) {
  if (!allowed(job.state, to))
    throw std::logic_error(
        fmt::format("job {}: {} -> {} is not a transition", job_ref(job.id), name(job.state), name(to)));
  note(job, 0, name(to), name(job.state));
  job.state = to;
  mark(job);
}

void Scheduler::tick(time::Instant now) {
  for (int64_t id : std::exchange(retention_due_, {}))
    if (auto it = jobs_.find(id); it != jobs_.end()) apply_retention(it->second);
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer t = timers_.top();
    timers_.pop();
    switch (t.kind) {
      case Timer::Kind::fire: {
        auto it = jobs_.find(t.id);
        if (it == jobs_.end()) break;
        Job& job = it->second;
        // A stale entry: the job was paused or rescheduled since.
        if (job.state != JobState::active || job.next_fire != t.when) break;
        if (job.spec.trigger != JobSpec::Trigger::at) {
          // Later fires already due too: the loop was late (a suspended machine).
          const auto following = cron::next_fire_after(job.schedule, t.when, job.zone, job.created_at);
          if (following && *following <= now) {
            catch_up(job, now, "jobd was late");
            break;
          }
        }
        fire(job, t.when, now);
        if (job.spec.trigger == JobSpec::Trigger::at)
          job.next_fire.reset();
        else
          schedule_next(job, t.when);
        mark(job);
        break;
      }
      case Timer::Kind::timeout: {
        auto it = runs_.find(t.id);
        if (it == runs_.end() || it->second.state != RunState::running || it->second.timeout_sent ||
            it->second.cancel_requested)
          break;
        Run& run = it->second;
        run.timeout_sent = true;
        run.reason = fmt::format("timed out after {}", time::format_duration(policy_of(run).timeout));
        actions_.push_back({Action::Kind::signal, run.id, SIGTERM});
        timers_.push({Timer::Kind::kill, now + config_.kill_grace, run.id});
        mark(run);
        break;
      }
      case Timer::Kind::kill: {
        auto it = runs_.find(t.id);
        if (it != runs_.end() && it->second.state == RunState::running)
          actions_.push_back({Action::Kind::signal, t.id, SIGKILL});
        break;
      }
      case Timer::Kind::retry: {
        auto it = runs_.find(t.id);
        if (it != runs_.end() && it->second.state == RunState::retrying)
          set_state(it->second, RunState::queued);
        break;
      }
      case Timer::Kind::sweep:
        sweep_armed_ = false;
        sweep(now);
        break;
      case Timer::Kind::lease: {
        Worker* w = workers_.at(static_cast<size_t>(t.id));
        // Stale: it beat since (a later timer is armed), or holds nothing.
        if (w && !w->runs.empty() && workers_.state(*w, now) == WorkerState::down) expire_leases(*w, now);
        break;
      }
      case Timer::Kind::deadline: {
        auto it = runs_.find(t.id);
        if (it == runs_.end() || it->second.attempt != 1) break;
        Run& run = it->second;
        if (run.state != RunState::queued && run.state != RunState::pending) break;
        run.reason = deadline_reason(job_of(run).spec.starting_deadline);
        finish(run, RunState::skipped, now);
        break;
      }
    }
  }
  dispatch(now);
}

void Scheduler::dispatch(time::Instant now) {
  if (stopping_ || ready_.empty() || blocked_) return;
  // Runs that no node can take now (their tags, their node) step aside for
  // those behind them, and go back in the queue in their order.
  std::vector<Ready> unplaced;
  while (!ready_.empty()) {
    const Ready r = ready_.top();
    ready_.pop();
    auto it = runs_.find(r.run);
    if (it == runs_.end() || it->second.state != RunState::queued) continue;  // dropped meanwhile
    Run& run = it->second;
    Job& job = job_of(run);
    const time::Duration deadline = job.spec.starting_deadline;
    if (run.attempt == 1 && run.parent == 0 && deadline > time::Duration::zero() &&
        now - run.scheduled_at > deadline) {
      run.reason = deadline_reason(deadline);
      finish(run, RunState::skipped, now);
      continue;
    }
    Placement place = workers_.place(job.spec.constraints, job.spec.node, now);
    if (!place.worker) {
      if (run.waiting != place.why_not) {
        run.waiting = std::move(place.why_not);
        mark(run);
      }
      unplaced.push_back(r);
      // With nothing asked of the node, no node has a free slot: stop here.
      if (job.spec.constraints.empty() && job.spec.node.empty()) break;
      continue;
    }
    run.waiting.clear();
    set_state(run, RunState::running);
    run.started_at = now;
    const time::Duration timeout = policy_of(run).timeout;
    if (timeout > time::Duration::zero()) timers_.push({Timer::Kind::timeout, now + timeout, run.id});
    Worker& w = *place.worker;
    workers_.take(w, run.id, now);
    if (w.local) {
      actions_.push_back({Action::Kind::start, run.id});
    } else {
      run.worker = w.spec.name;
      run.epoch = ++epoch_;
      actions_.push_back({Action::Kind::assign, run.id});
    }
  }
  for (const Ready& r : unplaced) ready_.push(r);
  blocked_ = !ready_.empty();
}

void Scheduler::started(int64_t id, int64_t pid, int64_t pid_start) {
  auto it = runs_.find(id);
  if (it == runs_.end()) return;
  it->second.pid = pid;
  it->second.pid_start = pid_start;
  mark(it->second);
}

void Scheduler::start_failed(int64_t id, std::string reason, time::Instant now) {
  auto it = runs_.find(id);
  if (it == runs_.end() || it->second.state != RunState::running) return;
  it->second.reason = std::move(reason);
  // Not retried: a missing program or directory does not appear by waiting.
  finish(it->second, RunState::failed, now, false);
}

void Scheduler::exited(int64_t id, std::optional<int> exit_code, int signal, time::Instant now) {
  auto it = runs_.find(id);
  if (it == runs_.end() || it->second.state != RunState::running) return;
  Run& run = it->second;
  run.exit_code = exit_code;
  run.signal = signal;
  if (!run.timeout_sent && !run.cancel_requested && signal != 0)
    run.reason = fmt::format("killed by signal {}", signal);
  finish(run,
         run.cancel_requested ? RunState::cancelled
         : run.timeout_sent   ? RunState::timed_out
         : exit_code == 0     ? RunState::succeeded
                              : RunState::failed,
         now);
}

void Scheduler::lost(int64_t id, std::string reason, time::Instant now) {
  auto it = runs_.find(id);
  if (it == runs_.end() || it->second.state != RunState::running) return;
  it->second.reason = std::move(reason);
  finish(it->second, RunState::lost, now);
}

void Scheduler::finish(Run& run, RunState to, time::Instant now, bool may_retry) {
  set_state(run, to);
  run.finished_at = now;
  actions_.push_back({Action::Kind::finished, run.id});
  Job& job = job_of(run);
  const bool failure = to == RunState::failed || to == RunState::timed_out || to == RunState::lost;
  const bool retried = failure && may_retry && !run.cancel_requested && job.state != JobState::deleted &&
                       run.attempt <= policy_of(run).retries;
  if (retried) retry(run, now);
  if (auto w = waiting_on_run_.find(run.id); w != waiting_on_run_.end()) {
    std::vector<int64_t> waiting = std::move(w->second);
    waiting_on_run_.erase(w);
    if (run.next_attempt) {  // they wait for the last attempt
      auto& list = waiting_on_run_[run.next_attempt];
      list.insert(list.end(), waiting.begin(), waiting.end());
    } else {
      for (int64_t id : waiting) wait_upstream(id, now);
    }
  }
  if (run.parent != 0) {
    // A task's last attempt: its graph learns the outcome.
    if (auto g = graphs_.find(run.parent); !retried && g != graphs_.end()) {
      g->second.readiness.finished(*g->second.graph->find(run.task), outcome_of(to));
      advance(run.parent, now);
    }
    return;
  }
  finish_order_.push_back(run.id);
  if (!retried) start_next_pending(job, now);
  if (one_time(job.spec) && job.state == JobState::active && !job.next_fire && job.active == 0)
    set_state(job, JobState::completed);
  // Not now: the daemon still reports on this run. The next tick trims.
  retention_due_.push_back(job.id);
  if (!sweep_armed_) {
    sweep_armed_ = true;
    timers_.push({Timer::Kind::sweep, now + config_.keep_for, 0});
  }
}

void Scheduler::retry(Run& failed, time::Instant now) {
  Job& job = job_of(failed);
  Run& next = new_run(job, failed.scheduled_at, now, RunState::retrying, failed.parent, failed.task);
  next.attempt = failed.attempt + 1;
  next.retry_of = failed.id;
  next.retry_at = now + backoff(policy_of(failed), failed.attempt);
  if (auto g = graphs_.find(failed.parent); g != graphs_.end())
    g->second.latest[static_cast<size_t>(*g->second.graph->find(failed.task))] = next.id;
  next.missed_count = failed.missed_count;
  next.missed_since = failed.missed_since;
  failed.next_attempt = next.id;
  mark(failed);
  timers_.push({Timer::Kind::retry, *next.retry_at, next.id});
}

time::Duration Scheduler::backoff(const Policy& spec, int attempt) {
  // min(max_backoff, backoff * 2^(attempt-1)), in doubles: no overflow.
  const double base = static_cast<double>(spec.backoff.count()) * std::exp2(attempt - 1);
  const double capped = std::min(base, static_cast<double>(spec.max_backoff.count()));
  const double fraction = static_cast<double>(next_random(rng_) >> 11) * 0x1.0p-53;  // [0, 1)
  return time::Duration{static_cast<int64_t>(std::llround(capped * (1 + fraction * spec.jitter)))};
}

void Scheduler::start_next_pending(Job& job, time::Instant now) {
  const Run* next = nullptr;
  for (int64_t id : job.runs) {
    const Run* r = run(id);
    if (!r) continue;
    if (r->state == RunState::queued || r->state == RunState::running || r->state == RunState::retrying)
      return;
    if (r->state == RunState::pending && !next && !waits_for_upstream(*r)) next = r;
  }
  if (next) activate(runs_.at(next->id), now);
}

void Scheduler::activate(Run& run, time::Instant now) {
  Job& job = job_of(run);
  if (!job.graph) return set_state(run, RunState::queued);
  set_state(run, RunState::running);  // a job run: its tasks start now
  run.started_at = now;
  start_graph(run, now);
}

bool Scheduler::waits_for_upstream(const Run& run) const {
  const Job& job = jobs_.at(run.job);
  return run.state == RunState::pending && !job.spec.after.empty() && !job.runs.empty() &&
         job.runs.front() == run.id;
}

void Scheduler::wait_upstream(int64_t id, time::Instant now) {
  Run& waiting = runs_.at(id);
  if (!waits_for_upstream(waiting)) return;
  const Job& job = job_of(waiting);
  for (const AfterSpec& a : job.spec.after) {
    // The upstream run: the one named, or the job's first run after this
    // one; then its last attempt.
    const Run* up = nullptr;
    if (auto r = parse_ref(a.ref, 'r')) {
      up = run(*r);
      if (!up) {
        waiting.reason = fmt::format("upstream {} is gone (after {})", a.ref, name(a.rule));
        return finish(waiting, RunState::skipped, now);
      }
    } else {
      const int64_t job_id = parse_ref(a.ref, 'j').value_or(0);
      const Job* upstream_job = this->job(job_id);
      if (upstream_job)
        for (int64_t candidate : upstream_job->runs)
          if (candidate > id) {
            up = run(candidate);
            break;
          }
      if (!up) {
        if (!upstream_job || upstream_job->state == JobState::deleted) {
          waiting.reason = fmt::format("upstream job {} is gone (after {})", a.ref, name(a.rule));
          return finish(waiting, RunState::skipped, now);
        }
        auto& list = waiting_on_job_[job_id];
        if (std::find(list.begin(), list.end(), id) == list.end()) list.push_back(id);
        return;
      }
    }
    while (up->next_attempt && run(up->next_attempt)) up = run(up->next_attempt);
    if (!is_final(up->state)) {
      auto& list = waiting_on_run_[up->id];
      if (std::find(list.begin(), list.end(), id) == list.end()) list.push_back(id);
      return;
    }
    const Outcome o = outcome_of(up->state);
    const bool met = a.rule == AfterSpec::Rule::done ||
                     (a.rule == AfterSpec::Rule::success && o == Outcome::success) ||
                     (a.rule == AfterSpec::Rule::failure && o == Outcome::failure);
    if (!met) {
      waiting.reason =
          fmt::format("upstream {} {} (after {})", run_ref(up->id), name(up->state), name(a.rule));
      return finish(waiting, RunState::skipped, now);
    }
  }
  activate(waiting, now);
}

bool Scheduler::drop_if_gone(Job& job) {
  if (job.state != JobState::deleted || !job.runs.empty()) return false;
  const int64_t id = job.id;
  job_order_.erase(std::find(job_order_.begin(), job_order_.end(), id));
  jobs_.erase(id);  // `job` dangles from here
  removed_jobs_.push_back(id);
  return true;
}

void Scheduler::apply_retention(Job& job) {
  if (drop_if_gone(job)) return;
  const auto keep = static_cast<size_t>(job.spec.keep_runs);
  size_t i = 0;
  while (job.runs.size() > keep && i < job.runs.size()) {
    const Run* r = run(job.runs[i]);
    if (r && !is_final(r->state)) {
      ++i;  // active runs are never removed
      continue;
    }
    remove_run(job, job.runs[i]);
  }
}

void Scheduler::remove_run(Job& job, int64_t id) {
  job.runs.erase(std::find(job.runs.begin(), job.runs.end(), id));
  if (auto it = runs_.find(id); it != runs_.end())
    for (int64_t c : it->second.children)
      if (runs_.erase(c)) removed_runs_.push_back(c);
  if (runs_.erase(id)) removed_runs_.push_back(id);
  drop_if_gone(job);
}

void Scheduler::sweep(time::Instant now) {
  // Runs finished before the horizon go, oldest first, a batch per turn.
  const time::Instant horizon = now - config_.keep_for;
  int budget = 1000;
  while (!finish_order_.empty() && budget > 0) {
    auto it = runs_.find(finish_order_.front());
    if (it == runs_.end()) {  // removed by keep_runs already
      finish_order_.pop_front();
      continue;
    }
    if (!it->second.finished_at || *it->second.finished_at > horizon) break;
    finish_order_.pop_front();
    remove_run(jobs_.at(it->second.job), it->first);
    --budget;
  }
  if (finish_order_.empty()) return;
  sweep_armed_ = true;
  const Run* oldest = run(finish_order_.front());
  const time::Instant due =
      budget == 0 || !oldest || !oldest->finished_at ? now : *oldest->finished_at + config_.keep_for;
  timers_.push({Timer::Kind::sweep, std::max(due, now), 0});
}

void Scheduler::shutdown(time::Instant now) {
  stopping_ = true;
  for (auto& [id, run] : runs_) {
    if (run.state != RunState::running || !run.worker.empty()) continue;  // a worker's goes on
    actions_.push_back({Action::Kind::signal, id, SIGTERM});
    timers_.push({Timer::Kind::kill, now + config_.kill_grace, id});
  }
}

void Scheduler::forget(int64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  for (int64_t r : it->second.runs) {
    auto run = runs_.find(r);
    if (run == runs_.end()) continue;
    std::vector<int64_t> ids = run->second.children;
    ids.push_back(r);
    graphs_.erase(r);
    for (int64_t i : ids) {
      auto x = runs_.find(i);
      if (x == runs_.end()) continue;
      if (has_process(x->second) && x->second.state == RunState::queued) --queued_;
      if (has_process(x->second) && x->second.state == RunState::running) --running_;
      runs_.erase(x);
    }
  }
  names_.erase(qualified_name(it->second.spec.ns, it->second.spec.name));
  job_order_.erase(std::find(job_order_.begin(), job_order_.end(), id));
  jobs_.erase(it);
  // It never was, as far as anyone was told.
  std::erase_if(events_, [id](const Event& e) { return e.job == id; });
}

Cancelled Scheduler::cancel_run(int64_t id, time::Instant now) {
  Cancelled out;
  auto it = runs_.find(id);
  if (it == runs_.end()) return out;
  Run& run = it->second;
  if (is_final(run.state)) {
    out.already = run.state;
    return out;
  }
  out.runs.push_back(id);
  if (!has_process(run) && run.state != RunState::running) {
    // A job run still waiting (for its upstream, or its turn): no task yet.
    run.reason = "cancelled";
    finish(run, RunState::cancelled, now, false);
    return out;
  }
  if (!has_process(run)) {
    // A job run: its tasks are cancelled, what has not started is skipped,
    // and it ends `cancelled` once the last task has ended.
    run.cancel_requested = true;
    run.reason = "cancelled";
    mark(run);
    const std::vector<int64_t> children = run.children;
    for (int64_t c : children)
      if (const Run* r = this->run(c); r && !is_final(r->state)) cancel_run(c, now);
    advance(id, now);
    return out;
  }
  if (run.state != RunState::running) {
    run.reason = "cancelled";
    finish(run, RunState::cancelled, now);
  } else if (!run.cancel_requested) {
    run.cancel_requested = true;
    run.reason = "cancelled";
    actions_.push_back({Action::Kind::signal, id, SIGTERM});
    timers_.push({Timer::Kind::kill, now + config_.kill_grace, id});
    mark(run);
  }
  return out;
}

Cancelled Scheduler::cancel_job(int64_t id, time::Instant now) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return {};
  Job& job = it->second;
  Cancelled out = cancel_runs(job, now);
  if (one_time(job.spec) && job.state != JobState::deleted) {
    job.next_fire.reset();
    if (job.active == 0 && job.state != JobState::completed) set_state(job, JobState::completed);
    mark(job);
  }
  return out;
}

Cancelled Scheduler::cancel_runs(Job& job, time::Instant now) {
  Cancelled out;
  const std::vector<int64_t> ids = job.runs;  // cancelling may queue a pending catch-up run
  for (int64_t r : ids) {
    const Run* run = this->run(r);
    if (!run || is_final(run->state)) continue;
    auto c = cancel_run(r, now);
    out.runs.insert(out.runs.end(), c.runs.begin(), c.runs.end());
  }
  return out;
}

std::optional<Error> Scheduler::pause(int64_t id) {
  Job& job = jobs_.at(id);
  if (job.state == JobState::paused) return std::nullopt;
  if (job.state != JobState::active)
    return invalid(fmt::format("job {} is {}: there is nothing to pause", job.spec.name, name(job.state)));
  set_state(job, JobState::paused);
  return std::nullopt;
}

std::optional<Error> Scheduler::resume_job(int64_t id, time::Instant now) {
  Job& job = jobs_.at(id);
  if (job.state == JobState::active) return std::nullopt;
  if (job.state != JobState::paused)
    return invalid(fmt::format("job {} is {}: there is nothing to resume", job.spec.name, name(job.state)));
  set_state(job, JobState::active);
  catch_up(job, now, "paused");
  return std::nullopt;
}

Result<int64_t> Scheduler::trigger(int64_t id, time::Instant now) {
  Job& job = jobs_.at(id);
  if (job.state == JobState::deleted)
    return Error{Errc::not_found, fmt::format("no job \"{}\"", job_ref(id))};
  return fire(job, now, now);
}

Cancelled Scheduler::remove_job(int64_t id, time::Instant now) {
  Job& job = jobs_.at(id);
  if (job.state == JobState::deleted) return {};
  Cancelled out = cancel_runs(job, now);  // not completed first: deleted is its last state
  names_.erase(qualified_name(job.spec.ns, job.spec.name));
  job.next_fire.reset();
  set_state(job, JobState::deleted);
  retention_due_.push_back(id);  // a job without runs goes at the next tick
  return out;
}

std::vector<const Run*> Scheduler::recent_runs(const Job* job, size_t limit, const RunFilter& keep) const {
  std::vector<const Run*> out;
  if (job) {
    for (auto it = job->runs.rbegin(); it != job->runs.rend() && out.size() < limit; ++it)
      if (const Run* r = run(*it); r && (!keep || keep(*r))) out.push_back(r);
    return out;
  }
  for (int64_t id = next_run_id_ - 1; id >= 1 && out.size() < limit; --id)
    if (const Run* r = run(id); r && r->parent == 0 && (!keep || keep(*r)))  // task runs: via their job run
      out.push_back(r);
  return out;
}

std::vector<const Run*> Scheduler::runs_in_states(const std::vector<RunState>& states, const Job* job,
                                                  size_t limit, const RunFilter& keep) const {
  // Over the runs kept, not every id ever given: ids of long-gone runs cost nothing.
  std::vector<const Run*> out;
  for (const auto& [id, r] : runs_)
    if ((!job || r.job == job->id) && std::find(states.begin(), states.end(), r.state) != states.end() &&
        (!keep || keep(r)))
      out.push_back(&r);
  std::sort(out.begin(), out.end(), [](const Run* a, const Run* b) { return a->id > b->id; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::optional<time::Instant> Scheduler::next_wakeup() const {
  if (!stopping_ && !ready_.empty() && !blocked_) return time::Instant::min();
  if (timers_.empty()) return std::nullopt;
  return timers_.top().when;
}

std::optional<Error> Scheduler::restore(Job job) {
  // Derived fields are rebuilt here and in resume(), whatever the caller had.
  job.runs.clear();
  job.active = 0;
  job.graph.reset();
  std::optional<Error> problem;
  if (job.spec.trigger == JobSpec::Trigger::cron) {
    auto schedule = cron::parse_cron(job.spec.cron, job.spec.name);
    auto zone = job.spec.tz.empty() ? Result<time::Zone>(config_.local_zone) : time::find_zone(job.spec.tz);
    if (schedule && zone) {
      job.schedule = *schedule;
      job.zone = *zone;
    } else {
      // The tz database or the dialect changed under a stored job: keep it, stop firing it.
      problem = schedule ? zone.error() : schedule.error();
      job.next_fire.reset();
    }
  } else if (job.spec.trigger == JobSpec::Trigger::every) {
    job.schedule.kind = cron::Schedule::Kind::every;
    job.schedule.period = job.spec.every;
  }
  if (!job.spec.tasks.empty()) {
    auto graph = make_graph(job.spec.tasks);
    if (graph) job.graph = std::move(*graph);
    // Validated at submit; a graph that no longer builds keeps the job from firing.
    if (!graph) {
      problem = graph.error();
      job.next_fire.reset();
      job.spec.tasks.clear();
      job.spec.shell = "false";
    }
  }
  next_job_id_ = std::max(next_job_id_, job.id + 1);
  if (job.state != JobState::deleted) names_.emplace(qualified_name(job.spec.ns, job.spec.name), job.id);
  job_order_.push_back(job.id);
  const int64_t id = job.id;
  jobs_[id] = std::move(job);
  return problem;
}

void Scheduler::restore(Run run) {
  run.children.clear();
  next_run_id_ = std::max(next_run_id_, run.id + 1);
  epoch_ = std::max(epoch_, run.epoch);
  if (run.parent == 0) jobs_.at(run.job).runs.push_back(run.id);  // task runs: in resume()
  const int64_t id = run.id;
  runs_[id] = std::move(run);
}

void Scheduler::resume(time::Instant now) {
  std::sort(job_order_.begin(), job_order_.end());
  std::vector<int64_t> ids;
  for (auto& [id, run] : runs_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // FIFO by creation
  for (auto& [id, job] : jobs_) std::sort(job.runs.begin(), job.runs.end());
  std::vector<std::pair<time::Instant, int64_t>> finished;
  for (int64_t id : ids) {
    Run& run = runs_.at(id);
    if (run.parent != 0) {
      if (auto p = runs_.find(run.parent); p != runs_.end()) p->second.children.push_back(id);
    } else if (!is_final(run.state)) {
      ++job_of(run).active;
    }
    if (!has_process(run)) continue;
    switch (run.state) {
      case RunState::queued:
        ++queued_;
        enqueue(run);
        break;
      case RunState::running: {
        ++running_;
        if (run.worker.empty()) {
          workers_.take(workers_.local(), run.id, now);
        } else {
          // Its worker has until down_after from now to come back and claim it.
          Worker& w = workers_.expect(run.worker, now);
          workers_.take(w, run.id, now);
          arm_lease_timer(w);
        }
        const time::Duration timeout = policy_of(run).timeout;
        if (timeout > time::Duration::zero() && run.started_at && !run.cancel_requested)
          timers_.push({Timer::Kind::timeout, *run.started_at + timeout, run.id});
        break;
      }
      case RunState::retrying:
        timers_.push({Timer::Kind::retry, run.retry_at.value_or(now), run.id});
        break;
      default:
        if (is_final(run.state) && run.parent == 0)
          finished.emplace_back(run.finished_at.value_or(run.created_at), id);
        break;
    }
  }
  // Graph job runs still going: their readiness is replayed from their task
  // runs, the newest attempt of each task counting.
  for (int64_t id : ids) {
    Run& run = runs_.at(id);
    if (has_process(run) || is_final(run.state) || run.state != RunState::running) {
      if (!has_process(run) && is_final(run.state))
        finished.emplace_back(run.finished_at.value_or(run.created_at), id);
      continue;
    }
    start_graph(run, now);
  }
  std::sort(finished.begin(), finished.end());
  for (const auto& [at, id] : finished) finish_order_.push_back(id);
  if (!finish_order_.empty()) {
    sweep_armed_ = true;
    timers_.push({Timer::Kind::sweep, finished.front().first + config_.keep_for, 0});
  }
  for (int64_t id : ids)
    if (const auto it = runs_.find(id); it != runs_.end() && waits_for_upstream(it->second))
      wait_upstream(id, now);
  for (int64_t id : job_order_) {
    Job& job = jobs_.at(id);
    retention_due_.push_back(id);
    start_next_pending(job, now);
    if (job.state != JobState::active) continue;
    if (job.schedule.kind == cron::Schedule::Kind::reboot && job.spec.trigger == JobSpec::Trigger::cron) {
      fire(job, now, now);
      continue;
    }
    catch_up(job, now, "jobd was down");
  }
}

const Job* Scheduler::job(int64_t id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const Run* Scheduler::run(int64_t id) const {
  auto it = runs_.find(id);
  return it == runs_.end() ? nullptr : &it->second;
}

const Job* Scheduler::find_job(std::string_view ns, std::string_view ref, bool deleted) const {
  if (auto id = parse_ref(ref, 'j')) {
    const Job* j = job(*id);
    return j && (deleted || j->state != JobState::deleted) ? j : nullptr;
  }
  auto it = names_.find(ref.find('/') != std::string_view::npos ? std::string(ref) : qualified_name(ns, ref));
  return it == names_.end() ? nullptr : job(it->second);
}

const Run* Scheduler::find_run(std::string_view ref) const {
  auto id = parse_ref(ref, 'r');
  return id ? run(*id) : nullptr;
}

// --- cluster: workers and their leases -------------------------------------

Worker* Scheduler::worker_of(const Run& run) {
  return run.worker.empty() ? &workers_.local() : workers_.find(run.worker);
}

void Scheduler::arm_lease_timer(const Worker& w) {
  timers_.push({Timer::Kind::lease, workers_.down_at(w), static_cast<int64_t>(workers_.position(w))});
}

void Scheduler::expire_leases(Worker& w, time::Instant now) {
  const std::vector<int64_t> leased(w.runs.begin(), w.runs.end());
  for (int64_t id : leased)
    lost(id, fmt::format("worker {} sent no heartbeat for {}: its lease expired", w.spec.name,
                         time::format_duration(workers_.health().down_after)),
         now);
}

std::vector<Lease> Scheduler::reconcile(Worker& w, const std::vector<Lease>& held, uint64_t seen_epoch,
                                        time::Instant now) {
  std::vector<Lease> revoke;
  std::set<int64_t> named;
  for (const Lease& l : held) {
    named.insert(l.run);
    const Run* r = run(l.run);
    if (!r || r->state != RunState::running || r->worker != w.spec.name || r->epoch != l.epoch)
      revoke.push_back(l);
  }
  const std::vector<int64_t> leased(w.runs.begin(), w.runs.end());
  for (int64_t id : leased) {
    const Run& r = runs_.at(id);
    if (!named.contains(id) && r.epoch <= seen_epoch)
      lost(id, fmt::format("worker {} no longer runs it", w.spec.name), now);
  }
  return revoke;
}

std::vector<Lease> Scheduler::join_worker(WorkerSpec spec, const std::vector<Lease>& held, uint64_t seen_epoch,
                                          time::Instant now) {
  Worker& w = workers_.join(std::move(spec), now);
  blocked_ = false;  // new slots, perhaps new tags
  arm_lease_timer(w);
  return reconcile(w, held, seen_epoch, now);
}

Result<std::vector<Lease>> Scheduler::worker_heartbeat(const std::string& worker, const std::vector<Lease>& held,
                                                       uint64_t seen_epoch, time::Instant now) {
  Worker* w = workers_.find(worker);
  if (!w || w->local || !w->registered)
    return Error{Errc::not_found, fmt::format("no worker \"{}\" registered", worker)};
  const bool was_ready = workers_.state(*w, now) == WorkerState::ready;
  workers_.heartbeat(worker, now);
  if (!was_ready) blocked_ = false;  // back from unhealthy: it may take runs again
  arm_lease_timer(*w);
  return reconcile(*w, held, seen_epoch, now);
}

std::optional<Error> Scheduler::stale_report(const std::string& worker, Lease lease) const {
  const Run* r = run(lease.run);
  if (!r || r->state != RunState::running || r->worker != worker || r->epoch != lease.epoch || worker.empty())
    return Error{Errc::invalid_argument,
                 fmt::format("stale lease: {} epoch {} is not {}'s (it is {})", run_ref(lease.run), lease.epoch,
                             worker,
                             !r                                  ? std::string("unknown")
                             : r->state != RunState::running     ? std::string(name(r->state))
                             : r->worker.empty()                 ? std::string("the coordinator's")
                                                                 : fmt::format("{}'s, epoch {}", r->worker, r->epoch))};
  return std::nullopt;
}

std::optional<Error> Scheduler::worker_exited(const std::string& worker, Lease lease,
                                              std::optional<int> exit_code, int signal, time::Instant now) {
  if (auto stale = stale_report(worker, lease)) return stale;
  exited(lease.run, exit_code, signal, now);
  return std::nullopt;
}

std::optional<Error> Scheduler::worker_start_failed(const std::string& worker, Lease lease, std::string reason,
                                                    time::Instant now) {
  if (auto stale = stale_report(worker, lease)) return stale;
  start_failed(lease.run, std::move(reason), now);
  return std::nullopt;
}

std::optional<Error> Scheduler::worker_lost(const std::string& worker, Lease lease, std::string reason,
                                            time::Instant now) {
  if (auto stale = stale_report(worker, lease)) return stale;
  lost(lease.run, std::move(reason), now);
  return std::nullopt;
}


std::optional<Error> Scheduler::drain_worker(const std::string& worker, bool drained) {
  if (!workers_.drain(worker, drained))
    return Error{Errc::not_found, fmt::format("no worker \"{}\"", worker)};
  if (!drained) blocked_ = false;
  return std::nullopt;
}

}  // namespace job::sched
