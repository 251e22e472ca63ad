// jobctl submit: define a job (cron, one-time, recurring, or run now) and
// print its id; with --wait, also wait for its first run and exit with it.
// The job runs a command, or a graph of tasks (--task, --edge, --trigger);
// --after makes it wait for other runs; --file submits the jobs of a TOML file.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "client.hpp"
#include "command.hpp"
#include "jobfile/read.hpp"
#include "output.hpp"
#include "sched/dag.hpp"
#include "sched/model.hpp"
#include "wait.hpp"

namespace jobctl {
namespace {

struct SubmitOptions {
  std::string name, schedule, at, every, tz, timeout, cwd, shell;
  int64_t priority = 0;
  std::vector<std::string> env, command;
  bool wait = false;
  // Policies: sent only when given, so that jobd's defaults apply.
  std::optional<int> retries, keep_runs;
  std::optional<double> jitter;
  std::optional<std::string> backoff, max_backoff, starting_deadline, concurrency, catchup;
  // Task graphs and dependencies.
  std::vector<std::string> tasks, edges, triggers, after;
  std::string file;
  // Notifications: each webhook and address is told of the events of --notify-on.
  std::vector<std::string> notify_webhooks, notify_mails;
  std::vector<std::string> constraints;  // KEY=VALUE
  std::string node;
  std::optional<std::string> notify_on;
  // Run-as user and confinement.
  std::string user;
  std::vector<std::string> limits, paths_rw;  // KEY=VALUE; absolute paths
  bool sandbox = false, no_network = false;
};

[[noreturn]] void invalid(std::string message) {
  throw Failure{{job::Errc::invalid_argument, std::move(message)}};
}

// "--task: ..." for a value that is not `left SEP right` with both sides non-empty.
std::pair<std::string, std::string> split(const std::string& flag, const std::string& value, char sep,
                                          const char* form) {
  const size_t at = value.find(sep);
  if (at == std::string::npos || at == 0 || at + 1 == value.size())
    invalid(fmt::format("{}: \"{}\" is not {}", flag, value, form));
  return {value.substr(0, at), value.substr(at + 1)};
}

// --task NAME=CMD (a shell string), --edge A:B (B runs after A), --trigger
// TASK=RULE: the graph, checked here as jobd would (a cycle is printed).
job::proto::Json build_tasks(const SubmitOptions& o) {
  std::vector<job::sched::TaskDecl> decls;
  job::proto::Json tasks = job::proto::Json::array();
  auto find = [&](const std::string& flag, const std::string& name) {
    for (size_t i = 0; i < decls.size(); ++i)
      if (decls[i].name == name) return i;
    invalid(fmt::format("{}: no task \"{}\" (give it with --task {}=COMMAND)", flag, name, name));
  };
  for (const auto& t : o.tasks) {
    auto [name, command] = split("--task", t, '=', "NAME=COMMAND");
    decls.push_back({name, {}, job::sched::TriggerRule::all_success});
    tasks.push_back({{"name", name}, {"shell", command}});
  }
  for (const auto& e : o.edges) {
    const auto [from, to] = split("--edge", e, ':', "UPSTREAM:DOWNSTREAM");
    find("--edge", from);
    decls[find("--edge", to)].after.push_back(from);
  }
  for (const auto& t : o.triggers) {
    const auto [name, rule] = split("--trigger", t, '=', "TASK=RULE");
    const size_t i = find("--trigger", name);
    const auto r = job::sched::trigger_rule_from(rule);
    if (!r)
      invalid(
          fmt::format("--trigger: \"{}\" is not one of all_success, all_done, one_success, one_failed, "
                      "all_failed",
                      rule));
    decls[i].trigger = *r;
  }
  if (auto graph = job::sched::build_graph(decls); !graph) throw Failure{graph.error()};
  for (size_t i = 0; i < decls.size(); ++i) {
    tasks[i]["after"] = decls[i].after;
    tasks[i]["trigger"] = job::sched::name(decls[i].trigger);
  }
  return tasks;
}

// --after REF[:RULE], RULE success (the default), done or failure.
job::proto::Json build_after(const SubmitOptions& o) {
  job::proto::Json after = job::proto::Json::array();
  for (const auto& a : o.after) {
    const size_t colon = a.find(':');
    const std::string ref = a.substr(0, colon);
    const std::string rule = colon == std::string::npos ? "success" : a.substr(colon + 1);
    if (ref.empty()) invalid(fmt::format("--after: \"{}\" names no run or job (REF[:RULE])", a));
    if (!job::sched::after_rule_from(rule))
      invalid(fmt::format("--after: \"{}\" is not one of success, done, failure", rule));
    after.push_back({{"ref", ref}, {"rule", rule}});
  }
  return after;
}

// --file F: every job of the file, in order, each id on its own line; the
// first job jobd refuses stops the rest, with its error and exit status.
void submit_file(const std::string& path) {
  const auto file = must(job::jobfile::read_jobs_file(path));
  if (file.jobs.empty()) throw Failure{{job::Errc::invalid_argument, path + ": no jobs (define [job.NAME] tables)"}};
  Client client = connect();
  for (const auto& job : file.jobs) {
    auto reply = client.call({{"op", "submit"}, {"job", job.spec}});
    if (!reply) throw Failure{{reply.error().code, job.where + ": " + reply.error().message}};
    const auto& created = (*reply)["job"];
    if (globals().json)
      print_json(created);
    else
      fmt::print("{}\n", created["id"].get<std::string>());
    std::fflush(stdout);
  }
}

// The policies given, checked here by the codec that jobd uses, so that a typo
// fails without a daemon and names the flag: `--concurrency: "sometimes" is not one of ...`.
void add_policies(job::proto::Json& spec, const SubmitOptions& o) {
  job::proto::Json policies = job::proto::Json::object();
  if (o.retries) policies["retries"] = *o.retries;
  if (o.backoff) policies["backoff"] = *o.backoff;
  if (o.max_backoff) policies["max_backoff"] = *o.max_backoff;
  if (o.jitter) policies["jitter"] = *o.jitter;
  if (o.concurrency) policies["concurrency"] = *o.concurrency;
  if (o.catchup) policies["catchup"] = *o.catchup;
  if (o.starting_deadline) policies["starting_deadline"] = *o.starting_deadline;
  if (o.keep_runs) policies["keep_runs"] = *o.keep_runs;
  if (o.notify_on && o.notify_webhooks.empty() && o.notify_mails.empty())
    invalid("--notify-on: give --notify-webhook or --notify-mail too");
  job::proto::Json on = job::proto::Json::array();
  const std::string on_list = o.notify_on.value_or("failure");  // outlives the views into it
  for (std::string_view rest = on_list; !rest.empty();) {
    const size_t comma = std::min(rest.find(','), rest.size());
    const std::string event(rest.substr(0, comma));
    if (!job::sched::notify_event_from(event))
      invalid(fmt::format("--notify-on: \"{}\" is not one of failure, success, retry, skipped", event));
    on.push_back(event);
    rest.remove_prefix(std::min(comma + 1, rest.size()));
  }
  for (const auto& url : o.notify_webhooks) policies["notify"].push_back({{"on", on}, {"webhook", url}});
  for (const auto& address : o.notify_mails) policies["notify"].push_back({{"on", on}, {"mail", address}});
  if (auto checked = job::proto::spec_from_json(policies); !checked) {
    std::string message = checked.error().message;  // "max_backoff: ..."
    const size_t field_end = std::min(message.find(':'), message.size());
    std::replace(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(field_end), '_', '-');
    throw Failure{{checked.error().code, "--" + message}};
  }
  spec.update(policies);
}

// --user, --limit KEY=VALUE, --sandbox, --no-network, --path-rw: checked as jobd would.
void add_confinement(job::proto::Json& spec, const SubmitOptions& o) {
  job::proto::Json confine = job::proto::Json::object();
  if (!o.user.empty()) confine["user"] = o.user;
  for (const std::string& l : o.limits) {
    auto [key, value] = split("--limit", l, '=', "KEY=VALUE, such as nofile=1024 or memory=512M");
    // Plain digits are a number (of files, processes, bytes or seconds).
    const bool digits = value.size() <= 18 && value.find_first_not_of("0123456789") == std::string::npos;
    confine["limits"][key] = digits ? job::proto::Json(std::stoll(value)) : job::proto::Json(value);
  }
  if (o.sandbox) confine["sandbox"] = true;
  if (o.no_network) confine["network"] = false;
  if (!o.paths_rw.empty()) confine["paths_rw"] = o.paths_rw;
  if (auto checked = job::proto::spec_from_json(confine); !checked) {
    std::string message = checked.error().message;  // "limits.memory: ..."
    if (message.starts_with("limits."))
      message = "--limit " + message.substr(7);
    else if (message.starts_with("paths_rw"))
      message = "--path-rw" + message.substr(8);
    else
      message = "--" + message;
    throw Failure{{checked.error().code, message}};
  }
  spec.update(confine);
}

void run_submit(const SubmitOptions& o) {
  job::proto::Json spec;
  if (!o.name.empty()) spec["name"] = o.name;
  if (!o.schedule.empty()) spec["cron"] = o.schedule;
  if (!o.at.empty()) spec["at"] = o.at;
  if (!o.every.empty()) spec["every"] = o.every;
  if (!o.tz.empty()) spec["tz"] = o.tz;
  spec["priority"] = o.priority;
  if (!o.timeout.empty()) spec["timeout"] = o.timeout;
  if (!o.cwd.empty()) spec["cwd"] = o.cwd;
  for (const std::string& c : o.constraints) {
    const size_t eq = c.find('=');
    if (eq == std::string::npos || eq == 0) invalid(fmt::format("--constraint {}: expected KEY=VALUE, such as disk=ssd", c));
    spec["constraints"][c.substr(0, eq)] = c.substr(eq + 1);
  }
  if (!o.node.empty()) spec["node"] = o.node;
  add_confinement(spec, o);
  if (!o.shell.empty() && !o.command.empty())
    invalid("give either --shell STRING or -- COMMAND [ARG...], not both");
  if (!o.tasks.empty() && (!o.shell.empty() || !o.command.empty()))
    invalid(
        "give either --task NAME=COMMAND (a graph of tasks) or a command (--shell STRING or -- COMMAND), "
        "not both");
  if (o.tasks.empty() && (!o.edges.empty() || !o.triggers.empty()))
    invalid(fmt::format("{} needs tasks: give them with --task NAME=COMMAND",
                        o.edges.empty() ? "--trigger" : "--edge"));
  if (!o.shell.empty()) spec["shell"] = o.shell;
  if (!o.command.empty()) spec["argv"] = o.command;
  if (!o.tasks.empty()) spec["tasks"] = build_tasks(o);
  if (o.shell.empty() && o.command.empty() && o.tasks.empty())
    invalid("empty command: give -- COMMAND [ARG...], --shell STRING or --task NAME=COMMAND");
  if (!o.after.empty()) spec["after"] = build_after(o);
  job::proto::Json env = job::proto::Json::object();
  for (const auto& kv : o.env) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Failure{{job::Errc::invalid_argument, fmt::format("--env: \"{}\" is not KEY=VALUE", kv)}};
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!env.empty()) spec["env"] = env;
  add_policies(spec, o);

  Client client = connect();
  const auto reply = must(client.call({{"op", "submit"}, {"job", spec}}));
  const auto& job = reply["job"];
  if (globals().json)
    print_json(job);
  else
    fmt::print("{}\n", job["id"].get<std::string>());
  std::fflush(stdout);
  if (o.wait) wait_and_exit(client, {{"op", "wait"}, {"job", job["id"]}}, std::nullopt);
}

}  // namespace

void add_submit(CLI::App& app) {
  auto o = std::make_shared<SubmitOptions>();
  auto* cmd = app.add_subcommand("submit", "define a job and print its id");
  cmd->add_option("--name", o->name, "a unique name (default: the job's id)");
  auto* schedule = cmd->add_option("--schedule", o->schedule, "a cron expression (see jobctl cron)");
  auto* at = cmd->add_option("--at", o->at, "run once at this RFC 3339 instant");
  auto* every = cmd->add_option("--every", o->every, "run every DURATION, e.g. 5s, 1h30m");
  schedule->excludes(at)->excludes(every);
  at->excludes(every);
  cmd->add_option("--tz", o->tz, "IANA time zone of the cron schedule (default: jobd's)");
  cmd->add_option("--priority", o->priority, "higher runs first when slots are busy (default 0)");
  cmd->add_option("--timeout", o->timeout, "kill the run's process group after DURATION");
  cmd->add_option("--env", o->env, "KEY=VALUE added to the environment (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--cwd", o->cwd, "working directory (absolute)");
  cmd->add_option("--constraint", o->constraints, "run only on nodes tagged KEY=VALUE (repeatable)");
  cmd->add_option("--node", o->node, "run only on the node of this name");
  cmd->add_option("--user", o->user, "run as this Unix user (HOME, USER, LOGNAME, SHELL; cwd: its home)");
  cmd->add_option("--limit", o->limits,
                  "KEY=VALUE: nofile=N, nproc=N, memory=SIZE (512M, 2G), cpu=DURATION (30s) (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--sandbox", o->sandbox,
                "run under bubblewrap: / read-only, private /tmp, own pid namespace");
  cmd->add_flag("--no-network", o->no_network, "in the sandbox, no network but lo");
  cmd->add_option("--path-rw", o->paths_rw, "PATH stays writable in the sandbox (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--shell", o->shell, "a command line for /bin/sh -c, instead of -- COMMAND");
  cmd->add_flag("--wait", o->wait, "wait for the first run; exit 0 if it succeeded, 1 if not");
  cmd->add_option("--retries", o->retries, "retry a failed run up to N times (default 3)");
  cmd->add_option("--backoff", o->backoff,
                  "wait DURATION before the first retry, doubling after (default 10s)");
  cmd->add_option("--max-backoff", o->max_backoff, "never wait longer than DURATION to retry (default 10m)");
  cmd->add_option("--jitter", o->jitter, "lengthen each wait by up to this fraction, 0 to 1 (default 0.1)");
  cmd->add_option("--concurrency", o->concurrency,
                  "a fire while a run is active: allow, forbid (skip it) or replace (default forbid)");
  cmd->add_option("--catchup", o->catchup,
                  "fires missed while down or paused: none, last or all (default last)");
  cmd->add_option("--starting-deadline", o->starting_deadline,
                  "skip a fire that cannot start within DURATION (default: none)");
  cmd->add_option("--keep-runs", o->keep_runs, "keep the newest N runs in history (default 100)");
  cmd->add_option("--task", o->tasks, "a task of a graph: NAME=COMMAND, a /bin/sh -c string (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--edge", o->edges, "A:B: task B runs after task A (repeatable)")->allow_extra_args(false);
  cmd->add_option("--trigger", o->triggers,
                  "TASK=RULE: when TASK may run: all_success (default), all_done, one_success, one_failed, "
                  "all_failed (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--after", o->after,
                  "REF[:RULE]: wait for a run (r12) or a job's run; RULE success (default), done or failure "
                  "(repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--notify-webhook", o->notify_webhooks,
                  "POST a JSON document about each run's end to URL (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--notify-mail", o->notify_mails,
                  "mail ADDRESS about each run's end, through sendmail (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--notify-on", o->notify_on,
                  "LIST: the events notified, of failure, success, retry, skipped (default failure)");
  auto* file = cmd->add_option("--file", o->file, "submit the jobs of a TOML file (and no other option)");
  cmd->add_option("command", o->command, "the program and its arguments, after --");
  cmd->callback([o, cmd, file] {
    if (o->file.empty()) return run_submit(*o);
    for (const CLI::Option* opt : cmd->get_options())
      if (opt != file && opt->count() > 0)
        invalid(fmt::format("--file takes no other option of submit ({} given): the file defines the jobs",
                            opt->get_name() == "command" ? "-- COMMAND" : opt->get_name()));
    submit_file(o->file);
  });
}

}  // namespace jobctl
