// jobctl dag JOB [--dot]: a job's task graph, as text (one task a line, in a
// topological order) or as a Graphviz digraph.
#include "dag.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"
#include "sched/dag.hpp"

namespace jobctl {
namespace {

// The job's tasks, validated and ordered as jobd orders them. A job without
// tasks is a graph of one node named after the job.
job::sched::Graph job_graph(const job::proto::Json& job) {
  std::vector<job::sched::TaskDecl> decls;
  const auto& tasks = job.value("tasks", job::proto::Json::array());
  if (tasks.empty()) decls.push_back({cell(job["name"]), {}, job::sched::TriggerRule::all_success});
  for (const auto& t : tasks) {
    auto& d = decls.emplace_back();
    d.name = cell(t["name"]);
    for (const auto& a : t.value("after", job::proto::Json::array())) d.after.push_back(cell(a));
    d.trigger = job::sched::trigger_rule_from(t.value("trigger", "all_success"))
                    .value_or(job::sched::TriggerRule::all_success);
  }
  return must(job::sched::build_graph(decls));
}

// A DOT string: quoted, with '"' and '\' escaped.
std::string dot_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void print_dot(const job::proto::Json& job, const job::sched::Graph& g) {
  fmt::print("digraph {} {{\n", dot_quote(cell(job["name"])));
  for (size_t t = 0; t < g.size(); ++t) {
    if (g.rules[t] == job::sched::TriggerRule::all_success) {
      fmt::print("  {};\n", dot_quote(g.names[t]));
    } else {
      // "name\n(rule)": \n is DOT's line break inside a label.
      std::string label = dot_quote(g.names[t]);
      label.insert(label.size() - 1, fmt::format("\\n({})", job::sched::name(g.rules[t])));
      fmt::print("  {} [label={}];\n", dot_quote(g.names[t]), label);
    }
  }
  for (size_t t = 0; t < g.size(); ++t)
    for (int u : g.upstream[t])
      fmt::print("  {} -> {};\n", dot_quote(g.names[static_cast<size_t>(u)]), dot_quote(g.names[t]));
  fmt::print("}}\n");
}

}  // namespace

std::vector<std::string> graph_lines(const job::proto::Json& job) {
  const auto g = job_graph(job);
  size_t width = 0;
  for (const auto& n : g.names) width = std::max(width, n.size());
  std::vector<std::string> lines;
  for (size_t t = 0; t < g.size(); ++t) {
    std::vector<std::string> after;
    for (int u : g.upstream[t]) after.push_back(g.names[static_cast<size_t>(u)]);
    std::string rest;
    if (!after.empty()) rest = fmt::format("after {}", fmt::join(after, ", "));
    if (g.rules[t] != job::sched::TriggerRule::all_success)
      rest += fmt::format("{}({})", rest.empty() ? "" : " ", job::sched::name(g.rules[t]));
    lines.push_back(rest.empty() ? g.names[t] : fmt::format("{:<{}}  {}", g.names[t], width, rest));
  }
  return lines;
}

void add_dag(CLI::App& app) {
  struct Options {
    std::string job;
    bool dot = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("dag", "print a job's task graph, as text or Graphviz DOT");
  cmd->add_option("job", o->job, "job id or name")->required();
  cmd->add_flag("--dot", o->dot, "print a Graphviz digraph");
  cmd->callback([o] {
    Client client = connect();
    const auto job = must(client.call({{"op", "show"}, {"job", o->job}}))["job"];
    if (o->dot) return print_dot(job, job_graph(job));
    if (globals().json) {
      const auto g = job_graph(job);
      job::proto::Json tasks = job::proto::Json::array();
      for (size_t t = 0; t < g.size(); ++t) {
        job::proto::Json after = job::proto::Json::array();
        for (int u : g.upstream[t]) after.push_back(g.names[static_cast<size_t>(u)]);
        tasks.push_back({{"name", g.names[t]}, {"after", after}, {"trigger", job::sched::name(g.rules[t])}});
      }
      return print_json({{"job", job["id"]}, {"name", job["name"]}, {"tasks", tasks}});
    }
    for (const auto& line : graph_lines(job)) fmt::print("{}\n", line);
  });
}

}  // namespace jobctl
