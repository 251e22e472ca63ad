// The scheduler as a coordinator, with a fake clock: runs leased to workers
// under fencing epochs, reports checked against the lease, heartbeats that
// reconcile what a worker holds, leases that expire with a silent worker
// (the run lost and retried elsewhere), placement by tags that leaves a run
// queued with the reason, and adoption after a coordinator restart.
#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include "sched/scheduler.hpp"
#include "sched_helpers.hpp"

using namespace std::chrono_literals;
using job::sched::Action;
using job::sched::Lease;
using job::sched::Run;
using job::sched::RunState;
using job::sched::Scheduler;
using job::sched::WorkerSpec;
using job::sched::WorkerState;

using namespace sched_test;

namespace {

// A coordinator that runs nothing itself (slots 0).
Scheduler coordinator() { return Scheduler({.slots = 0, .node_name = "coord"}); }

WorkerSpec worker(std::string name, int slots = 2, std::map<std::string, std::string> tags = {}) {
  WorkerSpec w;
  w.name = std::move(name);
  w.slots = slots;
  w.tags = std::move(tags);
  return w;
}

// The runs assigned by the actions, in order.
std::vector<int64_t> assigned(Scheduler& s) {
  std::vector<int64_t> out;
  for (const Action& a : s.take_actions())
    if (a.kind == Action::Kind::assign) out.push_back(a.run);
  return out;
}

int64_t submit(Scheduler& s, job::sched::JobSpec spec, job::time::Instant now) {
  auto id = s.submit(std::move(spec), now);
  REQUIRE(id);
  return *id;
}

Lease lease_of(const Scheduler& s, int64_t run) { return {run, s.run(run)->epoch}; }

// A job retried once, a second after a failure, without jitter.
job::sched::JobSpec retried_once(std::string name) {
  auto s = spec(std::move(name));
  s.retries = 1;
  s.backoff = 1s;
  s.jitter = 0;
  return s;
}

}  // namespace

TEST_CASE("a run goes to a worker under a new epoch; its report ends it; stale reports change nothing") {
  Scheduler s = coordinator();
  CHECK(s.join_worker(worker("w1"), {}, 0, T0).empty());
  submit(s, spec("a"), T0);
  s.tick(T0);
  const auto runs = assigned(s);
  REQUIRE(runs.size() == 1);
  const Run& r = *s.run(runs[0]);
  CHECK(r.state == RunState::running);
  CHECK(r.worker == "w1");
  CHECK(r.epoch == 1);
  CHECK(s.workers().find("w1")->used == 1);
  auto wrong_epoch = s.worker_exited("w1", {r.id, 7}, 0, 0, T0 + 1s);
  REQUIRE(wrong_epoch);
  CHECK(wrong_epoch->message == "stale lease: r1 epoch 7 is not w1's (it is w1's, epoch 1)");
  CHECK(s.worker_exited("w2", lease_of(s, r.id), 0, 0, T0 + 1s));
  CHECK(s.run(r.id)->state == RunState::running);
  CHECK_FALSE(s.worker_exited("w1", lease_of(s, r.id), 0, 0, T0 + 1s));
  CHECK(s.run(r.id)->state == RunState::succeeded);
  CHECK(s.workers().find("w1")->used == 0);
  // Told twice: the second is stale.
  CHECK(s.worker_exited("w1", {r.id, 1}, 0, 0, T0 + 2s)->message ==
        "stale lease: r1 epoch 1 is not w1's (it is succeeded)");
}

TEST_CASE("a worker's run that could not start fails, unretried, if the lease is its") {
  Scheduler s = coordinator();
  s.join_worker(worker("w1", 2), {}, 0, T0);
  auto a = spec("a");
  a.retries = 2;
  submit(s, a, T0);
  s.tick(T0);
  const int64_t run = assigned(s).at(0);
  const std::string why = "cannot start: x: No such file or directory";
  CHECK(s.worker_start_failed("w1", {run, 9}, why, T0 + 1s));
  CHECK(s.worker_start_failed("w2", lease_of(s, run), why, T0 + 1s));
  CHECK(s.run(run)->state == RunState::running);
  CHECK_FALSE(s.worker_start_failed("w1", lease_of(s, run), why, T0 + 1s));
  const Run& failed = *s.run(run);
  CHECK(failed.state == RunState::failed);
  CHECK(failed.reason == why);
  CHECK_FALSE(failed.next_attempt);
  CHECK(s.workers().find("w1")->used == 0);
}

TEST_CASE("a worker's run it lost (it restarted) is lost and retried, if the lease is its") {
  Scheduler s = coordinator();
  s.join_worker(worker("w1", 1), {}, 0, T0);
  submit(s, retried_once("a"), T0);
  s.tick(T0);
  const int64_t run = assigned(s).at(0);
  const std::string why = "its worker restarted while it ran";
  CHECK(s.worker_lost("w1", {run, 9}, why, T0 + 1s));
  CHECK(s.run(run)->state == RunState::running);
  CHECK_FALSE(s.worker_lost("w1", lease_of(s, run), why, T0 + 1s));
  const Run& lost = *s.run(run);
  CHECK(lost.state == RunState::lost);
  CHECK(lost.reason == why);
  CHECK(lost.next_attempt);
}

TEST_CASE("runs spread by free slots; the coordinator runs its share when it has slots") {
  Scheduler s({.slots = 1, .node_name = "coord"});
  s.join_worker(worker("w1", 2), {}, 0, T0);
  for (int i = 0; i < 4; ++i) submit(s, spec("job" + std::to_string(i)), T0);
  s.tick(T0);
  int local = 0, remote = 0;
  for (const Action& a : s.take_actions()) {
    local += a.kind == Action::Kind::start;
    remote += a.kind == Action::Kind::assign;
  }
  CHECK(local == 1);
  CHECK(remote == 2);
  CHECK(s.queued() == 1);  // no slot left anywhere
  CHECK(s.next_wakeup() != job::time::Instant::min());  // and no spinning on it
}

TEST_CASE("a silent worker's leases expire: the run is lost and retried on another worker") {
  Scheduler s = coordinator();
  s.join_worker(worker("w1", 1), {}, 0, T0);
  submit(s, retried_once("a"), T0);
  s.tick(T0);
  const int64_t first = assigned(s).at(0);
  s.join_worker(worker("w2", 1), {}, 0, T0 + 1s);
  // w1 goes quiet; w2 keeps beating.
  for (auto t = T0 + 2s; t <= T0 + 20s; t += 1s) {
    REQUIRE(s.worker_heartbeat("w2", {}, s.run(first)->epoch, t));
    s.tick(t);
  }
  const Run& lost = *s.run(first);
  CHECK(lost.state == RunState::lost);
  CHECK(lost.reason == "worker w1 sent no heartbeat for 15s: its lease expired");
  CHECK(s.workers().state(*s.workers().find("w1"), T0 + 20s) == WorkerState::down);
  REQUIRE(lost.next_attempt);
  const Run& retry = *s.run(lost.next_attempt);
  CHECK(retry.state == RunState::running);
  CHECK(retry.worker == "w2");
  CHECK(retry.epoch == 2);
  // w1 wakes up (SIGCONT) and reports: refused; its heartbeat is told to drop the lease.
  CHECK(s.worker_exited("w1", {first, 1}, 0, 0, T0 + 21s));
  auto revoke = s.worker_heartbeat("w1", {{first, 1}}, 1, T0 + 21s);
  REQUIRE(revoke);
  CHECK(*revoke == std::vector<Lease>{{first, 1}});
}

TEST_CASE("heartbeats reconcile: an unknown lease is revoked, a forgotten one lost, one in flight kept") {
  Scheduler s = coordinator();
  s.join_worker(worker("w1", 2), {}, 0, T0);
  submit(s, spec("a"), T0);
  s.tick(T0);
  const int64_t r1 = assigned(s).at(0);
  // A heartbeat sent before the assignment arrived (seen_epoch 0): not lost.
  auto revoke = s.worker_heartbeat("w1", {}, 0, T0 + 1s);
  REQUIRE(revoke);
  CHECK(revoke->empty());
  CHECK(s.run(r1)->state == RunState::running);
  // A lease it should not hold: revoked.
  revoke = s.worker_heartbeat("w1", {{r1, 1}, {999, 5}}, 1, T0 + 2s);
  CHECK(*revoke == std::vector<Lease>{{999, 5}});
  // It received r1 (seen_epoch 1) and no longer names it: lost.
  revoke = s.worker_heartbeat("w1", {}, 1, T0 + 3s);
  CHECK(s.run(r1)->state == RunState::lost);
  CHECK(s.run(r1)->reason == "worker w1 no longer runs it");
  CHECK_FALSE(s.worker_heartbeat("nobody", {}, 0, T0 + 3s));
}

TEST_CASE("constraints: a run no worker can take waits queued, saying why, and goes when one joins") {
  Scheduler s = coordinator();
  s.join_worker(worker("hdd", 4, {{"disk", "hdd"}}), {}, 0, T0);
  auto a = spec("needs-ssd");
  a.constraints = {{"disk", "ssd"}};
  const int64_t job = submit(s, a, T0);
  submit(s, spec("anywhere"), T0);
  s.tick(T0);
  const auto runs = assigned(s);
  REQUIRE(runs.size() == 1);  // the unconstrained one, behind it in the queue
  CHECK(s.job(s.run(runs[0])->job)->spec.name == "anywhere");
  const Run& waiting = *s.run(s.job(job)->runs.at(0));
  CHECK(waiting.state == RunState::queued);
  CHECK(waiting.waiting == "no worker with disk=ssd");
  s.join_worker(worker("ssd", 1, {{"disk", "ssd"}}), {}, 0, T0 + 1s);
  s.tick(T0 + 1s);
  CHECK(assigned(s) == std::vector<int64_t>{waiting.id});
  CHECK(waiting.worker == "ssd");
  CHECK(waiting.waiting.empty());
}

TEST_CASE("drain: no new runs; running ones finish") {
  Scheduler s = coordinator();
  s.join_worker(worker("w1", 2), {}, 0, T0);
  submit(s, spec("a"), T0);
  s.tick(T0);
  const int64_t r1 = assigned(s).at(0);
  CHECK_FALSE(s.drain_worker("w1", true));
  submit(s, spec("b"), T0 + 1s);
  s.tick(T0 + 1s);
  CHECK(assigned(s).empty());
  CHECK_FALSE(s.worker_exited("w1", lease_of(s, r1), 0, 0, T0 + 2s));
  CHECK(s.run(r1)->state == RunState::succeeded);
  CHECK_FALSE(s.drain_worker("w1", false));
  s.tick(T0 + 3s);
  CHECK(assigned(s).size() == 1);
  CHECK(s.drain_worker("nobody", true)->code == job::Errc::not_found);
}

TEST_CASE("the coordinator stops without touching workers' runs, and adopts them again after a restart") {
  Scheduler before = coordinator();
  before.join_worker(worker("w1", 2), {}, 0, T0);
  submit(before, spec("a"), T0);
  submit(before, spec("b"), T0);
  before.tick(T0);
  const auto runs = assigned(before);
  REQUIRE(runs.size() == 2);
  before.shutdown(T0 + 1s);
  for (const Action& a : before.take_actions()) CHECK(a.kind != Action::Kind::signal);

  Scheduler after = coordinator();
  before.for_each_job([&](const job::sched::Job& j) {
    REQUIRE_FALSE(after.restore(j));
    for (int64_t r : j.runs) after.restore(*before.run(r));
  });
  after.resume(T0 + 10s);
  // w1 comes back holding the first run only: adopted; the second is lost.
  auto revoke = after.join_worker(worker("w1", 2), {lease_of(after, runs[0])}, 2, T0 + 11s);
  CHECK(revoke.empty());
  CHECK(after.run(runs[0])->state == RunState::running);
  CHECK(after.run(runs[1])->state == RunState::lost);
  CHECK_FALSE(after.worker_exited("w1", lease_of(after, runs[0]), 0, 0, T0 + 12s));
  CHECK(after.run(runs[0])->state == RunState::succeeded);
  // New leases never reuse an epoch.
  submit(after, spec("c"), T0 + 13s);
  after.tick(T0 + 13s);
  const auto next = assigned(after);
  REQUIRE(next.size() == 1);
  CHECK(after.run(next[0])->epoch == 3);
}

TEST_CASE("a worker that never comes back after a restart: its runs are lost after down_after") {
  Scheduler before = coordinator();
  before.join_worker(worker("w1", 1), {}, 0, T0);
  submit(before, spec("a"), T0);
  before.tick(T0);
  const int64_t r = assigned(before).at(0);
  Scheduler after = coordinator();
  before.for_each_job([&](const job::sched::Job& j) {
    REQUIRE_FALSE(after.restore(j));
    for (int64_t id : j.runs) after.restore(*before.run(id));
  });
  after.resume(T0 + 10s);
  after.tick(T0 + 24s);
  CHECK(after.run(r)->state == RunState::running);
  after.tick(T0 + 25s);
  CHECK(after.run(r)->state == RunState::lost);
}
