#include "sched/scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>

#include "cron/next.hpp"
#include "cron/parse.hpp"
#include "time/duration.hpp"

namespace job::sched {
namespace {

Error invalid(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '-' || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

}  // namespace

Scheduler::Scheduler(Config config) : config_(std::move(config)) {}

Result<Job> Scheduler::validate(JobSpec spec, time::Instant now) const {
  Job job;
  job.id = next_job_id_;
  job.created_at = now;
  if (!spec.name.empty()) {
    if (!valid_name(spec.name))
      return invalid(
          fmt::format("name \"{}\": use letters, digits, '.', '_' and '-' (at most 128, not "
                      "starting with '-' or '.')",
                      spec.name));
    if (parse_ref(spec.name, 'j') || parse_ref(spec.name, 'r'))
      return invalid(fmt::format("name \"{}\" looks like a job or run id; choose another", spec.name));
    if (names_.contains(spec.name))
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
  if (spec.timeout < time::Duration::zero()) return invalid("timeout must not be negative");
  if (spec.argv.empty() == spec.shell.empty())
    return invalid(spec.argv.empty() ? "empty command: give a program and its arguments, or a shell string"
                                     : "give either an argv or a shell string, not both");
  if (!spec.argv.empty() && spec.argv[0].empty()) return invalid("empty command: the program name is empty");
  for (const auto& [key, value] : spec.env)
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos)
      return invalid(fmt::format("env: \"{}\" is not a variable name", key));
  if (!spec.cwd.empty() && spec.cwd[0] != '/')
    return invalid(fmt::format("cwd: \"{}\" is not an absolute path", spec.cwd));
  job.spec = std::move(spec);
  return job;
}

Result<int64_t> Scheduler::submit(JobSpec spec, time::Instant now) {
  auto validated = validate(std::move(spec), now);
  if (!validated) return validated.error();
  Job& job = jobs_[next_job_id_] = std::move(*validated);
  ++next_job_id_;
  if (job.spec.name.empty()) job.spec.name = job_ref(job.id);
  names_.emplace(job.spec.name, job.id);
  job_order_.push_back(job.id);
  switch (job.spec.trigger) {
    case JobSpec::Trigger::now:
      fire(job, now, now);
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
  mark(job);
  return job.id;
}

void Scheduler::schedule_next(Job& job, time::Instant after) {
  job.next_fire = cron::next_fire_after(job.schedule, after, job.zone, job.created_at);
  if (job.next_fire) timers_.push({Timer::Kind::fire, *job.next_fire, job.id});
}

void Scheduler::fire(Job& job, time::Instant scheduled_at, time::Instant now) {
  Run& run = runs_[next_run_id_];
  run.id = next_run_id_++;
  run.job = job.id;
  run.created_at = now;
  run.scheduled_at = scheduled_at;
  run.state = RunState::queued;
  job.runs.push_back(run.id);
  enqueue(run);
  mark(run);
}

void Scheduler::enqueue(Run& run) {
  ready_.push({job_of(run).spec.priority, next_seq_++, run.id});
  ++queued_;
}

void Scheduler::set_state(Run& run, RunState to) {
  if (!allowed(run.state, to))
    throw std::logic_error(
        fmt::format("run {}: {} -> {} is not a transition", run_ref(run.id), name(run.state), name(to)));
  run.state = to;
  mark(run);
}

void Scheduler::set_state(Job& job, JobState to) {
  if (!allowed(job.state, to))
    throw std::logic_error(
        fmt::format("job {}: {} -> {} is not a transition", job_ref(job.id), name(job.state), name(to)));
  job.state = to;
  mark(job);
}

void Scheduler::tick(time::Instant now) {
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
        fire(job, t.when, now);
        if (job.spec.trigger == JobSpec::Trigger::at) {
          job.next_fire.reset();
        } else {
          // Fires missed while jobd was down collapse into the one just made.
          schedule_next(job, std::max(t.when, now));
        }
        mark(job);
        break;
      }
      case Timer::Kind::timeout: {
        auto it = runs_.find(t.id);
        if (it == runs_.end() || it->second.state != RunState::running || it->second.timeout_sent) break;
        Run& run = it->second;
        run.timeout_sent = true;
        run.reason = fmt::format("timed out after {}", time::format_duration(job_of(run).spec.timeout));
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
    }
  }
  while (!stopping_ && running_ < config_.slots && !ready_.empty()) {
    const Ready r = ready_.top();
    ready_.pop();
    auto it = runs_.find(r.run);
    if (it == runs_.end() || it->second.state != RunState::queued) continue;  // dropped meanwhile
    Run& run = it->second;
    --queued_;
    ++running_;
    set_state(run, RunState::running);
    run.started_at = now;
    const time::Duration timeout = job_of(run).spec.timeout;
    if (timeout > time::Duration::zero()) timers_.push({Timer::Kind::timeout, now + timeout, run.id});
    actions_.push_back({Action::Kind::start, run.id});
  }
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
  finish(it->second, RunState::failed, now);
}

void Scheduler::exited(int64_t id, std::optional<int> exit_code, int signal, time::Instant now) {
  auto it = runs_.find(id);
  if (it == runs_.end() || it->second.state != RunState::running) return;
  Run& run = it->second;
  run.exit_code = exit_code;
  run.signal = signal;
  if (!run.timeout_sent && signal != 0) run.reason = fmt::format("killed by signal {}", signal);
  finish(run,
         run.timeout_sent ? RunState::timed_out
         : exit_code == 0 ? RunState::succeeded
                          : RunState::failed,
         now);
}

void Scheduler::lost(int64_t id, std::string reason, time::Instant now) {
  auto it = runs_.find(id);
  if (it == runs_.end() || it->second.state != RunState::running) return;
  it->second.reason = std::move(reason);
  finish(it->second, RunState::lost, now);
}

void Scheduler::finish(Run& run, RunState to, time::Instant now) {
  if (run.state == RunState::running) --running_;
  set_state(run, to);
  run.finished_at = now;
  actions_.push_back({Action::Kind::finished, run.id});
  Job& job = job_of(run);
  const bool one_time = job.spec.trigger == JobSpec::Trigger::now || job.spec.trigger == JobSpec::Trigger::at;
  if (one_time && job.state == JobState::active && !job.next_fire) set_state(job, JobState::completed);
}

void Scheduler::shutdown(time::Instant now) {
  stopping_ = true;
  for (auto& [id, run] : runs_) {
    if (run.state != RunState::running) continue;
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
    if (run->second.state == RunState::queued) --queued_;
    if (run->second.state == RunState::running) --running_;
    runs_.erase(run);
  }
  names_.erase(it->second.spec.name);
  job_order_.erase(std::find(job_order_.begin(), job_order_.end(), id));
  jobs_.erase(it);
}

std::vector<const Run*> Scheduler::recent_runs(const Job* job, size_t limit) const {
  std::vector<const Run*> out;
  if (job) {
    for (auto it = job->runs.rbegin(); it != job->runs.rend() && out.size() < limit; ++it)
      if (const Run* r = run(*it)) out.push_back(r);
    return out;
  }
  for (int64_t id = next_run_id_ - 1; id >= 1 && out.size() < limit; --id)
    if (const Run* r = run(id)) out.push_back(r);
  return out;
}

std::optional<time::Instant> Scheduler::next_wakeup() const {
  if (!stopping_ && !ready_.empty() && running_ < config_.slots) return time::Instant::min();
  if (timers_.empty()) return std::nullopt;
  return timers_.top().when;
}

std::optional<Error> Scheduler::restore(Job job) {
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
  next_job_id_ = std::max(next_job_id_, job.id + 1);
  names_.emplace(job.spec.name, job.id);
  job_order_.push_back(job.id);
  const int64_t id = job.id;
  jobs_[id] = std::move(job);
  return problem;
}

void Scheduler::restore(Run run) {
  next_run_id_ = std::max(next_run_id_, run.id + 1);
  jobs_.at(run.job).runs.push_back(run.id);
  const int64_t id = run.id;
  runs_[id] = std::move(run);
}

void Scheduler::resume(time::Instant now) {
  std::sort(job_order_.begin(), job_order_.end());
  std::vector<int64_t> ids;
  for (auto& [id, run] : runs_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // FIFO by creation
  for (auto& [id, job] : jobs_) std::sort(job.runs.begin(), job.runs.end());
  for (int64_t id : ids) {
    Run& run = runs_.at(id);
    if (run.state == RunState::queued) enqueue(run);
    if (run.state == RunState::running) {
      ++running_;
      const time::Duration timeout = job_of(run).spec.timeout;
      if (timeout > time::Duration::zero() && run.started_at)
        timers_.push({Timer::Kind::timeout, *run.started_at + timeout, run.id});
    }
  }
  for (int64_t id : job_order_) {
    Job& job = jobs_.at(id);
    if (job.state != JobState::active) continue;
    if (job.schedule.kind == cron::Schedule::Kind::reboot && job.spec.trigger == JobSpec::Trigger::cron) {
      fire(job, now, now);
      continue;
    }
    if (job.next_fire) timers_.push({Timer::Kind::fire, *job.next_fire, job.id});
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

const Job* Scheduler::find_job(std::string_view ref) const {
  if (auto id = parse_ref(ref, 'j')) return job(*id);
  auto it = names_.find(std::string(ref));
  return it == names_.end() ? nullptr : job(it->second);
}

const Run* Scheduler::find_run(std::string_view ref) const {
  auto id = parse_ref(ref, 'r');
  return id ? run(*id) : nullptr;
}

}  // namespace job::sched
