#include "proto/paths.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace job::proto {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string();
}

// $HOME, which login sets. (No getpwuid: jobctl is linked statically, and
// glibc's user lookups need its shared libraries.)
std::string home() {
  auto h = env("HOME");
  return h.empty() ? std::string("/") : h;
}

}  // namespace

std::string default_state_dir() {
  if (geteuid() == 0) return "/var/lib/jobd";
  if (auto xdg = env("XDG_STATE_HOME"); !xdg.empty()) return xdg + "/jobd";
  return home() + "/.local/state/jobd";
}

std::string default_socket_path() {
  if (geteuid() == 0) return "/run/jobd/jobd.sock";
  if (auto xdg = env("XDG_RUNTIME_DIR"); !xdg.empty()) return xdg + "/jobd.sock";
  return default_state_dir() + "/jobd.sock";
}

std::optional<sockaddr_un> unix_address(std::string_view path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) return std::nullopt;
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

}  // namespace job::proto
