// What the keeper costs a run's start: /bin/true spawned bare by jobd's own
// executor (jobd::spawn, the code the Spawner thread runs) and reaped with
// waitpid, against the same through a keeper (`jobd --keeper`, as a worker
// runs its runs: a request on the socket, the keeper's spawn, its "spawned"
// and "exited" lines back, all on a libuv loop). Rounds alternate so that a
// noisy machine's drift hits both alike; medians compared. The target
// (issue 8): through the keeper within 10% of bare.
//
//   keeper_bench JOBD [--json] [--count N] [--rounds R] [--parallel P]...
//
// At most P runs alive (a worker's slots); the rate is runs started and
// reaped per second. Also the CPU time per run (ours, our children's and,
// for the keeper, its own and its children's once it has exited, from
// getrusage): on a shared machine it drifts less than the rate does.
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

Round bare_round(const jobd::SpawnRequest& request, int count, int parallel) {
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
      std::fprintf(stderr, "keeper_bench: %s\n", spawned.error().message.c_str());
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

// The same through a keeper, started anew for the round so that its CPU
// time is counted (a process's children's usage is known once reaped).
Round keeper_round(const char* jobd, const jobd::SpawnRequest& request, int count, int parallel) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = cpu_seconds();
  uv_loop_t* loop = uv_default_loop();
  int started = 0, ended = 0;
  jobd::Keeper* keeper = nullptr;
  auto next = [&] {
    while (started < count && started - ended < parallel) {
      keeper->spawn(request);
      ++started;
    }
  };
  jobd::Keeper k(loop, {[&](jobd::SpawnResult r) {
                          if (!r.spawned) {
                            std::fprintf(stderr, "keeper_bench: %s\n", r.spawned.error().message.c_str());
                            std::exit(1);
                          }
                        },
                        [&](pid_t, int) {
                          ++ended;
                          if (ended == count) return keeper->close();
                          next();
                        },
                        [&](const std::string& why) {
                          std::fprintf(stderr, "keeper_bench: the keeper is gone: %s\n", why.c_str());
                          std::exit(1);
                        }});
  keeper = &k;
  if (auto e = k.start(jobd)) {
    std::fprintf(stderr, "keeper_bench: %s\n", e->message.c_str());
    std::exit(1);
  }
  next();
  uv_run(loop, UV_RUN_DEFAULT);
  int status = 0;
  waitpid(k.pid(), &status, 0);
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

  jobd::SpawnRequest request{0, {"/bin/true"}, {}, "", {"/dev/null", "/dev/null"}};
  for (char** e = environ; *e; ++e) request.env.emplace_back(*e);

  if (!json)
    std::printf("%-34s %10s %12s  %s\n", "/bin/true spawned and reaped", "bare/s", "keeper/s",
                "keeper/bare");
  for (int parallel : parallels) {
    bare_round(request, count / 10, parallel);  // warm the page cache and the allocator
    keeper_round(argv[1], request, count / 10, parallel);
    std::vector<double> b, s, bcpu, scpu;
    for (int r = 0; r < rounds; ++r) {
      const Round rb = bare_round(request, count, parallel), rs = keeper_round(argv[1], request, count, parallel);
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
