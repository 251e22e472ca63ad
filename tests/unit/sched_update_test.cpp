// Updating a job's spec in place (`jobctl apply`), with a fake clock: its
// history stays, a changed schedule fires from now on, `paused` is applied
// only when the declared value changes, a graph job run in progress keeps the
// tasks it started with, and what cannot change under a run is refused.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sched/scheduler.hpp"
#include "sched_helpers.hpp"

using namespace std::chrono_literals;
using job::Errc;
using job::sched::JobState;
using job::sched::RunState;
using job::sched::TaskSpec;

using namespace sched_test;

namespace {

JobSpec cron_job(std::string name, std::string cron) {
  JobSpec s = spec(std::move(name));
  s.trigger = JobSpec::Trigger::cron;
  s.cron = std::move(cron);
  s.tz = "UTC";
  return s;
}

TaskSpec task(std::string name, std::string command, std::vector<std::string> after = {}) {
  TaskSpec t;
  t.name = std::move(name);
  t.argv = {std::move(command)};
  t.after = std::move(after);
  return t;
}

}  // namespace

TEST_CASE("an update keeps the job's id and history and applies to the runs that start afterwards") {
  Scheduler s({.slots = 1});
  const int64_t id = *s.submit(spec("j"), T0);
  s.tick(T0);
  const auto first = starts(s);
  REQUIRE(first.size() == 1);
  s.started(first[0], 100, 1);
  s.exited(first[0], 0, 0, T0 + 1s);

  JobSpec changed = spec("j");
  changed.argv = {"/bin/echo", "v2"};
  changed.priority = 7;
  REQUIRE_FALSE(s.update(id, changed, T0 + 2s));
  const auto* job = s.job(id);
  CHECK(job->spec.argv == std::vector<std::string>{"/bin/echo", "v2"});
  CHECK(job->spec.priority == 7);
  CHECK(job->runs.size() == 1);  // no run of its own: a run-now job runs when created, not updated
  CHECK(s.run(first[0])->state == RunState::succeeded);
  auto t = s.trigger(id, T0 + 3s);
  REQUIRE(t);
  s.tick(T0 + 3s);
  CHECK(starts(s) == std::vector<int64_t>{*t});
}

TEST_CASE("a changed schedule fires from now on; an unchanged one keeps its next fire") {
  Scheduler s({.slots = 1});
  const int64_t id = *s.submit(cron_job("c", "0 3 * * *"), T0);
  CHECK(s.job(id)->next_fire == at("2026-01-01T03:00:00Z"));

  JobSpec same = cron_job("c", "0 3 * * *");
  same.timeout = 5min;
  REQUIRE_FALSE(s.update(id, same, T0 + 1h));
  CHECK(s.job(id)->next_fire == at("2026-01-01T03:00:00Z"));

  REQUIRE_FALSE(s.update(id, cron_job("c", "*/10 * * * *"), T0 + 1h));
  CHECK(s.job(id)->next_fire == at("2026-01-01T01:10:00Z"));
  // The old fire at 03:00 is stale: nothing fires then but the new schedule's.
  s.tick(at("2026-01-01T01:10:00Z"));
  CHECK(starts(s).size() == 1);
}

TEST_CASE("a one-time job that has run becomes active again when its instant moves") {
  Scheduler s({.slots = 1});
  JobSpec once = spec("once");
  once.trigger = JobSpec::Trigger::at;
  once.at = T0 + 1min;
  const int64_t id = *s.submit(once, T0);
  s.tick(T0 + 1min);
  const auto run = starts(s);
  REQUIRE(run.size() == 1);
  s.started(run[0], 1, 1);
  s.exited(run[0], 0, 0, T0 + 2min);
  CHECK(s.job(id)->state == JobState::completed);

  once.at = T0 + 1h;
  REQUIRE_FALSE(s.update(id, once, T0 + 3min));
  CHECK(s.job(id)->state == JobState::active);
  CHECK(s.job(id)->next_fire == T0 + 1h);
}

TEST_CASE("paused is applied when the declared value changes, and only then") {
  Scheduler s({.slots = 1});
  JobSpec c = cron_job("c", "*/5 * * * *");
  c.paused = true;
  const int64_t id = *s.submit(c, T0);
  CHECK(s.job(id)->state == JobState::paused);

  // Resumed by hand: applying the same declaration again leaves it running.
  REQUIRE_FALSE(s.resume_job(id, T0));
  REQUIRE_FALSE(s.update(id, c, T0 + 1s));
  CHECK(s.job(id)->state == JobState::active);

  c.paused = false;
  REQUIRE_FALSE(s.update(id, c, T0 + 2s));
  CHECK(s.job(id)->state == JobState::active);
  c.paused = true;
  REQUIRE_FALSE(s.update(id, c, T0 + 3s));
  CHECK(s.job(id)->state == JobState::paused);

  // Paused by hand, then declared paused: it stays paused (no paused -> paused).
  c.paused = false;
  REQUIRE_FALSE(s.update(id, c, T0 + 4s));
  CHECK(s.job(id)->state == JobState::active);
  REQUIRE_FALSE(s.pause(id));
  c.paused = true;
  REQUIRE_FALSE(s.update(id, c, T0 + 5s));
  CHECK(s.job(id)->state == JobState::paused);
  // And declared active while resumed by hand: it stays active.
  REQUIRE_FALSE(s.resume_job(id, T0 + 6s));
  c.paused = false;
  REQUIRE_FALSE(s.update(id, c, T0 + 7s));
  CHECK(s.job(id)->state == JobState::active);
}

TEST_CASE("paused needs a schedule: a run-now job runs once, when created") {
  Scheduler s({.slots = 1});
  JobSpec now = spec("now");
  now.paused = true;
  auto id = s.submit(now, T0);
  REQUIRE_FALSE(id);
  CHECK(id.error().code == Errc::invalid_argument);
  CHECK(id.error().message.find("paused") != std::string::npos);
}

TEST_CASE("a graph job run in progress keeps the tasks it started with") {
  Scheduler s({.slots = 2});
  JobSpec g = spec("g");
  g.argv.clear();
  g.tasks = {task("A", "old-a"), task("B", "old-b", {"A"})};
  const int64_t id = *s.submit(g, T0);
  s.tick(T0);
  const auto a = starts(s);
  REQUIRE(a.size() == 1);
  s.started(a[0], 1, 1);

  JobSpec changed = g;
  changed.tasks = {task("A", "new-a"), task("B", "new-b", {"A"}), task("C", "new-c", {"B"})};
  REQUIRE_FALSE(s.update(id, changed, T0 + 1s));
  s.exited(a[0], 0, 0, T0 + 2s);
  s.tick(T0 + 2s);
  const auto b = starts(s);
  REQUIRE(b.size() == 1);
  const auto* task_b = s.task_of(*s.run(b[0]));
  REQUIRE(task_b);
  CHECK(task_b->argv == std::vector<std::string>{"old-b"});
  s.started(b[0], 2, 1);
  s.exited(b[0], 0, 0, T0 + 3s);
  s.tick(T0 + 3s);
  CHECK(starts(s).empty());  // no C in the graph this run started with
  const int64_t job_run = s.run(b[0])->parent;
  CHECK(s.run(job_run)->state == RunState::succeeded);

  // The next run has the new tasks.
  auto next = s.trigger(id, T0 + 4s);
  REQUIRE(next);
  s.tick(T0 + 4s);
  const auto a2 = starts(s);
  REQUIRE(a2.size() == 1);
  CHECK(s.task_of(*s.run(a2[0]))->argv == std::vector<std::string>{"new-a"});
}

TEST_CASE("a job cannot switch between a command and tasks while a run is in progress") {
  Scheduler s({.slots = 1});
  const int64_t id = *s.submit(spec("j"), T0);
  s.tick(T0);
  const auto r = starts(s);
  REQUIRE(r.size() == 1);
  s.started(r[0], 1, 1);
  JobSpec g = spec("j");
  g.argv.clear();
  g.tasks = {task("A", "a")};
  auto e = s.check(g, T0, id);
  REQUIRE(e);
  CHECK(e->message.find("cannot switch between a command and tasks") != std::string::npos);
  REQUIRE(s.update(id, g, T0));
  s.exited(r[0], 0, 0, T0 + 1s);
  CHECK_FALSE(s.check(g, T0 + 1s, id));
  CHECK_FALSE(s.update(id, g, T0 + 1s));
  CHECK(s.job(id)->graph);
}

TEST_CASE("check() says what submit() would, changing nothing") {
  Scheduler s({.slots = 1});
  JobSpec bad = cron_job("c", "61 * * * *");
  auto e = s.check(bad, T0);
  REQUIRE(e);
  CHECK(e->message.find("61") != std::string::npos);
  CHECK(s.job_count() == 0);
  CHECK_FALSE(s.check(cron_job("c", "0 * * * *"), T0));
  CHECK(s.job_count() == 0);
  CHECK_FALSE(s.dirty());
  // A name in use is fine for an update of that job, not for a new one.
  const int64_t id = *s.submit(cron_job("c", "0 * * * *"), T0);
  REQUIRE(s.check(cron_job("c", "0 * * * *"), T0));
  CHECK_FALSE(s.check(cron_job("c", "5 * * * *"), T0, id));
}

TEST_CASE("an update of a deleted job is refused as not found") {
  Scheduler s({.slots = 1});
  const int64_t id = *s.submit(cron_job("c", "0 * * * *"), T0);
  s.remove_job(id, T0);
  auto e = s.update(id, cron_job("c", "5 * * * *"), T0);
  REQUIRE(e);
  CHECK(e->code == Errc::not_found);
}

TEST_CASE("the source a job came from is kept and marks it dirty when it changes") {
  Scheduler s({.slots = 1});
  const int64_t id = *s.submit(cron_job("c", "0 * * * *"), T0, "/etc/jobd/jobs.d/a.toml");
  CHECK(s.job(id)->source == "/etc/jobd/jobs.d/a.toml");
  (void)s.take_dirty_jobs();
  s.set_source(id, "/etc/jobd/jobs.d/a.toml");
  CHECK_FALSE(s.dirty());
  s.set_source(id, "/srv/b.toml");
  CHECK(s.take_dirty_jobs() == std::vector<int64_t>{id});
}
