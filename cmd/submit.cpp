// jobctl submit: define a job (cron, one-time, recurring, or run now) and
// print its id; with --wait, also wait for its first run and exit with it.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"
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
};

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
  if (auto checked = job::proto::spec_from_json(policies); !checked) {
    std::string message = checked.error().message;  // "max_backoff: ..."
    const size_t field_end = std::min(message.find(':'), message.size());
    std::replace(message.begin(), message.begin() + static_cast<std::ptrdiff_t>(field_end), '_', '-');
    throw Failure{{checked.error().code, "--" + message}};
  }
  spec.update(policies);
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
  if (!o.shell.empty() && !o.command.empty())
    throw Failure{
        {job::Errc::invalid_argument, "give either --shell STRING or -- COMMAND [ARG...], not both"}};
  if (!o.shell.empty()) spec["shell"] = o.shell;
  if (!o.command.empty()) spec["argv"] = o.command;
  if (o.shell.empty() && o.command.empty())
    throw Failure{{job::Errc::invalid_argument, "empty command: give -- COMMAND [ARG...] or --shell STRING"}};
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
  cmd->add_option("command", o->command, "the program and its arguments, after --");
  cmd->callback([o] { run_submit(*o); });
}

}  // namespace jobctl
