// jobctl wait JOB|RUN [--timeout DUR]: block until the run (for a job: its
// newest run, or its next one if it has none) ends; the exit status says how.
#include "wait.hpp"

#include <fmt/format.h>

#include <chrono>

#include "command.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "sched/model.hpp"
#include "time/duration.hpp"

namespace jobctl {

namespace {

// "r12 of job backup (running 5s)": where the awaited run is, asked on a
// connection of its own (the waiting one is busy). Empty if jobd does not say.
std::string awaited_run(Client& side, const job::proto::Json& request) {
  constexpr auto kAsk = std::chrono::seconds{5};
  job::proto::Json run;
  if (request.contains("run")) {
    auto r = side.call({{"op", "run"}, {"run", request["run"]}}, kAsk);
    if (!r) return {};
    run = (*r)["run"];
  } else {
    auto r = side.call({{"op", "runs"}, {"job", request["job"]}, {"limit", 1}}, kAsk);
    if (!r) return {};
    if ((*r)["runs"].empty()) return fmt::format("the next run of job {}", cell(request["job"]));
    run = (*r)["runs"][0];
  }
  // A run to be retried: the wait is for its last attempt.
  for (int hops = 0; hops < 100 && run["next_attempt"].is_string(); ++hops) {
    auto r = side.call({{"op", "run"}, {"run", run["next_attempt"]}}, kAsk);
    if (!r) return {};
    run = (*r)["run"];
  }
  const std::string state = cell(run["state"]);
  std::string how = state;
  if (state == "running")
    how += " " + age(run["started_at"]);
  else if (state == "retrying")
    how += ", attempt " + cell(run["attempt"]);
  else if (state == "queued" || state == "pending")
    how += " " + age(run["created_at"]);
  return fmt::format("{} of job {} ({})", cell(run["id"]), cell(run["job_name"]), how);
}

}  // namespace

void wait_and_exit(Client& client, const job::proto::Json& request,
                   std::optional<job::time::Duration> timeout) {
  // On a terminal, a line that says what is awaited, from the first second on.
  Progress progress;
  std::optional<Client> side;
  std::function<void()> idle;
  if (progress.enabled())
    idle = [&] {
      if (!side) {
        auto c = open_client();
        if (!c) return;
        side.emplace(std::move(*c));
      }
      if (const auto what = awaited_run(*side, request); !what.empty())
        progress.show("waiting for " + what);
      else
        side.reset();  // asked again, on a new connection, next second
    };
  auto reply = client.call(request, timeout, idle);
  progress.clear();
  if (!reply && reply.error().code == job::Errc::timed_out)
    throw Failure{{job::Errc::timed_out, fmt::format("--timeout {} ran out before the run ended",
                                                     job::time::format_duration(*timeout))}};
  const auto run = must(std::move(reply))["run"];
  if (globals().json) print_json(run);
  if (run["state"] == "succeeded") throw Exit{kExitOk};
  std::string how = run["state"].get<std::string>();
  if (!run["exit_code"].is_null()) how += fmt::format(", exit {}", run["exit_code"].get<int>());
  if (!run["reason"].is_null()) how += ": " + run["reason"].get<std::string>();
  fmt::print(stderr, "jobctl: run {} of job {} {}\n", run["id"].get<std::string>(),
             run["job_name"].get<std::string>(), how);
  throw Exit{kExitFailure};
}

namespace {

struct WaitOptions {
  std::string target, timeout;
};

void run_wait(const WaitOptions& o) {
  std::optional<job::time::Duration> timeout;
  if (!o.timeout.empty()) {
    auto d = job::time::parse_duration(o.timeout);
    if (!d) throw Failure{{d.error().code, "--timeout: " + d.error().message}};
    timeout = *d;
  }
  const bool is_run = job::sched::parse_ref(o.target, 'r').has_value();
  Client client = connect();
  wait_and_exit(client, {{"op", "wait"}, {is_run ? "run" : "job", o.target}}, timeout);
}

}  // namespace

void add_wait(CLI::App& app) {
  auto o = std::make_shared<WaitOptions>();
  auto* cmd =
      app.add_subcommand("wait", "wait for a run to end; exit 0 if it succeeded, 1 if not, 6 on timeout");
  cmd->add_option("target", o->target, "a run id (r12), or a job id or name")->required();
  cmd->add_option("--timeout", o->timeout, "give up after DURATION (exit 6)");
  cmd->callback([o] { run_wait(*o); });
}

}  // namespace jobctl
