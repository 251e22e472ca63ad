// Scheduler::reconfigure, as jobd calls it on SIGHUP: new slots, kill_grace
// and keep_for take effect without dropping what runs.
#include <doctest/doctest.h>

#include <csignal>

#include "sched/scheduler.hpp"
#include "sched_helpers.hpp"

using namespace std::chrono_literals;
using job::sched::Config;
using job::sched::RunState;
using job::sched::Scheduler;

using namespace sched_test;

namespace {

int64_t first_run(const Scheduler& s, const char* job) { return s.find_job("", job)->runs.at(0); }

}  // namespace

TEST_CASE("more slots start queued runs at the next tick") {
  Scheduler s({.slots = 1});
  for (const char* n : {"a", "b", "c"}) REQUIRE(s.submit(spec(n), T0));
  s.tick(T0);
  CHECK(starts(s) == std::vector<int64_t>{first_run(s, "a")});
  CHECK(s.next_wakeup() != Instant::min());  // nothing to do until a run ends

  s.reconfigure({.slots = 3});
  CHECK(s.slots() == 3);
  CHECK(s.next_wakeup() == Instant::min());  // at once
  s.tick(T0 + 1s);
  CHECK(starts(s) == std::vector<int64_t>{first_run(s, "b"), first_run(s, "c")});
  CHECK(s.running() == 3);
}

TEST_CASE("fewer slots stop no running run; queued runs wait for the count to drop below them") {
  Scheduler s({.slots = 3});
  for (const char* n : {"a", "b", "c", "d"}) REQUIRE(s.submit(spec(n), T0));
  s.tick(T0);
  CHECK(starts(s).size() == 3);

  s.reconfigure({.slots = 1});
  s.tick(T0 + 1s);
  CHECK(s.take_actions().empty());  // no signal, no start
  CHECK(s.running() == 3);
  s.exited(first_run(s, "a"), 0, 0, T0 + 2s);
  s.exited(first_run(s, "b"), 0, 0, T0 + 2s);
  s.tick(T0 + 2s);
  CHECK(starts(s).empty());  // still one running: the one slot is taken
  s.exited(first_run(s, "c"), 0, 0, T0 + 3s);
  s.tick(T0 + 3s);
  CHECK(starts(s) == std::vector<int64_t>{first_run(s, "d")});
}

TEST_CASE("a new kill_grace counts for kills decided afterwards") {
  Scheduler s({.slots = 1, .kill_grace = 10s});
  REQUIRE(s.submit(spec("a"), T0));
  s.tick(T0);
  REQUIRE(starts(s).size() == 1);
  const int64_t run = first_run(s, "a");
  s.started(run, 100, 1);

  s.reconfigure({.slots = 1, .kill_grace = 2s});
  s.cancel_run(run, T0 + 1s);
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{run, SIGTERM}});
  CHECK(s.next_wakeup() == T0 + 3s);
  s.tick(T0 + 3s);
  CHECK(signals(s.take_actions()) == std::vector<std::pair<int64_t, int>>{{run, SIGKILL}});
}

TEST_CASE("a shorter keep_for removes old runs at the next tick, a longer one nothing early") {
  Scheduler s({.slots = 1, .keep_for = 30 * 24h, .seed = 7});
  REQUIRE(s.submit(spec("a"), T0));
  s.tick(T0);
  const int64_t run = first_run(s, "a");
  s.exited(run, 0, 0, T0 + 1s);
  s.tick(T0 + 1s);
  CHECK(s.next_wakeup() == T0 + 1s + 30 * 24h);

  s.reconfigure({.slots = 1, .keep_for = 1h});
  CHECK(s.next_wakeup() == Instant::min());
  s.tick(T0 + 2h);
  CHECK(s.take_removed_runs() == std::vector<int64_t>{run});
  CHECK(s.run(run) == nullptr);

  // A longer keep_for again: nothing is swept early.
  REQUIRE(s.submit(spec("b"), T0 + 2h));
  s.tick(T0 + 2h);
  const int64_t b = first_run(s, "b");
  s.exited(b, 0, 0, T0 + 2h);
  s.reconfigure({.slots = 1, .keep_for = 2h});
  s.tick(T0 + 3h);
  CHECK(s.take_removed_runs().empty());
  CHECK(s.run(b)->state == RunState::succeeded);
}
