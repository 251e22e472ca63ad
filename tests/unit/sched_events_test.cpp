// The scheduler's events (what `jobctl events` tells): every change of a job
// or run, in the order it happened, each naming its job as it was then.
#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

#include "sched/scheduler.hpp"
#include "sched_helpers.hpp"

using namespace std::chrono_literals;
using job::sched::Event;
using job::sched::Scheduler;

using namespace sched_test;

namespace {

// (run, from, what) of each event, with run 0 for the job's own.
std::vector<std::tuple<int64_t, std::string, std::string>> told(Scheduler& s) {
  std::vector<std::tuple<int64_t, std::string, std::string>> out;
  for (const Event& e : s.take_events()) out.emplace_back(e.run, std::string(e.from), std::string(e.what));
  return out;
}

}  // namespace

TEST_CASE("a run's life, a retry and its end, in order") {
  Scheduler s({.slots = 1});
  auto spec1 = spec("one");
  spec1.retries = 1;
  spec1.jitter = 0;
  auto id = s.submit(spec1, T0);
  REQUIRE(id);
  s.tick(T0);
  const auto first = starts(s);
  REQUIRE(first.size() == 1);
  const int64_t r1 = first[0];
  s.exited(r1, 1, 0, T0 + 1s);
  const int64_t r2 = s.run(r1)->next_attempt;
  using T = std::tuple<int64_t, std::string, std::string>;
  CHECK(told(s) == std::vector<T>{{0, "", "submitted"},
                                  {r1, "", "queued"},
                                  {r1, "queued", "running"},
                                  {r1, "running", "failed"},
                                  {r2, "", "retrying"}});
  s.tick(*s.run(r2)->retry_at);
  s.take_actions();
  s.exited(r2, 0, 0, *s.run(r2)->retry_at + 1s);
  const auto later = told(s);
  CHECK(later == std::vector<T>{{r2, "retrying", "queued"},
                                {r2, "queued", "running"},
                                {r2, "running", "succeeded"},
                                {0, "active", "completed"}});
  CHECK(told(s).empty());  // taken once
}

TEST_CASE("deleting a job tells deleted, not completed first, and keeps its name") {
  Scheduler s({.slots = 1});
  auto one = spec("later");
  one.trigger = job::sched::JobSpec::Trigger::at;
  one.at = T0 + 1h;
  auto id = s.submit(one, T0);
  REQUIRE(id);
  told(s);
  s.remove_job(*id, T0 + 1s);
  const auto events = s.take_events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].what == "deleted");
  CHECK(events[0].from == "active");
  CHECK(events[0].job_name == "later");
}

TEST_CASE("a submit forgotten (its commit failed) was never told") {
  Scheduler s({.slots = 1});
  auto id = s.submit(spec("gone"), T0);
  REQUIRE(id);
  s.tick(T0);
  s.forget(*id);
  CHECK(s.take_events().empty());
}
