// The Unix user a run runs as, resolved on the node that starts it (a
// worker's /etc/passwd, not the coordinator's). Thread-safe: getpwnam_r.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "error.hpp"

namespace jobd {

struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, the primary one included (getgrouplist)
  std::string home, shell;
};

// "no such user: bob" for an unknown name.
job::Result<RunAs> resolve_user(const std::string& name);

// Whether jobd may start a run as `user`: root may start any; another user
// only its own runs. The error is the run's start error:
// "jobd runs as X and cannot start jobs as Y".
std::optional<job::Error> may_run_as(const RunAs& user);

// The environment cron gives a user's jobs: HOME, USER, LOGNAME and SHELL,
// added to `env` unless the job set them itself.
void add_user_environment(const RunAs& user, std::vector<std::string>& env);

}  // namespace jobd
