// Framing and the JSON codec of the wire protocol.
#include <doctest/doctest.h>

#include "proto/codec.hpp"
#include "proto/protocol.hpp"
#include "time/rfc3339.hpp"

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

TEST_CASE("a frame over 1 MiB overflows, with or without its newline") {
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
