// jobctl wait JOB|RUN [--timeout DUR]: block until the run (for a job: its
// newest run, or its next one if it has none) ends; the exit status says how.
#include "wait.hpp"

#include <fmt/format.h>

#include "command.hpp"
#include "output.hpp"
#include "sched/model.hpp"
#include "time/duration.hpp"

namespace jobctl {

void wait_and_exit(Client& client, const job::proto::Json& request,
                   std::optional<job::time::Duration> timeout) {
  auto reply = client.call(request, timeout);
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
