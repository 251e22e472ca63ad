// jobs.toml files (jobs.toml(5)): [job.NAME] tables, with [job.NAME.tasks.T]
// tables for task graphs, and a [defaults] table the file's jobs inherit.
// Each job becomes the JSON spec that `submit` sends, checked by the codec
// jobd uses, so that every error names the file, line and column at fault:
// `nightly.toml:12:11: job "backup": timeout: "2 hours" is not a duration (try "2h")`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"
#include "proto/codec.hpp"

namespace job::jobfile {

struct FileJob {
  std::string name;
  std::string where;  // `etl.toml:3:1: job "nightly"`, to prefix jobd's errors with
  proto::Json spec;   // as `submit` sends it, with the file's [defaults] merged in
};

struct JobsFile {
  std::string path;
  std::vector<FileJob> jobs;  // in the order they appear; none is not an error
};

// Parses `text`, read from `path`. Errors: Errc::invalid_argument.
Result<JobsFile> read_jobs(std::string_view text, const std::string& path);
Result<JobsFile> read_jobs_file(const std::string& path);

// Defaults as TOML keys (a [defaults] table as JSON) checked and turned into
// spec fields; errors name the key.
Result<proto::Json> defaults_from_keys(const proto::Json& keys);

// Gives `spec` the defaults it lacks: env merges per variable, and tz goes
// only to cron jobs (it means nothing to others).
void merge_defaults(proto::Json& spec, const proto::Json& defaults);

}  // namespace job::jobfile
