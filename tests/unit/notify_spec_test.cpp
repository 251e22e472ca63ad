// `notify` (jobs.toml(5), NOTIFICATIONS in jobd(8)): the spec field read from
// JSON and from jobs.toml, its errors named and placed, checked by the
// scheduler, exported and read back; and the mail a notification becomes.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "jobfile/read.hpp"
#include "jobfile/write.hpp"
#include "proto/codec.hpp"
#include "sched/model.hpp"
#include "sched/scheduler.hpp"

using job::proto::Json;
using job::sched::JobSpec;
using job::sched::NotifySpec;
using Event = NotifySpec::Event;

namespace {

std::string codec_error(const Json& spec) {
  auto r = job::proto::spec_from_json(spec);
  return r ? std::string("(no error)") : r.error().message;
}

std::string check_error(const Json& spec) {
  auto typed = job::proto::spec_from_json(spec);
  REQUIRE_MESSAGE(typed.ok(), (typed.ok() ? std::string() : typed.error().message));
  job::sched::Scheduler s{job::sched::Config{}};
  auto e = s.check(*typed, job::time::Instant{});
  return e ? e->message : std::string("(no error)");
}

std::string file_error(std::string_view text) {
  auto r = job::jobfile::read_jobs(text, "x.toml");
  return r ? std::string("(read without error)") : r.error().message;
}

Json with_notify(Json notify) { return Json{{"argv", {"true"}}, {"notify", std::move(notify)}}; }

}  // namespace

TEST_CASE("notify: JSON both ways, on defaulting to failure") {
  const Json spec = with_notify(Json::array({
      {{"webhook", "https://hooks.example.com/x"}},
      {{"on", {"success", "retry", "skipped", "success"}}, {"mail", "ops@example.com"}},
      {{"on", {"failure"}}, {"exec", {"/usr/local/bin/page", "--urgent"}}},
  }));
  auto typed = job::proto::spec_from_json(spec);
  REQUIRE(typed.ok());
  REQUIRE(typed->notify.size() == 3);
  CHECK(typed->notify[0].on == std::vector<Event>{Event::failure});
  CHECK(typed->notify[0].webhook == "https://hooks.example.com/x");
  CHECK(typed->notify[1].on == std::vector<Event>{Event::success, Event::retry, Event::skipped});
  CHECK(typed->notify[1].mail == "ops@example.com");
  CHECK(typed->notify[2].exec == std::vector<std::string>{"/usr/local/bin/page", "--urgent"});
  const Json back = job::proto::spec_to_json(*typed);
  CHECK(back["notify"][1] == Json{{"on", {"success", "retry", "skipped"}}, {"mail", "ops@example.com"}});
  CHECK(job::proto::spec_from_json(back).value() == *typed);
  CHECK_FALSE(job::proto::spec_to_json(JobSpec{}).contains("notify"));
  CHECK(check_error(spec) == "(no error)");
}

TEST_CASE("notify: bad JSON names the field") {
  CHECK(codec_error(with_notify("x")) == "notify: expected an array of notifications");
  CHECK(codec_error(with_notify({"x"})) ==
        "notify[0]: expected an object such as {on = [\"failure\"], mail = \"ops@example.com\"}");
  CHECK(codec_error(with_notify({{{"mail", "a@b"}}, {{"on", {"failure", "sometimes"}}, {"mail", "a@b"}}})) ==
        "notify[1].on: \"sometimes\" is not one of failure, success, retry, skipped");
  CHECK(codec_error(with_notify({{{"on", "failure"}, {"mail", "a@b"}}})) ==
        "notify[0].on: expected an array such as [\"failure\", \"retry\"]");
  CHECK(codec_error(with_notify({{{"on", {"failure"}}}})) ==
        "notify[0]: give exactly one of webhook, mail and exec");
  CHECK(codec_error(with_notify({{{"mail", "a@b"}, {"webhook", "http://x"}}})) ==
        "notify[0]: give exactly one of webhook, mail and exec");
  CHECK(codec_error(with_notify({{{"mail", "a@b"}, {"url", "http://x"}}})) ==
        "notify[0]: unknown field \"url\" (expected on, and one of webhook, mail and exec)");
  CHECK(codec_error(with_notify({{{"exec", "/bin/page"}}})) ==
        "notify[0].exec: expected an array of strings");
}

TEST_CASE("notify: the scheduler refuses what cannot be delivered") {
  CHECK(check_error(with_notify({{{"webhook", "ftp://x.example.com/"}}})) ==
        "notify[0].webhook: \"ftp://x.example.com/\" is not an http:// or https:// URL");
  CHECK(check_error(with_notify({{{"webhook", "https://"}}})) ==
        "notify[0].webhook: \"https://\" is not an http:// or https:// URL");
  CHECK(check_error(with_notify({{{"webhook", "http://a b/"}}})) ==
        "notify[0].webhook: \"http://a b/\" is not an http:// or https:// URL");
  CHECK(check_error(with_notify({{{"mail", "ops@example.com"}}, {{"mail", "ops@example.com\nBcc: x@y"}}})) ==
        "notify[1].mail: \"ops@example.com\nBcc: x@y\" is not a mail address (such as \"ops@example.com\")");
  CHECK(check_error(with_notify({{{"mail", "a@@b"}}})).starts_with("notify[0].mail:"));
  CHECK(check_error(with_notify({{{"mail", "-oQ/tmp"}}})).starts_with("notify[0].mail:"));
  CHECK(check_error(with_notify({{{"mail", "root"}}})) == "(no error)");  // a local user, as MAILTO allows
  CHECK(check_error(with_notify({{{"exec", Json::array()}}})) ==
        "notify[0]: give exactly one of webhook, mail and exec");
  CHECK(check_error(with_notify({{{"exec", {"page", "x"}}}})) ==
        "notify[0].exec: \"page\" is not an absolute path to a program");
  CHECK(check_error(with_notify({{{"on", Json::array()}, {"mail", "a@b"}}})) ==
        "notify[0].on: empty: give one or more of failure, success, retry, skipped");
  CHECK(check_error(with_notify({{{"mail", ""}}})) ==
        "notify[0]: give exactly one of webhook, mail and exec");
}

TEST_CASE("notify in jobs.toml: inline tables, arrays of tables, [defaults]") {
  auto r = job::jobfile::read_jobs(R"([defaults]
notify = [{ mail = "ops@example.com" }]

[job.a]
command = "true"

[job.b]
command = "true"
notify = [
  { on = ["success", "failure"], webhook = "https://hooks.example.com/b" },
  { exec = ["/usr/local/bin/page", "b"] },
]

[job.c]
command = "true"
[[job.c.notify]]
on = ["retry"]
mail = "dev@example.com"
)",
                                   "x.toml");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error().message));
  REQUIRE(r->jobs.size() == 3);
  const auto a = job::proto::spec_from_json(r->jobs[0].spec).value();
  const auto b = job::proto::spec_from_json(r->jobs[1].spec).value();
  const auto c = job::proto::spec_from_json(r->jobs[2].spec).value();
  // A job's own notify replaces the default one, as any other key does.
  REQUIRE(a.notify.size() == 1);
  CHECK(a.notify[0].mail == "ops@example.com");
  CHECK(a.notify[0].on == std::vector<Event>{Event::failure});
  REQUIRE(b.notify.size() == 2);
  CHECK(b.notify[0].on == std::vector<Event>{Event::success, Event::failure});
  CHECK(b.notify[1].exec[0] == "/usr/local/bin/page");
  REQUIRE(c.notify.size() == 1);
  CHECK(c.notify[0].mail == "dev@example.com");

  // Exported and read back: the same specs.
  std::vector<Json> specs;
  for (const auto* s : {&a, &b, &c}) specs.push_back(job::proto::spec_to_json(*s));
  const std::string written = job::jobfile::write_jobs(specs, job::jobfile::builtin_defaults());
  INFO(written);
  CHECK(written.find("notify = [") != std::string::npos);
  auto again = job::jobfile::read_jobs(written, "export.toml");
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? std::string() : again.error().message));
  CHECK(job::proto::spec_from_json(again->jobs[0].spec).value() == a);
  CHECK(job::proto::spec_from_json(again->jobs[1].spec).value() == b);
  CHECK(job::proto::spec_from_json(again->jobs[2].spec).value() == c);
}

TEST_CASE("notify in jobs.toml: errors at file:line:column, at the entry's key") {
  CHECK(file_error("[job.a]\ncommand = \"true\"\nnotify = [{ on = [\"sometimes\"], mail = \"a@b\" }]\n") ==
        "x.toml:3:18: job \"a\": notify[0].on: \"sometimes\" is not one of failure, success, retry, skipped");
  CHECK(file_error("[job.a]\ncommand = \"true\"\nnotify = [\n  { mail = \"a@b\" },\n  { webhook = "
                   "\"ftp://x\" },\n]\n") ==
        "x.toml:5:15: job \"a\": notify[1].webhook: \"ftp://x\" is not an http:// or https:// URL");
  CHECK(file_error("[job.a]\ncommand = \"true\"\nnotify = [{ on = [\"failure\"] }]\n") ==
        "x.toml:3:11: job \"a\": notify[0]: give exactly one of webhook, mail and exec");
  CHECK(file_error("[job.a]\ncommand = \"true\"\nnotify = { mail = \"a@b\" }\n") ==
        "x.toml:3:10: job \"a\": notify: expected an array of notifications");
  CHECK(file_error("[defaults]\nnotify = [{ exec = [\"page\"] }]\n[job.a]\ncommand = \"true\"\n") ==
        "x.toml:2:20: job \"a\": notify[0].exec: \"page\" is not an absolute path to a program (from "
        "[defaults])");
  CHECK(file_error("[job.a]\n[job.a.tasks.t]\ncommand = \"true\"\nnotify = []\n") ==
        "x.toml:4:1: job \"a\": task \"t\": \"notify\" is a key of the job, not of a task (write it in "
        "[job.a], "
        "before its tasks)");
}

TEST_CASE("defaults_from_keys takes notify, as jobd.toml's [defaults] gives it") {
  auto d = job::jobfile::defaults_from_keys(Json{{"notify", {{{"mail", "ops@example.com"}}}}});
  REQUIRE(d.ok());
  CHECK((*d)["notify"][0]["mail"] == "ops@example.com");
  auto bad = job::jobfile::defaults_from_keys(Json{{"notify", {{{"mail", "a@b"}, {"on", {"never"}}}}}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message ==
        "defaults: notify[0].on: \"never\" is not one of failure, success, retry, skipped");
}
