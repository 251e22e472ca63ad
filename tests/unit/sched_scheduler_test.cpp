// The scheduler core with a fake clock: priority and FIFO order, slots,
// timeouts, schedules, validation, and restoring after a restart.
#include <doctest/doctest.h>

#include <csignal>

#include "sched/scheduler.hpp"
#include "sched_helpers.hpp"
#include "time/rfc3339.hpp"

using namespace std::chrono_literals;
using job::sched::Action;
using job::sched::JobSpec;
using job::sched::RunState;
using job::sched::Scheduler;
using job::time::Instant;

using namespace sched_test;

namespace {

int64_t first_run(const Scheduler& s, const char* job) { return s.find_job("", job)->runs.at(0); }

}  // namespace

TEST_CASE("slots bound running runs; the highest priority goes first, FIFO among equals") {
  Scheduler s({.slots = 1});
  REQUIRE(s.submit(spec("a"), T0));
  s.tick(T0);
  CHECK(starts(s) == std::vector<int64_t>{first_run(s, "a")});
  for (auto [name, prio] : {std::pair{"b", 0}, {"c", 5}, {"d", 5}, {"e", 0}, {"f", -3}})
    REQUIRE(s.submit(spec(name, prio), T0));
  s.tick(T0);
  CHECK(starts(s).empty());  // the slot is busy
  CHECK(s.queued() == 5);
  std::vector<std::string> order;
  int64_t running = first_run(s, "a");
  for (int i = 0; i < 5; ++i) {
    s.exited(running, 0, 0, T0 + 1s);
    s.tick(T0 + 1s);
    auto started = starts(s);
    REQUIRE(started.size() == 1);
    running = started[0];
    order.push_back(s.job(s.run(running)->job)->spec.name);
  }
  CHECK(order == std::vector<std::string>{"c", "d", "b", "e", "f"});
}

TEST_CASE("several slots fill at once, and a finished run frees its slot") {
  Scheduler s({.slots = 3});
  for (const char* n : {"a", "b", "c", "d"}) REQUIRE(s.submit(spec(n), T0));
  s.tick(T0);
  CHECK(starts(s).size() == 3);
  CHECK(s.running() == 3);
  CHECK(s.queued() == 1);
  s.exited(first_run(s, "b"), 1, 0, T0 + 2s);
  CHECK(s.run(first_run(s, "b"))->state == RunState::failed);
  s.tick(T0 + 2s);
  CHECK(starts(s) == std::vector<int64_t>{first_run(s, "d")});
}

TEST_CASE("a run past its timeout gets SIGTERM, then SIGKILL after the grace, and ends timed_out") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  JobSpec j = spec("slow");
  j.timeout = 30s;
  REQUIRE(s.submit(j, T0));
  s.tick(T0);
  const int64_t run = starts(s).at(0);
  s.tick(T0 + 29s);
  CHECK(s.take_actions().empty());
  s.tick(T0 + 30s);
  auto actions = s.take_actions();
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == Action::Kind::signal);
  CHECK(actions[0].signal == SIGTERM);
  s.tick(T0 + 40s);
  actions = s.take_actions();
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].signal == SIGKILL);
  s.exited(run, std::nullopt, SIGKILL, T0 + 40s);
  CHECK(s.run(run)->state == RunState::timed_out);
  CHECK(s.run(run)->reason == "timed out after 30s");
  CHECK(s.job(s.run(run)->job)->state == job::sched::JobState::completed);
}

TEST_CASE("a run that ends within its grace is not killed") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  JobSpec j = spec("polite");
  j.timeout = 5s;
  REQUIRE(s.submit(j, T0));
  s.tick(T0);
  const int64_t run = starts(s).at(0);
  s.tick(T0 + 5s);
  s.take_actions();
  s.exited(run, std::nullopt, SIGTERM, T0 + 6s);
  s.tick(T0 + 20s);
  for (const Action& a : s.take_actions()) CHECK(a.kind != Action::Kind::signal);
  CHECK(s.run(run)->state == RunState::timed_out);
}

TEST_CASE("cron jobs fire at their instants; downtime collapses into one run") {
  Scheduler s({.slots = 4});
  JobSpec j = spec("five");
  j.trigger = JobSpec::Trigger::cron;
  j.cron = "*/5 * * * *";
  REQUIRE(s.submit(j, T0));
  const auto* job = s.find_job("", "five");
  CHECK(job->next_fire == at("2026-01-01T00:05:00Z"));
  CHECK(s.next_wakeup() == at("2026-01-01T00:05:00Z"));
  s.tick(at("2026-01-01T00:04:59Z"));
  CHECK(job->runs.empty());
  s.tick(at("2026-01-01T00:05:00Z"));
  REQUIRE(job->runs.size() == 1);
  CHECK(s.run(job->runs[0])->scheduled_at == at("2026-01-01T00:05:00Z"));
  CHECK(job->next_fire == at("2026-01-01T00:10:00Z"));
  // Asleep for an hour: one run for the missed fires, then the next slot after now.
  s.tick(at("2026-01-01T01:07:00Z"));
  CHECK(job->runs.size() == 2);
  CHECK(job->next_fire == at("2026-01-01T01:10:00Z"));
}

TEST_CASE("cron schedules honour the job's zone") {
  Scheduler s({});
  JobSpec j = spec("paris");
  j.trigger = JobSpec::Trigger::cron;
  j.cron = "0 9 * * *";
  j.tz = "Europe/Paris";
  REQUIRE(s.submit(j, T0));
  CHECK(s.find_job("", "paris")->next_fire == at("2026-01-01T08:00:00Z"));
}

TEST_CASE("one-time jobs fire once and complete; every-jobs repeat from their start") {
  Scheduler s({.slots = 2});
  JobSpec once = spec("once");
  once.trigger = JobSpec::Trigger::at;
  once.at = T0 + 1h;
  REQUIRE(s.submit(once, T0));
  JobSpec every = spec("every");
  every.trigger = JobSpec::Trigger::every;
  every.every = 90s;
  REQUIRE(s.submit(every, T0));
  CHECK(s.find_job("", "every")->next_fire == T0 + 90s);
  s.tick(T0 + 1h);
  const auto* o = s.find_job("", "once");
  REQUIRE(o->runs.size() == 1);
  CHECK_FALSE(o->next_fire);
  const int64_t run = o->runs[0];
  s.exited(run, 0, 0, T0 + 1h + 1s);
  CHECK(o->state == job::sched::JobState::completed);
  CHECK(s.run(run)->state == RunState::succeeded);
  CHECK(s.find_job("", "every")->next_fire == T0 + 1h + 90s);  // 40 periods on, on the grid
}

TEST_CASE("a one-time job in the past runs at once") {
  Scheduler s({});
  JobSpec late = spec("late");
  late.trigger = JobSpec::Trigger::at;
  late.at = T0 - 1h;
  REQUIRE(s.submit(late, T0));
  s.tick(T0);
  CHECK(starts(s).size() == 1);
}

TEST_CASE("submissions are validated, naming the field") {
  Scheduler s({});
  auto error = [&](JobSpec j) {
    auto r = s.submit(std::move(j), T0);
    REQUIRE_FALSE(r.ok());
    return r.error();
  };
  JobSpec empty = spec("x");
  empty.argv.clear();
  CHECK(error(empty).message == "empty command: give a program and its arguments, or a shell string");
  JobSpec both = spec("x");
  both.shell = "echo";
  CHECK(error(both).message == "give either an argv or a shell string, not both");
  CHECK(error(spec("bad name")).message.starts_with("name \"bad name\": use letters"));
  CHECK(error(spec("j12")).message == "name \"j12\" looks like a job or run id; choose another");
  JobSpec cron = spec("c");
  cron.trigger = JobSpec::Trigger::cron;
  cron.cron = "61 * * * *";
  CHECK(error(cron).code == job::Errc::invalid_cron);
  cron.cron = "* * * * *";
  cron.tz = "Mars/Olympus";
  CHECK(error(cron).code == job::Errc::unknown_zone);
  JobSpec tz = spec("t");
  tz.tz = "UTC";
  CHECK(error(tz).message == "tz applies to cron schedules only");
  JobSpec fast = spec("f");
  fast.trigger = JobSpec::Trigger::every;
  fast.every = 500ms;
  CHECK(error(fast).message == "every: 500ms is not a whole number of seconds of at least 1s");
  JobSpec rel = spec("r");
  rel.cwd = "tmp";
  CHECK(error(rel).message == "cwd: \"tmp\" is not an absolute path");
  JobSpec env = spec("e");
  env.env = {{"A=B", "c"}};
  CHECK(error(env).message == "env: \"A=B\" is not a variable name");
  REQUIRE(s.submit(spec("taken"), T0));
  CHECK(error(spec("taken")).code == job::Errc::name_taken);
  CHECK(s.job_count() == 1);
}

TEST_CASE("jobs without a name are named after their id; lookups take ids and names") {
  Scheduler s({});
  auto id = s.submit(spec(""), T0);
  REQUIRE(id);
  CHECK(s.job(*id)->spec.name == "j1");
  CHECK(s.find_job("", "j1") == s.job(*id));
  CHECK(s.find_job("", "nope") == nullptr);
  CHECK(s.find_run("r1") == s.run(1));
  CHECK(s.find_run("1") == nullptr);
}

TEST_CASE("forget undoes a submit whose commit failed") {
  Scheduler s({.slots = 1});
  auto id = s.submit(spec("doomed"), T0);
  REQUIRE(id);
  s.tick(T0);
  s.forget(*id);
  CHECK(s.find_job("", "doomed") == nullptr);
  CHECK(s.running() == 0);
  CHECK(s.queued() == 0);
  REQUIRE(s.submit(spec("doomed"), T0));  // the name is free again
}

TEST_CASE("restore and resume: queued runs keep their order, running ones their slot") {
  Scheduler before({.slots = 1});
  for (const char* n : {"a", "b", "c"}) REQUIRE(before.submit(spec(n), T0));
  before.tick(T0);
  before.started(first_run(before, "a"), 4242, 99);

  Scheduler after({.slots = 1});
  for (const char* n : {"c", "a", "b"}) REQUIRE_FALSE(after.restore(*before.find_job("", n)));
  for (int64_t r : {3, 1, 2}) after.restore(*before.run(r));
  after.resume(T0 + 1s);
  CHECK(after.running() == 1);
  CHECK(after.queued() == 2);
  after.lost(first_run(after, "a"), "its process was gone when jobd started", T0 + 1s);
  CHECK(after.run(first_run(after, "a"))->state == RunState::lost);
  after.tick(T0 + 1s);
  CHECK(starts(after) == std::vector<int64_t>{first_run(after, "b")});
  auto next = after.submit(spec("d"), T0 + 2s);
  REQUIRE(next);
  CHECK(*next == 4);  // ids continue after the restored ones
}

TEST_CASE("the transition table") {
  using job::sched::allowed;
  using job::sched::is_final;
  for (int from = 0; from <= static_cast<int>(RunState::lost); ++from)
    for (int to = 0; to <= static_cast<int>(RunState::lost); ++to)
      if (is_final(static_cast<RunState>(from)))
        CHECK_FALSE(allowed(static_cast<RunState>(from), static_cast<RunState>(to)));
  CHECK(allowed(RunState::queued, RunState::running));
  CHECK_FALSE(allowed(RunState::queued, RunState::succeeded));
  CHECK(job::sched::run_state_from("timed_out") == RunState::timed_out);
  CHECK(job::sched::name(RunState::timed_out) == "timed_out");
}

TEST_CASE("shutdown signals running runs and starts no queued one") {
  Scheduler s({.slots = 1, .kill_grace = 5s});
  for (const char* n : {"a", "b"}) REQUIRE(s.submit(spec(n), T0));
  s.tick(T0);
  const int64_t a = starts(s).at(0);
  s.shutdown(T0 + 1s);
  auto actions = s.take_actions();
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].signal == SIGTERM);
  s.exited(a, std::nullopt, SIGTERM, T0 + 2s);
  s.tick(T0 + 2s);
  CHECK(starts(s).empty());
  CHECK(s.queued() == 1);
  CHECK(s.next_wakeup() != Instant::min());
}
