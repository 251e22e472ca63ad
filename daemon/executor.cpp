#include "executor.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <utility>
#include <vector>

#include "cgroups.hpp"
#include "confined_spawn.hpp"
#include "run_as.hpp"
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
    // NOTIFY_SOCKET is systemd's channel to jobd, not to its jobs. A run as
    // another user gets that user's HOME, USER, LOGNAME and SHELL at spawn.
    const bool users =
        !job.spec.user.empty() && (key == "HOME" || key == "USER" || key == "LOGNAME" || key == "SHELL");
    if (!key.starts_with("JOBD_") && key != "NOTIFY_SOCKET" && !users && !in(job.spec.env, key) &&
        !in(task_env, key))
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

}  // namespace

SpawnRequest spawn_request(const job::sched::Job& job, const job::sched::TaskSpec* task,
                           const job::sched::Run& run, const LogPaths& logs, const job::time::Zone& zone) {
  const std::vector<std::string>& argv = task ? task->argv : job.spec.argv;
  const std::string& shell = task ? task->shell : job.spec.shell;
  const std::string& cwd = task && !task->cwd.empty() ? task->cwd : job.spec.cwd;
  return {run.id,
          argv.empty() ? std::vector<std::string>{"/bin/sh", "-c", shell} : argv,
          environment(job, task, run, zone),
          cwd,
          logs,
          job.spec.user,
          job.spec.confine};
}

namespace {

job::Error start_error(std::string message) {
  return job::Error{job::Errc::internal, "cannot start: " + message};
}

// bwrap's command line for a sandboxed run: the whole tree read-only but
// for paths_rw, a private /tmp, /dev and /proc, its own pid namespace (and
// network namespace without network). Not --new-session: the run's process
// group must stay the one jobd signals. Not --die-with-parent: runs outlive
// jobd (a restarted jobd adopts them).
std::vector<std::string> sandboxed(const std::string& bwrap, const job::sched::Confinement& c,
                                   const std::vector<std::string>& argv) {
  std::vector<std::string> out = {bwrap,    "--ro-bind", "/",       "/",    "--dev",        "/dev",
                                  "--proc", "/proc",     "--tmpfs", "/tmp", "--unshare-pid"};
  if (!c.network) out.push_back("--unshare-net");
  for (const std::string& p : c.paths_rw) out.insert(out.end(), {"--bind", p, p});
  out.push_back("--");
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::vector<std::pair<int, rlimit>> rlimits(const job::sched::Limits& l, bool cgroups) {
  std::vector<std::pair<int, rlimit>> out;
  const auto add = [&](int resource, int64_t soft, int64_t hard) {
    out.push_back({resource, rlimit{static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)}});
  };
  if (l.nofile) add(RLIMIT_NOFILE, *l.nofile, *l.nofile);
  if (l.nproc) add(RLIMIT_NPROC, *l.nproc, *l.nproc);
  // SIGXCPU at the limit, SIGKILL a second later if it is caught.
  if (l.cpu) add(RLIMIT_CPU, *l.cpu, *l.cpu + 1);
  // Without a cgroup, memory is bounded as address space: cruder, but bounded.
  if (l.memory && !cgroups) add(RLIMIT_AS, *l.memory, *l.memory);
  return out;
}

job::Result<Spawned> spawn_confined(const SpawnRequest& request, ConfinedSpawn s) {
  const job::sched::Confinement& c = request.confine;
  if (c.sandbox) {
    const std::string bwrap = find_program("bwrap", s.env);
    if (bwrap.empty()) return start_error("sandbox = true needs bubblewrap (bwrap), not found in PATH");
    s.argv = sandboxed(bwrap, c, request.argv);
    s.program = bwrap;
  } else {
    s.program = find_program(request.argv[0], s.env);
    if (s.program.empty())
      return job::Error{job::Errc::internal, cannot_start(errno, request.argv[0], s.cwd)};
  }
  s.stdout_path = request.logs.out;
  s.stderr_path = request.logs.err;
  auto procs = create_run_cgroup(request.run, c.limits);
  if (!procs) return procs.error();
  s.cgroup_procs = std::move(*procs);
  s.rlimits = rlimits(c.limits, !s.cgroup_procs.empty());
  const ConfinedResult r = confined_spawn(s);
  if (r.pid > 0) return Spawned{r.pid, 0};
  remove_run_cgroup(request.run);
  if (r.step == "exec" || r.step == "chdir")
    return job::Error{job::Errc::internal, cannot_start(r.error, request.argv[0], s.cwd)};
  return start_error(fmt::format("{}: {}", r.step, std::strerror(r.error)));
}

job::Result<Spawned> posix_spawn_run(const SpawnRequest& request);

}  // namespace

job::Result<Spawned> spawn(const SpawnRequest& request) {
  if (request.user.empty() && !request.confine.limits.any() && !request.confine.sandbox)
    return posix_spawn_run(request);
  ConfinedSpawn s;
  s.argv = request.argv;
  s.env = request.env;
  s.cwd = request.cwd;
  if (!request.user.empty()) {
    auto user = resolve_user(request.user);
    if (!user) return start_error(user.error().message);
    if (auto refused = may_run_as(*user)) return start_error(refused->message);
    add_user_environment(*user, s.env);
    if (s.cwd.empty()) s.cwd = user->home;
    s.switch_user = user->uid != geteuid();
    s.uid = user->uid;
    s.gid = user->gid;
    s.groups = user->groups;
  }
  if (!s.switch_user && !request.confine.limits.any() && !request.confine.sandbox) {
    // jobd's own user: posix_spawn, with the user's environment and home.
    SpawnRequest plain = request;
    plain.env = std::move(s.env);
    plain.cwd = std::move(s.cwd);
    return posix_spawn_run(plain);
  }
  return spawn_confined(request, std::move(s));
}

namespace {

job::Result<Spawned> posix_spawn_run(const SpawnRequest& request) {
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

}  // namespace

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
