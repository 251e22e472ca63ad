// Task graphs and cross-job `after` dependencies in the scheduler core, with
// a fake clock: job runs and task runs, per-task policies, trigger rules,
// cancelling, concurrency and catch-up, replaying a graph after a restart,
// and chains of jobs waiting for each other's runs.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "sched/scheduler.hpp"
#include "sched_helpers.hpp"
#include "time/rfc3339.hpp"

using namespace std::chrono_literals;
using job::Errc;
using job::sched::Action;
using job::sched::AfterSpec;
using job::sched::Job;
using job::sched::JobSpec;
using job::sched::JobState;
using job::sched::Run;
using job::sched::RunState;
using job::sched::Scheduler;
using job::sched::TaskSpec;
using job::sched::TriggerRule;
using job::time::Duration;
using job::time::Instant;

using namespace sched_test;

namespace {

TaskSpec task(std::string name, std::vector<std::string> after = {},
              TriggerRule trigger = TriggerRule::all_success) {
  TaskSpec t;
  t.name = std::move(name);
  t.argv = {"true"};
  t.after = std::move(after);
  t.trigger = trigger;
  return t;
}

// A graph job to run now. No retries unless a test asks.
JobSpec graph(std::string name, std::vector<TaskSpec> tasks) {
  JobSpec s;
  s.name = std::move(name);
  s.tasks = std::move(tasks);
  s.retries = 0;
  return s;
}

// A, then B and C, then D.
JobSpec diamond(std::string name) {
  return graph(std::move(name), {task("A"), task("B", {"A"}), task("C", {"A"}), task("D", {"B", "C"})});
}

// A command job to run now.
JobSpec command(std::string name) {
  JobSpec s;
  s.name = std::move(name);
  s.argv = {"true"};
  s.retries = 0;
  return s;
}

JobSpec after(std::string name, std::string ref, AfterSpec::Rule rule = AfterSpec::Rule::success) {
  JobSpec s = command(std::move(name));
  s.after = {{std::move(ref), rule}};
  return s;
}

int64_t submit(Scheduler& s, const JobSpec& j, Instant now) {
  auto id = s.submit(j, now);
  REQUIRE(id);
  return *id;
}

// The task names of the runs the actions started, sorted.
std::vector<std::string> started_tasks(Scheduler& s) {
  std::vector<std::string> out;
  for (int64_t r : starts(s)) out.push_back(s.run(r)->task);
  std::sort(out.begin(), out.end());
  return out;
}

const Run& first_run(const Scheduler& s, int64_t job) { return *s.run(s.job(job)->runs.at(0)); }

// The newest task run of `task` in job run `job_run`, or null.
const Run* task_run(const Scheduler& s, int64_t job_run, std::string_view task) {
  const Run* out = nullptr;
  for (int64_t c : s.run(job_run)->children)
    if (const Run* r = s.run(c); r && r->task == task) out = r;
  return out;
}

RunState state_of(const Scheduler& s, int64_t job_run, std::string_view task) {
  const Run* r = task_run(s, job_run, task);
  REQUIRE(r);
  return r->state;
}

// A scheduler restarted at `now` from what `before` holds, as the store
// gives it back: the derived fields (a job's runs, active and graph, a run's
// children) are not stored. `drop` names runs the store never got.
void restart(const Scheduler& before, Scheduler& after, Instant now, std::vector<int64_t> drop = {}) {
  std::vector<Run> runs;
  before.for_each_job([&](const Job& j) {
    Job copy = j;
    copy.runs.clear();
    copy.active = 0;
    copy.graph.reset();
    REQUIRE_FALSE(after.restore(copy));
    for (int64_t r : j.runs) {
      const Run* top = before.run(r);
      REQUIRE(top);
      runs.push_back(*top);
      for (int64_t c : top->children) runs.push_back(*before.run(c));
    }
  });
  for (Run r : runs) {
    if (std::find(drop.begin(), drop.end(), r.id) != drop.end()) continue;
    r.children.clear();
    after.restore(std::move(r));
  }
  after.resume(now);
}

}  // namespace

TEST_CASE("a diamond: one job run without a process, its tasks in order, succeeded when the last is") {
  Scheduler s({.slots = 4});
  const int64_t id = submit(s, diamond("d"), T0);
  const Job& job = *s.job(id);
  REQUIRE(job.runs.size() == 1);
  const int64_t jr = job.runs[0];
  const Run& run = *s.run(jr);
  CHECK(run.state == RunState::running);
  CHECK(run.parent == 0);
  CHECK(run.task.empty());
  CHECK(run.started_at == T0);
  s.tick(T0);
  auto actions = s.take_actions();
  for (const Action& a : actions) CHECK_FALSE((a.kind == Action::Kind::start && a.run == jr));
  REQUIRE(starts(actions).size() == 1);
  const int64_t a = starts(actions)[0];
  CHECK(s.run(a)->task == "A");
  CHECK(s.run(a)->parent == jr);
  CHECK(s.run(a)->job == id);
  CHECK(s.running() == 1);  // the job run takes no slot
  CHECK(s.queued() == 0);

  s.exited(a, 0, 0, T0 + 1s);
  s.tick(T0 + 1s);
  CHECK(started_tasks(s) == std::vector<std::string>{"B", "C"});
  CHECK(s.running() == 2);
  CHECK(task_run(s, jr, "D") == nullptr);  // not created before its turn

  s.exited(task_run(s, jr, "B")->id, 0, 0, T0 + 2s);
  s.tick(T0 + 2s);
  CHECK(starts(s).empty());
  CHECK(task_run(s, jr, "D") == nullptr);
  s.exited(task_run(s, jr, "C")->id, 0, 0, T0 + 3s);
  s.tick(T0 + 3s);
  CHECK(started_tasks(s) == std::vector<std::string>{"D"});
  CHECK(s.run(jr)->state == RunState::running);

  s.exited(task_run(s, jr, "D")->id, 0, 0, T0 + 4s);
  CHECK(s.run(jr)->state == RunState::succeeded);
  CHECK(s.run(jr)->finished_at == T0 + 4s);
  CHECK(s.job(id)->state == JobState::completed);
  CHECK(s.job(id)->active == 0);
  CHECK(s.running() == 0);

  std::vector<std::string> tasks;
  for (int64_t c : s.run(jr)->children) {
    const Run* r = s.run(c);
    REQUIRE(r);
    CHECK(r->parent == jr);
    CHECK(r->job == id);
    CHECK(r->state == RunState::succeeded);
    tasks.push_back(r->task);
  }
  std::sort(tasks.begin(), tasks.end());
  CHECK(tasks == std::vector<std::string>{"A", "B", "C", "D"});
  CHECK(s.job(id)->runs == std::vector<int64_t>{jr});
  REQUIRE(s.task_of(*task_run(s, jr, "C")));
  CHECK(s.task_of(*task_run(s, jr, "C"))->after == std::vector<std::string>{"A"});
  CHECK(s.task_of(*s.run(jr)) == nullptr);

  const int64_t other = submit(s, command("plain"), T0 + 5s);
  auto recent = s.recent_runs(nullptr, 10);
  REQUIRE(recent.size() == 2);  // the task runs are listed through their job run
  CHECK(recent[0]->id == first_run(s, other).id);
  CHECK(recent[1]->id == jr);
  CHECK(s.recent_runs(s.job(id), 10).size() == 1);

  // By state (jobctl top), task runs come too, each on its own, newest first.
  const auto done = s.runs_in_states({RunState::succeeded}, s.job(id), 10);
  REQUIRE(done.size() == 5);  // the job run and its four task runs
  CHECK(std::is_sorted(done.begin(), done.end(), [](const Run* x, const Run* y) { return x->id > y->id; }));
  CHECK(done.back()->id == jr);
  const auto newest = s.runs_in_states({RunState::succeeded}, nullptr, 2);
  REQUIRE(newest.size() == 2);
  CHECK(newest[0]->id == done[0]->id);
  CHECK(newest[1]->id == done[1]->id);
  const auto waiting = s.runs_in_states({RunState::queued, RunState::running}, nullptr, 10);
  REQUIRE(waiting.size() == 1);
  CHECK(waiting[0]->id == first_run(s, other).id);
  CHECK(s.runs_in_states({RunState::failed}, nullptr, 10).empty());
}

// Siblings that become ready together start in declaration order.
TEST_CASE("siblings ready together start in declaration order") {
  Scheduler s({.slots = 1});
  const int64_t jr = s.job(submit(s, diamond("d"), T0))->runs.at(0);
  s.tick(T0);
  s.exited(task_run(s, jr, "A")->id, 0, 0, T0 + 1s);
  s.take_actions();
  s.tick(T0 + 1s);
  CHECK(started_tasks(s) == std::vector<std::string>{"B"});
}

TEST_CASE("a failed task is retried as its own attempt; when out of retries its downstream is skipped") {
  Scheduler s({.slots = 4});
  JobSpec j = diamond("d");
  j.retries = 1;
  j.backoff = 10s;
  j.jitter = 0;
  const int64_t id = submit(s, j, T0);
  const int64_t jr = s.job(id)->runs.at(0);
  s.tick(T0);
  CHECK(started_tasks(s) == std::vector<std::string>{"A"});
  s.exited(task_run(s, jr, "A")->id, 0, 0, T0 + 1s);
  s.tick(T0 + 1s);
  CHECK(started_tasks(s) == std::vector<std::string>{"B", "C"});

  const int64_t b1 = task_run(s, jr, "B")->id;
  s.exited(b1, 1, 0, T0 + 2s);
  CHECK(s.run(b1)->state == RunState::failed);
  const Run* b2 = task_run(s, jr, "B");
  REQUIRE(b2);
  REQUIRE(b2->id != b1);
  CHECK(b2->state == RunState::retrying);
  CHECK(b2->attempt == 2);
  CHECK(b2->retry_of == b1);
  CHECK(s.run(b1)->next_attempt == b2->id);
  CHECK(b2->parent == jr);
  CHECK(b2->task == "B");
  CHECK(b2->retry_at == T0 + 12s);
  CHECK(task_run(s, jr, "D") == nullptr);  // B is not over yet
  CHECK(s.job(id)->runs == std::vector<int64_t>{jr});

  s.exited(task_run(s, jr, "C")->id, 0, 0, T0 + 3s);
  s.tick(T0 + 11s);
  CHECK(starts(s).empty());
  s.tick(T0 + 12s);
  CHECK(starts(s) == std::vector<int64_t>{b2->id});
  s.exited(b2->id, 1, 0, T0 + 13s);
  CHECK(s.run(b2->id)->next_attempt == 0);  // retries exhausted
  const Run* d = task_run(s, jr, "D");
  REQUIRE(d);
  CHECK(d->state == RunState::skipped);
  CHECK(d->reason == "upstream B failed (all_success)");
  CHECK(s.run(jr)->state == RunState::failed);
  CHECK(s.job(id)->state == JobState::completed);
  s.tick(T0 + 14s);
  CHECK(starts(s).empty());
}

TEST_CASE("a task's own retries override the job's: retries 0 means no retry") {
  Scheduler s({.slots = 4});
  JobSpec j = diamond("d");
  j.retries = 3;
  j.tasks[1].retries = 0;  // B
  const int64_t jr = s.job(submit(s, j, T0))->runs.at(0);
  s.tick(T0);
  s.exited(task_run(s, jr, "A")->id, 0, 0, T0 + 1s);
  s.tick(T0 + 1s);
  s.take_actions();
  const int64_t b = task_run(s, jr, "B")->id;
  s.exited(b, 1, 0, T0 + 2s);
  CHECK(s.run(b)->next_attempt == 0);
  CHECK(task_run(s, jr, "B")->id == b);
  CHECK(task_run(s, jr, "D")->state == RunState::skipped);
  CHECK(task_run(s, jr, "D")->reason == "upstream B failed (all_success)");
  // C still runs and, with the job's retries, is retried.
  const int64_t c = task_run(s, jr, "C")->id;
  s.exited(c, 1, 0, T0 + 3s);
  CHECK(s.run(c)->next_attempt != 0);
  CHECK(s.run(jr)->state == RunState::running);
}

TEST_CASE("a task's priority and timeout override the job's") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  JobSpec j = graph("g", {task("low"), task("high"), task("slow"), task("quick")});
  j.priority = 1;
  j.tasks[1].priority = 5;
  j.tasks[2].priority = 4;
  j.tasks[2].timeout = 30s;
  const int64_t jr = s.job(submit(s, j, T0))->runs.at(0);
  s.tick(T0);
  CHECK(started_tasks(s) == std::vector<std::string>{"high"});
  s.exited(task_run(s, jr, "high")->id, 0, 0, T0 + 1s);
  s.tick(T0 + 1s);
  CHECK(started_tasks(s) == std::vector<std::string>{"slow"});
  const int64_t slow = task_run(s, jr, "slow")->id;
  s.tick(T0 + 30s);
  CHECK(signals(s.take_actions()).empty());
  s.tick(T0 + 31s);
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{slow, SIGTERM}});
  s.exited(slow, std::nullopt, SIGTERM, T0 + 32s);
  CHECK(s.run(slow)->state == RunState::timed_out);
  CHECK(s.run(slow)->reason == "timed out after 30s");
  s.tick(T0 + 32s);
  CHECK(started_tasks(s) == std::vector<std::string>{"low"});  // declared before quick
  const int64_t low = task_run(s, jr, "low")->id;
  s.tick(T0 + 5min);  // the job has no timeout: low is left alone
  CHECK(signals(s.take_actions()).empty());
  s.exited(low, 0, 0, T0 + 5min);
  s.tick(T0 + 5min);
  CHECK(started_tasks(s) == std::vector<std::string>{"quick"});
  s.exited(task_run(s, jr, "quick")->id, 0, 0, T0 + 6min);
  CHECK(s.run(jr)->state == RunState::failed);
}

TEST_CASE("trigger rules: all_done runs after a failure; a one_failed cleanup task") {
  SUBCASE("all_done") {
    Scheduler s({.slots = 4});
    const int64_t jr =
        s.job(submit(s, graph("g", {task("A"), task("B", {"A"}, TriggerRule::all_done)}), T0))->runs.at(0);
    s.tick(T0);
    s.take_actions();
    s.exited(task_run(s, jr, "A")->id, 2, 0, T0 + 1s);
    s.tick(T0 + 1s);
    CHECK(started_tasks(s) == std::vector<std::string>{"B"});
    s.exited(task_run(s, jr, "B")->id, 0, 0, T0 + 2s);
    CHECK(s.run(jr)->state == RunState::failed);  // A failed
  }
  SUBCASE("one_failed cleanup after a failure") {
    Scheduler s({.slots = 4});
    const int64_t jr = s.job(submit(s,
                                    graph("g", {task("A"), task("B", {"A"}),
                                                task("cleanup", {"A", "B"}, TriggerRule::one_failed)}),
                                    T0))
                           ->runs.at(0);
    s.tick(T0);
    s.take_actions();
    s.exited(task_run(s, jr, "A")->id, 1, 0, T0 + 1s);
    CHECK(state_of(s, jr, "B") == RunState::skipped);
    s.tick(T0 + 1s);
    CHECK(started_tasks(s) == std::vector<std::string>{"cleanup"});
    s.exited(task_run(s, jr, "cleanup")->id, 0, 0, T0 + 2s);
    CHECK(s.run(jr)->state == RunState::failed);
  }
  SUBCASE("one_failed cleanup skipped when all went well") {
    Scheduler s({.slots = 4});
    const int64_t jr =
        s.job(submit(s, graph("g", {task("A"), task("cleanup", {"A"}, TriggerRule::one_failed)}), T0))
            ->runs.at(0);
    s.tick(T0);
    s.exited(task_run(s, jr, "A")->id, 0, 0, T0 + 1s);
    CHECK(state_of(s, jr, "cleanup") == RunState::skipped);
    CHECK(task_run(s, jr, "cleanup")->reason == "no upstream task failed (one_failed)");
    CHECK(s.run(jr)->state == RunState::succeeded);  // a skip is no failure
  }
}

TEST_CASE("cancelling a job run: running tasks get SIGTERM, queued ones are cancelled, the rest skipped") {
  Scheduler s({.slots = 1, .kill_grace = 5s});
  JobSpec j = graph("g", {task("A"), task("Q"), task("B", {"A"}, TriggerRule::all_done), task("C", {"Q"})});
  j.retries = 3;
  const int64_t id = submit(s, j, T0);
  const int64_t jr = s.job(id)->runs.at(0);
  s.tick(T0);
  CHECK(started_tasks(s) == std::vector<std::string>{"A"});
  const int64_t a = task_run(s, jr, "A")->id;
  const int64_t q = task_run(s, jr, "Q")->id;
  CHECK(s.run(q)->state == RunState::queued);

  auto c = s.cancel_run(jr, T0 + 1s);
  CHECK(std::find(c.runs.begin(), c.runs.end(), jr) != c.runs.end());
  CHECK_FALSE(c.already);
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{a, SIGTERM}});
  CHECK(s.run(q)->state == RunState::cancelled);
  CHECK(s.run(q)->next_attempt == 0);
  CHECK(state_of(s, jr, "C") == RunState::skipped);
  CHECK(s.queued() == 0);
  CHECK(s.run(jr)->state == RunState::running);  // A has not exited yet
  CHECK(task_run(s, jr, "B") == nullptr);

  s.exited(a, std::nullopt, SIGTERM, T0 + 2s);
  CHECK(s.run(a)->state == RunState::cancelled);
  CHECK(s.run(a)->next_attempt == 0);
  const Run* b = task_run(s, jr, "B");
  REQUIRE(b);
  CHECK(b->state == RunState::skipped);
  CHECK(b->reason == "its job run was cancelled");
  CHECK(s.run(jr)->state == RunState::cancelled);
  CHECK(s.job(id)->state == JobState::completed);
  s.tick(T0 + 10s);
  CHECK(starts(s).empty());
  CHECK(s.running() == 0);
  CHECK(s.cancel_run(jr, T0 + 11s).already == RunState::cancelled);
}

TEST_CASE("cancelling one task run cancels only that task; its all_success downstream is skipped") {
  Scheduler s({.slots = 4, .kill_grace = 5s});
  JobSpec j = graph("g", {task("A"), task("B"), task("C", {"A"}), task("D", {"B"})});
  j.retries = 3;
  const int64_t jr = s.job(submit(s, j, T0))->runs.at(0);
  s.tick(T0);
  CHECK(started_tasks(s) == std::vector<std::string>{"A", "B"});
  const int64_t a = task_run(s, jr, "A")->id;
  s.cancel_run(a, T0 + 1s);
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{a, SIGTERM}});
  s.exited(a, std::nullopt, SIGTERM, T0 + 2s);
  CHECK(s.run(a)->state == RunState::cancelled);
  CHECK(s.run(a)->next_attempt == 0);  // never retried
  CHECK(task_run(s, jr, "A")->id == a);
  CHECK(state_of(s, jr, "C") == RunState::skipped);
  CHECK(task_run(s, jr, "C")->reason == "upstream A failed (all_success)");
  CHECK_FALSE(s.run(jr)->cancel_requested);
  CHECK(s.run(jr)->state == RunState::running);
  s.exited(task_run(s, jr, "B")->id, 0, 0, T0 + 3s);
  s.tick(T0 + 3s);
  CHECK(started_tasks(s) == std::vector<std::string>{"D"});
  s.exited(task_run(s, jr, "D")->id, 0, 0, T0 + 4s);
  CHECK(s.run(jr)->state == RunState::failed);
}

TEST_CASE("concurrency forbid on a graph job: a fire while its job run is active is skipped") {
  Scheduler s({.slots = 4});
  JobSpec j = graph("g", {task("A"), task("B", {"A"})});
  j.trigger = JobSpec::Trigger::every;
  j.every = 1min;
  j.concurrency = JobSpec::Concurrency::forbid;
  const int64_t id = submit(s, j, T0);
  CHECK(s.job(id)->runs.empty());
  s.tick(T0 + 1min);
  REQUIRE(s.job(id)->runs.size() == 1);
  const int64_t jr = s.job(id)->runs[0];
  CHECK(s.run(jr)->state == RunState::running);
  CHECK(started_tasks(s) == std::vector<std::string>{"A"});
  s.tick(T0 + 2min);
  REQUIRE(s.job(id)->runs.size() == 2);
  const Run& skipped = *s.run(s.job(id)->runs[1]);
  CHECK(skipped.state == RunState::skipped);
  CHECK(skipped.reason == fmt::format("r{} was still running (concurrency forbid)", jr));
  CHECK(skipped.children.empty());
  CHECK(starts(s).empty());
  s.exited(task_run(s, jr, "A")->id, 0, 0, T0 + 2min + 1s);
  s.tick(T0 + 2min + 1s);
  s.take_actions();
  s.exited(task_run(s, jr, "B")->id, 0, 0, T0 + 2min + 2s);
  CHECK(s.run(jr)->state == RunState::succeeded);
  s.tick(T0 + 3min);
  REQUIRE(s.job(id)->runs.size() == 3);
  CHECK(s.run(s.job(id)->runs[2])->state == RunState::running);
  CHECK(started_tasks(s) == std::vector<std::string>{"A"});
}

TEST_CASE("catch-up last after a restart gives one job run that starts its roots") {
  Scheduler before({.slots = 4});
  JobSpec j = graph("g", {task("A"), task("B"), task("C", {"A", "B"})});
  j.trigger = JobSpec::Trigger::every;
  j.every = 1min;
  j.catchup = JobSpec::Catchup::last;
  const int64_t id = submit(before, j, T0);

  Scheduler after({.slots = 4});
  restart(before, after, T0 + 5min + 30s);
  REQUIRE(after.job(id)->runs.size() == 1);
  const int64_t jr = after.job(id)->runs[0];
  const Run& run = *after.run(jr);
  CHECK(run.state == RunState::running);
  CHECK(run.missed_count == 5);
  CHECK(run.scheduled_at == T0 + 5min);
  after.tick(T0 + 5min + 30s);
  CHECK(started_tasks(after) == std::vector<std::string>{"A", "B"});
  CHECK(task_run(after, jr, "A")->scheduled_at == T0 + 5min);
  after.exited(task_run(after, jr, "A")->id, 0, 0, T0 + 5min + 31s);
  after.exited(task_run(after, jr, "B")->id, 0, 0, T0 + 5min + 32s);
  after.tick(T0 + 5min + 32s);
  CHECK(started_tasks(after) == std::vector<std::string>{"C"});
}

TEST_CASE("catch-up last while a job run is still active: the new job run waits, then starts its roots") {
  Scheduler before({.slots = 4});
  JobSpec j = graph("g", {task("A"), task("B", {"A"})});
  j.trigger = JobSpec::Trigger::every;
  j.every = 1min;
  const int64_t id = submit(before, j, T0);
  before.tick(T0 + 1min);
  const int64_t jr1 = before.job(id)->runs.at(0);
  const int64_t a = task_run(before, jr1, "A")->id;
  before.started(a, 4242, 99);

  Scheduler after({.slots = 4});
  restart(before, after, T0 + 4min + 30s);
  CHECK(after.running() == 1);
  REQUIRE(after.job(id)->runs.size() == 2);
  const int64_t jr2 = after.job(id)->runs[1];
  CHECK(after.run(jr2)->state == RunState::pending);
  CHECK(after.run(jr2)->missed_count == 3);
  after.exited(a, 0, 0, T0 + 4min + 31s);
  after.tick(T0 + 4min + 31s);
  CHECK(started_tasks(after) == std::vector<std::string>{"B"});
  CHECK(after.run(jr2)->state == RunState::pending);
  after.exited(task_run(after, jr1, "B")->id, 0, 0, T0 + 4min + 32s);
  CHECK(after.run(jr1)->state == RunState::succeeded);
  CHECK(after.run(jr2)->state == RunState::running);
  after.tick(T0 + 4min + 32s);
  auto started = starts(after);
  REQUIRE(started.size() == 1);
  CHECK(after.run(started[0])->parent == jr2);
  CHECK(after.run(started[0])->task == "A");
}

TEST_CASE(
    "restore and resume mid-graph: finished tasks count, queued ones stay queued, the graph completes") {
  Scheduler before({.slots = 1});
  JobSpec j = graph("g", {task("A"), task("B", {"A"}), task("C", {"A"}), task("D", {"B", "C"})});
  const int64_t id = submit(before, j, T0);
  const int64_t jr = before.job(id)->runs.at(0);
  before.tick(T0);
  CHECK(started_tasks(before) == std::vector<std::string>{"A"});
  before.exited(task_run(before, jr, "A")->id, 0, 0, T0 + 1s);
  before.tick(T0 + 1s);
  // B holds the one slot (declared first), C waits.
  const auto started = starts(before);
  REQUIRE(started.size() == 1);
  const int64_t b = started[0];
  const int64_t c = task_run(before, jr, before.run(b)->task == "B" ? "C" : "B")->id;
  before.started(b, 4242, 99);
  CHECK(before.run(c)->state == RunState::queued);

  Scheduler after({.slots = 1});
  restart(before, after, T0 + 10s);
  CHECK(after.run(jr)->state == RunState::running);
  CHECK(after.run(jr)->children.size() == 3);
  CHECK(after.running() == 1);
  CHECK(after.queued() == 1);
  CHECK(after.run(c)->state == RunState::queued);
  CHECK(task_run(after, jr, "D") == nullptr);
  CHECK(after.job(id)->runs == std::vector<int64_t>{jr});
  CHECK(after.job(id)->active == 1);
  after.tick(T0 + 10s);
  CHECK(starts(after).empty());  // B holds the one slot
  after.exited(b, 0, 0, T0 + 11s);
  after.tick(T0 + 11s);
  CHECK(starts(after) == std::vector<int64_t>{c});
  after.exited(c, 0, 0, T0 + 12s);
  after.tick(T0 + 12s);
  CHECK(started_tasks(after) == std::vector<std::string>{"D"});
  after.exited(task_run(after, jr, "D")->id, 0, 0, T0 + 13s);
  CHECK(after.run(jr)->state == RunState::succeeded);
  CHECK(after.job(id)->state == JobState::completed);
}

TEST_CASE("restore and resume mid-graph: the downstream of finished tasks is created if it was not") {
  SUBCASE("a queued task") {
    Scheduler before({.slots = 4});
    const int64_t id = submit(before, diamond("d"), T0);
    const int64_t jr = before.job(id)->runs.at(0);
    before.tick(T0);
    before.exited(task_run(before, jr, "A")->id, 0, 0, T0 + 1s);
    before.tick(T0 + 1s);
    before.exited(task_run(before, jr, "B")->id, 0, 0, T0 + 2s);
    before.exited(task_run(before, jr, "C")->id, 0, 0, T0 + 3s);
    const int64_t d = task_run(before, jr, "D")->id;
    CHECK(before.run(d)->state == RunState::queued);

    Scheduler after({.slots = 4});
    restart(before, after, T0 + 10s, {d});  // B and C ended, D was never stored
    const Run* replayed = task_run(after, jr, "D");
    REQUIRE(replayed);
    CHECK(replayed->state == RunState::queued);
    CHECK(replayed->parent == jr);
    CHECK(after.queued() == 1);
    after.tick(T0 + 10s);
    CHECK(starts(after) == std::vector<int64_t>{replayed->id});
    after.exited(replayed->id, 0, 0, T0 + 11s);
    CHECK(after.run(jr)->state == RunState::succeeded);
  }
  SUBCASE("a skipped task") {
    Scheduler before({.slots = 4});
    const int64_t id = submit(before, graph("g", {task("A"), task("B", {"A"}), task("C")}), T0);
    const int64_t jr = before.job(id)->runs.at(0);
    before.tick(T0);
    before.exited(task_run(before, jr, "A")->id, 1, 0, T0 + 1s);
    const int64_t b = task_run(before, jr, "B")->id;
    CHECK(before.run(b)->state == RunState::skipped);

    Scheduler after({.slots = 4});
    restart(before, after, T0 + 10s, {b});
    const Run* replayed = task_run(after, jr, "B");
    REQUIRE(replayed);
    CHECK(replayed->state == RunState::skipped);
    CHECK(replayed->reason == "upstream A failed (all_success)");
    CHECK(after.run(jr)->state == RunState::running);  // C still runs
    after.exited(task_run(after, jr, "C")->id, 0, 0, T0 + 11s);
    CHECK(after.run(jr)->state == RunState::failed);
  }
  SUBCASE("a finished job run is not replayed") {
    Scheduler before({.slots = 4});
    const int64_t id = submit(before, graph("g", {task("A"), task("B", {"A"})}), T0);
    const int64_t jr = before.job(id)->runs.at(0);
    before.tick(T0);
    before.exited(task_run(before, jr, "A")->id, 1, 0, T0 + 1s);
    CHECK(before.run(jr)->state == RunState::failed);
    const int64_t b = task_run(before, jr, "B")->id;

    Scheduler after({.slots = 4});
    restart(before, after, T0 + 10s, {b});
    CHECK(after.run(jr)->state == RunState::failed);
    CHECK(task_run(after, jr, "B") == nullptr);
  }
}

TEST_CASE("restore and resume mid-graph: a task retrying stays retrying, and a skip is replayed") {
  Scheduler before({.slots = 4});
  JobSpec j = diamond("d");
  j.retries = 1;
  j.backoff = 10s;
  j.jitter = 0;
  const int64_t id = submit(before, j, T0);
  const int64_t jr = before.job(id)->runs.at(0);
  before.tick(T0);
  before.exited(task_run(before, jr, "A")->id, 0, 0, T0 + 1s);
  before.tick(T0 + 1s);
  before.exited(task_run(before, jr, "C")->id, 0, 0, T0 + 2s);
  const int64_t b1 = task_run(before, jr, "B")->id;
  before.exited(b1, 1, 0, T0 + 2s);
  const int64_t b2 = task_run(before, jr, "B")->id;
  CHECK(before.run(b2)->state == RunState::retrying);

  Scheduler after({.slots = 4});
  restart(before, after, T0 + 5s);
  CHECK(after.run(b2)->state == RunState::retrying);
  CHECK(task_run(after, jr, "D") == nullptr);
  after.tick(T0 + 12s);
  CHECK(starts(after) == std::vector<int64_t>{b2});
  after.exited(b2, 1, 0, T0 + 13s);
  CHECK(state_of(after, jr, "D") == RunState::skipped);
  CHECK(task_run(after, jr, "D")->reason == "upstream B failed (all_success)");
  CHECK(after.run(jr)->state == RunState::failed);
}

TEST_CASE("after: a run waits for its upstream run, then is queued") {
  Scheduler s({.slots = 4});
  const int64_t j1 = submit(s, command("up"), T0);
  s.tick(T0);
  const int64_t r1 = first_run(s, j1).id;
  CHECK(starts(s) == std::vector<int64_t>{r1});

  SUBCASE("success") {
    const int64_t j2 = submit(s, after("down", "j1"), T0 + 1s);
    CHECK(s.job(j2)->spec.after.at(0).ref == fmt::format("r{}", r1));  // saved as the run
    const int64_t r2 = first_run(s, j2).id;
    CHECK(s.run(r2)->state == RunState::pending);
    s.tick(T0 + 2s);
    CHECK(starts(s).empty());
    s.exited(r1, 0, 0, T0 + 3s);
    CHECK(s.run(r2)->state == RunState::queued);
    s.tick(T0 + 3s);
    CHECK(starts(s) == std::vector<int64_t>{r2});
  }
  SUBCASE("success, and the upstream fails") {
    const int64_t j2 = submit(s, after("down", "up"), T0 + 1s);
    const int64_t r2 = first_run(s, j2).id;
    s.exited(r1, 1, 0, T0 + 3s);
    CHECK(s.run(r2)->state == RunState::skipped);
    CHECK(s.run(r2)->reason == fmt::format("upstream r{} failed (after success)", r1));
    CHECK(s.job(j2)->state == JobState::completed);
  }
  SUBCASE("failure, and the upstream succeeds") {
    const int64_t j2 = submit(s, after("down", fmt::format("r{}", r1), AfterSpec::Rule::failure), T0 + 1s);
    const int64_t r2 = first_run(s, j2).id;
    s.exited(r1, 0, 0, T0 + 3s);
    CHECK(s.run(r2)->state == RunState::skipped);
    CHECK(s.run(r2)->reason == fmt::format("upstream r{} succeeded (after failure)", r1));
  }
  SUBCASE("failure, and the upstream fails") {
    const int64_t j2 = submit(s, after("down", "up", AfterSpec::Rule::failure), T0 + 1s);
    s.exited(r1, 1, 0, T0 + 3s);
    CHECK(first_run(s, j2).state == RunState::queued);
  }
  SUBCASE("done, and the upstream fails") {
    const int64_t j2 = submit(s, after("down", "up", AfterSpec::Rule::done), T0 + 1s);
    s.exited(r1, 1, 0, T0 + 3s);
    CHECK(first_run(s, j2).state == RunState::queued);
  }
  SUBCASE("a cancelled wait") {
    const int64_t j2 = submit(s, after("down", "up"), T0 + 1s);
    const int64_t r2 = first_run(s, j2).id;
    s.cancel_run(r2, T0 + 2s);
    CHECK(s.run(r2)->state == RunState::cancelled);
    s.exited(r1, 0, 0, T0 + 3s);
    CHECK(s.run(r2)->state == RunState::cancelled);
    s.tick(T0 + 3s);
    CHECK(starts(s).empty());
  }
}

TEST_CASE("after: a retried upstream is waited for until its last attempt") {
  Scheduler s({.slots = 4});
  JobSpec up = command("up");
  up.retries = 2;
  up.backoff = 10s;
  up.jitter = 0;
  const int64_t j1 = submit(s, up, T0);
  s.tick(T0);
  s.take_actions();
  const int64_t r1 = first_run(s, j1).id;
  const int64_t j2 = submit(s, after("early", "up"), T0 + 1s);
  s.exited(r1, 1, 0, T0 + 2s);
  const int64_t r1b = s.run(r1)->next_attempt;
  REQUIRE(r1b);
  CHECK(first_run(s, j2).state == RunState::pending);
  // Submitted after the first attempt failed: it names that run, and still
  // waits for the last attempt.
  const int64_t j3 = submit(s, after("late", fmt::format("r{}", r1)), T0 + 3s);
  CHECK(first_run(s, j3).state == RunState::pending);
  s.tick(T0 + 12s);
  CHECK(starts(s) == std::vector<int64_t>{r1b});
  s.exited(r1b, 0, 0, T0 + 13s);
  CHECK(first_run(s, j2).state == RunState::queued);
  CHECK(first_run(s, j3).state == RunState::queued);
}

TEST_CASE("after: a job with no active run waits for its next fire") {
  Scheduler s({.slots = 4});
  JobSpec up = command("up");
  up.trigger = JobSpec::Trigger::every;
  up.every = 1min;
  const int64_t j1 = submit(s, up, T0);

  SUBCASE("no run yet") {
    const int64_t j2 = submit(s, after("down", "up"), T0 + 1s);
    CHECK(s.job(j2)->spec.after.at(0).ref == fmt::format("j{}", j1));
    const int64_t r2 = first_run(s, j2).id;
    CHECK(s.run(r2)->state == RunState::pending);
    s.tick(T0 + 1min);
    const int64_t r1 = s.job(j1)->runs.at(0);
    CHECK(starts(s) == std::vector<int64_t>{r1});
    CHECK(s.run(r2)->state == RunState::pending);
    s.exited(r1, 0, 0, T0 + 1min + 1s);
    CHECK(s.run(r2)->state == RunState::queued);
  }
  SUBCASE("its last run failed: the next one decides") {
    s.tick(T0 + 1min);
    const int64_t r1 = s.job(j1)->runs.at(0);
    s.take_actions();
    s.exited(r1, 1, 0, T0 + 1min + 1s);
    const int64_t j2 = submit(s, after("down", "up"), T0 + 1min + 2s);
    CHECK(s.job(j2)->spec.after.at(0).ref == fmt::format("j{}", j1));
    const int64_t r2 = first_run(s, j2).id;
    CHECK(s.run(r2)->state == RunState::pending);
    s.tick(T0 + 2min);
    const int64_t next = s.job(j1)->runs.at(1);
    CHECK(next > r2);
    s.exited(next, 0, 0, T0 + 2min + 1s);
    CHECK(s.run(r2)->state == RunState::queued);
  }
}

TEST_CASE("after a completed one-time job: its newest run decides at once") {
  Scheduler s({.slots = 4});
  const int64_t j1 = submit(s, command("up"), T0);
  s.tick(T0);
  const int64_t r1 = first_run(s, j1).id;
  s.exited(r1, 1, 0, T0 + 1s);
  CHECK(s.job(j1)->state == JobState::completed);
  const int64_t ok = submit(s, after("ok", "up"), T0 + 2s);
  CHECK(s.job(ok)->spec.after.at(0).ref == fmt::format("r{}", r1));
  CHECK(first_run(s, ok).state == RunState::skipped);
  CHECK(first_run(s, ok).reason == fmt::format("upstream r{} failed (after success)", r1));
  const int64_t any = submit(s, after("any", "up", AfterSpec::Rule::done), T0 + 2s);
  CHECK(first_run(s, any).state == RunState::queued);
  const int64_t bad = submit(s, after("bad", "up", AfterSpec::Rule::failure), T0 + 2s);
  CHECK(first_run(s, bad).state == RunState::queued);
}

TEST_CASE("after: a chain of three, and a graph job at either end") {
  Scheduler s({.slots = 4});
  const int64_t j1 = submit(s, diamond("first"), T0);
  const int64_t jr1 = s.job(j1)->runs.at(0);
  JobSpec second = command("second");
  second.after = {{"first", AfterSpec::Rule::success}};
  const int64_t j2 = submit(s, second, T0);
  CHECK(s.job(j2)->spec.after.at(0).ref == fmt::format("r{}", jr1));
  JobSpec third = graph("third", {task("x"), task("y", {"x"})});
  third.after = {{"second", AfterSpec::Rule::success}};
  const int64_t j3 = submit(s, third, T0);
  const int64_t r2 = first_run(s, j2).id;
  const int64_t jr3 = first_run(s, j3).id;
  CHECK(s.job(j3)->spec.after.at(0).ref == fmt::format("r{}", r2));  // its pending run
  CHECK(s.run(r2)->state == RunState::pending);
  CHECK(s.run(jr3)->state == RunState::pending);
  CHECK(s.run(jr3)->children.empty());

  s.tick(T0);
  for (const char* t : {"A", "B", "C", "D"}) {
    s.tick(T0 + 1s);
    s.exited(task_run(s, jr1, t)->id, 0, 0, T0 + 1s);
  }
  CHECK(s.run(jr1)->state == RunState::succeeded);
  CHECK(s.run(r2)->state == RunState::queued);
  CHECK(s.run(jr3)->state == RunState::pending);
  s.take_actions();
  s.tick(T0 + 2s);
  CHECK(starts(s) == std::vector<int64_t>{r2});
  s.exited(r2, 0, 0, T0 + 3s);
  CHECK(s.run(jr3)->state == RunState::running);  // a graph's job run starts at once
  s.tick(T0 + 3s);
  CHECK(started_tasks(s) == std::vector<std::string>{"x"});
}

TEST_CASE("after: a failure down a chain of three skips each in turn") {
  Scheduler s({.slots = 4});
  const int64_t j1 = submit(s, command("a"), T0);
  const int64_t j2 = submit(s, after("b", "a"), T0);
  const int64_t j3 = submit(s, after("c", "b"), T0);
  s.tick(T0);
  s.exited(first_run(s, j1).id, 1, 0, T0 + 1s);
  CHECK(first_run(s, j2).state == RunState::skipped);
  CHECK(first_run(s, j3).state == RunState::skipped);
  CHECK(first_run(s, j3).reason == fmt::format("upstream r{} skipped (after success)", first_run(s, j2).id));
}

TEST_CASE("after: validation") {
  Scheduler s({.slots = 4});
  submit(s, command("up"), T0);
  auto run_ref = s.submit(after("x", "r99"), T0);
  REQUIRE_FALSE(run_ref);
  CHECK(run_ref.error().code == Errc::not_found);
  CHECK(run_ref.error().message == "after: no run \"r99\"");
  auto job_ref = s.submit(after("y", "nope"), T0);
  REQUIRE_FALSE(job_ref);
  CHECK(job_ref.error().code == Errc::not_found);
  JobSpec scheduled = after("z", "up");
  scheduled.trigger = JobSpec::Trigger::every;
  scheduled.every = 1min;
  auto e = s.submit(scheduled, T0);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == Errc::invalid_argument);
  CHECK(s.job_count() == 1);
}

TEST_CASE("after: 10,000 runs waiting on one upstream are all released when it ends") {
  Scheduler s({.slots = 1});
  const int64_t j1 = submit(s, command("up"), T0);
  s.tick(T0);
  const int64_t r1 = first_run(s, j1).id;
  constexpr size_t kWaiting = 10'000;
  for (size_t i = 0; i < kWaiting; ++i) submit(s, after("", "up"), T0);
  CHECK(s.queued() == 0);
  s.exited(r1, 0, 0, T0 + 1s);
  CHECK(s.queued() == kWaiting);
  size_t queued = 0;
  s.for_each_job([&](const Job& j) {
    if (j.id != j1 && s.run(j.runs.at(0))->state == RunState::queued) ++queued;
  });
  CHECK(queued == kWaiting);
}

TEST_CASE("graph validation") {
  Scheduler s({});
  auto error = [&](const JobSpec& j) {
    auto r = s.submit(j, T0);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid_argument);
    return r.error().message;
  };
  JobSpec both = diamond("both");
  both.argv = {"true"};
  CHECK(error(both) == "give either a command or tasks, not both");
  JobSpec both_shell = diamond("both2");
  both_shell.shell = "true";
  CHECK(error(both_shell) == "give either a command or tasks, not both");
  const std::string cycle = error(graph("c", {task("a", {"b"}), task("b", {"a"})}));
  CHECK(cycle.rfind("cycle: ", 0) == 0);
  CHECK(cycle.find(" -> ") != std::string::npos);
  JobSpec empty = graph("e", {task("a"), task("hollow", {"a"})});
  empty.tasks[1].argv.clear();
  CHECK(error(empty) ==
        "task \"hollow\": empty command: give a program and its arguments, or a shell string");
  JobSpec unknown = graph("u", {task("a", {"ghost"})});
  CHECK(error(unknown) == "task \"a\": after: no task \"ghost\"");
  JobSpec bad_retries = graph("r", {task("a")});
  bad_retries.tasks[0].retries = -1;
  CHECK(error(bad_retries) == "task \"a\": retries: -1 is not between 0 and 1000");
  CHECK(s.job_count() == 0);
}

TEST_CASE("cancelling a graph job run that still waits for its upstream cancels it at once") {
  Scheduler s({.slots = 4});
  const int64_t up = submit(s, command("up"), T0);
  s.tick(T0);
  s.take_actions();
  JobSpec down = diamond("down");
  down.after = {{"up", AfterSpec::Rule::success}};
  const int64_t id = submit(s, down, T0);
  const int64_t jr = s.job(id)->runs.at(0);
  CHECK(s.run(jr)->state == RunState::pending);
  auto c = s.cancel_run(jr, T0 + 1s);
  CHECK(c.runs == std::vector<int64_t>{jr});
  CHECK(s.run(jr)->state == RunState::cancelled);
  CHECK(s.run(jr)->children.empty());
  CHECK(s.job(id)->active == 0);
  CHECK(s.job(id)->state == JobState::completed);
  s.exited(first_run(s, up).id, 0, 0, T0 + 2s);
  s.tick(T0 + 2s);
  CHECK(starts(s).empty());
  CHECK(s.run(jr)->state == RunState::cancelled);
}

TEST_CASE("after survives a restart: the waiting run is released when its upstream ends") {
  Scheduler before({.slots = 4});
  const int64_t up = submit(before, command("up"), T0);
  before.tick(T0);
  const int64_t r1 = first_run(before, up).id;
  before.started(r1, 4242, 99);
  JobSpec down = graph("down", {task("x"), task("y", {"x"})});
  down.after = {{"up", AfterSpec::Rule::success}};
  const int64_t id = submit(before, down, T0 + 1s);
  const int64_t jr = before.job(id)->runs.at(0);

  Scheduler after({.slots = 4});
  restart(before, after, T0 + 10s);
  CHECK(after.run(jr)->state == RunState::pending);
  CHECK(after.running() == 1);
  after.exited(r1, 0, 0, T0 + 11s);
  CHECK(after.run(jr)->state == RunState::running);
  after.tick(T0 + 11s);
  CHECK(started_tasks(after) == std::vector<std::string>{"x"});
}
