// jobctl events [--follow] [--job JOB] [--since SEQ] [--last N]: what
// happened to jobs and runs, in order, one line each (--json: NDJSON), from
// jobd's bounded backlog; --follow then goes on as it happens.
#include <fmt/format.h>

#include <cstdio>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"

namespace jobctl {
namespace {

using job::proto::Json;

struct EventsOptions {
  bool follow = false;
  std::string job;
  std::optional<uint64_t> since;
  std::optional<size_t> last;
};

// "2026-11-27T13:25:02+00:00  #42  backup (j3)  r12  started: queued -> running",
// and for a run that ended, its exit status and reason.
std::string event_line(const Json& e) {
  std::string what = e["event"].get<std::string>();
  if (e["state"].is_string() && e["state"] != e["event"]) {  // started: queued -> running
    what += ": ";
    if (e["from"].is_string()) what += e["from"].get<std::string>() + " -> ";
    what += e["state"].get<std::string>();
  }
  if (e.contains("exit_code") && e["exit_code"].is_number()) what += fmt::format(", exit {}", e["exit_code"].get<int>());
  if (e.contains("reason") && e["reason"].is_string()) what += ": " + e["reason"].get<std::string>();
  std::string run = e["run"].is_string() ? e["run"].get<std::string>() : "-";
  if (e["task"].is_string()) run += " (" + e["task"].get<std::string>() + ")";
  if (e.value("attempt", 1) > 1) run += fmt::format(" attempt {}", e["attempt"].get<int>());
  return fmt::format("{}  #{}  {} ({})  {}  {}", short_time(e["time"]), cell(e["seq"]), cell(e["job_name"]),
                     cell(e["job"]), run, what);
}

}  // namespace

void add_events(CLI::App& app) {
  auto o = std::make_shared<EventsOptions>();
  auto* cmd = app.add_subcommand("events", "print what happened to jobs and runs; --follow for what happens next");
  cmd->add_flag("--follow,-f", o->follow, "keep printing events as they happen");
  cmd->add_option("--job", o->job, "only this job's events (id or name)");
  cmd->add_option("--since", o->since, "only events after this sequence number (#N)");
  cmd->add_option("--last,-n", o->last, "only the newest N events of the backlog");
  cmd->callback([o] {
    Client client = connect();
    Json request = {{"op", "events"}, {"follow", o->follow}};
    if (!o->job.empty()) request["job"] = o->job;
    if (o->since) request["since"] = *o->since;
    if (o->last) request["last"] = *o->last;
    const bool json = globals().json;
    must(client.stream(std::move(request), [json](const Json& e) {
      // One line each, flushed: a pipe reader (grep, jq) sees it at once.
      if (json)
        fmt::print("{}\n", e.dump());
      else
        fmt::print("{}\n", event_line(e));
      std::fflush(stdout);
    }));
  });
}

}  // namespace jobctl
