#include "run_as.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace jobd {

job::Result<RunAs> resolve_user(const std::string& name) {
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size > 0 ? static_cast<size_t>(size) : 16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found)) == ERANGE)
    buffer.resize(buffer.size() * 2);
  if (rc != 0)
    return job::Error{job::Errc::internal, "cannot look up user " + name + ": " + std::strerror(rc)};
  if (!found) return job::Error{job::Errc::not_found, "no such user: " + name};
  RunAs user{name, pw.pw_uid, pw.pw_gid, {}, pw.pw_dir ? pw.pw_dir : "/", pw.pw_shell ? pw.pw_shell : ""};
  if (user.shell.empty()) user.shell = "/bin/sh";
  int count = 32;
  user.groups.resize(static_cast<size_t>(count));
  while (getgrouplist(name.c_str(), pw.pw_gid, user.groups.data(), &count) < 0)
    user.groups.resize(static_cast<size_t>(count));
  user.groups.resize(static_cast<size_t>(count));
  return user;
}

std::optional<job::Error> may_run_as(const RunAs& user) {
  const uid_t self = geteuid();
  if (self == 0 || self == user.uid) return std::nullopt;
  std::string me = std::to_string(self);
  if (const passwd* pw = getpwuid(self)) me = pw->pw_name;  // once per refused run: not worth getpwuid_r
  return job::Error{job::Errc::permission_denied,
                    "jobd runs as " + me + " and cannot start jobs as " + user.name};
}

void add_user_environment(const RunAs& user, std::vector<std::string>& env) {
  const auto add = [&](const std::string& key, const std::string& value) {
    for (const std::string& e : env)
      if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') return;
    env.push_back(key + "=" + value);
  };
  add("HOME", user.home);
  add("USER", user.name);
  add("LOGNAME", user.name);
  add("SHELL", user.shell);
}

}  // namespace jobd
