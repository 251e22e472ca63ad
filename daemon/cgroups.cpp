#include "cgroups.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "log.hpp"

namespace jobd {
namespace {

constexpr const char* kV1Memory = "/sys/fs/cgroup/memory";
constexpr const char* kV1Pids = "/sys/fs/cgroup/pids";

std::string v2_root;  // set by detect(), before any other use

bool writable_dir(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && access(path.c_str(), W_OK) == 0;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool offers(const std::string& controllers, std::string_view name) {
  std::istringstream words(controllers);
  for (std::string w; words >> w;)
    if (w == name) return true;
  return false;
}

CgroupMode detect() {
  // cgroup2 where jobd sits: mounted on /sys/fs/cgroup (unified) or beside v1.
  for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    const std::string controllers = read_text(std::string(root) + "/cgroup.controllers");
    if (offers(controllers, "memory") && offers(controllers, "pids") && writable_dir(root)) {
      v2_root = root;
      return CgroupMode::v2;
    }
  }
  if (writable_dir(kV1Memory) && writable_dir(kV1Pids)) return CgroupMode::v1;
  return CgroupMode::none;
}

bool write_file(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

std::mutex mu;
std::map<int64_t, std::vector<std::string>> created;  // run -> its cgroup directories
std::vector<std::string> busy;                        // directories to remove later

std::string run_dir(const std::string& root, int64_t run) {
  return root + "/jobd/r" + std::to_string(run) + "-" + std::to_string(getpid());
}

job::Error failed(const std::string& what, const std::string& path) {
  return job::Error{job::Errc::internal,
                    "cannot start: cgroup " + what + " " + path + ": " + std::strerror(errno)};
}

// The directory with one limit file written, its parent (jobd/) made if needed.
job::Result<std::string> make_dir(const std::string& root, int64_t run,
                                  const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string parent = root + "/jobd";
  if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) return failed("mkdir", parent);
  if (v2_root == root) write_file(parent + "/cgroup.subtree_control", "+memory +pids");
  const std::string dir = run_dir(root, run);
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return failed("mkdir", dir);
  for (const auto& [file, value] : files)
    if (!write_file(dir + "/" + file, value)) {
      auto e = failed("write", dir + "/" + file);
      rmdir(dir.c_str());
      return e;
    }
  return dir;
}

}  // namespace

CgroupMode cgroup_mode() {
  static const CgroupMode mode = detect();
  return mode;
}

std::string_view name(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::v1:
      return "v1";
    case CgroupMode::v2:
      return "v2";
    case CgroupMode::none:
      break;
  }
  return "none";
}

job::Result<std::vector<std::string>> create_run_cgroup(int64_t run, const job::sched::Limits& limits) {
  if (!limits.memory && !limits.nproc) return std::vector<std::string>{};
  const CgroupMode mode = cgroup_mode();
  if (mode == CgroupMode::none) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      log(Level::warning,
          "jobd: no writable cgroup hierarchy: memory and nproc limits are applied as rlimits only "
          "(RLIMIT_AS, RLIMIT_NPROC), not as cgroup limits");
    return std::vector<std::string>{};
  }
  std::vector<std::string> dirs;
  auto undo = [&] {
    for (const std::string& d : dirs) rmdir(d.c_str());
  };
  if (mode == CgroupMode::v2) {
    std::vector<std::pair<std::string, std::string>> files;
    if (limits.memory) files.emplace_back("memory.max", std::to_string(*limits.memory));
    if (limits.nproc) files.emplace_back("pids.max", std::to_string(*limits.nproc));
    auto dir = make_dir(v2_root, run, files);
    if (!dir) return dir.error();
    dirs.push_back(*dir);
  } else {
    if (limits.memory) {
      auto dir = make_dir(kV1Memory, run, {{"memory.limit_in_bytes", std::to_string(*limits.memory)}});
      if (!dir) return dir.error();
      dirs.push_back(*dir);
    }
    if (limits.nproc) {
      auto dir = make_dir(kV1Pids, run, {{"pids.max", std::to_string(*limits.nproc)}});
      if (!dir) {
        undo();
        return dir.error();
      }
      dirs.push_back(*dir);
    }
  }
  std::vector<std::string> procs;
  for (const std::string& d : dirs) procs.push_back(d + "/cgroup.procs");
  std::lock_guard lock(mu);
  created[run] = std::move(dirs);
  return procs;
}

void remove_stale_cgroups() {
  std::vector<std::string> roots;
  switch (cgroup_mode()) {
    case CgroupMode::none:
      return;
    case CgroupMode::v1:
      roots = {kV1Memory, kV1Pids};
      break;
    case CgroupMode::v2:
      roots = {v2_root};
      break;
  }
  for (const std::string& root : roots) {
    const std::string parent = root + "/jobd";
    DIR* dir = opendir(parent.c_str());
    if (!dir) continue;
    while (const dirent* e = readdir(dir)) {
      // rN-PID, of a jobd that is gone: its runs, if any still live, keep it busy.
      const std::string name = e->d_name;
      const auto dash = name.rfind('-');
      if (name.size() < 2 || name[0] != 'r' || dash == std::string::npos) continue;
      const pid_t owner = static_cast<pid_t>(std::strtol(name.c_str() + dash + 1, nullptr, 10));
      if (owner <= 0 || owner == getpid() || kill(owner, 0) == 0 || errno != ESRCH) continue;
      rmdir((parent + "/" + name).c_str());
    }
    closedir(dir);
  }
}

void remove_run_cgroup(int64_t run) {
  std::lock_guard lock(mu);
  auto it = created.find(run);
  if (it == created.end() && busy.empty()) return;
  if (it != created.end()) {
    busy.insert(busy.end(), it->second.begin(), it->second.end());
    created.erase(it);
  }
  std::erase_if(busy, [](const std::string& dir) { return rmdir(dir.c_str()) == 0 || errno == ENOENT; });
}

}  // namespace jobd
