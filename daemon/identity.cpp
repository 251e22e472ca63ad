#include "identity.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <array>
#include <vector>

#include <fmt/format.h>

namespace jobd {

namespace {
constexpr std::array<std::string_view, 4> kRoleNames = {"viewer", "operator", "admin", "worker"};

struct Passwd {
  passwd pw{};
  std::vector<char> buffer = std::vector<char>(16384);
};

bool user_of(uid_t uid, Passwd& out) {
  passwd* found = nullptr;
  return getpwuid_r(uid, &out.pw, out.buffer.data(), out.buffer.size(), &found) == 0 && found;
}

// Whether the user is in `group`, as primary or supplementary group.
bool in_group(const passwd& pw, const std::string& group) {
  if (group.empty()) return false;
  struct group gr {};
  struct group* found = nullptr;
  std::vector<char> buffer(16384);
  if (getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &found) != 0 || !found) return false;
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return false;
  }
  groups.resize(static_cast<size_t>(n));
  for (gid_t g : groups)
    if (g == gr.gr_gid) return true;
  return false;
}
}  // namespace

std::string_view role_name(Role role) { return kRoleNames[static_cast<size_t>(role)]; }

std::optional<Role> role_from(std::string_view name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i)
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  return std::nullopt;
}

bool allows(Role have, Role need) {
  if (have == Role::worker || need == Role::worker) return have == need;
  return static_cast<int>(have) >= static_cast<int>(need);
}

std::string own_user_name() {
  Passwd p;
  return user_of(geteuid(), p) ? std::string(p.pw.pw_name) : fmt::format("uid{}", geteuid());
}

Identity local_identity(uid_t uid, const std::string& admin_group) {
  Identity id;
  id.from = fmt::format("uid {}", uid);
  Passwd p;
  const bool known = user_of(uid, p);
  id.name = known ? std::string(p.pw.pw_name) : fmt::format("uid{}", uid);
  id.ns = id.name;
  id.user = known ? id.name : std::string();
  const bool admin = uid == 0 || uid == geteuid() || (known && in_group(p.pw, admin_group));
  id.role = admin ? Role::admin : Role::operator_;
  return id;
}

}  // namespace jobd
