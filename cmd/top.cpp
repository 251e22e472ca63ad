// jobctl top [--interval DURATION] [--once]: a live view of jobd: its slots,
// queue and rates, the runs running and the runs waiting to.
//
// On a terminal it redraws in place, on the alternate screen, every interval
// until q, Ctrl-C, SIGTERM or SIGHUP, and gives the terminal back as it was.
// Plain escapes, not curses: one screen of lines redrawn whole needs only
// cursor moves and erases, which every terminal since the VT100 knows, and
// jobctl stays one static binary without terminfo files to find. When
// standard output is not a terminal, or with --once, it prints one plain
// snapshot: `jobctl top | cat` works.
#include <fmt/format.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client.hpp"
#include "command.hpp"
#include "output.hpp"
#include "time/duration.hpp"
#include "time/rfc3339.hpp"

namespace jobctl {
namespace {

using job::proto::Json;
using Clock = std::chrono::steady_clock;

constexpr int64_t kRunsAsked = 1000;  // active runs fetched per refresh, at most
constexpr auto kCallTimeout = std::chrono::seconds{10};

struct TopOptions {
  std::string interval = "1s";
  bool once = false;
};

struct Snapshot {
  Json status;
  std::vector<Json> running;  // newest started first
  std::vector<Json> waiting;  // in the order they are expected to start
  Clock::time_point at;
};

// Runs started and finished per second since the snapshot before.
struct Rates {
  double started = 0, finished = 0;
};

job::time::Instant instant(const Json& v) {
  if (!v.is_string()) return job::time::Instant::max();
  const auto t = job::time::parse_rfc3339(v.get<std::string>());
  return t ? *t : job::time::Instant::max();
}

int64_t run_number(const Json& run) { return std::stoll(run["id"].get<std::string>().substr(1)); }

job::Result<Snapshot> fetch(Client& client) {
  Snapshot s;
  auto status = client.call({{"op", "status"}}, kCallTimeout);
  if (!status) return status.error();
  auto runs = client.call(
      {{"op", "runs"}, {"state", {"running", "queued", "retrying", "pending"}}, {"limit", kRunsAsked}},
      kCallTimeout);
  if (!runs) return runs.error();
  auto jobs = client.call({{"op", "list"}}, kCallTimeout);
  if (!jobs) return jobs.error();
  s.status = std::move(*status);
  s.at = Clock::now();
  // A run's priority is its task's, if the task sets one, else its job's.
  std::map<std::pair<std::string, std::string>, Json> priority;  // (job id, task or "") -> priority
  for (const auto& j : (*jobs)["jobs"]) {
    priority[{cell(j["id"]), ""}] = j["priority"];
    for (const auto& t : j.value("tasks", Json::array()))
      if (t.contains("priority")) priority[{cell(j["id"]), cell(t["name"])}] = t["priority"];
  }
  for (auto& r : (*runs)["runs"]) {
    const std::string task = r["task"].is_string() ? r["task"].get<std::string>() : "";
    auto p = priority.find({cell(r["job"]), task});
    if (p == priority.end()) p = priority.find({cell(r["job"]), ""});
    r["priority"] = p == priority.end() ? Json(nullptr) : p->second;
    (r["state"] == "running" ? s.running : s.waiting).push_back(std::move(r));
  }
  std::stable_sort(s.running.begin(), s.running.end(), [](const Json& a, const Json& b) {
    return instant(a["started_at"]) != instant(b["started_at"])
               ? instant(a["started_at"]) > instant(b["started_at"])
               : run_number(a) > run_number(b);
  });
  // Queued runs first, as the scheduler takes them (highest priority, then
  // oldest); then those retrying, soonest first; then those pending.
  const auto rank = [](const Json& r) {
    return r["state"] == "queued" ? 0 : r["state"] == "retrying" ? 1 : 2;
  };
  std::stable_sort(s.waiting.begin(), s.waiting.end(), [&](const Json& a, const Json& b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) == 0 && a["priority"] != b["priority"])
      return a["priority"].is_number() && (!b["priority"].is_number() || a["priority"] > b["priority"]);
    if (rank(a) == 1 && instant(a["retry_at"]) != instant(b["retry_at"]))
      return instant(a["retry_at"]) < instant(b["retry_at"]);
    return run_number(a) < run_number(b);
  });
  return s;
}

// "13:45:02" for today's instants (jobd's wall clock), else the date.
std::string clock_time(const Json& v) {
  if (!v.is_string()) return "-";
  const auto text = v.get<std::string>();
  const auto when = instant(v);
  const bool recent =
      when != job::time::Instant::max() && std::chrono::system_clock::now() - when < std::chrono::hours{20};
  return text.size() >= 19 ? (recent ? text.substr(11, 8) : text.substr(0, 10)) : text;
}

std::string uptime(const Json& seconds) {
  return seconds.is_number_integer()
             ? job::time::format_duration(std::chrono::seconds{seconds.get<int64_t>()})
             : "-";
}

// A field of a reply, null if missing (a jobd older than this jobctl).
Json at(const Json& reply, const char* key) { return reply.value(key, Json(nullptr)); }

// The view as lines, at most `height` (0: no limit) of them.
std::vector<std::string> render(const Snapshot& s, const std::optional<Rates>& rates, size_t height) {
  const Json& st = s.status;
  std::vector<std::string> lines;
  lines.push_back(fmt::format("jobd {}, up {}: slots {}/{} busy, {} queued, {} jobs{}",
                              cell(at(st, "version")), uptime(at(st, "uptime_seconds")),
                              cell(at(st, "running")), cell(at(st, "slots")), cell(at(st, "queued")),
                              cell(at(st, "jobs")), st.value("stopping", false) ? ", stopping" : ""));
  lines.push_back(rates ? fmt::format("runs: {} started ({:.2f}/s), {} finished ({:.2f}/s)",
                                      cell(at(st, "runs_started")), rates->started,
                                      cell(at(st, "runs_finished")), rates->finished)
                        : fmt::format("runs: {} started, {} finished since jobd started",
                                      cell(at(st, "runs_started")), cell(at(st, "runs_finished"))));

  // Rows for each table: half the room each, or more for one when the other
  // needs less. 8 lines: the header above, and per table a blank line, a
  // title and the column headings.
  size_t show_running = s.running.size(), show_waiting = s.waiting.size();
  if (height > 0) {
    const size_t room = height > 8 ? height - 8 : 0;
    show_running = std::min(show_running,
                            std::max(room > show_waiting ? room - show_waiting : size_t{0}, (room + 1) / 2));
    show_waiting = std::min(show_waiting, room - show_running);
  }
  const auto title = [](const char* what, size_t shown, size_t all) {
    const std::string count =
        all >= static_cast<size_t>(kRunsAsked) ? fmt::format("{}+", all) : fmt::format("{}", all);
    return shown < all ? fmt::format("{} ({}, {} shown)", what, count, shown)
                       : fmt::format("{} ({})", what, count);
  };

  lines.emplace_back();
  lines.push_back(title("RUNNING", show_running, s.running.size()));
  if (!s.running.empty()) {
    std::vector<std::vector<std::string>> rows{
        {"RUN", "JOB", "TASK", "ATTEMPT", "STARTED", "ELAPSED", "PID"}};
    for (size_t i = 0; i < show_running; ++i) {
      const Json& r = s.running[i];
      rows.push_back({cell(r["id"]), cell(r["job_name"]), cell(r["task"]), cell(r["attempt"]),
                      clock_time(r["started_at"]), age(r["started_at"]), cell(r["pid"])});
    }
    for (auto& line : align(rows)) lines.push_back(std::move(line));
  }
  lines.emplace_back();
  lines.push_back(title("WAITING", show_waiting, s.waiting.size()));
  if (!s.waiting.empty()) {
    std::vector<std::vector<std::string>> rows{
        {"RUN", "JOB", "TASK", "STATE", "PRIORITY", "SINCE", "RETRY AT"}};
    for (size_t i = 0; i < show_waiting; ++i) {
      const Json& r = s.waiting[i];
      rows.push_back({cell(r["id"]), cell(r["job_name"]), cell(r["task"]), cell(r["state"]),
                      cell(r["priority"]), clock_time(r["created_at"]), clock_time(r["retry_at"])});
    }
    for (auto& line : align(rows)) lines.push_back(std::move(line));
  }
  if (height > 0 && lines.size() > height) lines.resize(height);
  return lines;
}

// --- the live view -----------------------------------------------------------

volatile std::sig_atomic_t quit_signal = 0;
volatile std::sig_atomic_t resized = 0;
volatile std::sig_atomic_t suspended = 0;  // Ctrl-Z

void on_signal(int signum) {
  if (signum == SIGWINCH)
    resized = 1;
  else if (signum == SIGTSTP)
    suspended = 1;
  else
    quit_signal = 1;
}

void write_all(const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    const ssize_t n = write(STDOUT_FILENO, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the terminal went away: nothing more to show
    done += static_cast<size_t>(n);
  }
}

// A line with its control characters as '?': a job's name must not move
// the cursor or restyle the terminal.
std::string printable(std::string line) {
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return line;
}

// The terminal while the view is up: the alternate screen, the cursor
// hidden, and keys read one by one without echo (Ctrl-C still interrupts).
// leave() gives it all back, as the destructor does on every way out;
// enter() takes it again (after a Ctrl-Z).
class Screen {
 public:
  Screen() { enter(); }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;
  ~Screen() { leave(); }

  void enter() {
    if (isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios keys = saved_;
      keys.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      keys.c_cc[VMIN] = 1;
      keys.c_cc[VTIME] = 0;
      tty_ = tcsetattr(STDIN_FILENO, TCSANOW, &keys) == 0;
    }
    write_all("\033[?1049h\033[?25l\033[H\033[2J");
  }
  void leave() {
    write_all("\033[?25h\033[?1049l");
    if (tty_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    tty_ = false;
  }
  bool reads_keys() const { return tty_; }

  // Rows and columns, read at each draw (SIGWINCH asks for one).
  static std::pair<size_t, size_t> size() {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
      return {ws.ws_row, ws.ws_col};
    return {24, 80};
  }

  // Each line at its row, erased first and cut to the width (so that
  // nothing wraps or scrolls); then the rest of the screen erased.
  static void draw(const std::vector<std::string>& lines, size_t rows, size_t columns) {
    std::string frame;
    for (size_t i = 0; i < lines.size() && i < rows; ++i)
      frame += fmt::format("\033[{};1H\033[2K{}", i + 1, fit(printable(lines[i]), columns));
    if (lines.size() < rows) frame += fmt::format("\033[{};1H\033[J", lines.size() + 1);
    write_all(frame);
  }

 private:
  termios saved_{};
  bool tty_ = false;
};

void live(job::time::Duration interval) {
  const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP};
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: ppoll returns at once
  sigemptyset(&sa.sa_mask);
  // Blocked but while waiting in ppoll: a signal is never missed between
  // checking the flags and sleeping.
  sigset_t blocked, waiting;
  sigemptyset(&blocked);
  for (int s : handled) {
    sigaction(s, &sa, nullptr);
    sigaddset(&blocked, s);
  }
  sigprocmask(SIG_BLOCK, &blocked, &waiting);

  Screen screen;
  std::optional<Client> client;
  std::optional<Snapshot> last;
  std::optional<Rates> rates;
  std::string trouble;  // why the last refresh failed; retried at the next
  auto next = Clock::now();
  bool keys = screen.reads_keys();
  while (!quit_signal) {
    bool redraw = resized != 0;  // signals are blocked here: no race with the handler
    resized = 0;
    if (suspended) {  // Ctrl-Z: stop with the terminal given back, take it again on fg
      suspended = 0;
      screen.leave();
      signal(SIGTSTP, SIG_DFL);
      sigset_t tstp;
      sigemptyset(&tstp);
      sigaddset(&tstp, SIGTSTP);
      raise(SIGTSTP);
      sigprocmask(SIG_UNBLOCK, &tstp, nullptr);  // stops here until SIGCONT
      sigprocmask(SIG_BLOCK, &tstp, nullptr);
      sigaction(SIGTSTP, &sa, nullptr);
      screen.enter();
      keys = screen.reads_keys();
      redraw = true;
    }
    if (Clock::now() >= next) {
      next = Clock::now() + interval;
      redraw = true;
      if (!client) {
        auto c = open_client();
        if (c)
          client.emplace(std::move(*c));
        else
          trouble = c.error().message;
      }
      if (client) {
        auto s = fetch(*client);
        if (!s) {
          trouble = s.error().message;
          client.reset();
        } else {
          trouble.clear();
          rates.reset();
          // A new jobd (a restart) counts from zero again: no rate across it.
          if (last && last->status["pid"] == s->status["pid"] && s->at > last->at) {
            const double seconds = std::chrono::duration<double>(s->at - last->at).count();
            const auto per_second = [&](const char* key) {
              return (s->status.value(key, 0.0) - last->status.value(key, 0.0)) / seconds;
            };
            rates = Rates{per_second("runs_started"), per_second("runs_finished")};
          }
          last = std::move(*s);
        }
      }
    }
    if (redraw) {
      const auto [rows, columns] = Screen::size();
      std::vector<std::string> lines;
      if (!trouble.empty()) lines.push_back("jobctl: " + trouble + " (retrying)");
      if (last) {
        for (auto& l : render(*last, rates, rows > lines.size() ? rows - lines.size() : 0))
          lines.push_back(std::move(l));
      }
      Screen::draw(lines, rows, columns);
    }
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(next - Clock::now());
    const auto wait = std::max(left, std::chrono::nanoseconds::zero());
    timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000),
                static_cast<long>(wait.count() % 1'000'000'000)};
    pollfd in{STDIN_FILENO, POLLIN, 0};
    const int ready = ppoll(&in, keys ? 1 : 0, &ts, &waiting);
    if (ready > 0 && (in.revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[64];
      const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) keys = false;  // no more keys to read: signals still end the view
      if (std::any_of(buf, buf + std::max<ssize_t>(n, 0), [](char c) { return c == 'q' || c == 'Q'; })) break;
    }
  }
}

void run_top(const TopOptions& o) {
  auto interval = job::time::parse_duration(o.interval);
  if (!interval) throw Failure{{interval.error().code, "--interval: " + interval.error().message}};
  if (*interval < std::chrono::milliseconds{100})
    throw Failure{{job::Errc::invalid_argument, "--interval: at least 100ms"}};
  if (!o.once && !globals().json && isatty(STDOUT_FILENO) == 1) return live(*interval);
  Client client = connect();
  const Snapshot s = must(fetch(client));
  if (globals().json)
    return print_json({{"status", s.status}, {"running", s.running}, {"waiting", s.waiting}});
  for (const auto& line : render(s, std::nullopt, 0)) fmt::print("{}\n", line);
}

}  // namespace

void add_top(CLI::App& app) {
  auto o = std::make_shared<TopOptions>();
  auto* cmd = app.add_subcommand("top", "a live view of running and waiting runs, slots and rates");
  cmd->add_option("--interval,-i", o->interval, "refresh every DURATION (default 1s)");
  cmd->add_flag("--once", o->once, "print one snapshot and exit");
  cmd->callback([o] { run_top(*o); });
}

}  // namespace jobctl
