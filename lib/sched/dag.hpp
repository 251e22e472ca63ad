// Task graphs: the tasks of one job with `after` edges between them (a DAG),
// validated and ordered once, and the incremental readiness of one run of it.
// Pure data and arithmetic, no I/O: the scheduler owns one Readiness per job
// run and feeds it each task's final outcome.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "error.hpp"

namespace job::sched {

// When a task may run, given its upstream tasks' outcomes (Airflow's names).
enum class TriggerRule {
  all_success,  // every upstream succeeded (the default)
  all_done,     // every upstream ended, however
  one_success,  // at least one upstream succeeded
  one_failed,   // at least one upstream failed
  all_failed,   // every upstream failed
};

std::string_view name(TriggerRule r);
std::optional<TriggerRule> trigger_rule_from(std::string_view s);

// A task as declared: its name, the tasks it runs after, and its rule.
struct TaskDecl {
  std::string name;
  std::vector<std::string> after;
  TriggerRule trigger = TriggerRule::all_success;
};

// A validated graph. Tasks are numbered in a topological order: every task
// comes after all of its upstream tasks; ties keep the declaration order.
struct Graph {
  std::vector<std::string> names;
  std::vector<TriggerRule> rules;
  std::vector<std::vector<int>> upstream;
  std::vector<std::vector<int>> downstream;
  std::vector<int> declared;  // each task's index among the declarations
  std::unordered_map<std::string, int> index;

  size_t size() const { return names.size(); }
  std::optional<int> find(const std::string& name) const;
};

// Validates the declarations in linear time. Errors (Errc::invalid_argument)
// name the task: a bad or duplicate name, an unknown upstream, a task after
// itself, or a cycle, printed along its edges: "extract -> transform -> extract".
Result<Graph> build_graph(const std::vector<TaskDecl>& tasks);

// How a task ended, as its trigger rules see it.
enum class Outcome {
  success,  // succeeded
  failure,  // failed, timed_out, lost or cancelled
  skipped,  // its own rule could not be met
};

// One run of a graph. A task becomes ready once its rule is met, and skipped
// as soon as its rule can no longer be met; a skip travels down at once.
// Each finished task touches only its successors.
class Readiness {
 public:
  explicit Readiness(const Graph& graph);  // the roots are ready at once

  struct Skip {
    int task;
    std::string reason;  // names the upstream task that decided it
  };
  // Tasks ready to run, in graph order, since the last call.
  std::vector<int> take_ready();
  // Tasks skipped since the last call. They count as finished.
  std::vector<Skip> take_skipped() { return std::exchange(skipped_, {}); }

  // The final outcome of a task that was ready (after all its attempts).
  void finished(int task, Outcome outcome);

  bool done() const { return finished_ == graph_->size(); }
  // Whether the run succeeded: nothing failed. Only meaningful once done().
  bool succeeded() const { return failures_ == 0; }

 private:
  struct Counts {
    int done = 0, success = 0, failure = 0;
  };
  void settle(int task, Outcome outcome, std::vector<int>& work);
  void decide(int task, int because, std::vector<int>& work);

  const Graph* graph_;
  std::vector<Counts> counts_;
  std::vector<char> decided_;  // ready or skipped already
  std::vector<Outcome> outcome_;
  std::vector<int> ready_;
  std::vector<Skip> skipped_;
  size_t finished_ = 0;
  size_t failures_ = 0;
};

}  // namespace job::sched
