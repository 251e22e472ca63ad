// Who is asking (issue 9): every request is made by an Identity, with a role
// and a namespace. On the Unix socket it is the peer's uid (SO_PEERCRED),
// like a crontab's owner: the user's name is their namespace, and their jobs
// run as them. Over TCP it is a named token (tokens.hpp), or the cluster
// token, which is good for the worker ops only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace jobd {

// What a role may do: each includes the ones before it (but worker, which is
// apart). viewer reads in its namespace; operator also submits, applies,
// cancels, pauses, resumes, triggers and deletes there; admin does
// everything, in every namespace.
enum class Role { viewer, operator_, admin, worker };

std::string_view role_name(Role role);
std::optional<Role> role_from(std::string_view name);
// Whether `have` may do what needs `need`.
bool allows(Role have, Role need);

struct Identity {
  std::string name;  // "alice", "token ci", "worker"
  Role role = Role::viewer;
  std::string ns;    // the namespace its job names live in
  std::string user;  // the Unix user its jobs run as by default; empty: none (a token's)
  std::string from;  // "uid 1000", or a TCP client's HOST:PORT
  bool admin() const { return role == Role::admin; }
};

// The identity of a local uid: its user name (or "uid N" if it has none) as
// name and namespace. Admins are root, jobd's own user and the members of
// `admin_group` (none if empty); everyone else is an operator.
Identity local_identity(uid_t uid, const std::string& admin_group);

// jobd's own user's name: the namespace of the jobs from its jobs_dir, and of
// those saved before namespaces existed.
std::string own_user_name();

}  // namespace jobd
