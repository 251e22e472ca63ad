#include "executor.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include "time/rfc3339.hpp"

extern char** environ;

namespace jobd {
namespace {

// posix_spawn's attributes and file actions, released however we leave.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

std::vector<std::string> environment(const job::sched::Job& job, const job::sched::TaskSpec* task,
                                     const job::sched::Run& run, const job::time::Zone& zone) {
  // jobd's own environment, then the job's variables, then the task's.
  using Vars = std::vector<std::pair<std::string, std::string>>;
  static const Vars none;
  const Vars& task_env = task ? task->env : none;
  auto in = [](const Vars& vars, std::string_view key) {
    for (const auto& [k, v] : vars)
      if (k == key) return true;
    return false;
  };
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry = *e;
    const std::string_view key = entry.substr(0, entry.find('='));
    // NOTIFY_SOCKET is systemd's channel to jobd, not to its jobs.
    if (!key.starts_with("JOBD_") && key != "NOTIFY_SOCKET" && !in(job.spec.env, key) && !in(task_env, key))
      env.emplace_back(entry);
  }
  for (const auto& [k, v] : job.spec.env)
    if (!in(task_env, k)) env.push_back(k + "=" + v);
  for (const auto& [k, v] : task_env) env.push_back(k + "=" + v);
  env.push_back("JOBD_JOB=" + job.spec.name);
  env.push_back("JOBD_JOB_ID=" + job::sched::job_ref(job.id));
  env.push_back("JOBD_RUN_ID=" + job::sched::run_ref(run.id));
  if (task) {
    env.push_back("JOBD_TASK=" + task->name);
    env.push_back("JOBD_JOB_RUN_ID=" + job::sched::run_ref(run.parent));
  }
  env.push_back("JOBD_ATTEMPT=" + std::to_string(run.attempt));
  env.push_back("JOBD_SCHEDULED_AT=" + job::time::format_rfc3339(run.scheduled_at, zone));
  if (run.missed_count > 0) {  // a catch-up run: the fires it stands for
    env.push_back("JOBD_MISSED_COUNT=" + std::to_string(run.missed_count));
    env.push_back("JOBD_MISSED_SINCE=" +
                  job::time::format_rfc3339(run.missed_since.value_or(run.scheduled_at), zone));
  }
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  p.reserve(strings.size() + 1);
  for (auto& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

}  // namespace

SpawnRequest spawn_request(const job::sched::Job& job, const job::sched::TaskSpec* task,
                           const job::sched::Run& run, const LogPaths& logs, const job::time::Zone& zone) {
  const std::vector<std::string>& argv = task ? task->argv : job.spec.argv;
  const std::string& shell = task ? task->shell : job.spec.shell;
  const std::string& cwd = task && !task->cwd.empty() ? task->cwd : job.spec.cwd;
  return {run.id, argv.empty() ? std::vector<std::string>{"/bin/sh", "-c", shell} : argv,
          environment(job, task, run, zone), cwd, logs};
}

job::Result<Spawned> spawn(const SpawnRequest& request) {
  const LogPaths& logs = request.logs;
  SpawnSetup s;
  // A new session: the run leads its own process group, signalled as a whole.
  // Signal dispositions and mask are reset: jobd's handlers are not the job's.
  // The full set is also the cheapest: glibc's child checks every signal not
  // in it with a syscall of its own, and leaves its internal ones ignored.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&s.attr, &all);
  posix_spawnattr_setsigmask(&s.attr, &none);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&s.actions, 1, logs.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
                                   0640);
  posix_spawn_file_actions_addopen(&s.actions, 2, logs.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
                                   0640);
  if (!request.cwd.empty()) posix_spawn_file_actions_addchdir_np(&s.actions, request.cwd.c_str());

  std::vector<std::string> argv = request.argv;
  std::vector<std::string> env = request.env;
  auto argv_p = pointers(argv);
  auto env_p = pointers(env);
  pid_t pid = 0;
  // glibc reports a failed exec (or chdir, or open) as posix_spawnp's result.
  const int rc = posix_spawnp(&pid, argv[0].c_str(), &s.actions, &s.attr, argv_p.data(), env_p.data());
  if (rc != 0) return job::Error{job::Errc::internal, cannot_start(rc, argv[0], request.cwd)};
  return Spawned{pid, 0};
}

// ENOENT names the program, unless the working directory is what is missing.
std::string cannot_start(int error, const std::string& program, const std::string& cwd) {
  std::string what = std::strerror(error);
  if (error == ENOENT && !cwd.empty() && access(cwd.c_str(), X_OK) != 0)
    what = "working directory " + cwd + ": " + what;
  else if (error == ENOENT || error == EACCES)
    what = program + ": " + what;
  return "cannot start: " + what;
}

int64_t process_start_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return 0;
  // Field 22, counted after the command name, which may itself hold spaces.
  size_t pos = text.rfind(')');
  if (pos == std::string::npos) return 0;
  for (int field = 2; field < 22 && pos != std::string::npos; ++field) pos = text.find(' ', pos + 1);
  return pos == std::string::npos ? 0 : std::strtoll(text.c_str() + pos + 1, nullptr, 10);
}

void trim_log(const std::string& path, int64_t max_bytes) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || st.st_size <= max_bytes) return;
  std::ifstream in(path, std::ios::binary);
  in.seekg(st.st_size - max_bytes);
  std::string tail(static_cast<size_t>(max_bytes), '\0');
  in.read(tail.data(), max_bytes);
  const std::string tmp = path + ".trim";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(tail.data(), in.gcount());
    if (!out) return;
  }
  std::rename(tmp.c_str(), path.c_str());
}

std::pair<std::string, int64_t> read_log_chunk(const std::string& path, int64_t offset, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {{}, 0};
  in.seekg(0, std::ios::end);
  const int64_t size = in.tellg();
  if (offset >= size) return {{}, size};
  in.seekg(offset);
  std::string data(static_cast<size_t>(std::min(limit, size - offset)), '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  return {std::move(data), size};
}

}  // namespace jobd
