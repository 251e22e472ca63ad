// The watched jobs_dir (jobs_dir.cpp): its *.toml files applied like
// `jobctl apply --prune FILE`, each on its own, whenever one is added, edited
// or removed, as cron reads /etc/cron.d.
#pragma once

#include <uv.h>

#include <map>
#include <string>

namespace jobd {

struct JobsDir {
  std::string path;  // canonical; empty: nothing watched
  uv_fs_event_t watch{};
  uv_timer_t settle{};  // changes come in bursts (an editor's save): applied once they settle
  bool watching = false, open = false;
  std::map<std::string, std::string> applied;  // file -> the text last applied, or tried
  std::map<std::string, std::string> errors;   // file -> why its last text was not applied
};

// Whether `name` (a directory entry) is a job file: *.toml, not hidden (so
// not an editor's `.#x.toml` or `.x.toml.swp`).
bool is_job_file(std::string_view name);

}  // namespace jobd
