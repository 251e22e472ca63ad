// Load generator for jobd's benchmarks (driven by tests/bench/jobd_bench.py).
//
//   submit_load SOCKET --clients N --count M [--rate R] [--job JSON] [--wait-idle]
//
// Opens N connections and sends M submits in all, one at a time per
// connection (closed loop), or, with --rate, at R submits/s spread over the
// connections (open loop: latency includes queueing). Each job is the --job
// spec with a unique name. Prints one JSON object: submits/s and latency
// percentiles, and with --wait-idle the time until jobd had no run queued or
// running (end-to-end rate).
#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "proto/codec.hpp"
#include "proto/protocol.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using job::proto::Json;

struct Conn {
  int fd = -1;
  job::proto::LineReader reader;
  std::deque<Clock::time_point> sent;  // replies come back in order per connection
  std::string out;
};

int connect_to(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fmt::print(stderr, "submit_load: cannot connect to {}: {}\n", path, std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

// Reads until one full line is there (the hello, or a status reply).
std::string read_line(Conn& c) {
  while (true) {
    if (auto line = c.reader.next()) return *line;
    char buf[65536];
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n <= 0) {
      fmt::print(stderr, "submit_load: jobd closed the connection\n");
      std::exit(1);
    }
    c.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

void write_all(int fd, const std::string& s) {
  for (size_t off = 0; off < s.size();) {
    const ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n <= 0) {
      fmt::print(stderr, "submit_load: write failed: {}\n", std::strerror(errno));
      std::exit(1);
    }
    off += static_cast<size_t>(n);
  }
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr,
               "usage: submit_load SOCKET --clients N --count M [--rate R] [--job JSON] [--wait-idle]\n");
    return 2;
  }
  const std::string socket_path = argv[1];
  int clients = 1;
  long count = 1000;
  double rate = 0;
  bool wait_idle = false;
  Json spec = {{"at", "2099-01-01T00:00:00Z"}, {"argv", {"true"}}};
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--clients")
      clients = std::atoi(argv[++i]);
    else if (a == "--count")
      count = std::atol(argv[++i]);
    else if (a == "--rate")
      rate = std::atof(argv[++i]);
    else if (a == "--job")
      spec = Json::parse(argv[++i]);
    else if (a == "--wait-idle")
      wait_idle = true;
  }
  const std::string prefix = fmt::format("load{}-", getpid());

  std::vector<Conn> conns(static_cast<size_t>(clients));
  for (auto& c : conns) {
    c.fd = connect_to(socket_path);
    read_line(c);  // hello
  }
  std::vector<double> latencies;
  latencies.reserve(static_cast<size_t>(count));
  long sent = 0, done = 0, failed = 0;
  const auto start = Clock::now();
  auto send_one = [&](Conn& c) {
    Json s = spec;
    s["name"] = prefix + std::to_string(sent);
    c.out += Json{{"id", sent}, {"op", "submit"}, {"job", s}}.dump() + "\n";
    c.sent.push_back(Clock::now());
    ++sent;
  };
  if (rate <= 0)
    for (auto& c : conns)
      if (sent < count) send_one(c);

  std::vector<pollfd> fds(conns.size());
  size_t next_conn = 0;
  while (done < count) {
    if (rate > 0) {  // open loop: what the schedule says is due by now
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      while (sent < count && static_cast<double>(sent) < elapsed * rate) {
        send_one(conns[next_conn]);
        next_conn = (next_conn + 1) % conns.size();
      }
    }
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!conns[i].out.empty()) {
        write_all(conns[i].fd, conns[i].out);
        conns[i].out.clear();
      }
      fds[i] = {conns[i].fd, POLLIN, 0};
    }
    if (poll(fds.data(), fds.size(), rate > 0 ? 1 : 1000) < 0) continue;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      Conn& c = conns[i];
      char buf[65536];
      const ssize_t n = read(c.fd, buf, sizeof buf);
      if (n <= 0) {
        fmt::print(stderr, "submit_load: jobd closed a connection\n");
        return 1;
      }
      c.reader.feed(std::string_view(buf, static_cast<size_t>(n)));
      while (auto line = c.reader.next()) {
        const auto reply = Json::parse(*line, nullptr, false);
        if (!reply.value("ok", false)) {
          if (++failed <= 3) fmt::print(stderr, "submit_load: {}\n", *line);
        }
        latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - c.sent.front()).count());
        c.sent.pop_front();
        ++done;
        if (rate <= 0 && sent < count) send_one(c);
      }
    }
  }
  const double submit_secs = std::chrono::duration<double>(Clock::now() - start).count();
  double idle_secs = 0;
  if (wait_idle) {
    Conn& c = conns[0];
    while (true) {
      write_all(c.fd, Json{{"id", -1}, {"op", "status"}}.dump() + "\n");
      const auto st = Json::parse(read_line(c));
      if (st.value("running", 1) == 0 && st.value("queued", 1) == 0) break;
      usleep(2000);
    }
    idle_secs = std::chrono::duration<double>(Clock::now() - start).count();
  }
  Json out = {{"clients", clients},
              {"submits", count},
              {"failed", failed},
              {"seconds", submit_secs},
              {"submits_per_s", static_cast<double>(count) / submit_secs},
              {"p50_ms", percentile(latencies, 0.50)},
              {"p99_ms", percentile(latencies, 0.99)},
              {"max_ms", percentile(latencies, 1.0)}};
  if (wait_idle) {
    out["seconds_until_idle"] = idle_secs;
    out["end_to_end_per_s"] = static_cast<double>(count) / idle_secs;
  }
  fmt::print("{}\n", out.dump());
  return failed ? 1 : 0;
}
