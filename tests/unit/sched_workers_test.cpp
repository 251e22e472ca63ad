// The coordinator's worker registry with a fake clock: health from
// heartbeats, drain, and placement by load, tags and name.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "sched/workers.hpp"
#include "sched_helpers.hpp"

using namespace std::chrono_literals;
using job::sched::Health;
using job::sched::WorkerSpec;
using job::sched::Workers;
using job::sched::WorkerState;

using namespace sched_test;

namespace {

WorkerSpec worker(std::string name, int slots, std::map<std::string, std::string> tags = {}) {
  WorkerSpec w;
  w.name = std::move(name);
  w.slots = slots;
  w.tags = std::move(tags);
  return w;
}

}  // namespace

TEST_CASE("health follows heartbeats: ready, unhealthy after 5s, down after 15s") {
  Workers ws(Health{});
  auto& w = ws.join(worker("a", 2), T0);
  CHECK(ws.state(w, T0 + 4s) == WorkerState::ready);
  CHECK(ws.state(w, T0 + 5s) == WorkerState::unhealthy);
  CHECK(ws.state(w, T0 + 15s) == WorkerState::down);
  CHECK(ws.heartbeat("a", T0 + 14s));
  CHECK(ws.state(w, T0 + 15s) == WorkerState::ready);
  CHECK(ws.down_at(w) == T0 + 29s);
  CHECK_FALSE(ws.heartbeat("nobody", T0));
  // A late heartbeat (reordered) never moves the clock back.
  CHECK(ws.heartbeat("a", T0 + 1s));
  CHECK(ws.down_at(w) == T0 + 29s);
}

TEST_CASE("the local node is always healthy; drain stops new runs everywhere") {
  Workers ws;
  ws.set_local(worker("coord", 1));
  CHECK(ws.state(ws.local(), T0 + 1h) == WorkerState::ready);
  CHECK(ws.find("coord") == &ws.local());
  CHECK(ws.drain("coord", true));
  CHECK(ws.state(ws.local(), T0) == WorkerState::draining);
  CHECK(ws.place({}, {}, T0).worker == nullptr);
  CHECK(ws.drain("coord", false));
  CHECK(ws.place({}, {}, T0).worker == &ws.local());
}

TEST_CASE("placement: most free slots, then fewest assignments; full workers take none") {
  Workers ws;
  ws.join(worker("a", 2), T0);
  ws.join(worker("b", 4), T0);
  auto p = ws.place({}, {}, T0);
  REQUIRE(p.worker);
  CHECK(p.worker->spec.name == "b");
  ws.take(*p.worker, 1, T0);  // b: 3 free
  ws.take(*p.worker, 2, T0);  // b: 2 free, as a: tie on free slots -> a has fewer assignments
  CHECK(ws.place({}, {}, T0).worker->spec.name == "a");
  // Fill everything: no place, and why.
  int64_t run = 10;
  for (const char* n : {"a", "a", "b", "b"}) ws.take(*ws.find(n), ++run, T0);
  auto none = ws.place({}, {}, T0);
  CHECK(none.worker == nullptr);
  CHECK(none.why_not == "every worker is busy, draining or unhealthy");
  CHECK_FALSE(ws.any_free(T0));
  ws.release(*ws.find("a"), 11);
  CHECK(ws.place({}, {}, T0).worker->spec.name == "a");
}

TEST_CASE("ties go to the worker given fewer runs lately, not ever: one that joins late is not flooded") {
  Workers ws;
  ws.join(worker("old", 1), T0);
  for (int64_t run = 1; run <= 1000; ++run) {  // a thousand short runs, one after another
    ws.take(*ws.find("old"), run, T0 + std::chrono::seconds{run});
    ws.release(*ws.find("old"), run);
  }
  const auto later = T0 + 3600s;  // an hour on, a new worker joins
  ws.join(worker("old", 1), later);
  ws.join(worker("new", 1), later);
  std::map<std::string, int> got;
  for (int64_t run = 2000; run < 2010; ++run) {
    const auto t = later + std::chrono::milliseconds{100 * (run - 2000)};
    job::sched::Worker* w = ws.place({}, {}, t).worker;
    REQUIRE(w);
    ++got[w->spec.name];
    ws.take(*w, run, t);
    ws.release(*w, run);
  }
  CHECK(got["old"] == 5);  // they take turns
  CHECK(got["new"] == 5);
}

TEST_CASE("constraints and node: only workers carrying every tag, or the one named") {
  Workers ws;
  ws.join(worker("ssd1", 1, {{"disk", "ssd"}, {"os", "linux"}}), T0);
  ws.join(worker("hdd1", 8, {{"disk", "hdd"}, {"os", "linux"}}), T0);
  CHECK(ws.place({{"disk", "ssd"}}, {}, T0).worker->spec.name == "ssd1");
  CHECK(ws.place({{"os", "linux"}}, {}, T0).worker->spec.name == "hdd1");
  CHECK(ws.place({}, "ssd1", T0).worker->spec.name == "ssd1");
  CHECK(ws.place({{"gpu", "yes"}}, {}, T0).why_not == "no worker with gpu=yes");
  CHECK(ws.place({}, "nope", T0).why_not == "no worker named nope");
  CHECK(ws.place({{"disk", "hdd"}}, "ssd1", T0).why_not == "no worker ssd1 with disk=hdd");
  ws.take(*ws.find("ssd1"), 1, T0);
  CHECK(ws.place({{"disk", "ssd"}}, {}, T0).why_not == "every worker with disk=ssd is busy, draining or unhealthy");
  // Unhealthy workers take nothing new.
  CHECK(ws.place({{"os", "linux"}}, {}, T0 + 6s).worker == nullptr);
}

TEST_CASE("a worker expected after a restart takes nothing until it registers") {
  Workers ws;
  auto& w = ws.expect("far", T0);
  CHECK(ws.state(w, T0) == WorkerState::unhealthy);
  CHECK(ws.place({}, {}, T0).worker == nullptr);
  CHECK_FALSE(ws.heartbeat("far", T0 + 1s));  // it must register, not just beat
  CHECK(ws.state(w, T0 + 15s) == WorkerState::down);
  ws.join(worker("far", 2), T0 + 2s);
  CHECK(ws.state(*ws.find("far"), T0 + 2s) == WorkerState::ready);
  CHECK(ws.place({}, {}, T0 + 2s).worker->spec.name == "far");
}

TEST_CASE("many workers: two random choices spread the load and find the idle ones") {
  Workers ws(Health{}, 42);
  for (int i = 0; i < 1000; ++i) ws.join(worker("w" + std::to_string(i), 4), T0);
  std::map<std::string, int> load;
  for (int i = 0; i < 2000; ++i) {
    auto p = ws.place({}, {}, T0);
    REQUIRE(p.worker);
    ws.take(*p.worker, i, T0);
    ++load[p.worker->spec.name];
  }
  int most = 0;
  for (const auto& [name, n] : load) most = std::max(most, n);
  CHECK(most <= 4);             // never over a worker's slots
  CHECK(load.size() >= 600u);   // spread: 2,000 runs over at least 600 of the 1,000
  // Nearly full: the scan still finds the last free slots.
  for (int i = 0; i < 1999; ++i) REQUIRE(ws.place({}, {}, T0).worker);
  for (int i = 0; i < 1999; ++i) ws.take(*ws.place({}, {}, T0).worker, 10000 + i, T0);
  CHECK(ws.place({}, {}, T0).worker != nullptr);
}
