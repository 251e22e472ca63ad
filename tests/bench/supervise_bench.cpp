// What jobd-supervise costs a run's start: /bin/true spawned through jobd's
// own executor (jobd::spawn, the code the Spawner thread runs), bare and
// through the supervisor, alternating round by round so that a noisy
// machine's drift hits both alike; medians compared. The target (issue 8):
// supervised within 10% of bare.
//
//   supervise_bench SUPERVISOR [--json] [--count N] [--rounds R] [--parallel P]...
//
// One thread spawns, as jobd's Spawner does, keeping at most P runs alive
// (jobd's slots) and reaping them with waitpid; the rate is runs started and
// reaped per second. Also the CPU time per run (ours and our children's,
// from getrusage): on a shared machine it drifts less than the rate does.
// Prints a table, or with --json one line per P.
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "executor.hpp"

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

Round run_round(const jobd::SpawnRequest& request, int count, int parallel) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  int alive = 0;
  for (int i = 0; i < count; ++i) {
    while (alive >= parallel) {
      int status = 0;
      if (waitpid(-1, &status, 0) > 0) --alive;
    }
    auto spawned = jobd::spawn(request);
    if (!spawned) {
      std::fprintf(stderr, "supervise_bench: %s\n", spawned.error().message.c_str());
      std::exit(1);
    }
    ++alive;
    int status = 0;
    while (alive > 0 && waitpid(-1, &status, WNOHANG) > 0) --alive;
  }
  while (alive > 0) {
    int status = 0;
    if (waitpid(-1, &status, 0) > 0) --alive;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {count / wall, (cpu_seconds() - cpu_start) / count * 1e6};
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
    std::fputs("usage: supervise_bench SUPERVISOR [--count N] [--rounds R] [--parallel P]...\n", stderr);
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

  jobd::SpawnRequest bare{0, {"/bin/true"}, {}, "", {"/dev/null", "/dev/null"}, "", -1};
  for (char** e = environ; *e; ++e) bare.env.emplace_back(*e);
  jobd::SpawnRequest supervised = bare;
  supervised.supervisor = argv[1];

  if (!json)
    std::printf("%-34s %10s %12s  %s\n", "/bin/true spawned and reaped", "bare/s", "supervised/s",
                "supervised/bare");
  for (int parallel : parallels) {
    run_round(bare, count / 10, parallel);  // warm the page cache and the allocator
    run_round(supervised, count / 10, parallel);
    std::vector<double> b, s, bcpu, scpu;
    for (int r = 0; r < rounds; ++r) {
      const Round rb = run_round(bare, count, parallel), rs = run_round(supervised, count, parallel);
      b.push_back(rb.per_s);
      s.push_back(rs.per_s);
      bcpu.push_back(rb.cpu_us_per);
      scpu.push_back(rs.cpu_us_per);
    }
    const double mb = median(b), ms = median(s);
    if (json) {
      std::printf(
          "{\"parallel\":%d,\"count\":%d,\"bare_per_s\":[%s],\"supervised_per_s\":[%s],\"bare_cpu_us\":[%s],"
          "\"supervised_cpu_us\":[%s]}\n",
          parallel, count, list(b).c_str(), list(s).c_str(), list(bcpu).c_str(), list(scpu).c_str());
    } else {
      std::printf("%-34s %10.0f %12.0f  %.3f\n", ("  at most " + std::to_string(parallel) + " alive").c_str(),
                  mb, ms, ms / mb);
      std::printf("    rounds: bare %s; supervised %s\n", list(b).c_str(), list(s).c_str());
      std::printf("    CPU per run, median: bare %.0f us, supervised %.0f us (%.3f)\n", median(bcpu),
                  median(scpu), median(bcpu) / median(scpu));
    }
    std::fflush(stdout);
  }
  return 0;
}
