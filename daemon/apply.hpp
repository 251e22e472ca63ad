// Plans of `apply`: what applying job files would change (apply.cpp).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "proto/codec.hpp"
#include "sched/model.hpp"

namespace jobd {

// One file's jobs, as jobctl or the jobs_dir watcher read them.
struct ApplyFile {
  std::string path;  // absolute: the jobs' source
  std::vector<std::pair<std::string, job::proto::Json>> jobs;  // (where it is declared, its spec)
};

struct Change {
  enum Kind { create, update, remove } kind;
  std::string name;
  std::string source;
  std::vector<std::string> fields;  // of an update: the TOML keys that change
  job::sched::JobSpec spec;         // of a create or an update
  int64_t id = 0;                   // of an update or a remove, and of a create once made
};

struct Plan {
  std::vector<Change> changes;
  size_t unchanged = 0;
  job::proto::Json to_json() const;  // {"changes": [...], "unchanged": N}
};

}  // namespace jobd
