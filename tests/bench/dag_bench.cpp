// Benchmarks of task graphs (figures, never a failure on speed). Run:
// meson test -C build --benchmark --verbose, or the binary directly.
//   build      validate and topologically order 100,000 tasks: a deep chain,
//              a wide fan-out/fan-in, and layers of 100 x 1,000 tasks where
//              every task waits on two tasks of the layer before
//   readiness  per finished task: the incremental readiness of a run of the
//              same graphs, all tasks succeeding (and the chain failing at its
//              root: one skip that travels down all of it)
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "sched/dag.hpp"

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

}  // namespace

int main() {
  const int n = 100'000;
  bench("chain", chain(n), Outcome::success);
  bench("chain, root fails", chain(n), Outcome::failure);
  bench("fan-out, fan-in", fan(n), Outcome::success);
  bench("layers 1,000 deep x 100 wide", layers(100, 1000), Outcome::success);
}
