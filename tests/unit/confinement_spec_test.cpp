// The run-as user and confinement fields (user, limits, sandbox, network,
// paths_rw): sizes, the codec both ways and its errors, jobs.toml with its
// [defaults], and export read back.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "jobfile/read.hpp"
#include "jobfile/write.hpp"
#include "proto/codec.hpp"
#include "sched/confinement.hpp"
#include "sched/model.hpp"

using job::proto::Json;
using job::sched::format_size;
using job::sched::parse_size;

namespace {

std::string codec_error(const Json& spec) {
  auto r = job::proto::spec_from_json(spec);
  return r ? std::string("(no error)") : r.error().message;
}

Json with(const char* key, Json value) { return Json{{"argv", {"true"}}, {key, std::move(value)}}; }

}  // namespace

TEST_CASE("sizes: units are powers of 1024, printed in their shortest exact form") {
  CHECK(parse_size("512M").value() == int64_t{512} << 20);
  CHECK(parse_size("2G").value() == int64_t{2} << 30);
  CHECK(parse_size("64k").value() == 64 * 1024);
  CHECK(parse_size("1MiB").value() == 1 << 20);
  CHECK(parse_size("1GB").value() == 1 << 30);
  CHECK(parse_size("1000").value() == 1000);
  CHECK(parse_size("3T").value() == int64_t{3} << 40);
  for (std::string_view bad : {"", "M", "12X", "1.5G", "-1M", "0", "0M", "99999999999T", "1 G", "12MM"})
    CHECK_MESSAGE(!parse_size(bad).ok(), bad);
  CHECK(format_size(int64_t{512} << 20) == "512M");
  CHECK(format_size(int64_t{2} << 30) == "2G");
  CHECK(format_size(1536) == "1536");
  CHECK(format_size(1000) == "1000");
  CHECK(format_size(int64_t{5} << 40) == "5T");
}

TEST_CASE("confinement: JSON both ways, only what differs from the defaults") {
  const Json spec = {{"argv", {"true"}},
                     {"user", "alice"},
                     {"limits", {{"nofile", 1024}, {"nproc", 64}, {"memory", "512M"}, {"cpu", "1m30s"}}},
                     {"sandbox", true},
                     {"network", false},
                     {"paths_rw", {"/srv/data", "/var/cache/x"}}};
  auto typed = job::proto::spec_from_json(spec);
  REQUIRE(typed.ok());
  CHECK(typed->user == "alice");
  const auto& c = typed->confine;
  CHECK(c.limits.nofile == 1024);
  CHECK(c.limits.nproc == 64);
  CHECK(c.limits.memory == int64_t{512} << 20);
  CHECK(c.limits.cpu == 90);
  CHECK(c.sandbox);
  CHECK_FALSE(c.network);
  CHECK(c.paths_rw == std::vector<std::string>{"/srv/data", "/var/cache/x"});
  const Json back = job::proto::spec_to_json(*typed);
  CHECK(back["limits"] == Json{{"nofile", 1024}, {"nproc", 64}, {"memory", "512M"}, {"cpu", "1m30s"}});
  CHECK(back["user"] == "alice");
  CHECK(back["network"] == false);
  CHECK(job::proto::spec_from_json(back).value() == *typed);

  // Defaults: nothing written; numbers accepted for memory (bytes) and cpu (seconds).
  const Json plain = job::proto::spec_to_json(job::proto::spec_from_json(Json{{"argv", {"true"}}}).value());
  for (const char* key : {"user", "limits", "sandbox", "network", "paths_rw"})
    CHECK_FALSE(plain.contains(key));
  auto numbers =
      job::proto::spec_from_json(with("limits", {{"memory", 1048576}, {"cpu", 30}, {"nofile", 0}}));
  REQUIRE(numbers.ok());
  CHECK(numbers->confine.limits.memory == 1 << 20);
  CHECK(numbers->confine.limits.cpu == 30);
  CHECK(numbers->confine.limits.nofile == 0);
  // A fraction of a second of CPU rounds up: RLIMIT_CPU counts seconds.
  CHECK(job::proto::spec_from_json(with("limits", {{"cpu", "1500ms"}})).value().confine.limits.cpu == 2);
}

TEST_CASE("confinement: errors name the field") {
  CHECK(codec_error(with("limits", {{"stack", 1}})) ==
        "limits.stack: unknown limit (expected one of: nofile, nproc, memory, cpu)");
  CHECK(
      codec_error(with("limits", {{"memory", "lots"}})).starts_with("limits.memory: \"lots\" is not a size"));
  CHECK(codec_error(with("limits", {{"nofile", -1}})) == "limits.nofile: -1 is negative");
  CHECK(codec_error(with("limits", {{"nproc", "64"}})) == "limits.nproc: expected an integer");
  CHECK(codec_error(with("limits", {{"cpu", "soon"}})).starts_with("limits.cpu: "));
  CHECK(codec_error(with("limits", {{"cpu", "0s"}})) == "limits.cpu: a CPU time limit must be at least 1s");
  CHECK(codec_error(with("limits", {{"memory", 0}})) == "limits.memory: must be at least 1");
  CHECK(codec_error(with("limits", 5)).starts_with("limits: expected an object"));
  CHECK(codec_error(with("paths_rw", {"/ok", "data"})) == "paths_rw: \"data\" is not an absolute path");
  CHECK(codec_error(with("paths_rw", "/ok")) == "paths_rw: expected an array of strings");
  CHECK(codec_error(with("sandbox", "yes")) == "sandbox: expected true or false");
  CHECK(codec_error(with("network", 0)) == "network: expected true or false");
  CHECK(codec_error(with("user", 7)) == "user: expected a string");
  CHECK(codec_error(with("user", "a:b")) == "user: \"a:b\" is not a user name");
}

TEST_CASE("confinement in jobs.toml, with [defaults], exported and read back") {
  auto file = job::jobfile::read_jobs(R"([defaults]
user = "svc"
limits = { nofile = 256 }

[job.backup]
command = "tar czf /srv/backup/x.tgz /etc"
limits = { nofile = 1024, nproc = 64, memory = "512M", cpu = "30s" }
sandbox = true
network = false
paths_rw = ["/srv/backup"]

[job.plain]
command = "true"
)",
                                      "x.toml");
  REQUIRE_MESSAGE(file.ok(), (file.ok() ? std::string() : file.error().message));
  REQUIRE(file->jobs.size() == 2);
  auto backup = job::proto::spec_from_json(file->jobs[0].spec).value();
  CHECK(backup.user == "svc");
  CHECK(backup.confine.limits.nofile == 1024);
  CHECK(backup.confine.limits.memory == int64_t{512} << 20);
  CHECK(backup.confine.limits.cpu == 30);
  CHECK(backup.confine.sandbox);
  CHECK_FALSE(backup.confine.network);
  CHECK(backup.confine.paths_rw == std::vector<std::string>{"/srv/backup"});
  auto plain = job::proto::spec_from_json(file->jobs[1].spec).value();
  CHECK(plain.user == "svc");
  CHECK(plain.confine.limits.nofile == 256);
  CHECK_FALSE(plain.confine.sandbox);

  std::vector<Json> specs;
  for (const auto& j : file->jobs)
    specs.push_back(job::proto::spec_to_json(job::proto::spec_from_json(j.spec).value()));
  const std::string written = job::jobfile::write_jobs(specs, job::jobfile::builtin_defaults());
  CHECK(written.find("paths_rw = [ \"/srv/backup\" ]") != std::string::npos);
  auto again = job::jobfile::read_jobs(written, "export.toml");
  REQUIRE_MESSAGE(again.ok(), ((again.ok() ? std::string() : again.error().message) + "\n" + written));
  CHECK(job::proto::spec_from_json(again->jobs[0].spec).value() == backup);
  CHECK(job::proto::spec_from_json(again->jobs[1].spec).value() == plain);

  auto bad =
      job::jobfile::read_jobs("[job.x]\ncommand = \"true\"\nlimits = { memory = \"big\" }\n", "x.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("limits.memory: \"big\" is not a size") != std::string::npos);
}
