// Framing and the JSON codec of the wire protocol.
#include <doctest/doctest.h>

#include "proto/base64.hpp"
#include "proto/codec.hpp"
#include "proto/protocol.hpp"
#include "time/rfc3339.hpp"
#include "time/zone.hpp"

using job::proto::Json;
using job::proto::LineReader;

TEST_CASE("lines are split wherever the bytes break") {
  LineReader r;
  r.feed("{\"a\":1}\n{\"b\"");
  CHECK(r.next() == "{\"a\":1}");
  CHECK_FALSE(r.next());
  r.feed(":2}\r\n\n");
  CHECK(r.next() == "{\"b\":2}");
  CHECK(r.next() == "");
  CHECK_FALSE(r.next());
  CHECK_FALSE(r.overflowed());
}

TEST_CASE("a frame over kMaxFrame (64 MiB) overflows, with or without its newline") {
  LineReader r;
  r.feed(std::string(job::proto::kMaxFrame + 1, 'x'));
  CHECK_FALSE(r.next());
  CHECK(r.overflowed());
  LineReader s;
  s.feed(std::string(job::proto::kMaxFrame + 5, 'x') + "\n");
  CHECK_FALSE(s.next());
  CHECK(s.overflowed());
  LineReader ok;
  ok.feed(std::string(job::proto::kMaxFrame, 'x') + "\n");
  CHECK(ok.next()->size() == job::proto::kMaxFrame);
  job::proto::LineReader small(4);  // a reader told its own maximum
  small.feed("abcd\nabcde\n");
  CHECK(*small.next() == "abcd");
  CHECK_FALSE(small.next());
  CHECK(small.overflowed());
}

TEST_CASE("a spec survives JSON both ways") {
  job::sched::JobSpec spec;
  spec.name = "backup";
  spec.trigger = job::sched::JobSpec::Trigger::cron;
  spec.cron = "0 3 * * 1-5";
  spec.tz = "Europe/Paris";
  spec.priority = -2;
  spec.timeout = std::chrono::minutes{90};
  spec.argv = {"tar", "czf", "/tmp/x.tgz", "/etc"};
  spec.env = {{"A", "1"}, {"B", "two words"}};
  spec.cwd = "/tmp";
  auto back = job::proto::spec_from_json(job::proto::spec_to_json(spec));
  REQUIRE(back);
  CHECK(*back == spec);

  job::sched::JobSpec once;
  once.trigger = job::sched::JobSpec::Trigger::at;
  once.at = *job::time::parse_rfc3339("2026-05-01T10:00:00.5Z");
  once.shell = "echo hi";
  CHECK(*job::proto::spec_from_json(job::proto::spec_to_json(once)) == once);
}

TEST_CASE("the failure, overlap, catch-up and retention policies survive JSON both ways") {
  job::sched::JobSpec spec;
  spec.argv = {"true"};
  spec.retries = 5;
  spec.backoff = std::chrono::seconds{30};
  spec.max_backoff = std::chrono::hours{2};
  spec.jitter = 0.25;
  spec.concurrency = job::sched::JobSpec::Concurrency::replace;
  spec.catchup = job::sched::JobSpec::Catchup::all;
  spec.starting_deadline = std::chrono::minutes{10};
  spec.keep_runs = 7;
  const Json j = job::proto::spec_to_json(spec);
  CHECK(j["retries"] == 5);
  CHECK(j["backoff"] == "30s");
  CHECK(j["max_backoff"] == "2h");
  CHECK(j["jitter"] == 0.25);
  CHECK(j["concurrency"] == "replace");
  CHECK(j["catchup"] == "all");
  CHECK(j["starting_deadline"] == "10m");
  CHECK(j["keep_runs"] == 7);
  auto back = job::proto::spec_from_json(j);
  REQUIRE(back);
  CHECK(*back == spec);

  // No starting deadline is no key; every other policy is always written.
  job::sched::JobSpec plain;
  plain.shell = "true";
  const Json p = job::proto::spec_to_json(plain);
  CHECK_FALSE(p.contains("starting_deadline"));
  CHECK(p["concurrency"] == "forbid");
  CHECK(*job::proto::spec_from_json(p) == plain);
}

TEST_CASE("a spec without policies (stored before they existed) takes the defaults") {
  auto spec = job::proto::spec_from_json(Json::parse(R"({"name":"old","argv":["x"],"priority":0})"));
  REQUIRE(spec);
  const job::sched::JobSpec defaults;
  CHECK(spec->retries == 3);
  CHECK(spec->backoff == std::chrono::seconds{10});
  CHECK(spec->max_backoff == std::chrono::minutes{10});
  CHECK(spec->jitter == defaults.jitter);
  CHECK(spec->concurrency == job::sched::JobSpec::Concurrency::forbid);
  CHECK(spec->catchup == job::sched::JobSpec::Catchup::last);
  CHECK(spec->starting_deadline == job::time::Duration::zero());
  CHECK(spec->keep_runs == 100);

  // A null starting deadline is none; an integral jitter is a number.
  auto none =
      job::proto::spec_from_json(Json::parse(R"({"argv":["x"],"starting_deadline":null,"jitter":1})"));
  REQUIRE(none);
  CHECK(none->starting_deadline == job::time::Duration::zero());
  CHECK(none->jitter == 1.0);
  // Out-of-range values are the scheduler's to refuse, not the codec's.
  auto odd =
      job::proto::spec_from_json(Json::parse(R"({"argv":["x"],"retries":-1,"jitter":2,"keep_runs":0})"));
  REQUIRE(odd);
  CHECK(odd->retries == -1);
  CHECK(odd->keep_runs == 0);
}

TEST_CASE("bad specs name the field") {
  auto error = [](const char* text) {
    auto r = job::proto::spec_from_json(Json::parse(text));
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(error(R"({"argv":["x"],"timeout":"2 hours"})") ==
        "timeout: \"2 hours\" is not a duration (try \"2h\")");
  CHECK(error(R"({"argv":["x"],"every":"soon"})").starts_with("every: \"soon\" is not a duration"));
  CHECK(error(R"({"argv":["x"],"at":"tomorrow"})").starts_with("at: invalid time \"tomorrow\""));
  CHECK(error(R"({"argv":"x"})") == "argv: expected an array of strings");
  CHECK(error(R"({"argv":["x"],"priority":"high"})") == "priority: expected an integer");
  CHECK(error(R"({"argv":["x"],"colour":"blue"})") == "unknown field \"colour\"");
  CHECK(error(R"({"argv":["x"],"cron":"* * * * *","every":"5s"})") ==
        "give at most one of cron, at and every");
  CHECK(error(R"({"argv":["x"],"env":{"A":1}})") == "env: A: expected a string");
  CHECK(error(R"([1,2])") == "the job must be a JSON object");
}

TEST_CASE("bad policies name the field") {
  auto error = [](const char* text) {
    auto r = job::proto::spec_from_json(Json::parse(text));
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(error(R"({"argv":["x"],"retries":"3"})") == "retries: expected an integer");
  CHECK(error(R"({"argv":["x"],"retries":1.5})") == "retries: expected an integer");
  CHECK(error(R"({"argv":["x"],"retries":4294967296})") == "retries: 4294967296 is out of range");
  CHECK(error(R"({"argv":["x"],"keep_runs":true})") == "keep_runs: expected an integer");
  CHECK(error(R"({"argv":["x"],"keep_runs":-9999999999})") == "keep_runs: -9999999999 is out of range");
  CHECK(error(R"({"argv":["x"],"backoff":10})") == "backoff: expected a string");
  CHECK(error(R"({"argv":["x"],"backoff":"10 seconds"})")
            .starts_with("backoff: \"10 seconds\" is not a duration"));
  CHECK(
      error(R"({"argv":["x"],"max_backoff":"1.5h"})").starts_with("max_backoff: \"1.5h\" is not a duration"));
  CHECK(error(R"({"argv":["x"],"starting_deadline":"soon"})")
            .starts_with("starting_deadline: \"soon\" is not a duration"));
  CHECK(error(R"({"argv":["x"],"starting_deadline":60})") == "starting_deadline: expected a string");
  CHECK(error(R"({"argv":["x"],"jitter":"0.1"})") == "jitter: expected a number");
  CHECK(error(R"({"argv":["x"],"concurrency":"sometimes"})") ==
        "concurrency: \"sometimes\" is not one of allow, forbid, replace");
  CHECK(error(R"({"argv":["x"],"concurrency":1})") == "concurrency: expected a string");
  CHECK(error(R"({"argv":["x"],"catchup":"some"})") == "catchup: \"some\" is not one of none, last, all");
  CHECK(error(R"({"argv":["x"],"catchup":null})") == "catchup: expected a string");
}

TEST_CASE("jobs and runs show their policies, attempts and missed fires") {
  job::sched::Job job;
  job.id = 3;
  job.spec.name = "backup";
  job.spec.argv = {"true"};
  job.spec.starting_deadline = std::chrono::minutes{5};
  const auto utc = *job::time::find_zone("UTC");
  Json j = job::proto::job_to_json(job, nullptr, utc);
  CHECK(j["retries"] == 3);
  CHECK(j["backoff"] == "10s");
  CHECK(j["max_backoff"] == "10m");
  CHECK(j["jitter"] == 0.1);
  CHECK(j["concurrency"] == "forbid");
  CHECK(j["catchup"] == "last");
  CHECK(j["starting_deadline"] == "5m");
  CHECK(j["keep_runs"] == 100);
  job.spec.starting_deadline = {};
  CHECK(job::proto::job_to_json(job, nullptr, utc)["starting_deadline"].is_null());

  job::sched::Run run;
  run.id = 13;
  run.job = 3;
  run.attempt = 2;
  run.state = job::sched::RunState::retrying;
  run.retry_at = *job::time::parse_rfc3339("2026-11-27T10:00:30Z");
  run.retry_of = 12;
  Json r = job::proto::run_to_json(run, job, utc);
  CHECK(r["attempt"] == 2);
  CHECK(r["retry_at"] == "2026-11-27T10:00:30+00:00");
  CHECK(r["retry_of"] == "r12");
  CHECK(r["next_attempt"].is_null());
  CHECK(r["missed_count"] == 0);
  CHECK(r["missed_since"].is_null());

  job::sched::Run caught_up;
  caught_up.id = 20;
  caught_up.next_attempt = 21;
  caught_up.missed_count = 4;
  caught_up.missed_since = *job::time::parse_rfc3339("2026-11-27T07:00:00Z");
  Json c = job::proto::run_to_json(caught_up, job, utc);
  CHECK(c["retry_at"].is_null());
  CHECK(c["retry_of"].is_null());
  CHECK(c["next_attempt"] == "r21");
  CHECK(c["missed_count"] == 4);
  CHECK(c["missed_since"] == "2026-11-27T07:00:00+00:00");
}

TEST_CASE("a task graph and after dependencies survive JSON both ways") {
  job::sched::JobSpec spec;
  spec.name = "etl";
  spec.trigger = job::sched::JobSpec::Trigger::cron;
  spec.cron = "0 2 * * *";
  job::sched::TaskSpec extract;
  extract.name = "extract";
  extract.argv = {"/usr/bin/extract", "--all"};
  job::sched::TaskSpec load;
  load.name = "load";
  load.shell = "load < /tmp/x";
  load.after = {"extract"};
  load.trigger = job::sched::TriggerRule::all_done;
  load.priority = -4;
  load.timeout = std::chrono::minutes{5};
  load.retries = 0;
  load.backoff = std::chrono::seconds{3};
  load.max_backoff = std::chrono::seconds{30};
  load.jitter = 0.0;
  load.env = {{"B", "2"}, {"A", "1"}};
  load.cwd = "/srv";
  spec.tasks = {extract, load};
  spec.after = {{"r12", job::sched::AfterSpec::Rule::success},
                {"nightly", job::sched::AfterSpec::Rule::done}};
  const Json j = job::proto::spec_to_json(spec);
  CHECK_FALSE(j.contains("argv"));
  CHECK_FALSE(j.contains("shell"));
  // Unset overrides are not written: the task inherits the job's.
  CHECK(j["tasks"][0] == Json::parse(R"({"name":"extract","argv":["/usr/bin/extract","--all"],"after":[],
                                          "trigger":"all_success"})"));
  CHECK(j["tasks"][1]["priority"] == -4);
  CHECK(j["tasks"][1]["timeout"] == "5m");
  CHECK(j["tasks"][1]["retries"] == 0);
  CHECK(j["tasks"][1]["jitter"] == 0.0);
  CHECK(j["tasks"][1]["env"].dump() == R"({"B":"2","A":"1"})");
  CHECK(j["after"] == Json::parse(R"([{"ref":"r12","rule":"success"},{"ref":"nightly","rule":"done"}])"));
  auto back = job::proto::spec_from_json(j);
  REQUIRE(back);
  // An environment comes back sorted by name: its order means nothing, and
  // equal specs (`jobctl apply` compares them) must compare equal.
  CHECK(back->tasks[1].env == decltype(load.env){{"A", "1"}, {"B", "2"}});
  spec.tasks[1].env = back->tasks[1].env;
  CHECK(*back == spec);
  CHECK_FALSE(back->tasks[0].retries);
  CHECK(back->tasks[1].retries == 0);

  // A plain job writes neither key.
  job::sched::JobSpec plain;
  plain.shell = "true";
  const Json p = job::proto::spec_to_json(plain);
  CHECK_FALSE(p.contains("tasks"));
  CHECK_FALSE(p.contains("after"));
}

TEST_CASE("tasks and after take their defaults") {
  auto spec = job::proto::spec_from_json(Json::parse(
      R"({"tasks":[{"name":"a","shell":"true"},{"name":"b","argv":["x"],"after":["a"]}],
          "after":[{"ref":"j3"}]})"));
  REQUIRE(spec);
  CHECK(spec->argv.empty());
  CHECK(spec->shell.empty());
  REQUIRE(spec->tasks.size() == 2);
  CHECK(spec->tasks[0].after.empty());
  CHECK(spec->tasks[0].trigger == job::sched::TriggerRule::all_success);
  CHECK_FALSE(spec->tasks[0].priority);
  CHECK_FALSE(spec->tasks[0].timeout);
  CHECK_FALSE(spec->tasks[0].jitter);
  CHECK(spec->tasks[1].after == std::vector<std::string>{"a"});
  REQUIRE(spec->after.size() == 1);
  CHECK(spec->after[0].ref == "j3");
  CHECK(spec->after[0].rule == job::sched::AfterSpec::Rule::success);
  // Both a command and tasks is the scheduler's to refuse.
  CHECK(job::proto::spec_from_json(Json::parse(R"({"argv":["x"],"tasks":[{"name":"a","shell":"y"}]})")));
}

TEST_CASE("bad tasks and after dependencies name the field by its path") {
  auto error = [](const char* text) {
    auto r = job::proto::spec_from_json(Json::parse(text));
    REQUIRE_FALSE(r.ok());
    return r.error().message;
  };
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x"},{"name":"b","shell":"y","trigger":"sometimes"}]})") ==
        "tasks[1].trigger: \"sometimes\" is not one of all_success, all_done, one_success, one_failed, "
        "all_failed");
  CHECK(error(R"({"tasks":{"a":{}}})") == "tasks: expected an array of tasks");
  CHECK(error(R"({"tasks":["a"]})") == "tasks[0]: expected an object");
  CHECK(error(R"({"tasks":[{"shell":"x"}]})") == "tasks[0]: \"name\" is missing");
  CHECK(error(R"({"tasks":[{"name":"a"}]})") == "tasks[0]: give exactly one of argv and shell");
  CHECK(error(R"({"tasks":[{"name":"a","argv":["x"],"shell":"y"}]})") ==
        "tasks[0]: give exactly one of argv and shell");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","colour":"red"}]})") ==
        "tasks[0]: unknown field \"colour\"");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","after":"b"}]})") ==
        "tasks[0].after: expected an array of strings");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","timeout":"2 hours"}]})") ==
        "tasks[0].timeout: \"2 hours\" is not a duration (try \"2h\")");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","retries":"3"}]})") ==
        "tasks[0].retries: expected an integer");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","priority":1.5}]})") ==
        "tasks[0].priority: expected an integer");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","jitter":"0"}]})") ==
        "tasks[0].jitter: expected a number");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","env":{"A":1}}]})") ==
        "tasks[0].env: A: expected a string");
  CHECK(error(R"({"tasks":[{"name":"a","shell":"x","cwd":5}]})") == "tasks[0].cwd: expected a string");
  CHECK(error(R"({"argv":["x"],"after":"r1"})") == "after: expected an array of dependencies");
  CHECK(error(R"({"argv":["x"],"after":[{"ref":"r1","rule":"ok"}]})") ==
        "after[0].rule: \"ok\" is not one of success, done, failure");
  CHECK(error(R"({"argv":["x"],"after":[{"ref":"r1"},{"rule":"done"}]})") == "after[1]: \"ref\" is missing");
  CHECK(error(R"({"argv":["x"],"after":[{"ref":1}]})") == "after[0].ref: expected a string");
  CHECK(error(R"({"argv":["x"],"after":[{"ref":"r1","when":"now"}]})") == "after[0]: unknown field \"when\"");
}

TEST_CASE("jobs show their tasks and after dependencies, runs their parent and task") {
  const auto utc = *job::time::find_zone("UTC");
  job::sched::Job job;
  job.id = 4;
  job.spec.name = "etl";
  job::sched::TaskSpec a;
  a.name = "a";
  a.shell = "true";
  job.spec.tasks = {a};
  job.spec.after = {{"build", job::sched::AfterSpec::Rule::failure}};
  Json j = job::proto::job_to_json(job, nullptr, utc);
  CHECK(j["command"].is_null());
  CHECK(j["tasks"] == Json::parse(R"([{"name":"a","shell":"true","after":[],"trigger":"all_success"}])"));
  CHECK(j["after"] == Json::parse(R"([{"ref":"build","rule":"failure"}])"));

  job::sched::Job plain;
  plain.id = 5;
  plain.spec.argv = {"true"};
  Json p = job::proto::job_to_json(plain, nullptr, utc);
  CHECK(p["command"] == Json::parse(R"(["true"])"));
  CHECK(p["tasks"] == Json::array());
  CHECK(p["after"] == Json::array());

  job::sched::Run run;
  run.id = 11;
  run.job = 4;
  Json top = job::proto::run_to_json(run, job, utc);
  CHECK(top["parent"].is_null());
  CHECK(top["task"].is_null());
  run.id = 12;
  run.parent = 11;
  run.task = "a";
  Json task_run = job::proto::run_to_json(run, job, utc);
  CHECK(task_run["parent"] == "r11");
  CHECK(task_run["task"] == "a");
}

TEST_CASE("base64: RFC 4648's vectors, every byte, and garbage refused") {
  using job::proto::base64_decode;
  using job::proto::base64_encode;
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == std::string(plain));
  }
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  CHECK(base64_decode(base64_encode(all)) == all);
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "=Zm9", "Zg==Zg=="}) CHECK_FALSE(base64_decode(bad));
}
