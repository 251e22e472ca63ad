// jobctl logs RUN|JOB [--stderr] [--follow]: a run's output (a job's newest run's). The files live
// under jobd's state directory on this machine; --follow prints what is
// appended as it is written (inotify), until the run ends.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <thread>

#include "output_watch.hpp"
#include "proto/base64.hpp"

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"
#include "sched/model.hpp"

namespace jobctl {
namespace {

struct LogsOptions {
  std::string run;
  bool stderr_stream = false, follow = false;
};

// Copies what the file holds past `offset` to stdout; returns the new offset.
std::streamoff copy_from(const std::string& path, std::streamoff offset) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return offset;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < offset) offset = 0;  // trimmed to its tail meanwhile: start over
  in.seekg(offset);
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    std::fwrite(buf, 1, static_cast<size_t>(in.gcount()), stdout);
    offset += in.gcount();
  }
  std::fflush(stdout);
  return offset;
}

bool ended(const job::proto::Json& state) {
  return state != "queued" && state != "running" && state != "pending" && state != "retrying";
}

void relayed_logs(Client& client, const std::string& ref, const LogsOptions& o) {
  int64_t offset = 0;
  while (true) {
    const auto reply = must(client.call(
        {{"op", "log"}, {"run", ref}, {"stream", o.stderr_stream ? "stderr" : "stdout"}, {"offset", offset}}));
    const auto data = job::proto::base64_decode(reply.value("data", std::string()));
    if (!data) throw Failure{{job::Errc::internal, "jobd sent output that is not base64"}};
    std::fwrite(data->data(), 1, data->size(), stdout);
    std::fflush(stdout);
    offset = reply.value("offset", offset);
    if (!data->empty()) continue;  // there may be more at once
    if (!o.follow || ended(reply["state"])) return;
    // Polled: the output is on another machine.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

void run_logs(const LogsOptions& o) {
  Client client = connect();
  std::string ref = o.run;
  if (!job::sched::parse_ref(ref, 'r')) {  // a job: its newest run
    const auto runs = must(client.call({{"op", "runs"}, {"job", ref}, {"limit", 1}}))["runs"];
    if (runs.empty()) throw Failure{{job::Errc::not_found, fmt::format("job \"{}\" has no runs yet", ref)}};
    ref = runs[0]["id"].get<std::string>();
  }
  auto run = must(client.call({{"op", "run"}, {"run", ref}}))["run"];
  if (run.contains("tasks") && run["tasks"].is_array()) {  // a job run: no process, no output of its own
    std::vector<std::string> children;
    for (const auto& t : run["tasks"])
      if (t.value("run", job::proto::Json(nullptr)).is_string())
        children.push_back(fmt::format("{} ({})", t["run"].get<std::string>(),
                                       cell(t.value("task", job::proto::Json(nullptr)))));
    throw Failure{{job::Errc::invalid_argument,
                   children.empty()
                       ? fmt::format("{} is a run of a task graph: none of its tasks has run yet", ref)
                       : fmt::format("{} is a run of a task graph: see its task runs {}", ref,
                                     fmt::join(children, ", "))}};
  }
  // A run on another machine (a worker's, or jobd's when talking over TCP):
  // its output comes through jobd, a chunk at a time.
  if (run.value("epoch", job::proto::Json(nullptr)).is_number() || over_tcp())
    return relayed_logs(client, ref, o);
  const std::string path = run[o.stderr_stream ? "stderr" : "stdout"].get<std::string>();
  std::streamoff offset = copy_from(path, 0);
  if (!o.follow) return;
  OutputWatch watch(path);
  using Clock = std::chrono::steady_clock;
  using Ms = std::chrono::milliseconds;
  // The run's state is asked once a second, and at once when a writer closes
  // the file, which is most often the run ending: then again soon, as jobd
  // learns of the end from SIGCHLD a moment after the file is closed.
  Ms backoff{1000};
  auto next_ask = Clock::now() + backoff;
  while (!ended(run["state"])) {
    const auto left = std::chrono::duration_cast<Ms>(next_ask - Clock::now());
    const auto woken = watch.wait(std::max(left, Ms{0}));
    offset = copy_from(path, offset);
    if (woken == OutputWatch::Woken::closed) {
      backoff = Ms{10};
      next_ask = Clock::now();
    }
    if (Clock::now() < next_ask) continue;
    run = must(client.call({{"op", "run"}, {"run", ref}}))["run"];
    next_ask = Clock::now() + backoff;
    backoff = std::min(Ms{1000}, backoff * 2);
  }
  copy_from(path, offset);  // what was written between the last look and the end
}

}  // namespace

void add_logs(CLI::App& app) {
  auto o = std::make_shared<LogsOptions>();
  auto* cmd = app.add_subcommand("logs", "print a run's output (stdout, or --stderr)");
  cmd->add_option("run", o->run, "run id (r12), or a job id or name for its newest run")->required();
  cmd->add_flag("--stderr", o->stderr_stream, "print its standard error instead");
  cmd->add_flag("--follow,-f", o->follow, "keep printing until the run ends");
  cmd->callback([o] { run_logs(*o); });
}

}  // namespace jobctl
