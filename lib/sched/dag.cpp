#include "sched/dag.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <unordered_map>

#include "sched/model.hpp"

namespace job::sched {
namespace {

constexpr std::array<std::string_view, 5> kRules = {"all_success", "all_done", "one_success", "one_failed",
                                                    "all_failed"};

Error invalid(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

// The tasks Kahn's algorithm could not order all wait, directly or not, on a
// cycle. Walking upstream from any of them must come back to a task already
// seen; the loop closed there is the cycle, printed in the direction it runs.
std::string describe_cycle(const std::vector<TaskDecl>& tasks, const std::vector<std::vector<int>>& upstream,
                           const std::vector<int>& waiting_on) {
  int start = 0;
  while (waiting_on[static_cast<size_t>(start)] == 0) ++start;
  std::vector<int> seen_at(tasks.size(), -1);
  std::vector<int> walk;
  int t = start;
  while (seen_at[static_cast<size_t>(t)] < 0) {
    seen_at[static_cast<size_t>(t)] = static_cast<int>(walk.size());
    walk.push_back(t);
    for (int u : upstream[static_cast<size_t>(t)])
      if (waiting_on[static_cast<size_t>(u)] > 0) {
        t = u;
        break;
      }
  }
  // walk[j] runs after walk[j+1], ..., the last after walk[j] again.
  const size_t j = static_cast<size_t>(seen_at[static_cast<size_t>(t)]);
  std::string text = tasks[static_cast<size_t>(t)].name;
  for (size_t i = walk.size(); i-- > j;) text += " -> " + tasks[static_cast<size_t>(walk[i])].name;
  return text;
}

}  // namespace

std::string_view name(TriggerRule r) { return kRules[static_cast<size_t>(r)]; }

std::optional<TriggerRule> trigger_rule_from(std::string_view s) {
  for (size_t i = 0; i < kRules.size(); ++i)
    if (kRules[i] == s) return static_cast<TriggerRule>(i);
  return std::nullopt;
}

std::optional<int> Graph::find(const std::string& task) const {
  auto it = index.find(task);
  return it == index.end() ? std::nullopt : std::optional<int>(it->second);
}

Result<Graph> build_graph(const std::vector<TaskDecl>& tasks) {
  const size_t n = tasks.size();
  if (n == 0) return invalid("a job needs at least one task");
  std::unordered_map<std::string_view, int> index;
  index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& task = tasks[i].name;
    if (!valid_name(task))
      return invalid(
          fmt::format("task \"{}\": use letters, digits, '.', '_' and '-' (at most 128, not "
                      "starting with '-' or '.')",
                      task));
    if (!index.emplace(task, static_cast<int>(i)).second)
      return invalid(fmt::format("task \"{}\" is declared twice", task));
  }
  // Edges by declaration index; a repeated `after` counts once (linear time:
  // `last_from[u] == i` says u is already upstream of i).
  std::vector<std::vector<int>> upstream(n), downstream(n);
  std::vector<size_t> last_from(n, n);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& after : tasks[i].after) {
      auto it = index.find(after);
      if (it == index.end())
        return invalid(fmt::format("task \"{}\": after: no task \"{}\"", tasks[i].name, after));
      const auto u = static_cast<size_t>(it->second);
      if (u == i) return invalid(fmt::format("task \"{}\" runs after itself", tasks[i].name));
      if (last_from[u] == i) continue;
      last_from[u] = i;
      upstream[i].push_back(static_cast<int>(u));
      downstream[u].push_back(static_cast<int>(i));
    }
  }
  // Kahn's algorithm: a task is placed once all of its upstream tasks are.
  std::vector<int> waiting_on(n), order;
  order.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    waiting_on[i] = static_cast<int>(upstream[i].size());
    if (waiting_on[i] == 0) order.push_back(static_cast<int>(i));
  }
  for (size_t next = 0; next < order.size(); ++next)
    for (int d : downstream[static_cast<size_t>(order[next])])
      if (--waiting_on[static_cast<size_t>(d)] == 0) order.push_back(d);
  if (order.size() < n) return invalid("cycle: " + describe_cycle(tasks, upstream, waiting_on));

  std::vector<int> position(n);
  for (size_t p = 0; p < n; ++p) position[static_cast<size_t>(order[p])] = static_cast<int>(p);
  Graph g;
  g.names.resize(n);
  g.rules.resize(n);
  g.upstream.resize(n);
  g.downstream.resize(n);
  g.declared.resize(n);
  g.index.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const auto p = static_cast<size_t>(position[i]);
    g.names[p] = tasks[i].name;
    g.declared[p] = static_cast<int>(i);
    g.index.emplace(tasks[i].name, static_cast<int>(p));
    g.rules[p] = tasks[i].trigger;
    for (int u : upstream[i]) g.upstream[p].push_back(position[static_cast<size_t>(u)]);
    for (int d : downstream[i]) g.downstream[p].push_back(position[static_cast<size_t>(d)]);
  }
  return g;
}

Readiness::Readiness(const Graph& graph)
    : graph_(&graph),
      counts_(graph.size()),
      decided_(graph.size(), 0),
      outcome_(graph.size(), Outcome::skipped) {
  for (size_t t = 0; t < graph.size(); ++t)
    if (graph.upstream[t].empty()) {
      decided_[t] = 1;
      ready_.push_back(static_cast<int>(t));
    }
}

std::vector<int> Readiness::take_ready() {
  // Found in the order skips and successes travelled, not the graph's:
  // siblings must start in the order they were declared.
  std::sort(ready_.begin(), ready_.end());
  return std::exchange(ready_, {});
}

void Readiness::finished(int task, Outcome outcome) {
  std::vector<int> work;  // pairs: a task to look at, and the upstream task that changed
  settle(task, outcome, work);
  while (!work.empty()) {
    const int because = work.back();
    work.pop_back();
    const int t = work.back();
    work.pop_back();
    decide(t, because, work);
  }
}

void Readiness::settle(int task, Outcome outcome, std::vector<int>& work) {
  outcome_[static_cast<size_t>(task)] = outcome;
  ++finished_;
  if (outcome == Outcome::failure) ++failures_;
  for (int d : graph_->downstream[static_cast<size_t>(task)]) {
    Counts& c = counts_[static_cast<size_t>(d)];
    ++c.done;
    if (outcome == Outcome::success) ++c.success;
    if (outcome == Outcome::failure) ++c.failure;
    work.push_back(d);
    work.push_back(task);
  }
}

void Readiness::decide(int task, int because, std::vector<int>& work) {
  const auto t = static_cast<size_t>(task);
  if (decided_[t]) return;
  const Counts& c = counts_[t];
  const int n = static_cast<int>(graph_->upstream[t].size());
  const std::string& up = graph_->names[static_cast<size_t>(because)];
  const Outcome last = outcome_[static_cast<size_t>(because)];
  const char* how = last == Outcome::success   ? "succeeded"
                    : last == Outcome::failure ? "failed"
                                               : "was skipped";
  bool ready = false;
  std::string skip;
  switch (graph_->rules[t]) {
    case TriggerRule::all_success:
      ready = c.success == n;
      if (c.done > c.success) skip = fmt::format("upstream {} {} (all_success)", up, how);
      break;
    case TriggerRule::all_done:
      ready = c.done == n;
      break;
    case TriggerRule::one_success:
      ready = c.success > 0;
      if (!ready && c.done == n) skip = "no upstream task succeeded (one_success)";
      break;
    case TriggerRule::one_failed:
      ready = c.failure > 0;
      if (!ready && c.done == n) skip = "no upstream task failed (one_failed)";
      break;
    case TriggerRule::all_failed:
      ready = c.failure == n;
      if (c.done > c.failure) skip = fmt::format("upstream {} {} (all_failed)", up, how);
      break;
  }
  if (ready) {
    decided_[t] = 1;
    ready_.push_back(task);
  } else if (!skip.empty()) {
    decided_[t] = 1;
    skipped_.push_back({task, std::move(skip)});
    settle(task, Outcome::skipped, work);
  }
}

}  // namespace job::sched
