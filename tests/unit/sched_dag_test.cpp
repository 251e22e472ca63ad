// Task graphs: validation (names, edges, cycles printed along their edges),
// topological order, and incremental readiness under every trigger rule,
// with skips travelling down fan-outs, fan-ins and diamonds.
#include <doctest/doctest.h>

#include <algorithm>

#include "sched/dag.hpp"

using job::sched::build_graph;
using job::sched::Graph;
using job::sched::Outcome;
using job::sched::Readiness;
using job::sched::TaskDecl;
using job::sched::TriggerRule;

namespace {

Graph graph(const std::vector<TaskDecl>& tasks) {
  auto g = build_graph(tasks);
  REQUIRE_MESSAGE(g, (g ? "" : g.error().message));
  return *g;
}

std::string error_of(const std::vector<TaskDecl>& tasks) {
  auto g = build_graph(tasks);
  REQUIRE_FALSE(g);
  CHECK(g.error().code == job::Errc::invalid_argument);
  return g.error().message;
}

// Names of the tasks in `ids`.
std::vector<std::string> names(const Graph& g, const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int i : ids) out.push_back(g.names[static_cast<size_t>(i)]);
  return out;
}

int id(const Graph& g, const char* task) { return *g.find(task); }

// A run of `g` driven by names: finish a task, see what became ready.
struct Run {
  const Graph& g;
  Readiness r;
  explicit Run(const Graph& graph_) : g(graph_), r(graph_) {}
  std::vector<std::string> ready() { return names(g, r.take_ready()); }
  std::vector<std::string> skipped() {
    std::vector<std::string> out;
    for (const auto& s : r.take_skipped())
      out.push_back(g.names[static_cast<size_t>(s.task)] + ": " + s.reason);
    return out;
  }
  void finish(const char* task, Outcome o) { r.finished(id(g, task), o); }
};

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("tasks are ordered so that each comes after its upstream tasks") {
  const Graph g = graph({{"load", {"transform"}},
                         {"transform", {"extract"}},
                         {"report", {"load", "extract"}},
                         {"extract", {}}});
  REQUIRE(g.size() == 4);
  for (size_t t = 0; t < g.size(); ++t)
    for (int u : g.upstream[t]) CHECK(static_cast<size_t>(u) < t);
  CHECK(g.names.front() == "extract");
  CHECK(g.names.back() == "report");
  CHECK(g.downstream[static_cast<size_t>(id(g, "extract"))].size() == 2);
}

TEST_CASE("bad graphs are refused, naming the task") {
  CHECK(error_of({}) == "a job needs at least one task");
  CHECK(error_of({{"a", {}}, {"a", {}}}) == "task \"a\" is declared twice");
  CHECK(error_of({{"a", {"extrct"}}, {"extract", {}}}) == "task \"a\": after: no task \"extrct\"");
  CHECK(error_of({{"a", {"a"}}}) == "task \"a\" runs after itself");
  CHECK(error_of({{"-x", {}}}).starts_with("task \"-x\": use letters"));
}

TEST_CASE("a cycle is printed along its edges") {
  CHECK(error_of({{"extract", {"transform"}}, {"transform", {"extract"}}}) ==
        "cycle: extract -> transform -> extract");
  // A longer loop, with tasks outside it that wait on it.
  const std::string m =
      error_of({{"start", {}}, {"a", {"start", "c"}}, {"b", {"a"}}, {"c", {"b"}}, {"after_loop", {"c"}}});
  CHECK((m == "cycle: a -> b -> c -> a" || m == "cycle: b -> c -> a -> b" || m == "cycle: c -> a -> b -> c"));
}

TEST_CASE("a repeated edge counts once") {
  const Graph g = graph({{"a", {}}, {"b", {"a", "a"}}});
  CHECK(g.upstream[1].size() == 1);
  Run run(g);
  CHECK(run.ready() == V{"a"});
  run.finish("a", Outcome::success);
  CHECK(run.ready() == V{"b"});
}

TEST_CASE("diamond: D waits for both B and C, which are ready together") {
  const Graph g = graph({{"A", {}}, {"B", {"A"}}, {"C", {"A"}}, {"D", {"B", "C"}}});
  Run run(g);
  CHECK(run.ready() == V{"A"});
  run.finish("A", Outcome::success);
  auto bc = run.ready();
  std::sort(bc.begin(), bc.end());
  CHECK(bc == V{"B", "C"});
  run.finish("C", Outcome::success);
  CHECK(run.ready().empty());
  run.finish("B", Outcome::success);
  CHECK(run.ready() == V{"D"});
  CHECK_FALSE(run.r.done());
  run.finish("D", Outcome::success);
  CHECK(run.r.done());
  CHECK(run.r.succeeded());
}

TEST_CASE("all_success: a failed upstream skips the task and everything after it") {
  const Graph g = graph({{"A", {}}, {"B", {"A"}}, {"C", {"A"}}, {"D", {"B", "C"}}, {"E", {"D"}}});
  Run run(g);
  run.ready();
  run.finish("A", Outcome::success);
  run.ready();
  run.finish("B", Outcome::failure);
  CHECK(run.skipped() == V{"D: upstream B failed (all_success)", "E: upstream D was skipped (all_success)"});
  CHECK_FALSE(run.r.done());  // C still runs
  run.finish("C", Outcome::success);
  CHECK(run.ready().empty());
  CHECK(run.r.done());
  CHECK_FALSE(run.r.succeeded());
}

TEST_CASE("all_done: runs after its upstream tasks end, however they end") {
  const Graph g = graph({{"B", {}}, {"C", {}}, {"D", {"B", "C"}, TriggerRule::all_done}});
  Run run(g);
  run.ready();
  run.finish("B", Outcome::failure);
  CHECK(run.ready().empty());
  CHECK(run.skipped().empty());
  run.finish("C", Outcome::skipped);
  CHECK(run.ready() == V{"D"});
}

TEST_CASE("one_success: ready at the first success, skipped when none can come") {
  const Graph g =
      graph({{"a", {}}, {"b", {}}, {"c", {}}, {"any", {"a", "b", "c"}, TriggerRule::one_success}});
  {
    Run run(g);
    run.ready();
    run.finish("a", Outcome::failure);
    CHECK(run.ready().empty());
    run.finish("b", Outcome::success);
    CHECK(run.ready() == V{"any"});
    run.finish("c", Outcome::failure);  // decided already: nothing changes
    CHECK(run.ready().empty());
    CHECK(run.skipped().empty());
  }
  {
    Run run(g);
    run.ready();
    run.finish("a", Outcome::failure);
    run.finish("b", Outcome::skipped);
    CHECK(run.skipped().empty());
    run.finish("c", Outcome::failure);
    CHECK(run.skipped() == V{"any: no upstream task succeeded (one_success)"});
  }
}

TEST_CASE("one_failed: a cleanup task runs at the first failure, and is skipped when all succeed") {
  const Graph g = graph({{"a", {}}, {"b", {}}, {"cleanup", {"a", "b"}, TriggerRule::one_failed}});
  {
    Run run(g);
    run.ready();
    run.finish("a", Outcome::failure);
    CHECK(run.ready() == V{"cleanup"});
  }
  {
    Run run(g);
    run.ready();
    run.finish("a", Outcome::success);
    CHECK(run.skipped().empty());
    run.finish("b", Outcome::success);
    CHECK(run.skipped() == V{"cleanup: no upstream task failed (one_failed)"});
    CHECK(run.r.done());
    CHECK(run.r.succeeded());  // a skip is not a failure
  }
}

TEST_CASE("all_failed: ready only when every upstream failed") {
  const Graph g = graph({{"a", {}}, {"b", {}}, {"alarm", {"a", "b"}, TriggerRule::all_failed}});
  {
    Run run(g);
    run.ready();
    run.finish("a", Outcome::failure);
    CHECK(run.ready().empty());
    run.finish("b", Outcome::failure);
    CHECK(run.ready() == V{"alarm"});
  }
  {
    Run run(g);
    run.ready();
    run.finish("a", Outcome::success);
    CHECK(run.skipped() == V{"alarm: upstream a succeeded (all_failed)"});
  }
}

TEST_CASE("fan-out and fan-in: every leaf ready at once, the sink after all") {
  std::vector<TaskDecl> tasks{{"root", {}}};
  TaskDecl sink{"sink", {}};
  for (int i = 0; i < 50; ++i) {
    tasks.push_back({"leaf" + std::to_string(i), {"root"}});
    sink.after.push_back("leaf" + std::to_string(i));
  }
  tasks.push_back(sink);
  const Graph g = graph(tasks);
  Readiness r(g);
  CHECK(r.take_ready().size() == 1);
  r.finished(id(g, "root"), Outcome::success);
  const auto leaves = r.take_ready();
  CHECK(leaves.size() == 50);
  for (size_t i = 0; i + 1 < leaves.size(); ++i) r.finished(leaves[i], Outcome::success);
  CHECK(r.take_ready().empty());
  r.finished(leaves.back(), Outcome::success);
  CHECK(names(g, r.take_ready()) == V{"sink"});
}

TEST_CASE("a skip travels down a 100,000-task chain without recursion") {
  std::vector<TaskDecl> tasks{{"t0", {}}};
  for (int i = 1; i < 100000; ++i) tasks.push_back({"t" + std::to_string(i), {"t" + std::to_string(i - 1)}});
  const Graph g = graph(tasks);
  Readiness r(g);
  r.take_ready();
  r.finished(0, Outcome::failure);
  CHECK(r.take_skipped().size() == 99999);
  CHECK(r.done());
}

TEST_CASE("trigger rule names") {
  for (auto rule : {TriggerRule::all_success, TriggerRule::all_done, TriggerRule::one_success,
                    TriggerRule::one_failed, TriggerRule::all_failed})
    CHECK(job::sched::trigger_rule_from(job::sched::name(rule)) == rule);
  CHECK_FALSE(job::sched::trigger_rule_from("sometimes"));
}
