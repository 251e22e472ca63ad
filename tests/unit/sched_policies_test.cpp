// The scheduler's policies with a fake clock: retries with backoff and
// jitter, cancel, pause and resume, concurrency, catch-up after a restart,
// starting deadlines, trigger, delete, and retention.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <set>

#include "sched/scheduler.hpp"
#include "sched_helpers.hpp"
#include "time/rfc3339.hpp"

using namespace std::chrono_literals;
using job::sched::Action;
using job::sched::Job;
using job::sched::JobSpec;
using job::sched::JobState;
using job::sched::Run;
using job::sched::RunState;
using job::sched::Scheduler;
using job::time::Duration;
using job::time::Instant;

using namespace sched_test;

namespace {

// A job that fires every `period`, counted from its submission at T0.
JobSpec every(std::string name, Duration period) {
  JobSpec s = spec(std::move(name));
  s.trigger = JobSpec::Trigger::every;
  s.every = period;
  return s;
}

// The runs the actions started, in order.

// The signals the actions sent, as (run, signal), in order.

int64_t submit(Scheduler& s, const JobSpec& j, Instant now) {
  auto id = s.submit(j, now);
  REQUIRE(id);
  return *id;
}

const Job& job_of(const Scheduler& s, int64_t id) { return *s.job(id); }

std::vector<RunState> states(const Scheduler& s, const Job& j) {
  std::vector<RunState> out;
  for (int64_t r : j.runs) out.push_back(s.run(r)->state);
  return out;
}

// A scheduler restarted at `now` from what `before` persisted.
void restart(const Scheduler& before, Scheduler& after, Instant now) {
  before.for_each_job([&](const Job& j) {
    REQUIRE_FALSE(after.restore(j));
    for (int64_t r : j.runs) after.restore(*before.run(r));
  });
  after.resume(now);
}

}  // namespace

TEST_CASE("retries: with no jitter the waits double from backoff up to max_backoff") {
  Scheduler s({.slots = 1});
  JobSpec j = spec("flaky");
  j.retries = 5;
  j.backoff = 10s;
  j.max_backoff = 1min;
  j.jitter = 0;
  const int64_t id = submit(s, j, T0);
  s.tick(T0);
  int64_t run = starts(s).at(0);
  Instant t = T0;
  std::vector<Duration> waits;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    CAPTURE(attempt);
    t += 1s;
    s.exited(run, 1, 0, t);
    const Run* failed = s.run(run);
    CHECK(failed->state == RunState::failed);
    CHECK(failed->attempt == attempt);
    CHECK(failed->finished_at == t);
    REQUIRE(failed->next_attempt != 0);
    const Run* next = s.run(failed->next_attempt);
    REQUIRE(next);
    CHECK(next->state == RunState::retrying);
    CHECK(next->attempt == attempt + 1);
    CHECK(next->retry_of == run);
    CHECK(next->scheduled_at == T0);  // the same fire
    CHECK(next->created_at == t);
    REQUIRE(next->retry_at);
    waits.push_back(*next->retry_at - *failed->finished_at);
    CHECK(s.next_wakeup() == next->retry_at);
    s.tick(*next->retry_at - 1us);
    CHECK(starts(s).empty());
    CHECK(next->state == RunState::retrying);
    s.tick(*next->retry_at);
    CHECK(starts(s) == std::vector<int64_t>{next->id});
    CHECK(next->state == RunState::running);
    CHECK(next->started_at == next->retry_at);
    run = next->id;
    t = *next->retry_at;
  }
  CHECK(waits == std::vector<Duration>{10s, 20s, 40s, 60s, 60s});
  CHECK(job_of(s, id).state == JobState::active);
  // The sixth attempt exhausts the retries: it ends failed, and the job is over.
  s.exited(run, 2, 0, t + 1s);
  CHECK(s.run(run)->state == RunState::failed);
  CHECK(s.run(run)->attempt == 6);
  CHECK(s.run(run)->next_attempt == 0);
  CHECK(job_of(s, id).runs.size() == 6);
  CHECK(job_of(s, id).active == 0);
  CHECK(job_of(s, id).state == JobState::completed);
}

TEST_CASE("retries: a jittered wait lies within [base, base * (1 + jitter)], and varies") {
  std::set<int64_t> seen;
  for (uint64_t seed = 1; seed <= 64; ++seed) {
    CAPTURE(seed);
    Scheduler s({.slots = 1, .seed = seed});
    JobSpec j = spec("jittery");
    j.retries = 4;
    j.backoff = 10s;
    j.max_backoff = 1min;
    j.jitter = 0.5;
    submit(s, j, T0);
    s.tick(T0);
    int64_t run = starts(s).at(0);
    Instant t = T0;
    for (int attempt = 1; attempt <= 4; ++attempt) {
      CAPTURE(attempt);
      s.exited(run, 1, 0, t);
      const Run* next = s.run(s.run(run)->next_attempt);
      REQUIRE(next);
      const Duration base = std::min<Duration>(Duration{10s} * (1 << (attempt - 1)), Duration{1min});
      const Duration wait = *next->retry_at - t;
      CHECK(wait >= base);
      CHECK(wait <= base * 3 / 2);
      seen.insert(wait.count());
      t = *next->retry_at;
      s.tick(t);
      REQUIRE(starts(s) == std::vector<int64_t>{next->id});
      run = next->id;
    }
  }
  CHECK(seen.size() > 4);  // not the same few values: the jitter moves them
}

TEST_CASE("retries: the same seed gives the same waits") {
  auto waits = [](uint64_t seed) {
    Scheduler s({.slots = 1, .seed = seed});
    JobSpec j = spec("j");
    j.retries = 1;
    j.jitter = 1;
    submit(s, j, T0);
    s.tick(T0);
    const int64_t run = starts(s).at(0);
    s.exited(run, 1, 0, T0);
    return *s.run(s.run(run)->next_attempt)->retry_at - T0;
  };
  CHECK(waits(7) == waits(7));
}

TEST_CASE("retries: none with retries 0") {
  Scheduler s({.slots = 1});
  const int64_t id = submit(s, spec("once"), T0);
  s.tick(T0);
  const int64_t run = starts(s).at(0);
  s.exited(run, 1, 0, T0 + 1s);
  CHECK(s.run(run)->state == RunState::failed);
  CHECK(s.run(run)->next_attempt == 0);
  CHECK(job_of(s, id).runs.size() == 1);
  CHECK(job_of(s, id).state == JobState::completed);
}

TEST_CASE("retries: timed_out and lost are retried; cancelled and start_failed are not") {
  Scheduler s({.slots = 4, .kill_grace = 10s});
  JobSpec j = spec("");
  j.retries = 1;
  j.backoff = 10s;
  j.jitter = 0;
  JobSpec slow = j;
  slow.name = "slow";
  slow.timeout = 5s;
  JobSpec gone = j, stopped = j, missing = j;
  gone.name = "gone";
  stopped.name = "stopped";
  missing.name = "missing";
  const int64_t slow_id = submit(s, slow, T0);
  const int64_t gone_id = submit(s, gone, T0);
  const int64_t stopped_id = submit(s, stopped, T0);
  const int64_t missing_id = submit(s, missing, T0);
  s.tick(T0);
  REQUIRE(starts(s).size() == 4);
  auto first = [&](int64_t job) { return job_of(s, job).runs.at(0); };

  s.tick(T0 + 5s);
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{first(slow_id), SIGTERM}});
  s.exited(first(slow_id), std::nullopt, SIGTERM, T0 + 6s);
  CHECK(s.run(first(slow_id))->state == RunState::timed_out);
  const Run* retry = s.run(s.run(first(slow_id))->next_attempt);
  REQUIRE(retry);
  CHECK(retry->state == RunState::retrying);
  CHECK(retry->retry_at == T0 + 16s);

  s.lost(first(gone_id), "its process was gone when jobd started", T0 + 1s);
  CHECK(s.run(first(gone_id))->state == RunState::lost);
  retry = s.run(s.run(first(gone_id))->next_attempt);
  REQUIRE(retry);
  CHECK(retry->state == RunState::retrying);
  CHECK(retry->retry_at == T0 + 11s);

  CHECK(s.cancel_run(first(stopped_id), T0 + 1s).runs == std::vector<int64_t>{first(stopped_id)});
  s.exited(first(stopped_id), 1, 0, T0 + 2s);
  CHECK(s.run(first(stopped_id))->state == RunState::cancelled);
  CHECK(s.run(first(stopped_id))->next_attempt == 0);
  CHECK(job_of(s, stopped_id).runs.size() == 1);
  CHECK(job_of(s, stopped_id).state == JobState::completed);

  s.start_failed(first(missing_id), "no such file or directory: true", T0 + 1s);
  CHECK(s.run(first(missing_id))->state == RunState::failed);
  CHECK(s.run(first(missing_id))->reason == "no such file or directory: true");
  CHECK(s.run(first(missing_id))->next_attempt == 0);
  CHECK(job_of(s, missing_id).runs.size() == 1);
  CHECK(job_of(s, missing_id).state == JobState::completed);
}

TEST_CASE("cancel: a queued or retrying run is cancelled at once") {
  Scheduler s({.slots = 1});
  const int64_t a = submit(s, spec("a"), T0);
  JobSpec bj = spec("b");
  bj.retries = 2;
  bj.jitter = 0;
  const int64_t b = submit(s, bj, T0);
  s.tick(T0);
  const int64_t ra = job_of(s, a).runs.at(0), rb = job_of(s, b).runs.at(0);
  CHECK(starts(s) == std::vector<int64_t>{ra});
  CHECK(s.run(rb)->state == RunState::queued);
  auto c = s.cancel_run(rb, T0 + 1s);
  CHECK(c.runs == std::vector<int64_t>{rb});
  CHECK_FALSE(c.already);
  CHECK(s.run(rb)->state == RunState::cancelled);
  CHECK(s.run(rb)->finished_at == T0 + 1s);
  CHECK(s.run(rb)->reason == "cancelled");
  CHECK(s.run(rb)->next_attempt == 0);  // never retried
  CHECK(s.queued() == 0);
  CHECK(job_of(s, b).state == JobState::completed);

  JobSpec cj = spec("c");
  cj.retries = 2;
  cj.jitter = 0;
  const int64_t cid = submit(s, cj, T0 + 1s);
  s.exited(ra, 0, 0, T0 + 2s);
  s.tick(T0 + 2s);
  const int64_t rc = job_of(s, cid).runs.at(0);
  CHECK(starts(s) == std::vector<int64_t>{rc});
  s.exited(rc, 1, 0, T0 + 3s);
  const int64_t retry = s.run(rc)->next_attempt;
  REQUIRE(retry != 0);
  CHECK(s.run(retry)->state == RunState::retrying);
  CHECK(s.cancel_run(retry, T0 + 4s).runs == std::vector<int64_t>{retry});
  CHECK(s.run(retry)->state == RunState::cancelled);
  CHECK(s.run(retry)->finished_at == T0 + 4s);
  CHECK(s.run(retry)->next_attempt == 0);
  CHECK(job_of(s, cid).state == JobState::completed);
  s.tick(T0 + 1h);  // its retry timer finds it cancelled
  CHECK(starts(s).empty());
  CHECK(s.run(retry)->state == RunState::cancelled);
}

TEST_CASE("cancel: a running run gets SIGTERM, SIGKILL after the grace, and ends cancelled even on exit 0") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  JobSpec j = spec("r");
  j.retries = 3;
  const int64_t id = submit(s, j, T0);
  s.tick(T0);
  const int64_t run = starts(s).at(0);
  auto c = s.cancel_run(run, T0 + 1s);
  CHECK(c.runs == std::vector<int64_t>{run});
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{run, SIGTERM}});
  CHECK(s.run(run)->state == RunState::running);
  CHECK(s.run(run)->cancel_requested);
  // Asking again sends nothing more.
  CHECK(s.cancel_run(run, T0 + 2s).runs == std::vector<int64_t>{run});
  CHECK(s.take_actions().empty());
  s.tick(T0 + 11s - 1us);
  CHECK(s.take_actions().empty());
  s.tick(T0 + 11s);
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{run, SIGKILL}});
  s.exited(run, 0, 0, T0 + 12s);
  CHECK(s.run(run)->state == RunState::cancelled);
  CHECK(s.run(run)->exit_code == 0);
  CHECK(s.run(run)->finished_at == T0 + 12s);
  CHECK(s.run(run)->reason == "cancelled");
  CHECK(s.run(run)->next_attempt == 0);
  CHECK(job_of(s, id).state == JobState::completed);
}

TEST_CASE("cancel: a finished run reports its state as `already`") {
  Scheduler s({.slots = 1});
  const int64_t id = submit(s, spec("done"), T0);
  s.tick(T0);
  const int64_t run = starts(s).at(0);
  s.exited(run, 0, 0, T0 + 1s);
  auto c = s.cancel_run(run, T0 + 2s);
  CHECK(c.runs.empty());
  CHECK(c.already == RunState::succeeded);
  CHECK(s.run(run)->state == RunState::succeeded);
  CHECK(job_of(s, id).state == JobState::completed);
}

TEST_CASE("cancel_job completes a one-time job") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  // Waiting for its instant: completed at once, and never fires.
  JobSpec later = spec("later");
  later.trigger = JobSpec::Trigger::at;
  later.at = T0 + 1h;
  const int64_t l = submit(s, later, T0);
  CHECK(s.cancel_job(l, T0 + 1s).runs.empty());
  CHECK(job_of(s, l).state == JobState::completed);
  CHECK_FALSE(job_of(s, l).next_fire);
  // Running: completed when its run ends.
  const int64_t n = submit(s, spec("now"), T0 + 1s);
  s.tick(T0 + 1s);
  const int64_t run = starts(s).at(0);
  CHECK(s.cancel_job(n, T0 + 2s).runs == std::vector<int64_t>{run});
  CHECK(job_of(s, n).state == JobState::active);
  s.exited(run, std::nullopt, SIGTERM, T0 + 3s);
  CHECK(s.run(run)->state == RunState::cancelled);
  CHECK(job_of(s, n).state == JobState::completed);
  s.tick(T0 + 2h);
  CHECK(job_of(s, l).runs.empty());
  CHECK(starts(s).empty());
}

TEST_CASE("pause stops the fires; resume catches up on the missed ones (last: one run)") {
  Scheduler s({.slots = 1});
  const int64_t id = submit(s, every("tick", 1min), T0);
  CHECK_FALSE(s.pause(id));
  CHECK(job_of(s, id).state == JobState::paused);
  CHECK_FALSE(s.pause(id));  // pausing again is fine
  for (auto t : {T0 + 1min, T0 + 2min, T0 + 3min}) s.tick(t);
  CHECK(job_of(s, id).runs.empty());
  CHECK(starts(s).empty());
  CHECK_FALSE(s.resume_job(id, T0 + 3min + 30s));
  const Job& j = job_of(s, id);
  CHECK(j.state == JobState::active);
  REQUIRE(j.runs.size() == 1);
  const Run* r = s.run(j.runs[0]);
  CHECK(r->state == RunState::queued);
  CHECK(r->scheduled_at == T0 + 3min);
  CHECK(r->missed_count == 3);
  CHECK(r->missed_since == T0 + 1min);
  CHECK(j.next_fire == T0 + 4min);
  s.tick(T0 + 3min + 30s);
  CHECK(starts(s) == std::vector<int64_t>{r->id});
  CHECK_FALSE(s.resume_job(id, T0 + 3min + 31s));  // resuming an active job is fine
  s.exited(r->id, 0, 0, T0 + 3min + 40s);
  s.tick(T0 + 4min);
  CHECK(j.runs.size() == 2);
  CHECK(s.run(j.runs[1])->scheduled_at == T0 + 4min);
  CHECK(s.run(j.runs[1])->missed_count == 0);
}

TEST_CASE("pause and resume of a job with nothing to pause are errors") {
  Scheduler s({.slots = 1});
  const int64_t id = submit(s, spec("done"), T0);
  s.tick(T0);
  s.exited(starts(s).at(0), 0, 0, T0 + 1s);
  REQUIRE(job_of(s, id).state == JobState::completed);
  auto e = s.pause(id);
  REQUIRE(e);
  CHECK(e->code == job::Errc::invalid_argument);
  CHECK(e->message == "job done is completed: there is nothing to pause");
  e = s.resume_job(id, T0 + 2s);
  REQUIRE(e);
  CHECK(e->code == job::Errc::invalid_argument);
  CHECK(job_of(s, id).state == JobState::completed);
}

TEST_CASE("concurrency forbid: a fire while a run is active is a skipped record naming it") {
  Scheduler s({.slots = 2});
  const int64_t id = submit(s, every("f", 1min), T0);
  s.tick(T0 + 1min);
  const int64_t r1 = starts(s).at(0);
  s.tick(T0 + 2min);
  CHECK(starts(s).empty());
  const Job& j = job_of(s, id);
  REQUIRE(j.runs.size() == 2);
  const Run* skipped = s.run(j.runs[1]);
  CHECK(skipped->state == RunState::skipped);
  CHECK(skipped->reason == "r1 was still running (concurrency forbid)");
  CHECK(skipped->scheduled_at == T0 + 2min);
  CHECK(skipped->finished_at == T0 + 2min);
  CHECK(s.run(r1)->state == RunState::running);
  CHECK(s.running() == 1);
  CHECK(j.next_fire == T0 + 3min);
}

TEST_CASE("concurrency replace: the active run is cancelled and a new one queued") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  JobSpec js = every("r", 1min);
  js.concurrency = JobSpec::Concurrency::replace;
  const int64_t id = submit(s, js, T0);
  s.tick(T0 + 1min);
  const int64_t r1 = starts(s).at(0);
  s.tick(T0 + 2min);
  auto actions = s.take_actions();
  CHECK(signals(actions) == std::vector<std::pair<int64_t, int>>{{r1, SIGTERM}});
  const Job& j = job_of(s, id);
  REQUIRE(j.runs.size() == 2);
  const int64_t r2 = j.runs[1];
  CHECK(s.run(r1)->cancel_requested);
  CHECK(s.run(r2)->state == RunState::queued);
  CHECK(s.run(r2)->scheduled_at == T0 + 2min);
  s.exited(r1, std::nullopt, SIGTERM, T0 + 2min + 1s);
  CHECK(s.run(r1)->state == RunState::cancelled);
  s.tick(T0 + 2min + 1s);
  CHECK(starts(s) == std::vector<int64_t>{r2});
}

TEST_CASE("concurrency allow: fires run side by side") {
  Scheduler s({.slots = 2});
  JobSpec js = every("a", 1min);
  js.concurrency = JobSpec::Concurrency::allow;
  const int64_t id = submit(s, js, T0);
  s.tick(T0 + 1min);
  s.tick(T0 + 2min);
  const Job& j = job_of(s, id);
  CHECK(starts(s) == j.runs);
  CHECK(states(s, j) == std::vector<RunState>{RunState::running, RunState::running});
  CHECK(j.active == 2);
}

TEST_CASE("catch-up after a restart") {
  // Submitted at T0, every minute; jobd down until T0 + 10m30s: 10 missed fires.
  auto down = [](JobSpec::Catchup c, Scheduler& after, Instant until) {
    Scheduler before({.slots = 4});
    JobSpec js = every("c", 1min);
    js.catchup = c;
    js.keep_runs = 1000;
    submit(before, js, T0);
    restart(before, after, until);
    return after.find_job("", "c");
  };
  const Instant now = T0 + 10min + 30s;

  SUBCASE("none: one skipped record covers the gap") {
    Scheduler s({.slots = 4});
    const Job* j = down(JobSpec::Catchup::none, s, now);
    REQUIRE(j->runs.size() == 1);
    const Run* r = s.run(j->runs[0]);
    CHECK(r->state == RunState::skipped);
    CHECK(r->missed_count == 10);
    CHECK(r->missed_since == T0 + 1min);
    CHECK(r->scheduled_at == T0 + 10min);
    CHECK(r->finished_at == now);
    CHECK(r->reason == "jobd was down: 10 missed fires (catchup none)");
    CHECK(j->next_fire == T0 + 11min);
    s.tick(now);
    CHECK(starts(s).empty());
  }
  SUBCASE("last: one run for the newest missed fire") {
    Scheduler s({.slots = 4});
    const Job* j = down(JobSpec::Catchup::last, s, now);
    REQUIRE(j->runs.size() == 1);
    const Run* r = s.run(j->runs[0]);
    CHECK(r->state == RunState::queued);
    CHECK(r->missed_count == 10);
    CHECK(r->missed_since == T0 + 1min);
    CHECK(r->scheduled_at == T0 + 10min);
    CHECK(j->next_fire == T0 + 11min);
    s.tick(now);
    CHECK(starts(s) == std::vector<int64_t>{r->id});
  }
  SUBCASE("all: one run per missed fire, one after another") {
    Scheduler s({.slots = 4});
    const Job* j = down(JobSpec::Catchup::all, s, now);
    REQUIRE(j->runs.size() == 10);
    for (size_t i = 0; i < 10; ++i) {
      CAPTURE(i);
      const Run* r = s.run(j->runs[i]);
      CHECK(r->scheduled_at == T0 + 1min * (i + 1));
      CHECK(r->missed_count == 1);
      CHECK(r->missed_since == r->scheduled_at);
      CHECK(r->state == (i == 0 ? RunState::queued : RunState::pending));
    }
    s.tick(now);
    CHECK(starts(s) == std::vector<int64_t>{j->runs[0]});  // four slots, one run
    s.exited(j->runs[0], 0, 0, now + 1s);
    CHECK(s.run(j->runs[1])->state == RunState::queued);
    CHECK(s.run(j->runs[2])->state == RunState::pending);
    s.tick(now + 1s);
    CHECK(starts(s) == std::vector<int64_t>{j->runs[1]});
    s.exited(j->runs[1], 1, 0, now + 2s);
    s.tick(now + 2s);
    CHECK(starts(s) == std::vector<int64_t>{j->runs[2]});
  }
  SUBCASE("all, over kCatchupMax: the newest 100 run, the rest are one skipped record") {
    Scheduler s({.slots = 4});
    const Instant later = T0 + 150min + 30s;
    const Job* j = down(JobSpec::Catchup::all, s, later);
    REQUIRE(j->runs.size() == 101);
    const Run* skipped = s.run(j->runs[0]);
    CHECK(skipped->state == RunState::skipped);
    CHECK(skipped->missed_count == 50);
    CHECK(skipped->missed_since == T0 + 1min);
    CHECK(skipped->scheduled_at == T0 + 50min);
    CHECK(skipped->reason == "jobd was down: 50 missed fires before the newest 100 (catchup all)");
    for (size_t i = 1; i <= 100; ++i) {
      CAPTURE(i);
      const Run* r = s.run(j->runs[i]);
      CHECK(r->scheduled_at == T0 + 1min * (50 + i));
      CHECK(r->missed_count == 1);
      CHECK(r->state == (i == 1 ? RunState::queued : RunState::pending));
    }
    CHECK(j->next_fire == T0 + 151min);
    s.tick(later);
    CHECK(starts(s) == std::vector<int64_t>{j->runs[1]});
  }
}

TEST_CASE("starting_deadline: a run that finds no slot within it is skipped at the deadline") {
  Scheduler s({.slots = 1});
  submit(s, spec("hog"), T0);
  s.tick(T0);
  const int64_t hog = starts(s).at(0);
  JobSpec js = every("late", 1min);
  js.starting_deadline = 30s;
  const int64_t id = submit(s, js, T0);
  s.tick(T0 + 1min);
  const int64_t run = job_of(s, id).runs.at(0);
  CHECK(s.run(run)->state == RunState::queued);
  s.tick(T0 + 1min + 30s - 1us);
  CHECK(s.run(run)->state == RunState::queued);
  s.tick(T0 + 1min + 30s);
  CHECK(s.run(run)->state == RunState::skipped);
  CHECK(s.run(run)->reason == "not started within its starting deadline (30s)");
  CHECK(s.run(run)->finished_at == T0 + 1min + 30s);
  CHECK(s.queued() == 0);
  s.exited(hog, 0, 0, T0 + 1min + 40s);
  s.tick(T0 + 1min + 40s);
  CHECK(starts(s).empty());
}

TEST_CASE("starting_deadline: retries are not subject to it") {
  Scheduler s({.slots = 1});
  JobSpec js = spec("flaky");
  js.starting_deadline = 30s;
  js.retries = 1;
  js.backoff = 1min;
  js.jitter = 0;
  const int64_t id = submit(s, js, T0);
  s.tick(T0);
  const int64_t first = starts(s).at(0);
  s.exited(first, 1, 0, T0 + 1s);
  const int64_t retry = s.run(first)->next_attempt;
  REQUIRE(retry != 0);
  CHECK(s.run(retry)->retry_at == T0 + 1min + 1s);
  s.tick(T0 + 30s);
  CHECK(s.run(retry)->state == RunState::retrying);
  s.tick(T0 + 1min + 1s);
  CHECK(starts(s) == std::vector<int64_t>{retry});
  CHECK(s.run(retry)->state == RunState::running);
  s.exited(retry, 0, 0, T0 + 1min + 2s);
  CHECK(job_of(s, id).state == JobState::completed);
}

TEST_CASE("trigger: a run now, under the overlap policy") {
  Scheduler s({.slots = 2});
  const int64_t id = submit(s, every("t", 1h), T0);
  auto r1 = s.trigger(id, T0 + 5s);
  REQUIRE(r1);
  CHECK(s.run(*r1)->state == RunState::queued);
  CHECK(s.run(*r1)->scheduled_at == T0 + 5s);
  CHECK(job_of(s, id).next_fire == T0 + 1h);  // the schedule is untouched
  s.tick(T0 + 5s);
  CHECK(starts(s) == std::vector<int64_t>{*r1});
  auto r2 = s.trigger(id, T0 + 10s);
  REQUIRE(r2);
  CHECK(s.run(*r2)->state == RunState::skipped);
  CHECK(s.run(*r2)->reason == job::sched::run_ref(*r1) + " was still running (concurrency forbid)");
  s.exited(*r1, 0, 0, T0 + 11s);
  auto r3 = s.trigger(id, T0 + 12s);
  REQUIRE(r3);
  CHECK(s.run(*r3)->state == RunState::queued);
}

TEST_CASE("remove_job cancels the active runs, frees the name, and keeps the job findable by id") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  JobSpec js = every("gone", 1min);
  js.concurrency = JobSpec::Concurrency::allow;
  const int64_t id = submit(s, js, T0);
  s.tick(T0 + 1min);
  const int64_t r1 = starts(s).at(0);
  s.tick(T0 + 2min);
  const int64_t r2 = job_of(s, id).runs.at(1);
  CHECK(s.run(r2)->state == RunState::queued);
  auto c = s.remove_job(id, T0 + 2min + 1s);
  CHECK(c.runs == std::vector<int64_t>{r1, r2});
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{r1, SIGTERM}});
  CHECK(s.run(r2)->state == RunState::cancelled);
  CHECK(s.run(r1)->cancel_requested);
  CHECK(job_of(s, id).state == JobState::deleted);
  CHECK_FALSE(job_of(s, id).next_fire);
  CHECK(s.find_job("", "gone") == nullptr);
  CHECK(s.find_job("", job::sched::job_ref(id)) == nullptr);
  CHECK(s.find_job("", job::sched::job_ref(id), true) == s.job(id));
  CHECK(s.remove_job(id, T0 + 2min + 2s).runs.empty());  // again: nothing
  auto trig = s.trigger(id, T0 + 2min + 2s);
  REQUIRE_FALSE(trig);
  CHECK(trig.error().code == job::Errc::not_found);
  // The name is free again.
  const int64_t again = submit(s, spec("gone"), T0 + 2min + 3s);
  CHECK(again != id);
  CHECK(s.find_job("", "gone") == s.job(again));
  s.exited(r1, std::nullopt, SIGTERM, T0 + 2min + 4s);
  CHECK(s.run(r1)->state == RunState::cancelled);
  s.tick(T0 + 5min);  // the deleted job fires no more
  CHECK(job_of(s, id).runs.size() == 2);
}

TEST_CASE("retention keep_runs: the newest runs stay, at the next tick") {
  Scheduler s({.slots = 5});
  JobSpec js = every("hist", 1h);
  js.concurrency = JobSpec::Concurrency::allow;
  js.keep_runs = 3;
  const int64_t id = submit(s, js, T0);
  std::vector<int64_t> runs;
  for (int i = 0; i < 5; ++i) runs.push_back(*s.trigger(id, T0));
  s.tick(T0);
  CHECK(starts(s) == runs);
  for (int64_t r : runs) s.exited(r, 0, 0, T0 + 1s);
  CHECK(job_of(s, id).runs.size() == 5);  // not while the daemon still reports on them
  CHECK(s.take_removed_runs().empty());
  s.tick(T0 + 1s);
  CHECK(job_of(s, id).runs == std::vector<int64_t>{runs[2], runs[3], runs[4]});
  CHECK(s.take_removed_runs() == std::vector<int64_t>{runs[0], runs[1]});
  CHECK(s.run(runs[0]) == nullptr);
  CHECK(s.run(runs[1]) == nullptr);
  CHECK(s.take_removed_runs().empty());
  CHECK(s.take_removed_jobs().empty());
}

TEST_CASE("retention keep_for: the sweep removes old runs, then the deleted job") {
  Scheduler s({.slots = 1, .keep_for = 1h});
  JobSpec js = every("old", 24h);
  const int64_t id = submit(s, js, T0);
  const int64_t r1 = *s.trigger(id, T0);
  s.tick(T0);
  s.exited(r1, 0, 0, T0 + 1s);
  const int64_t r2 = *s.trigger(id, T0 + 30min);
  s.tick(T0 + 30min);
  CHECK(starts(s) == std::vector<int64_t>{r1, r2});
  s.exited(r2, 0, 0, T0 + 30min);
  s.remove_job(id, T0 + 31min);
  s.tick(T0 + 1h);
  CHECK(s.take_removed_runs().empty());
  CHECK(s.next_wakeup() == T0 + 1h + 1s);
  s.tick(T0 + 1h + 1s);
  CHECK(s.take_removed_runs() == std::vector<int64_t>{r1});
  CHECK(s.take_removed_jobs().empty());  // it still has a run
  CHECK(job_of(s, id).runs == std::vector<int64_t>{r2});
  s.tick(T0 + 1h + 30min - 1us);
  CHECK(s.take_removed_runs().empty());
  s.tick(T0 + 1h + 30min);
  CHECK(s.take_removed_runs() == std::vector<int64_t>{r2});
  CHECK(s.take_removed_jobs() == std::vector<int64_t>{id});
  CHECK(s.job(id) == nullptr);
  CHECK(s.find_job("", job::sched::job_ref(id), true) == nullptr);
}

TEST_CASE("retention: a deleted job that never ran goes at the next tick") {
  Scheduler s({.slots = 1});
  const int64_t id = submit(s, every("idle", 1h), T0);
  CHECK(s.remove_job(id, T0 + 1s).runs.empty());
  s.tick(T0 + 2s);
  CHECK(s.take_removed_jobs() == std::vector<int64_t>{id});
  CHECK(s.job(id) == nullptr);
}

TEST_CASE("a one-time job whose missed instant is skipped (catchup none) is completed") {
  Scheduler before({.slots = 1});
  JobSpec js = spec("once");
  js.trigger = JobSpec::Trigger::at;
  js.at = T0 + 1min;
  js.catchup = JobSpec::Catchup::none;
  submit(before, js, T0);
  Scheduler s({.slots = 1});
  restart(before, s, T0 + 1h);
  const Job* j = s.find_job("", "once");
  REQUIRE(j->runs.size() == 1);
  CHECK(s.run(j->runs[0])->state == RunState::skipped);
  CHECK(s.run(j->runs[0])->missed_count == 1);
  CHECK_FALSE(j->next_fire);
  CHECK(j->state == JobState::completed);
}
