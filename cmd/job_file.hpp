// `jobctl submit --file F`: jobs defined in a TOML file (jobctl(1), JOB FILES).
#pragma once

#include <string>
#include <vector>

#include "proto/codec.hpp"

namespace jobctl {

struct FileJob {
  std::string where;      // `etl.toml:3:1: job "nightly"`, to prefix jobd's errors with
  job::proto::Json spec;  // the job as `submit` sends it
};

// Reads and checks every job of the file, in the order they appear in it. A
// failure (Errc::invalid_argument) names the place: `etl.toml:12:11: job
// "nightly": task "load": trigger: "sometimes" is not one of ...`.
std::vector<FileJob> read_job_file(const std::string& path);

}  // namespace jobctl
