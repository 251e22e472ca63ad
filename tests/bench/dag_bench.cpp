// Benchmarks of task graphs (figures, never a failure on speed). Run:
// meson test -C build --benchmark --verbose, or the binary directly.
//   build      validate and topologically order 100,000 tasks: a deep chain,
//              a wide fan-out/fan-in, and layers of 100 x 1,000 tasks where
//              every task waits on two tasks of the layer before
//   readiness  per finished task: the incremental readiness of a run of the
//              same graphs, all tasks succeeding (and the chain failing at its
//              root: one skip that travels down all of it)
//   chains     the scheduler core with 10,000 and 100,000 run-now jobs, each
//              `after` the one before: per job, from submit to its run's end
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "sched/dag.hpp"
#include "sched/scheduler.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using job::sched::Outcome;
using job::sched::TaskDecl;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string task(int i) { return "task-" + std::to_string(i); }

std::vector<TaskDecl> chain(int n) {
  std::vector<TaskDecl> tasks{{task(0), {}}};
  for (int i = 1; i < n; ++i) tasks.push_back({task(i), {task(i - 1)}});
  return tasks;
}

std::vector<TaskDecl> fan(int n) {
  std::vector<TaskDecl> tasks{{task(0), {}}};
  TaskDecl sink{task(n - 1), {}};
  for (int i = 1; i < n - 1; ++i) {
    tasks.push_back({task(i), {task(0)}});
    sink.after.push_back(task(i));
  }
  tasks.push_back(std::move(sink));
  return tasks;
}

std::vector<TaskDecl> layers(int width, int depth) {
  std::vector<TaskDecl> tasks;
  for (int l = 0; l < depth; ++l)
    for (int w = 0; w < width; ++w) {
      TaskDecl t{task(l * width + w), {}};
      if (l > 0) t.after = {task((l - 1) * width + w), task((l - 1) * width + (w + 1) % width)};
      tasks.push_back(std::move(t));
    }
  return tasks;
}

void bench(const char* shape, const std::vector<TaskDecl>& tasks, Outcome root_outcome) {
  const auto start = Clock::now();
  auto graph = job::sched::build_graph(tasks);
  const double build = seconds_since(start);
  if (!graph) {
    fmt::print("{}: {}\n", shape, graph.error().message);
    return;
  }
  const auto run_start = Clock::now();
  job::sched::Readiness r(*graph);
  size_t finished = 0;
  for (auto ready = r.take_ready(); !ready.empty(); ready = r.take_ready())
    for (int t : ready) {
      r.finished(t, finished == 0 ? root_outcome : Outcome::success);
      ++finished;
    }
  const size_t skipped = r.take_skipped().size();
  const double run = seconds_since(run_start);
  fmt::print(
      "{:<34} {:>7} tasks  build+order {:>7.1f} ms  readiness {:>6.0f} ns/task  ({} ran, {} skipped)\n",
      shape, tasks.size(), build * 1e3, run * 1e9 / static_cast<double>(tasks.size()), finished, skipped);
}

// A chain of `n` jobs, each after the previous one, driven through the core:
// every run is started and exits at once. Linear time means a flat figure per
// job as n grows.
void bench_chain_of_jobs(int n) {
  using namespace job::sched;
  Scheduler s(Config{.slots = 8});
  const auto now = std::chrono::time_point_cast<job::time::Duration>(std::chrono::system_clock::now());
  const auto start = Clock::now();
  std::string previous;
  for (int i = 0; i < n; ++i) {
    JobSpec spec;
    spec.name = task(i);
    spec.argv = {"/bin/true"};
    spec.retries = 0;
    if (!previous.empty()) spec.after = {{previous, AfterSpec::Rule::success}};
    if (!s.submit(std::move(spec), now)) return;
    previous = task(i);
  }
  int finished = 0;
  for (s.tick(now); s.running() > 0; s.tick(now))
    for (const Action& a : s.take_actions())
      if (a.kind == Action::Kind::start) {
        s.started(a.run, 1, 1);
        s.exited(a.run, 0, 0, now);
        ++finished;
      }
  fmt::print("{:<34} {:>7} jobs   {:>6.0f} ns/job from submit to end ({} ran)\n", "chain of jobs (after)", n,
             seconds_since(start) * 1e9 / n, finished);
}

}  // namespace

int main() {
  const int n = 100'000;
  bench("chain", chain(n), Outcome::success);
  bench("chain, root fails", chain(n), Outcome::failure);
  bench("fan-out, fan-in", fan(n), Outcome::success);
  bench("layers 1,000 deep x 100 wide", layers(100, 1000), Outcome::success);
  bench_chain_of_jobs(10'000);
  bench_chain_of_jobs(100'000);
}
