// jobs.toml (jobs.toml(5)): every key read into the spec `submit` sends and
// into the typed JobSpec; every error placed at its file:line:column and
// naming the job, task and key; and `jobctl export` (write_jobs) read back.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobfile/read.hpp"
#include "jobfile/write.hpp"
#include "proto/codec.hpp"
#include "sched/model.hpp"
#include "sched/scheduler.hpp"
#include "time/rfc3339.hpp"

using job::jobfile::read_jobs;
using job::proto::Json;
using job::sched::JobSpec;
using job::sched::TaskSpec;
using job::sched::TriggerRule;
using namespace std::chrono_literals;

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

job::jobfile::JobsFile read_ok(std::string_view text, const std::string& path = "x.toml") {
  auto r = read_jobs(text, path);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  return std::move(r).value();
}

// The error of a broken file, or a note that there was none.
std::string error_of(std::string_view text) {
  auto r = read_jobs(text, "x.toml");
  if (r) return "(read without error)";
  CHECK(r.error().code == job::Errc::invalid_argument);
  return r.error().message;
}

JobSpec typed(const Json& spec) {
  auto s = job::proto::spec_from_json(spec);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? std::string() : s.error().message) << " in " << spec.dump());
  return std::move(s).value();
}

const job::jobfile::FileJob& job_named(const job::jobfile::JobsFile& file, const std::string& name) {
  const auto it =
      std::find_if(file.jobs.begin(), file.jobs.end(), [&](const auto& j) { return j.name == name; });
  REQUIRE_MESSAGE(it != file.jobs.end(), "no job " << name);
  return *it;
}

job::time::Instant instant(std::string_view rfc3339) {
  auto t = job::time::parse_rfc3339(rfc3339);
  REQUIRE(t.ok());
  return *t;
}

struct Broken {
  const char* text;
  const char* error;
};

void check_errors(std::initializer_list<Broken> cases) {
  for (const Broken& c : cases) {
    INFO(c.text);
    CHECK(error_of(c.text) == std::string(c.error));
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// 1. Every key, read
// ---------------------------------------------------------------------------

TEST_CASE("every job key reaches the spec and the typed JobSpec") {
  const auto file = read_ok(R"(# a comment
[job.backup]
schedule = "30 2 * * *"
tz = "Europe/Paris"
command = "tar czf /backup/home.tgz /home"
env = { PATH = "/usr/bin:/bin", LANG = "C" }
cwd = "/var/backups"
priority = 10
timeout = "2h"
retries = 5
backoff = "30s"
max_backoff = "1h"
jitter = 0.25
concurrency = "allow"
catchup = "all"
starting_deadline = "5m"
keep_runs = 7
paused = true
)");
  REQUIRE(file.path == "x.toml");
  REQUIRE(file.jobs.size() == 1);
  const auto& job = file.jobs[0];
  CHECK(job.name == "backup");
  CHECK(job.where == R"(x.toml:2:1: job "backup")");

  const Json& j = job.spec;
  CHECK(j["name"] == "backup");
  CHECK(j["cron"] == "30 2 * * *");
  CHECK_FALSE(j.contains("schedule"));
  CHECK(j["tz"] == "Europe/Paris");
  CHECK(j["shell"] == "tar czf /backup/home.tgz /home");
  CHECK_FALSE(j.contains("argv"));
  CHECK_FALSE(j.contains("command"));
  CHECK(j["env"] == Json({{"LANG", "C"}, {"PATH", "/usr/bin:/bin"}}));  // by name: toml++ sorts keys
  CHECK(j["cwd"] == "/var/backups");
  CHECK(j["priority"] == 10);
  CHECK(j["timeout"] == "2h");
  CHECK(j["retries"] == 5);
  CHECK(j["backoff"] == "30s");
  CHECK(j["max_backoff"] == "1h");
  CHECK(j["jitter"] == 0.25);
  CHECK(j["concurrency"] == "allow");
  CHECK(j["catchup"] == "all");
  CHECK(j["starting_deadline"] == "5m");
  CHECK(j["keep_runs"] == 7);
  CHECK(j["paused"] == true);
  CHECK_FALSE(j.contains("tasks"));

  const JobSpec s = typed(j);
  CHECK(s.name == "backup");
  CHECK(s.trigger == JobSpec::Trigger::cron);
  CHECK(s.cron == "30 2 * * *");
  CHECK(s.tz == "Europe/Paris");
  CHECK(s.shell == "tar czf /backup/home.tgz /home");
  CHECK(s.argv.empty());
  CHECK(s.env == Env{{"LANG", "C"}, {"PATH", "/usr/bin:/bin"}});
  CHECK(s.cwd == "/var/backups");
  CHECK(s.priority == 10);
  CHECK(s.timeout == 2h);
  CHECK(s.retries == 5);
  CHECK(s.backoff == 30s);
  CHECK(s.max_backoff == 1h);
  CHECK(s.jitter == 0.25);
  CHECK(s.concurrency == JobSpec::Concurrency::allow);
  CHECK(s.catchup == JobSpec::Catchup::all);
  CHECK(s.starting_deadline == 5min);
  CHECK(s.keep_runs == 7);
  CHECK(s.paused);
  CHECK(s.tasks.empty());
}

TEST_CASE("at, every and no schedule; argv commands; unset keys keep the built-in defaults") {
  const auto file = read_ok(R"([job.toml-at]
at = 2026-12-01T09:00:00Z
command = ["/usr/bin/report", "--all", "two words"]

[job.toml-at-offset]
at = 2026-12-01 10:00:00.25+01:00
command = ["report"]

[job.string-at]
at = "2026-12-01T10:00:00.5+01:00"
command = "report"

[job.poll]
every = "1h30m"
command = "poll"
concurrency = "replace"
catchup = "none"

[job.now]
command = 'echo "literal \n"'
priority = -3
timeout = "0s"
)");
  REQUIRE(file.jobs.size() == 5);
  // The order of the file, not toml++'s (sorted) order.
  CHECK(file.jobs[0].name == "toml-at");
  CHECK(file.jobs[1].name == "toml-at-offset");
  CHECK(file.jobs[2].name == "string-at");
  CHECK(file.jobs[3].name == "poll");
  CHECK(file.jobs[4].name == "now");
  CHECK(file.jobs[3].where == R"(x.toml:13:1: job "poll")");

  const Json& at = file.jobs[0].spec;
  CHECK(at["at"] == "2026-12-01T09:00:00Z");
  CHECK(at["argv"] == Json({"/usr/bin/report", "--all", "two words"}));
  CHECK_FALSE(at.contains("shell"));
  CHECK_FALSE(at.contains("retries"));  // nothing but what the file says
  const JobSpec a = typed(at);
  CHECK(a.trigger == JobSpec::Trigger::at);
  CHECK(a.at == instant("2026-12-01T09:00:00Z"));
  CHECK(a.argv == std::vector<std::string>{"/usr/bin/report", "--all", "two words"});
  CHECK(a.shell.empty());
  CHECK(a.tz.empty());
  // The built-in defaults, untouched.
  CHECK(a.priority == 0);
  CHECK(a.timeout == 0s);
  CHECK(a.retries == 3);
  CHECK(a.backoff == 10s);
  CHECK(a.max_backoff == 10min);
  CHECK(a.jitter == 0.1);
  CHECK(a.concurrency == JobSpec::Concurrency::forbid);
  CHECK(a.catchup == JobSpec::Catchup::last);
  CHECK(a.starting_deadline == 0s);
  CHECK(a.keep_runs == 100);
  CHECK_FALSE(a.paused);

  const JobSpec offset = typed(file.jobs[1].spec);
  CHECK(offset.trigger == JobSpec::Trigger::at);
  CHECK(offset.at == instant("2026-12-01T09:00:00.25Z"));

  const Json& string_at = file.jobs[2].spec;
  CHECK(string_at["at"] == "2026-12-01T10:00:00.5+01:00");
  CHECK(string_at["shell"] == "report");
  const JobSpec sa = typed(string_at);
  CHECK(sa.trigger == JobSpec::Trigger::at);
  CHECK(sa.at == instant("2026-12-01T09:00:00.5Z"));

  const Json& poll = file.jobs[3].spec;
  CHECK(poll["every"] == "1h30m");
  const JobSpec p = typed(poll);
  CHECK(p.trigger == JobSpec::Trigger::every);
  CHECK(p.every == 90min);
  CHECK(p.concurrency == JobSpec::Concurrency::replace);
  CHECK(p.catchup == JobSpec::Catchup::none);

  const JobSpec now = typed(file.jobs[4].spec);
  CHECK(now.trigger == JobSpec::Trigger::now);
  CHECK(now.shell == R"(echo "literal \n")");
  CHECK(now.priority == -3);
  CHECK(now.timeout == 0s);
}

TEST_CASE("tasks: every task key, in the order of the file") {
  const auto file = read_ok(R"([job.etl]
schedule = "0 3 * * *"
retries = 1
env = { A = "1" }

[job.etl.tasks.extract]
command = ["/usr/local/bin/extract", "--since", "yesterday"]

[job.etl.tasks.transform]
command = "transform < raw > clean"
after = ["extract"]
trigger = "all_done"
priority = -5
timeout = "1h"
retries = 0
backoff = "1s"
max_backoff = "2m"
jitter = 0.5
env = { B = "2", A = "task" }
cwd = "/var/etl"

[job.etl.tasks.audit]
command = "audit"
after = ["extract", "transform"]
trigger = "one_failed"
)");
  REQUIRE(file.jobs.size() == 1);
  const Json& j = file.jobs[0].spec;
  CHECK_FALSE(j.contains("shell"));
  CHECK_FALSE(j.contains("argv"));
  REQUIRE(j["tasks"].size() == 3);
  const Json& extract = j["tasks"][0];
  const Json& transform = j["tasks"][1];
  const Json& audit = j["tasks"][2];
  CHECK(extract["name"] == "extract");
  CHECK(extract["argv"] == Json({"/usr/local/bin/extract", "--since", "yesterday"}));
  CHECK_FALSE(extract.contains("retries"));  // a task's unset keys are the job's, at run time
  CHECK(transform["name"] == "transform");
  CHECK(transform["shell"] == "transform < raw > clean");
  CHECK(transform["after"] == Json({"extract"}));
  CHECK(transform["trigger"] == "all_done");
  CHECK(transform["priority"] == -5);
  CHECK(transform["timeout"] == "1h");
  CHECK(transform["retries"] == 0);
  CHECK(transform["backoff"] == "1s");
  CHECK(transform["max_backoff"] == "2m");
  CHECK(transform["jitter"] == 0.5);
  CHECK(transform["env"] == Json({{"A", "task"}, {"B", "2"}}));
  CHECK(transform["cwd"] == "/var/etl");
  CHECK(audit["name"] == "audit");
  CHECK(audit["after"] == Json({"extract", "transform"}));

  const JobSpec s = typed(j);
  CHECK(s.trigger == JobSpec::Trigger::cron);
  CHECK(s.retries == 1);
  CHECK(s.env == Env{{"A", "1"}});
  REQUIRE(s.tasks.size() == 3);
  const TaskSpec& e = s.tasks[0];
  CHECK(e.name == "extract");
  CHECK(e.argv == std::vector<std::string>{"/usr/local/bin/extract", "--since", "yesterday"});
  CHECK(e.after.empty());
  CHECK(e.trigger == TriggerRule::all_success);
  CHECK_FALSE(e.priority);
  CHECK_FALSE(e.timeout);
  CHECK_FALSE(e.retries);
  CHECK_FALSE(e.backoff);
  CHECK_FALSE(e.max_backoff);
  CHECK_FALSE(e.jitter);
  CHECK(e.env.empty());
  CHECK(e.cwd.empty());
  const TaskSpec& t = s.tasks[1];
  CHECK(t.name == "transform");
  CHECK(t.shell == "transform < raw > clean");
  CHECK(t.after == std::vector<std::string>{"extract"});
  CHECK(t.trigger == TriggerRule::all_done);
  CHECK(t.priority == -5);
  CHECK(t.timeout == 1h);
  CHECK(t.retries == 0);
  CHECK(t.backoff == 1s);
  CHECK(t.max_backoff == 2min);
  CHECK(t.jitter == 0.5);
  CHECK(t.env == Env{{"A", "task"}, {"B", "2"}});  // its own only: merged with the job's when it runs
  CHECK(t.cwd == "/var/etl");
  CHECK(s.tasks[2].trigger == TriggerRule::one_failed);
  CHECK(s.tasks[2].after == std::vector<std::string>{"extract", "transform"});
}

TEST_CASE("[defaults]: the job's own value wins, env merges per variable, tz reaches cron jobs only") {
  // [defaults] applies to the whole file, wherever it is written.
  const auto file = read_ok(R"([job.first]
schedule = "@daily"
command = "x"
retries = 7
env = { LANG = "fr_FR.UTF-8", EXTRA = "1" }

[defaults]
tz = "Europe/Paris"
env = { PATH = "/usr/bin", LANG = "C" }
cwd = "/srv"
priority = 5
timeout = "1h"
retries = 2
backoff = "20s"
max_backoff = "20m"
jitter = 0.2
concurrency = "allow"
catchup = "all"
starting_deadline = "10m"
keep_runs = 50
paused = true

[job.tick]
every = "1m"
command = "x"
paused = false

[job.utc]
schedule = "@hourly"
tz = "UTC"
command = "x"
cwd = "/tmp"
timeout = "0s"

[job.graph]
at = 2026-12-01T09:00:00Z
[job.graph.tasks.only]
command = "x"
)");
  REQUIRE(file.jobs.size() == 4);

  const JobSpec first = typed(job_named(file, "first").spec);
  CHECK(first.tz == "Europe/Paris");
  CHECK(first.env == Env{{"EXTRA", "1"}, {"LANG", "fr_FR.UTF-8"}, {"PATH", "/usr/bin"}});
  CHECK(first.cwd == "/srv");
  CHECK(first.priority == 5);
  CHECK(first.timeout == 1h);
  CHECK(first.retries == 7);
  CHECK(first.backoff == 20s);
  CHECK(first.max_backoff == 20min);
  CHECK(first.jitter == 0.2);
  CHECK(first.concurrency == JobSpec::Concurrency::allow);
  CHECK(first.catchup == JobSpec::Catchup::all);
  CHECK(first.starting_deadline == 10min);
  CHECK(first.keep_runs == 50);
  CHECK(first.paused);
  // The JSON spec carries the merged values, as `submit` would send them.
  CHECK(job_named(file, "first").spec["retries"] == 7);
  CHECK(job_named(file, "first").spec["timeout"] == "1h");

  const Json& tick_json = job_named(file, "tick").spec;
  CHECK_FALSE(tick_json.contains("tz"));  // an every job has no wall clock
  const JobSpec tick = typed(tick_json);
  CHECK(tick.tz.empty());
  CHECK_FALSE(tick.paused);  // its own false wins over the default true
  CHECK(tick.retries == 2);
  CHECK(tick.env == Env{{"LANG", "C"}, {"PATH", "/usr/bin"}});
  CHECK(tick.keep_runs == 50);

  const JobSpec utc = typed(job_named(file, "utc").spec);
  CHECK(utc.tz == "UTC");
  CHECK(utc.cwd == "/tmp");
  CHECK(utc.timeout == 0s);  // "0s", no timeout, wins over the default "1h"
  CHECK(utc.paused);

  const Json& graph_json = job_named(file, "graph").spec;
  CHECK_FALSE(graph_json.contains("tz"));
  const JobSpec graph = typed(graph_json);
  CHECK(graph.retries == 2);
  CHECK(graph.paused);
  REQUIRE(graph.tasks.size() == 1);
  CHECK_FALSE(graph.tasks[0].retries);  // tasks inherit from their job when they run
  CHECK(graph.tasks[0].env.empty());
}

TEST_CASE("merge_defaults and defaults_from_keys, as jobd.toml's [defaults] uses them") {
  auto defaults = job::jobfile::defaults_from_keys(
      Json{{"tz", "UTC"}, {"retries", 1}, {"env", {{"A", "1"}, {"B", "1"}}}, {"paused", true}});
  REQUIRE(defaults.ok());
  Json cron = {{"name", "c"}, {"cron", "@daily"}, {"shell", "x"}, {"env", {{"B", "2"}}}, {"retries", 4}};
  job::jobfile::merge_defaults(cron, *defaults);
  CHECK(cron["tz"] == "UTC");
  CHECK(cron["retries"] == 4);
  CHECK(cron["env"] == Json({{"B", "2"}, {"A", "1"}}));
  CHECK(cron["paused"] == true);
  Json every = {{"name", "e"}, {"every", "1m"}, {"shell", "x"}};
  job::jobfile::merge_defaults(every, *defaults);
  CHECK_FALSE(every.contains("tz"));
  CHECK(every["env"] == Json({{"A", "1"}, {"B", "1"}}));

  auto bad = job::jobfile::defaults_from_keys(Json{{"timeout", "2 hours"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == R"(defaults: timeout: "2 hours" is not a duration (try "2h"))");
  auto unknown = job::jobfile::defaults_from_keys(Json{{"retires", 1}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message == R"(defaults: unknown key "retires" (did you mean "retries"?))");
}

// ---------------------------------------------------------------------------
// 4. Files without jobs
// ---------------------------------------------------------------------------

TEST_CASE("an empty file, a file of comments and a file with only [defaults] declare no job") {
  CHECK(read_ok("").jobs.empty());
  CHECK(read_ok("\n\n   \n").jobs.empty());
  CHECK(read_ok("# nothing yet\n\n# [job.x]\n").jobs.empty());
  CHECK(read_ok("[defaults]\n").jobs.empty());
  CHECK(read_ok("[defaults]\ntz = \"Europe/Paris\"\nretries = 2\nenv = { A = \"1\" }\n").jobs.empty());
  const auto file = read_ok("", "/etc/jobd/jobs.d/empty.toml");
  CHECK(file.path == "/etc/jobd/jobs.d/empty.toml");
}

TEST_CASE("read_jobs_file names the file it cannot read") {
  auto r = job::jobfile::read_jobs_file("/nonexistent/dir/jobs.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == job::Errc::invalid_argument);
  CHECK(r.error().message == "cannot read /nonexistent/dir/jobs.toml: No such file or directory");
}

// ---------------------------------------------------------------------------
// 2. Broken files: each error names file:line:column, the job, task and key
// ---------------------------------------------------------------------------

TEST_CASE("broken files: TOML syntax") {
  check_errors({
      {R"([job.a]
command = "x"
command = "y"
)",
       "x.toml:3:11: Error while parsing key-value pair: cannot redefine existing string 'command'"},
      {R"([job.a
command = "x"
)",
       R"(x.toml:1:7: Error while parsing table header: expected ']', saw '\n')"},
      {R"([job.a]
command = "x"
[job.a]
command = "y"
)",
       "x.toml:3:1: Error while parsing table header: cannot redefine existing table 'job.a'"},
      // toml++ 3.3 fails its own check on these two bytes (found by
      // tests/fuzz/jobfile_fuzz): an error like any other, not abort().
      {"[;", "x.toml: not valid TOML (the TOML parser failed a check: is_bare_key_character(*cp) || "
             "is_string_delimiter(*cp))"},
      // U+FEF7 where a key may start: toml++ 3.3's Unicode tables had
      // undefined behaviour on it (UBSan in the sanitized build says so).
      {"\xEF\xBB\xB7", "x.toml:1:1: Error while parsing root table: expected keys, tables, whitespace or comments, "
                        "saw '\xEF\xBB\xB7'"},
  });
}

TEST_CASE("broken files: the top level holds [defaults] and [job.NAME] only") {
  check_errors({
      {R"(name = "x"
[job.a]
command = "x"
)",
       R"(x.toml:1:1: unknown table or key "name" (expected [defaults] and [job.NAME] tables))"},
      {R"([jobs.a]
command = "x"
)",
       R"(x.toml:1:2: unknown table or key "jobs" (expected [defaults] and [job.NAME] tables; did you mean "job"?))"},
      {R"([Job.a]
command = "x"
)",
       R"(x.toml:1:2: unknown table or key "Job" (expected [defaults] and [job.NAME] tables; did you mean "job"?))"},
      {R"([default]
retries = 1
)",
       R"(x.toml:1:2: unknown table or key "default" (expected [defaults] and [job.NAME] tables; did you mean "defaults"?))"},
      {"defaults = 1\n", "x.toml:1:12: defaults: expected a table ([defaults])"},
      {"job = 1\n", "x.toml:1:7: job: expected [job.NAME] tables"},
      {"job.x = 1\n", R"(x.toml:1:9: job "x": expected a table ([job.x]))"},
  });
}

TEST_CASE("broken files: unknown keys, with a did-you-mean, placed at the key") {
  check_errors({
      {R"([job.a]
schedule = "@daily"
comand = "x"
)",
       R"(x.toml:3:1: job "a": unknown key "comand" (did you mean "command"?))"},
      {R"([job.a]
schedul = "@daily"
command = "x"
)",
       R"(x.toml:2:1: job "a": unknown key "schedul" (did you mean "schedule"?))"},
      {R"([job.a]
command = "x"
timout = "1h"
)",
       R"(x.toml:3:1: job "a": unknown key "timout" (did you mean "timeout"?))"},
      {R"([job.a]
command = "x"
name = "b"
)",
       R"(x.toml:3:1: job "a": unknown key "name" (a job or task is named by its table: [job.NAME]))"},
      {R"([job.a.tasks.t]
comand = "x"
)",
       R"(x.toml:2:1: job "a": task "t": unknown key "comand" (did you mean "command"?))"},
      {R"([defaults]
retires = 2
)",
       R"(x.toml:2:1: defaults: unknown key "retires" (did you mean "retries"?))"},
      {R"([defaults]
after = ["x"]
)",
       R"(x.toml:2:1: defaults: unknown key "after")"},
  });
}

TEST_CASE("broken files: keys a job alone may have, in [defaults]") {
  check_errors({
      {R"([defaults]
command = "x"
)",
       R"(x.toml:2:1: defaults: "command" cannot have a default: give it in each job)"},
      {R"([defaults]
schedule = "@daily"
)",
       R"(x.toml:2:1: defaults: "schedule" cannot have a default: give it in each job)"},
      {R"([defaults]
every = "1h"
)",
       R"(x.toml:2:1: defaults: "every" cannot have a default: give it in each job)"},
  });
}

TEST_CASE("broken files: values of the wrong type, placed at the value") {
  check_errors({
      {R"([job.a]
command = "x"
priority = "high"
)",
       R"(x.toml:3:12: job "a": priority: expected an integer)"},
      {R"([job.a]
command = "x"
priority = 1.0
)",
       R"(x.toml:3:12: job "a": priority: expected an integer)"},
      {R"([job.a]
command = "x"
retries = 1.5
)",
       R"(x.toml:3:11: job "a": retries: expected an integer)"},
      {R"([job.a]
command = "x"
jitter = "x"
)",
       R"(x.toml:3:10: job "a": jitter: expected a number)"},
      {R"([job.a]
schedule = "@daily"
command = "x"
paused = "yes"
)",
       R"(x.toml:4:10: job "a": paused: expected true or false)"},
      {R"([job.a]
command = "x"
cwd = 5
)",
       R"(x.toml:3:7: job "a": cwd: expected a string)"},
      {R"([job.a]
command = "x"
schedule = 5
)",
       R"(x.toml:3:12: job "a": schedule: expected a string)"},
      {R"([job.a]
command = "x"
schedule = "@daily"
tz = 5
)",
       R"(x.toml:4:6: job "a": tz: expected a string)"},
      {R"([job.a]
command = "x"
keep_runs = 9999999999
)",
       R"(x.toml:3:13: job "a": keep_runs: 9999999999 is out of range)"},
      {R"([job.a.tasks.t]
command = "x"
jitter = true
)",
       R"(x.toml:3:10: job "a": task "t": jitter: expected a number)"},
      {R"([job.a.tasks.t]
command = "x"
after = "t0"
)",
       R"(x.toml:3:9: job "a": task "t": after: expected an array of strings)"},
      {R"([defaults]
paused = "yes"
)",
       R"(x.toml:2:10: defaults: paused: expected true or false)"},
  });
}

TEST_CASE("broken files: commands") {
  check_errors({
      {R"([job.a]
command = 5
)",
       R"(x.toml:2:11: job "a": command: expected a string (run by /bin/sh -c) or an array of strings)"},
      {R"([job.a]
command = []
)",
       R"(x.toml:2:11: job "a": command: empty)"},
      {R"([job.a]
command = ""
)",
       R"(x.toml:2:11: job "a": command: empty)"},
      {R"([job.a]
command = ["ls", 1]
)",
       R"(x.toml:2:11: job "a": command: expected an array of strings)"},
      {R"([job.a]
command = "x"
[job.a.tasks.t]
command = "y"
)",
       R"(x.toml:2:11: job "a": give either command or tasks, not both)"},
      {R"([job.a]
schedule = "@daily"
)",
       R"(x.toml:1:1: job "a": no command: give command, or [job.a.tasks.TASK] tables)"},
      {R"([job.a]
tasks = 5
)",
       R"(x.toml:2:9: job "a": tasks: expected [job.a.tasks.TASK] tables)"},
      {R"([job.a]
command = "x"
tasks = {}
)",
       R"(x.toml:3:9: job "a": a job needs at least one task)"},
  });
}

TEST_CASE("broken files: durations") {
  check_errors({
      {R"([job.backup]
command = "x"
timeout = "2 hours"
)",
       R"(x.toml:3:11: job "backup": timeout: "2 hours" is not a duration (try "2h"))"},
      {R"([job.a]
command = 'x'
timeout = ""
)",
       R"(x.toml:3:11: job "a": timeout: empty duration (e.g. "90s", "1h30m"))"},
      {R"([job.a]
command = "x"
timeout = "-1s"
)",
       R"(x.toml:3:11: job "a": timeout: "-1s" is not a duration (write a number and a unit: us, ms, s, m, h, d, w; e.g. "90s", "1h30m"))"},
      {R"([job.a.tasks.t]
command = "x"
timeout = "1.5h"
)",
       R"(x.toml:3:11: job "a": task "t": timeout: "1.5h" is not a duration (try "1h30m"))"},
  });
}

TEST_CASE("broken files: schedules, times and zones") {
  check_errors({
      {R"([job.a]
command = "x"
schedule = "61 * * * *"
)",
       R"(x.toml:3:12: job "a": schedule: invalid cron expression "61 * * * *": minute: 61 is out of range 0-59)"},
      {R"([job.a]
command = "x"
schedule = "0 0 30 2 *"
)",
       R"(x.toml:3:12: job "a": schedule: invalid cron expression "0 0 30 2 *": never fires (no allowed month has a day that matches))"},
      {R"([job.a]
command = "x"
schedule = "@daily"
tz = "Mars/Olympus"
)",
       R"(x.toml:4:6: job "a": tz: unknown time zone "Mars/Olympus" (expected an IANA name such as "Europe/Paris" or "UTC"; see /usr/share/zoneinfo))"},
      {R"([job.a]
command = "x"
every = "1h"
tz = "UTC"
)",
       R"(x.toml:4:6: job "a": tz: applies to cron schedules only (a schedule = "..." job))"},
      {R"([job.a]
command = "x"
schedule = "@daily"
every = "1h"
)",
       R"(x.toml:4:9: job "a": give at most one of schedule, at and every)"},
      {R"([job.a]
at = "2026-12-01T09:00:00Z"
command = "x"
schedule = "@daily"
)",
       R"(x.toml:4:12: job "a": give at most one of schedule, at and every)"},
      {R"([job.a]
command = "x"
at = 2026-12-01T09:00:00
)",
       R"(x.toml:3:6: job "a": at: invalid time "2026-12-01T09:00:00": the offset (Z or ±HH:MM) is missing (expected RFC 3339, e.g. 2026-03-08T01:30:00Z or 2026-03-08T01:30:00-05:00))"},
      {R"([job.a]
command = "x"
at = "2026-12-01T09:00:00"
)",
       R"(x.toml:3:6: job "a": at: invalid time "2026-12-01T09:00:00": the offset (Z or ±HH:MM) is missing (expected RFC 3339, e.g. 2026-03-08T01:30:00Z or 2026-03-08T01:30:00-05:00))"},
      {R"([job.a]
command = "x"
at = 2026-12-01
)",
       R"(x.toml:3:6: job "a": at: invalid time "2026-12-01": a time of day and an offset are missing (expected RFC 3339, e.g. 2026-03-08T01:30:00Z or 2026-03-08T01:30:00-05:00))"},
      {R"([job.a]
command = "x"
at = "tomorrow"
)",
       R"(x.toml:3:6: job "a": at: invalid time "tomorrow": the date must be YYYY-MM-DD (expected RFC 3339, e.g. 2026-03-08T01:30:00Z or 2026-03-08T01:30:00-05:00))"},
      {R"([job.a]
command = "x"
paused = true
)",
       R"(x.toml:3:10: job "a": paused: a job without a schedule runs once, when applied; give it a schedule, at or every)"},
  });
}

TEST_CASE("broken files: names of policies and trigger rules") {
  check_errors({
      {R"([job.a]
command = "x"
concurrency = "sometimes"
)",
       R"(x.toml:3:15: job "a": concurrency: "sometimes" is not one of allow, forbid, replace)"},
      {R"([job.a]
command = "x"
catchup = "first"
)",
       R"(x.toml:3:11: job "a": catchup: "first" is not one of none, last, all)"},
      {R"([job.a.tasks.t]
command = "x"
trigger = "always"
)",
       R"(x.toml:3:11: job "a": task "t": trigger: "always" is not one of all_success, all_done, one_success, one_failed, all_failed)"},
  });
}

TEST_CASE("broken files: task graphs") {
  check_errors({
      {R"([job.a.tasks.t]
timeout = "1h"
)",
       R"(x.toml:1:1: job "a": task "t": no command)"},
      {R"([job.a]
tasks.t = 1
)",
       R"(x.toml:2:11: job "a": task "t": expected a table ([job.a.tasks.t]))"},
      {R"([job.a.tasks.extract]
command = "x"
[job.a.tasks.load]
command = "y"
after = ["extract", "extrct"]
)",
       R"(x.toml:5:21: job "a": task "load": after: no task "extrct")"},
      {R"([job.a.tasks.t]
command = "x"
after = ["t"]
)",
       R"(x.toml:3:10: job "a": task "t": after: a task cannot run after itself)"},
      {R"([job.a.tasks.t1]
command = "x"
after = ["t2"]
[job.a.tasks.t2]
command = "y"
after = ["t1"]
)",
       R"(x.toml:1:1: job "a": cycle: t1 -> t2 -> t1)"},
      {R"([job.a]
schedule = "@daily"
[job.a.tasks.t1]
command = "x"
after = ["t2"]
[job.a.tasks.t2]
command = "y"
after = ["t1"]
)",
       R"(x.toml:3:1: job "a": cycle: t1 -> t2 -> t1)"},
  });
}

TEST_CASE("broken files: job names") {
  check_errors({
      {R"([job."-x"]
command = "x"
)",
       R"(x.toml:1:6: job "-x": use letters, digits, '.', '_' and '-' in job names (at most 128, not starting with '-' or '.'))"},
      {R"([job.".x"]
command = "x"
)",
       R"(x.toml:1:6: job ".x": use letters, digits, '.', '_' and '-' in job names (at most 128, not starting with '-' or '.'))"},
      {R"([job."a b"]
command = "x"
)",
       R"(x.toml:1:6: job "a b": use letters, digits, '.', '_' and '-' in job names (at most 128, not starting with '-' or '.'))"},
  });
  const std::string long_name(129, 'a');
  CHECK(error_of("[job." + long_name + "]\ncommand = \"x\"\n") ==
        "x.toml:1:6: job \"" + long_name +
            "\": use letters, digits, '.', '_' and '-' in job names (at most 128, not starting with '-' or "
            "'.')");
  CHECK(read_ok("[job." + std::string(128, 'a') + "]\ncommand = \"x\"\n").jobs.size() == 1);
}

TEST_CASE("broken files: a bad [defaults] value is placed in [defaults]") {
  check_errors({
      {R"([defaults]
timeout = "2 hours"
[job.a]
command = "x"
)",
       R"(x.toml:2:11: defaults: timeout: "2 hours" is not a duration (try "2h"))"},
      {R"([defaults]
concurrency = "never"
)",
       R"(x.toml:2:15: defaults: concurrency: "never" is not one of allow, forbid, replace)"},
  });
}

// ---------------------------------------------------------------------------
// Messages and positions that once were wrong or unclear, as the reader says
// them now. The comments say what it used to say.
// ---------------------------------------------------------------------------

// Today: `x.toml:2:16: Error while parsing string: unescaped control characters
// other than TAB (U+0009) are explicitly prohibited` (and `...: encountered
// end-of-file` at the end of the file): toml++'s words, which do not say the
// string is unterminated; placed after its last character rather than at its
// opening quote (2:16 would do, with the words fixed).
TEST_CASE("an unterminated string says so, at its opening quote") {
  check_errors({
      {R"([job.a]
command = "echo
)",
       R"(x.toml:2:11: unterminated string (a "..." string ends on its line; """...""" spans lines))"},
      {R"([job.a]
command = "echo)",
       R"(x.toml:2:11: unterminated string (a "..." string ends on its line; """...""" spans lines))"},
  });
}

// Today: `unknown key "schedule"` and `unknown key "after"`, although both are
// keys of jobs.toml: a key of the job written after a [job.a.tasks.t] header
// (so that TOML puts it in the task) is an easy mistake to make and to miss.
TEST_CASE("a job's key in a task, and a task's key in a job, say where they belong") {
  check_errors({
      {R"([job.a.tasks.t]
command = "x"
schedule = "@daily"
)",
       R"(x.toml:3:1: job "a": task "t": "schedule" is a key of the job, not of a task (write it in [job.a], before its tasks))"},
      {R"([job.a]
command = "x"
after = ["b"]
)",
       R"(x.toml:3:1: job "a": "after" is a key of tasks, not of a job (write it in [job.a.tasks.TASK]))"},
  });
}

// Today: `env: expected an object of strings` (JSON's word, not TOML's), and
// an env value of the wrong type is placed at the start of the env table
// (x.toml:3:7, or the start of the line 3:1 for a dotted `env.A = 1`)
// instead of at the value.
TEST_CASE("env errors speak TOML and are placed at the variable's value") {
  check_errors({
      {R"([job.a]
command = "x"
env = "x"
)",
       R"(x.toml:3:7: job "a": env: expected a table of strings, such as { PATH = "/usr/bin:/bin" })"},
      {R"([job.a]
command = "x"
env = { A = "1", B = 2 }
)",
       R"(x.toml:3:22: job "a": env: B: expected a string)"},
      {R"([job.a]
command = "x"
env.A = 1
)",
       R"(x.toml:3:9: job "a": env: A: expected a string)"},
      {R"([job.a.tasks.t]
command = "x"
env = { A = 1 }
)",
       R"(x.toml:3:13: job "a": task "t": env: A: expected a string)"},
      {R"([defaults]
env = { A = 1 }
)",
       R"(x.toml:2:13: defaults: env: A: expected a string)"},
  });
}

// Today: `timeout: expected a string`. jobs.toml(5) names this very mistake
// ("timeout = 60 is an error, write timeout = \"60s\""): the message should too.
TEST_CASE("a number given as a duration suggests the string") {
  check_errors({
      {R"([job.a]
command = "x"
timeout = 60
)",
       R"(x.toml:3:11: job "a": timeout: 60 is not a duration (try "60s"))"},
      {R"([job.a]
command = "x"
every = 60
)",
       R"(x.toml:3:9: job "a": every: 60 is not a duration (try "60s"))"},
  });
}

// Today: an unknown zone in [defaults] is reported as the first cron job's
// (`x.toml:2:6: job "a": tz: unknown time zone ...`, without "(from
// [defaults])"), and not at all when the file has no cron job (or no job).
TEST_CASE("an unknown zone in [defaults] is an error of [defaults]") {
  const char* zone_error =
      R"(x.toml:2:6: defaults: tz: unknown time zone "Mars/Olympus" (expected an IANA name such as "Europe/Paris" or "UTC"; see /usr/share/zoneinfo))";
  check_errors({
      {R"([defaults]
tz = "Mars/Olympus"
[job.a]
command = "x"
schedule = "@daily"
)",
       zone_error},
      {R"([defaults]
tz = "Mars/Olympus"
[job.a]
command = "x"
every = "1h"
)",
       zone_error},
      {R"([defaults]
tz = "Mars/Olympus"
)",
       zone_error},
  });
}

// [defaults] paused = true pauses the scheduled jobs of the file; a job
// without a schedule runs once, when applied, and is not given it (as tz
// reaches only cron jobs). Its own `paused = true` is an error.
TEST_CASE("paused = true in [defaults] reaches scheduled jobs only") {
  auto file = read_jobs(R"([defaults]
paused = true
[job.a]
command = "x"
[job.b]
every = "1h"
command = "x"
)",
                        "x.toml");
  REQUIRE(file);
  CHECK_FALSE(file->jobs[0].spec.contains("paused"));
  CHECK(file->jobs[1].spec["paused"] == true);
  check_errors({
      {"[job.a]\ncommand = \"x\"\npaused = true\n",
       R"(x.toml:3:10: job "a": paused: a job without a schedule runs once, when applied; give it a schedule, at or every)"},
  });
}

// Today: placed at the first task's header (1:1, or 3:1 below), not at the
// name, unlike a bad job name; and without "in task names".
TEST_CASE("a bad task name is placed at the name") {
  check_errors({
      {R"([job.a.tasks."-t"]
command = "x"
)",
       R"(x.toml:1:14: job "a": task "-t": use letters, digits, '.', '_' and '-' in task names (at most 128, not starting with '-' or '.'))"},
      {R"([job.a]
schedule = "@daily"
[job.a.tasks."-t"]
command = "x"
)",
       R"(x.toml:3:14: job "a": task "-t": use letters, digits, '.', '_' and '-' in task names (at most 128, not starting with '-' or '.'))"},
  });
}

// Today: read without error; jobd refuses them (see "range errors pass the
// reader and are refused by jobd"), placed at the job's table by
// FileJob::where. A proposal rather than a bug (jobs.toml(5) documents that
// jobd judges these): the reader already judges cron expressions and zones
// at their values, and could judge these the same way (the scheduler's
// check_policy/check_env_cwd, exposed). Delete that other case when
// un-skipping this one.
TEST_CASE("range errors at the value") {
  check_errors({
      {"[job.a]\ncommand = \"x\"\nretries = 5000\n",
       R"(x.toml:3:11: job "a": retries: 5000 is not between 0 and 1000)"},
      {"[job.a]\ncommand = \"x\"\nretries = -1\n",
       R"(x.toml:3:11: job "a": retries: -1 is not between 0 and 1000)"},
      {"[job.a]\ncommand = \"x\"\njitter = 2.0\n",
       R"(x.toml:3:10: job "a": jitter: 2 is not between 0 and 1)"},
      {"[job.a]\ncommand = \"x\"\njitter = nan\n",
       R"(x.toml:3:10: job "a": jitter: nan is not between 0 and 1)"},
      {"[job.a]\ncommand = \"x\"\nkeep_runs = 0\n",
       R"(x.toml:3:13: job "a": keep_runs: 0 is not at least 1)"},
      {"[job.a]\ncommand = \"x\"\nbackoff = \"1h\"\nmax_backoff = \"1m\"\n",
       R"(x.toml:4:15: job "a": max_backoff: 1m is shorter than backoff (1h))"},
      {"[job.a]\ncommand = \"x\"\nevery = \"500ms\"\n",
       R"(x.toml:3:9: job "a": every: 500ms is not a whole number of seconds of at least 1s)"},
      {"[job.a]\ncommand = \"x\"\ncwd = \"tmp\"\n",
       R"(x.toml:3:7: job "a": cwd: "tmp" is not an absolute path)"},
      {"[job.a]\ncommand = \"x\"\nenv = { \"A=B\" = \"x\" }\n",
       R"(x.toml:3:7: job "a": env: "A=B" is not a variable name)"},
      {"[job.j12]\ncommand = \"x\"\n",
       R"(x.toml:1:6: job "j12": looks like a job or run id; choose another name)"},
      {"[job.a.tasks.t]\ncommand = \"x\"\nretries = 5000\n",
       R"(x.toml:3:11: job "a": task "t": retries: 5000 is not between 0 and 1000)"},
  });
}

// ---------------------------------------------------------------------------
// 3. Round trip: read, type, write (export), read again
// ---------------------------------------------------------------------------

namespace {

// read_jobs -> spec_from_json -> spec_to_json -> write_jobs -> read_jobs: the
// same typed specs, in the same order; and writing again writes the same text.
void check_round_trip(std::string_view text) {
  INFO("file:\n" << std::string(text));
  const auto first = read_ok(text);
  std::vector<JobSpec> specs;
  std::vector<Json> jsons;
  for (const auto& j : first.jobs) {
    specs.push_back(typed(j.spec));
    jsons.push_back(job::proto::spec_to_json(specs.back()));
  }
  const std::string written = job::jobfile::write_jobs(jsons, job::jobfile::builtin_defaults());
  INFO("written:\n" << written);
  const auto second = read_ok(written, "export.toml");
  REQUIRE(second.jobs.size() == first.jobs.size());
  std::vector<Json> again;
  for (size_t i = 0; i < specs.size(); ++i) {
    CHECK(second.jobs[i].name == first.jobs[i].name);
    const JobSpec back = typed(second.jobs[i].spec);
    CHECK_MESSAGE(back == specs[i], "job " << specs[i].name << ": " << jsons[i].dump() << " came back as "
                                           << job::proto::spec_to_json(back).dump());
    again.push_back(job::proto::spec_to_json(back));
  }
  CHECK(job::jobfile::write_jobs(again, job::jobfile::builtin_defaults()) == written);
}

}  // namespace

TEST_CASE("round trip: the everyday jobs of jobs.toml(5), with [defaults]") {
  check_round_trip(R"(# everyday.toml
[defaults]
tz = "Europe/Paris"
retries = 1
env = { PATH = "/usr/local/bin:/usr/bin:/bin" }

[job.backup]
schedule = "30 2 * * *"
command = ["/usr/local/bin/backup", "--full"]
timeout = "2h"

[job.weekly-report]
schedule = "0 8 * * MON"
command = "report --week | mail -s 'weekly report' ops@example.com"
starting_deadline = "1h"

[job.disk-check]
schedule = "*/15 * * * *"
command = "df -P / | awk 'NR == 2 && $5 + 0 > 90 { exit 1 }'"
retries = 0
concurrency = "forbid"

[job.invoices]
schedule = "0 18 LW * *"
command = "/usr/local/bin/invoices"

[job.sync]
every = "15m"
command = "sync"
)");
}

TEST_CASE("round trip: task graphs, dotted names, paused jobs, every policy") {
  check_round_trip(R"([defaults]
paused = true
concurrency = "replace"
catchup = "none"
keep_runs = 5
jitter = 0.15
backoff = "1s"
max_backoff = "1h30m"

[job."etl.v2"]
schedule = "H H(1-5) * * *"
tz = "America/New_York"
retries = 1
env = { A = "1" }

[job."etl.v2".tasks.extract]
command = ["/usr/local/bin/extract", "--since", "yesterday"]

[job."etl.v2".tasks."step.2"]
command = "transform < /var/etl/raw > /var/etl/clean"
after = ["extract"]
timeout = "1h"
priority = 7
retries = 0
backoff = "5s"
max_backoff = "5m"
jitter = 0.0
env = { B = "2" }
cwd = "/var/etl"

[job."etl.v2".tasks.audit]
command = "audit /var/etl/raw"
after = ["extract"]
trigger = "one_failed"

[job."etl.v2".tasks.report]
command = "mail -s etl ops < /var/etl/log"
after = ["step.2", "audit"]
trigger = "all_done"

[job.resumed]
at = 2026-12-01T09:00:00.123456Z
command = "x"
paused = false
priority = 9223372036854775807

[job.low]
every = "1d2h3m4s"
command = "x"
priority = -9223372036854775808
starting_deadline = "1w"
timeout = "90s"
)");
}

TEST_CASE("round trip: strings that need escapes") {
  const char* text = R"([job.escapes]
schedule = "@daily"
command = ["printf", "%s\n", "say \"hi\"", 'C:\path\to\file', "tab\there", "ünïcødé ✓ 🚀", "\u0001ctl\u007f", "", "a'b", "\\"]
env = { QUOTE = "\"", BACKSLASH = "\\", NEWLINE = "a\nb", UNICODE = "日本語", "MY.VAR" = "dotted", "with space" = "x", "é" = "accent" }
cwd = "/srv/dir with spaces/é"

[job.script]
every = "1h"
command = """
set -e
echo "multi-line" \
  && echo 'done'
printf '%s\\n' "$HOME"
"""

[job.newlines]
every = "1h"
command = ["trailing quote\n'", "two quotes\n''", "x\n\"\"\"y", "crlf\r\nline", "tab\t\nnewline"]

[job.tasks-escaped]
every = "1h"
[job.tasks-escaped.tasks."t.1"]
command = 'echo "C:\dir" # not a comment'
env = { "X Y" = "\"quoted\" \\ back" }
cwd = "/tmp/ü"
)";
  check_round_trip(text);
  // And the first read is what the TOML says.
  const auto file = read_ok(text);
  REQUIRE(file.jobs.size() == 4);
  const JobSpec escapes = typed(file.jobs[0].spec);
  CHECK(escapes.argv == std::vector<std::string>{"printf", "%s\n", "say \"hi\"", "C:\\path\\to\\file",
                                                 "tab\there", "ünïcødé ✓ 🚀", "\001ctl\177", "", "a'b", "\\"});
  CHECK(escapes.env == Env{{"BACKSLASH", "\\"},
                           {"MY.VAR", "dotted"},
                           {"NEWLINE", "a\nb"},
                           {"QUOTE", "\""},
                           {"UNICODE", "日本語"},
                           {"with space", "x"},
                           {"é", "accent"}});
  CHECK(escapes.cwd == "/srv/dir with spaces/é");
  CHECK(typed(file.jobs[1].spec).shell ==
        "set -e\necho \"multi-line\" && echo 'done'\nprintf '%s\\n' \"$HOME\"\n");
  CHECK(typed(file.jobs[2].spec).argv == std::vector<std::string>{"trailing quote\n'", "two quotes\n''",
                                                                  "x\n\"\"\"y", "crlf\r\nline",
                                                                  "tab\t\nnewline"});
  const JobSpec tasks = typed(file.jobs[3].spec);
  REQUIRE(tasks.tasks.size() == 1);
  CHECK(tasks.tasks[0].name == "t.1");
  CHECK(tasks.tasks[0].shell == R"(echo "C:\dir" # not a comment)");
  CHECK(tasks.tasks[0].env == Env{{"X Y", "\"quoted\" \\ back"}});
}

// Today: toml++ (3.3) writes a string with a newline as a multi-line literal
// string ('''...'''), which loses a leading newline (TOML trims the newline
// right after the opening ''') and cannot hold ''' (the file written does not
// parse: "export.toml:3:5: Error while parsing key-value pair: expected a
// comment or whitespace, saw 'q'"). So `jobctl export` can change a command or
// write a file `jobctl apply` refuses. Writing every string as a basic string
// ("...", toml::toml_formatter without format_flags::allow_literal_strings
// and allow_multi_line_strings) avoids both, and 0.14999999999999999 too (see
// the report).
TEST_CASE("export keeps a leading newline, and ''' in a string with a newline") {
  check_round_trip(R"([job.leading]
command = "\nleading newline"

[job.triple]
command = "three\n''' quotes"

[job.env]
command = "x"
env = { A = "\nA", B = "b\n'''" }
)");
}

TEST_CASE("write_jobs leaves out the fields equal to the defaults it is given") {
  JobSpec minimal;
  minimal.name = "minimal";
  minimal.shell = "true";
  CHECK(job::jobfile::write_jobs({job::proto::spec_to_json(minimal)}, job::jobfile::builtin_defaults()) ==
        "[job.minimal]\ncommand = \"true\"\n");

  const Json builtin = job::jobfile::builtin_defaults();
  CHECK(builtin["retries"] == 3);
  CHECK(builtin["backoff"] == "10s");
  CHECK(builtin["max_backoff"] == "10m");
  CHECK(builtin["jitter"] == 0.1);
  CHECK(builtin["concurrency"] == "forbid");
  CHECK(builtin["catchup"] == "last");
  CHECK(builtin["keep_runs"] == 100);
  CHECK(builtin["priority"] == 0);
  CHECK(builtin["paused"] == false);
  CHECK_FALSE(builtin.contains("name"));

  // Defaults in force where the file will be applied (jobd.toml's [defaults]).
  Json defaults = builtin;
  defaults["retries"] = 1;
  defaults["timeout"] = "1h";
  defaults["tz"] = "Europe/Paris";
  defaults["env"] = {{"PATH", "/usr/bin"}};

  JobSpec same;  // all as the defaults say
  same.name = "same";
  same.trigger = JobSpec::Trigger::cron;
  same.cron = "@daily";
  same.tz = "Europe/Paris";
  same.argv = {"x"};
  same.retries = 1;
  same.timeout = 1h;
  same.env = {{"PATH", "/usr/bin"}};
  JobSpec other = same;  // differs in each of them
  other.name = "other";
  other.tz = "UTC";
  other.retries = 5;
  other.timeout = 2h;
  other.env = {{"PATH", "/usr/bin"}, {"X", "1"}};
  other.keep_runs = 3;
  other.paused = true;

  const std::string text =
      job::jobfile::write_jobs({job::proto::spec_to_json(same), job::proto::spec_to_json(other)}, defaults);
  CHECK(text ==
        "[job.same]\n"
        "schedule = \"@daily\"\n"
        "command = [ \"x\" ]\n"
        "\n"
        "[job.other]\n"
        "schedule = \"@daily\"\n"
        "tz = \"UTC\"\n"
        "command = [ \"x\" ]\n"
        "env = { PATH = \"/usr/bin\", X = \"1\" }\n"
        "timeout = \"2h\"\n"
        "retries = 5\n"
        "keep_runs = 3\n"
        "paused = true\n");

  // Read back where those defaults are in force, the specs are the same.
  const auto file = read_ok(text);
  REQUIRE(file.jobs.size() == 2);
  Json back_same = file.jobs[0].spec;
  Json back_other = file.jobs[1].spec;
  job::jobfile::merge_defaults(back_same, defaults);
  job::jobfile::merge_defaults(back_other, defaults);
  CHECK(typed(back_same) == same);
  CHECK(typed(back_other) == other);
}

TEST_CASE("write_jobs writes a task's own keys only, and the job's command or tasks") {
  const auto file = read_ok(R"([job.g]
schedule = "@hourly"
retries = 2
[job.g.tasks.a]
command = "a"
[job.g.tasks.b]
command = ["b", "--x"]
after = ["a"]
trigger = "all_done"
retries = 3
)");
  const std::string text = job::jobfile::write_jobs({job::proto::spec_to_json(typed(file.jobs[0].spec))},
                                                    job::jobfile::builtin_defaults());
  CHECK(text ==
        "[job.g]\n"
        "schedule = \"@hourly\"\n"
        "retries = 2\n"
        "\n"
        "[job.g.tasks.a]\n"
        "command = \"a\"\n"
        "\n"
        "[job.g.tasks.b]\n"
        "command = [ \"b\", \"--x\" ]\n"
        "after = [ \"a\" ]\n"
        "trigger = \"all_done\"\n"
        "retries = 3\n");
}
