// Simulated workers for the cluster benchmarks (driven by tests/bench/jobd_bench.py).
//
//   worker_sim HOST:PORT TOKEN_FILE --workers N [--slots S] [--run-ms D] [--seconds T] [--prefix P]
//
// Opens N connections to a coordinator, each a worker (P0, P1, ...) with S
// slots that authenticates, registers and sends a heartbeat every second
// with the leases it holds, as jobd --join does. An assignment "runs" for D
// ms (no process) and is then reported as exit 0. After T seconds it prints
// one JSON object: workers registered, heartbeats sent and answered, runs,
// the latency from a run's due time (JOBD_SCHEDULED_AT) to its assignment
// arriving, and slot utilisation from the first assignment to the last report.
#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <queue>
#include <sstream>
#include <string>
#include <vector>

#include "proto/codec.hpp"
#include "proto/protocol.hpp"
#include "time/rfc3339.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using job::proto::Json;

struct Worker {
  int fd = -1;
  std::string name;
  job::proto::LineReader reader;
  std::string out;  // unsent bytes
  bool registered = false;
  uint64_t seen_epoch = 0;
  std::map<std::string, uint64_t> running;  // run -> epoch
  Clock::time_point next_beat{};
  int64_t next_id = 1;
};

struct Finish {
  Clock::time_point at;
  size_t worker;
  std::string run;
  uint64_t epoch;
  bool operator>(const Finish& o) const { return at > o.at; }
};

[[noreturn]] void die(const std::string& why) {
  fmt::print(stderr, "worker_sim: {}\n", why);
  std::exit(1);
}

void queue_line(Worker& w, Json j) {
  j["id"] = w.next_id++;
  w.out += j.dump() + "\n";
}

void flush(Worker& w) {
  while (!w.out.empty()) {
    const ssize_t n = ::send(w.fd, w.out.data(), w.out.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: later
    w.out.erase(0, static_cast<size_t>(n));
  }
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) die("usage: worker_sim HOST:PORT TOKEN_FILE --workers N [--slots S] [--run-ms D] [--seconds T]");
  const std::string address = argv[1];
  std::string token;
  {
    std::ifstream in(argv[2]);
    std::getline(in, token);
  }
  int workers = 10, slots = 1, seconds = 10;
  int64_t run_ms = 10;
  std::string prefix = "sim";
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--workers") workers = std::stoi(v);
    else if (k == "--slots") slots = std::stoi(v);
    else if (k == "--run-ms") run_ms = std::stoll(v);
    else if (k == "--seconds") seconds = std::stoi(v);
    else if (k == "--prefix") prefix = v;
    else die("unknown option " + k);
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  const size_t colon = address.rfind(':');
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(address.substr(0, colon).c_str(), address.substr(colon + 1).c_str(), &hints, &found) != 0)
    die("cannot resolve " + address);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Worker> ws(static_cast<size_t>(workers));
  const auto start = Clock::now();
  for (size_t i = 0; i < ws.size(); ++i) {
    Worker& w = ws[i];
    w.name = fmt::format("{}{}", prefix, i);
    w.fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (w.fd < 0 || connect(w.fd, found->ai_addr, found->ai_addrlen) != 0)
      die(fmt::format("connect {}: {}", i, std::strerror(errno)));
    const int one = 1;
    setsockopt(w.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(w.fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, w.fd, &ev);
    queue_line(w, {{"op", "auth"}, {"token", token}});
    queue_line(w, {{"op", "register"}, {"name", w.name}, {"slots", slots}, {"leases", Json::array()},
                   {"seen_epoch", 0}});
    // Heartbeats spread over the second, as independent workers' would be.
    w.next_beat = start + std::chrono::milliseconds(1000 + static_cast<int64_t>(i) * 1000 / workers);
    flush(w);
  }
  freeaddrinfo(found);

  int64_t registered = 0, beats = 0, beat_replies = 0, runs = 0, refused = 0;
  std::vector<double> latency_ms;
  std::priority_queue<Finish, std::vector<Finish>, std::greater<>> finishing;
  Clock::time_point first_assign{}, last_report{};
  double busy_ms = 0;
  const auto end = start + std::chrono::seconds(seconds);
  std::vector<epoll_event> events(1024);
  size_t beat_cursor = 0;
  // Heartbeats in order of next_beat: the workers were given increasing
  // offsets, and each moves one second on, so the order is a rotation.
  while (Clock::now() < end) {
    const auto now = Clock::now();
    for (size_t n = 0; n < ws.size(); ++n) {
      Worker& w = ws[beat_cursor];
      if (w.next_beat > now) break;
      if (w.registered) {
        Json leases = Json::array();
        for (const auto& [run, epoch] : w.running) leases.push_back({{"run", run}, {"epoch", epoch}});
        queue_line(w, {{"op", "heartbeat"}, {"leases", leases}, {"seen_epoch", w.seen_epoch}});
        ++beats;
        flush(w);
      }
      w.next_beat += std::chrono::seconds(1);
      beat_cursor = (beat_cursor + 1) % ws.size();
    }
    while (!finishing.empty() && finishing.top().at <= now) {
      const Finish f = finishing.top();
      finishing.pop();
      Worker& w = ws[f.worker];
      w.running.erase(f.run);
      queue_line(w, {{"op", "report"}, {"run", f.run}, {"epoch", f.epoch}, {"exit_code", 0}, {"signal", 0}});
      flush(w);
      busy_ms += static_cast<double>(run_ms);
      last_report = now;
    }
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1);
    for (int e = 0; e < n; ++e) {
      Worker& w = ws[events[static_cast<size_t>(e)].data.u64];
      char buf[65536];
      const ssize_t got = recv(w.fd, buf, sizeof buf, 0);
      if (got <= 0) die(fmt::format("{}: the coordinator closed the connection", w.name));
      w.reader.feed(std::string_view(buf, static_cast<size_t>(got)));
      while (auto line = w.reader.next()) {
        const Json msg = Json::parse(*line, nullptr, false);
        if (msg.is_discarded()) die("malformed line from the coordinator");
        if (msg.contains("assign")) {
          const Json& a = msg["assign"];
          const auto t = Clock::now();
          for (const auto& env : a["env"]) {
            const std::string kv = env.get<std::string>();
            if (kv.rfind("JOBD_SCHEDULED_AT=", 0) == 0)
              if (auto due = job::time::parse_rfc3339(kv.substr(18)))
                latency_ms.push_back(
                    std::chrono::duration<double, std::milli>(std::chrono::system_clock::now() - *due).count());
          }
          if (first_assign == Clock::time_point{}) first_assign = t;
          const uint64_t epoch = a["epoch"].get<uint64_t>();
          w.seen_epoch = std::max(w.seen_epoch, epoch);
          w.running[a["run"].get<std::string>()] = epoch;
          finishing.push({t + std::chrono::milliseconds(run_ms), static_cast<size_t>(&w - ws.data()),
                          a["run"].get<std::string>(), epoch});
          ++runs;
        } else if (msg.contains("id")) {
          if (!msg.value("ok", false)) {
            ++refused;
            continue;
          }
          if (msg.contains("heartbeat_ms") && !w.registered) {
            w.registered = true;
            ++registered;
          } else if (msg.contains("revoke")) {
            ++beat_replies;
          }
        }
      }
    }
  }
  const double span_ms =
      last_report > first_assign ? std::chrono::duration<double, std::milli>(last_report - first_assign).count() : 0;
  fmt::print("{}\n", Json{{"workers", workers},
                          {"registered", registered},
                          {"heartbeats", beats},
                          {"heartbeat_replies", beat_replies},
                          {"refused", refused},
                          {"runs", runs},
                          {"latency_ms_p50", percentile(latency_ms, 0.5)},
                          {"latency_ms_p99", percentile(latency_ms, 0.99)},
                          {"utilisation", span_ms > 0 ? busy_ms / (span_ms * workers * slots) : 0.0}}
                         .dump());
  return 0;
}
