// How a job's runs are confined: resource limits, a sandbox, and what the
// sandbox leaves writable. Plain data, parsed and printed here so that the
// codec, jobs.toml and jobctl agree on the spellings ("512M", "30s").
// The run-as user is JobSpec::user, beside it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.hpp"

namespace job::sched {

struct Limits {
  std::optional<int64_t> nofile;  // RLIMIT_NOFILE
  std::optional<int64_t> nproc;   // RLIMIT_NPROC, and pids.max in the run's cgroup
  std::optional<int64_t> memory;  // bytes: memory limit of the run's cgroup
  std::optional<int64_t> cpu;     // seconds of CPU time: RLIMIT_CPU

  bool any() const { return nofile || nproc || memory || cpu; }
  friend bool operator==(const Limits&, const Limits&) = default;
};

struct Confinement {
  Limits limits;
  bool sandbox = false;  // run under bubblewrap: / read-only, private /tmp, /proc, /dev, pid namespace
  bool network = true;   // in the sandbox: false unshares the network (only lo is left)
  std::vector<std::string> paths_rw;  // absolute paths the sandbox leaves writable

  friend bool operator==(const Confinement&, const Confinement&) = default;
};

// The limit names, in the order they are printed: nofile, nproc, memory, cpu.
inline constexpr std::string_view kLimitNames[] = {"nofile", "nproc", "memory", "cpu"};
std::optional<int64_t>* limit_named(Limits& limits, std::string_view name);
const std::optional<int64_t>* limit_named(const Limits& limits, std::string_view name);

// "512M", "2G", "1048576", "64k": bytes (K, M, G, T are powers of 1024;
// an optional trailing "B" or "iB" is allowed). At least one byte.
Result<int64_t> parse_size(std::string_view text);
// The shortest exact spelling: 536870912 -> "512M", 1000 -> "1000".
std::string format_size(int64_t bytes);

}  // namespace job::sched
