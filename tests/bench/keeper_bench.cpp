// What the keeper costs a run's start: /bin/true spawned bare by jobd's own
// executor (jobd::spawn, the code the Spawner thread runs) and reaped with
// waitpid, against the same with a keeper (`jobd --keeper`) told of each
// run as a worker tells it: held before the spawn, its group after, its end
// after the reap. Rounds alternate so that a noisy machine's drift hits
// both alike; medians compared. The target (issue 8): with the keeper
// within 10% of bare.
//
//   keeper_bench JOBD [--json] [--count N] [--rounds R] [--parallel P]...
//
// At most P runs alive (a worker's slots); the rate is runs started and
// reaped per second. The keeper is started once, as a worker starts it.
// Also the CPU time per run (ours and our children's, from getrusage; the
// keeper's, from /proc): on a shared machine it drifts less than the rate.
// Prints a table, or with --json one line per P.
#include <sys/resource.h>
#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "executor.hpp"
#include "keeper.hpp"

extern char** environ;

namespace {

struct Round {
  double per_s;       // runs started and reaped per second
  double cpu_us_per;  // CPU time per run, ours and the children's
};

double cpu_seconds() {
  double total = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage u{};
    getrusage(who, &u);
    for (const timeval& t : {u.ru_utime, u.ru_stime})
      total += static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  }
  return total;
}

// The keeper's CPU time, in clock ticks from /proc/PID/stat (utime and
// stime, fields 14 and 15): it has no children.
double keeper_cpu_seconds(pid_t keeper) {
  std::ifstream in("/proc/" + std::to_string(keeper) + "/stat");
  std::string text;
  std::getline(in, text);
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string skip;
  for (int field = 3; field < 14; ++field) fields >> skip;
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "keeper_bench: %s\n", why.c_str());
  std::exit(1);
}

// One round: `count` runs, at most `parallel` alive. With a keeper, each is
// held before its spawn, its group told after, and its end after the reap,
// as WorkerNode does; the keeper's writes complete on the loop, run without
// waiting between runs.
Round run_round(const jobd::SpawnRequest& request, int count, int parallel, jobd::Keeper* keeper) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds() + (keeper ? keeper_cpu_seconds(keeper->pid()) : 0);
  std::unordered_map<pid_t, int64_t> runs;
  auto reaped = [&](pid_t pid) {
    if (keeper && pid == keeper->pid()) die("the keeper died");
    auto it = runs.find(pid);
    if (it == runs.end()) return;
    if (keeper) keeper->ended(it->second);
    runs.erase(it);
  };
  for (int64_t run = 1; run <= count; ++run) {
    while (static_cast<int>(runs.size()) >= parallel) {
      int status = 0;
      reaped(waitpid(-1, &status, 0));
    }
    if (keeper) keeper->hold(run, "JOBD_RUN_ID=r" + std::to_string(run));
    auto spawned = jobd::spawn(request);
    if (!spawned) die(spawned.error().message);
    if (keeper) keeper->started(run, spawned->pid);
    runs[spawned->pid] = run;
    int status = 0;
    pid_t pid;
    while (!runs.empty() && (pid = waitpid(-1, &status, WNOHANG)) > 0) reaped(pid);
    if (keeper) uv_run(uv_default_loop(), UV_RUN_NOWAIT);
  }
  while (!runs.empty()) {
    int status = 0;
    reaped(waitpid(-1, &status, 0));
  }
  if (keeper) uv_run(uv_default_loop(), UV_RUN_NOWAIT);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {count / wall, (cpu_seconds() + (keeper ? keeper_cpu_seconds(keeper->pid()) : 0) - cpu_start) / count * 1e6};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string list(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ", ") + std::to_string(static_cast<long>(x));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: keeper_bench JOBD [--json] [--count N] [--rounds R] [--parallel P]...\n", stderr);
    return 2;
  }
  int count = 2000, rounds = 5;
  bool json = false;
  std::vector<int> parallels;
  for (int i = 2; i < argc; i += 2) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
      --i;
      continue;
    }
    const int value = i + 1 < argc ? std::atoi(argv[i + 1]) : 0;
    if (std::strcmp(argv[i], "--count") == 0) count = value;
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = value;
    if (std::strcmp(argv[i], "--parallel") == 0) parallels.push_back(value);
  }
  if (parallels.empty()) parallels = {1, 8};

  jobd::SpawnRequest request{0, {"/bin/true"}, {}, "", {"/dev/null", "/dev/null"}, {}, {}};
  for (char** e = environ; *e; ++e) request.env.emplace_back(*e);

  if (!json)
    std::printf("%-34s %10s %12s  %s\n", "/bin/true spawned and reaped", "bare/s", "keeper/s",
                "keeper/bare");
  // Started once, as a worker starts it: its start-up is no run's cost.
  jobd::Keeper keeper(uv_default_loop(), [](const std::string& why) { die("the keeper is gone: " + why); });
  if (auto e = keeper.start(argv[1])) die(e->message);
  for (int parallel : parallels) {
    run_round(request, count / 10, parallel, nullptr);  // warm the page cache and the allocator
    run_round(request, count / 10, parallel, &keeper);
    std::vector<double> b, s, bcpu, scpu;
    for (int r = 0; r < rounds; ++r) {
      const Round rb = run_round(request, count, parallel, nullptr), rs = run_round(request, count, parallel, &keeper);
      b.push_back(rb.per_s);
      s.push_back(rs.per_s);
      bcpu.push_back(rb.cpu_us_per);
      scpu.push_back(rs.cpu_us_per);
    }
    const double mb = median(b), ms = median(s);
    if (json) {
      std::printf(
          "{\"parallel\":%d,\"count\":%d,\"bare_per_s\":[%s],\"keeper_per_s\":[%s],\"bare_cpu_us\":[%s],"
          "\"keeper_cpu_us\":[%s]}\n",
          parallel, count, list(b).c_str(), list(s).c_str(), list(bcpu).c_str(), list(scpu).c_str());
    } else {
      std::printf("%-34s %10.0f %12.0f  %.3f\n", ("  at most " + std::to_string(parallel) + " alive").c_str(),
                  mb, ms, ms / mb);
      std::printf("    rounds: bare %s; keeper %s\n", list(b).c_str(), list(s).c_str());
      std::printf("    CPU per run, median: bare %.0f us, keeper %.0f us (%.3f)\n", median(bcpu),
                  median(scpu), median(bcpu) / median(scpu));
    }
    std::fflush(stdout);
  }
  return 0;
}
