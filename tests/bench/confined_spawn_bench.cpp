// What confinement costs a run's start: /bin/true spawned by jobd's own
// executor (jobd::spawn, the code the Spawner thread runs) and reaped with
// waitpid, one at a time: bare (posix_spawn), confined (our clone-based
// spawn, switching to the user `nobody` with nofile and cpu rlimits), and
// confined with a per-run memory cgroup (created, joined, removed each run,
// when cgroups are writable). Rounds alternate so that a noisy machine's
// drift hits all alike; medians compared. Target (issue 9): confined within
// 10% of bare. Needs root (to switch user).
//
//   confined_spawn_bench [--count N] [--rounds R] [--user NAME]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cgroups.hpp"
#include "executor.hpp"

extern char** environ;

namespace {

// Runs per second, spawning and reaping `count` runs of `request`.
double round_rate(jobd::SpawnRequest request, int count, int64_t& next_run) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    request.run = next_run++;
    auto spawned = jobd::spawn(request);
    if (!spawned) {
      std::fprintf(stderr, "confined_spawn_bench: %s\n", spawned.error().message.c_str());
      std::exit(1);
    }
    int status = 0;
    waitpid(spawned->pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "confined_spawn_bench: /bin/true failed (status %d)\n", status);
      std::exit(1);
    }
    jobd::remove_run_cgroup(request.run);
  }
  return count / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int count = 2000, rounds = 7;
  std::string user = "nobody";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--count")) count = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--user")) user = argv[i + 1];
  }
  if (geteuid() != 0) {
    std::puts("confined_spawn_bench: needs root to switch user; skipped");
    return 0;
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("confined_spawn_bench." + std::to_string(getpid()));
  std::filesystem::create_directory(dir);
  jobd::SpawnRequest bare;
  bare.argv = {"/bin/true"};
  for (char** e = environ; *e; ++e) bare.env.emplace_back(*e);
  bare.cwd = "/";
  bare.logs = {(dir / "out").string(), (dir / "err").string()};
  jobd::SpawnRequest confined = bare;
  confined.user = user;
  confined.confine.limits.nofile = 256;
  confined.confine.limits.cpu = 60;
  jobd::SpawnRequest cgroup = confined;
  cgroup.confine.limits.memory = int64_t{256} << 20;
  const bool cgroups = jobd::cgroup_mode() != jobd::CgroupMode::none;

  int64_t run = 1;
  std::vector<double> b, c, g;
  round_rate(bare, count / 10, run);  // warm up
  for (int r = 0; r < rounds; ++r) {
    b.push_back(round_rate(bare, count, run));
    c.push_back(round_rate(confined, count, run));
    if (cgroups) g.push_back(round_rate(cgroup, count, run));
  }
  std::filesystem::remove_all(dir);
  const double mb = median(b), mc = median(c);
  std::printf("spawn+wait of /bin/true, %d per round, median of %d rounds\n", count, rounds);
  std::printf("  posix_spawn                       %8.0f/s  %6.1f us\n", mb, 1e6 / mb);
  std::printf("  confined (%s, nofile, cpu)    %8.0f/s  %6.1f us  %+.1f%%\n", user.c_str(), mc, 1e6 / mc,
              (mb / mc - 1) * 100);
  if (cgroups) {
    const double mg = median(g);
    std::printf("  confined + memory cgroup (%s)     %8.0f/s  %6.1f us  %+.1f%%\n",
                std::string(jobd::name(jobd::cgroup_mode())).c_str(), mg, 1e6 / mg, (mb / mg - 1) * 100);
  }
  return 0;
}
