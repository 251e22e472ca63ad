#include "notify.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "log.hpp"
#include "time/rfc3339.hpp"

extern char** environ;

namespace jobd {

namespace sched = job::sched;
using job::proto::Json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kTailBytes = 4096;

// The last kTailBytes of a run's log; empty if it is gone.
std::string tail_of(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  std::string out;
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    const auto size = static_cast<size_t>(st.st_size);
    const size_t n = std::min(size, kTailBytes);
    out.resize(n);
    const ssize_t got = pread(fd, out.data(), n, static_cast<off_t>(size - n));
    out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  }
  close(fd);
  return out;
}

std::string channel(const sched::NotifySpec& n) {
  if (!n.webhook.empty()) return "webhook " + n.webhook;
  if (!n.mail.empty()) return "mail to " + n.mail;
  return "exec " + n.exec[0];
}

std::string about(const Delivery& d) {
  return fmt::format("run {} (job {}, {})", d.document.value("run", std::string()),
                     d.document.value("job", std::string()), sched::name(d.event));
}

// sendmail on jobd's PATH, else where it usually is.
std::string find_sendmail() {
  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    const size_t colon = std::min(rest.find(':'), rest.size());
    if (colon > 0) dirs.emplace_back(rest.substr(0, colon));
    rest.remove_prefix(std::min(colon + 1, rest.size()));
  }
  dirs.insert(dirs.end(), {"/usr/sbin", "/usr/lib"});
  for (const auto& d : dirs) {
    const std::string candidate = d + "/sendmail";
    if (d[0] == '/' && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// Errors worth another attempt: the receiver may be back soon.
bool transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

long millis_until(Clock::time_point deadline, std::chrono::milliseconds cap) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<long>(std::max<int64_t>(1, std::min(left, cap).count()));
}

std::string text_or(const Json& j, const char* key, std::string_view none) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string(none);
}

}  // namespace

Json event_document(sched::NotifySpec::Event event, const sched::Run& run, const sched::Job& job,
                    const sched::Run* next_attempt, const job::time::Zone& zone) {
  const Json r = job::proto::run_to_json(run, job, zone);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  Json j;
  j["event"] = sched::name(event);
  j["job"] = job.spec.name;
  j["job_id"] = sched::job_ref(job.id);
  j["run"] = sched::run_ref(run.id);
  j["attempt"] = run.attempt;
  j["state"] = sched::name(run.state);
  for (const char* key : {"exit_code", "signal", "reason", "scheduled_at", "started_at", "finished_at"})
    j[key] = r[key];
  j["next_attempt"] = next_attempt ? Json(sched::run_ref(next_attempt->id)) : Json(nullptr);
  j["retry_at"] = next_attempt && next_attempt->retry_at
                      ? Json(job::time::format_rfc3339(*next_attempt->retry_at, zone))
                      : Json(nullptr);
  j["host"] = host;
  return j;
}

std::string mail_message(const std::string& to, const Json& d) {
  const std::string job = text_or(d, "job", "?"), run = text_or(d, "run", "?"),
                    state = text_or(d, "state", "?");
  const bool retry = d.value("event", std::string()) == "retry";
  std::string m;
  m += "To: " + to + "\n";
  m += fmt::format("Subject: [jobd] {}: {}{}\n", job, state, retry ? ", retrying" : "");
  m += "Auto-Submitted: auto-generated\n";
  m += "Content-Type: text/plain; charset=UTF-8\n";
  m += fmt::format("X-Jobd-Job: {} ({})\n", job, text_or(d, "job_id", "?"));
  m += "X-Jobd-Run: " + run + "\n\n";
  m += fmt::format("Run {} of job {} ({}), attempt {}, on {}: {}", run, job, text_or(d, "job_id", "?"),
                   d.value("attempt", 0), text_or(d, "host", "?"), state);
  if (d.contains("exit_code") && d["exit_code"].is_number())
    m += fmt::format(", exit code {}", d["exit_code"].get<int>());
  if (d.contains("signal") && d["signal"].is_number())
    m += fmt::format(", signal {}", d["signal"].get<int>());
  m += ".\n";
  if (d.contains("reason") && d["reason"].is_string())
    m += "Reason: " + d["reason"].get<std::string>() + "\n";
  m += "Scheduled: " + text_or(d, "scheduled_at", "-") + "\n";
  m += "Started: " + text_or(d, "started_at", "-") + "\n";
  m += "Finished: " + text_or(d, "finished_at", "-") + "\n";
  if (retry)
    m +=
        fmt::format("Next attempt: {} at {}\n", text_or(d, "next_attempt", "?"), text_or(d, "retry_at", "?"));
  for (const char* stream : {"stdout", "stderr"}) {
    const std::string tail = text_or(d, stream, "");
    m += fmt::format("\n--- {} (last {} bytes) ---\n", stream, tail.size());
    m += tail;
    if (!tail.empty() && tail.back() != '\n') m += '\n';
  }
  return m;
}

NotifyQueue::NotifyQueue(NotifyOptions options) : options_(options) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  // The thread takes no signals: they are the loop's to handle.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { work(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

NotifyQueue::~NotifyQueue() {
  stop();
  curl_global_cleanup();
}

void NotifyQueue::set_options(NotifyOptions options) {
  std::lock_guard lock(mu_);
  options_ = options;
}

NotifyQueue::Counts NotifyQueue::counts() const {
  return {sent_.load(), failures_total_.load(), pending_.load()};
}

void NotifyQueue::submit(Delivery delivery) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    items_.push_back({std::move(delivery), {}, 0, Clock::now()});
    ++pending_;
  }
  wake_.notify_all();
}

bool NotifyQueue::child_exited(pid_t pid, int status) {
  {
    std::lock_guard lock(mu_);
    auto it = children_.find(pid);
    if (it == children_.end()) return false;
    it->second = status;
  }
  wake_.notify_all();
  return true;
}

void NotifyQueue::stop() {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      self_reap_ = true;  // the loop is done: nobody else reaps
      stop_deadline_ = Clock::now() + options_.shutdown_grace;
      abort_at_ = stop_deadline_.time_since_epoch().count();
    }
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NotifyQueue::work() {
  std::unique_lock lock(mu_);
  while (true) {
    const auto now = Clock::now();
    if (stopping_ && (items_.empty() || now >= stop_deadline_)) break;
    if (items_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto next = std::min_element(items_.begin(), items_.end(),
                                 [](const Item& a, const Item& b) { return a.due < b.due; });
    if (next->due > now) {
      // A copy: wait_until reads its deadline again after waking, and items_
      // may have grown (and moved) while the lock was released.
      const Clock::time_point until = stopping_ ? std::min(next->due, stop_deadline_) : next->due;
      wake_.wait_until(lock, until);
      continue;
    }
    Item item = std::move(*next);
    items_.erase(next);
    const auto deadline = stopping_ ? stop_deadline_ : Clock::time_point::max();
    const NotifyOptions options = options_;
    lock.unlock();
    std::string why;
    const Outcome outcome = attempt(item, deadline, why);
    const std::string what = about(item.delivery), where = channel(item.delivery.target);
    lock.lock();
    if (outcome == Outcome::retry && item.attempt < options.webhook_attempts && !stopping_) {
      const auto wait = options.webhook_backoff * (int64_t{1} << std::min(item.attempt - 1, 20));
      log(Level::warning, "jobd: notification of {} by {}: attempt {} of {} failed ({}); next in {}ms", what,
          where, item.attempt, options.webhook_attempts, why, wait.count());
      item.due = Clock::now() + wait;
      items_.push_back(std::move(item));
      continue;
    }
    --pending_;
    if (outcome == Outcome::sent) {
      ++sent_;
      log(Level::info, "jobd: notification of {} sent by {}", what, where);
    } else {
      ++failures_total_;
      log(Level::warning, "jobd: notification of {} by {} failed{}: {}", what, where,
          item.attempt > 1 ? fmt::format(" after {} attempts", item.attempt) : std::string(), why);
    }
  }
  for (const Item& item : items_) {
    --pending_;
    ++failures_total_;
    log(Level::warning, "jobd: notification of {} by {} dropped: jobd is stopping", about(item.delivery),
        channel(item.delivery.target));
  }
  items_.clear();
}

NotifyQueue::Outcome NotifyQueue::attempt(Item& item, Clock::time_point deadline, std::string& why) {
  if (item.attempt++ == 0) {
    Json document = item.delivery.document;
    document["stdout"] = tail_of(item.delivery.stdout_path);
    document["stderr"] = tail_of(item.delivery.stderr_path);
    // Logs hold any bytes: what is not UTF-8 becomes U+FFFD.
    item.body = document.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  const sched::NotifySpec& target = item.delivery.target;
  if (!target.webhook.empty()) return post(item, deadline, why);
  if (!target.mail.empty()) {
    const std::string sendmail = find_sendmail();
    if (sendmail.empty()) {
      why = "no sendmail on jobd's PATH, in /usr/sbin or /usr/lib";
      return Outcome::failed;
    }
    const Json document = Json::parse(item.body);
    return pipe_to({sendmail, "-t", "-oi"}, mail_message(target.mail, document), deadline, why);
  }
  return pipe_to(target.exec, item.body + "\n", deadline, why);
}

NotifyQueue::Outcome NotifyQueue::post(const Item& item, Clock::time_point deadline, std::string& why) {
  NotifyOptions options;
  {
    std::lock_guard lock(mu_);
    options = options_;
  }
  CURL* curl = curl_easy_init();
  if (!curl) {
    why = "curl_easy_init failed";
    return Outcome::retry;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "User-Agent: jobd/" JOBD_VERSION);
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, item.delivery.target.webhook.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, item.body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(item.body.size()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, millis_until(deadline, options.connect_timeout));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, millis_until(deadline, options.total_timeout));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  // A transfer in flight when jobd stops ends with the shutdown grace.
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &abort_at_);
  curl_easy_setopt(
      curl, CURLOPT_XFERINFOFUNCTION,
      +[](void* abort_at, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> int {
        return Clock::now().time_since_epoch().count() >
               static_cast<std::atomic<Clock::rep>*>(abort_at)->load();
      });
  // The receiver's answer is not ours to keep.
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char*, size_t size, size_t n, void*) { return size * n; });
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    why = error[0] ? error : curl_easy_strerror(rc);
    return transient(rc) ? Outcome::retry : Outcome::failed;
  }
  if (status >= 200 && status < 300) return Outcome::sent;
  why = fmt::format("HTTP status {}", status);
  return status >= 500 || status == 429 ? Outcome::retry : Outcome::failed;
}

NotifyQueue::Outcome NotifyQueue::pipe_to(const std::vector<std::string>& argv, const std::string& input,
                                          Clock::time_point deadline, std::string& why) {
  NotifyOptions options;
  {
    std::lock_guard lock(mu_);
    options = options_;
  }
  const auto kill_at = std::min(deadline, Clock::now() + options.exec_timeout);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    why = fmt::format("pipe: {}", std::strerror(errno));
    return Outcome::failed;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // Its own session (killed as a group at its timeout), jobd's signal
  // handling and this thread's blocked signals left behind.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> args = argv;
  std::vector<char*> pointers;
  for (auto& a : args) pointers.push_back(a.data());
  pointers.push_back(nullptr);
  pid_t pid = 0;
  int rc = 0;
  {
    // Under the lock: the loop cannot reap it before it is known as ours.
    std::lock_guard lock(mu_);
    rc = posix_spawn(&pid, args[0].c_str(), &actions, &attr, pointers.data(), environ);
    if (rc == 0) children_[pid] = std::nullopt;
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    why = fmt::format("cannot start {}: {}", args[0], std::strerror(rc));
    return Outcome::failed;
  }
  // The input, without blocking past the deadline on a child that does not read.
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  while (written < input.size()) {
    const ssize_t n = write(fds[1], input.data() + written, input.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && Clock::now() < kill_at) {
      pollfd p{fds[1], POLLOUT, 0};
      poll(&p, 1, static_cast<int>(millis_until(kill_at, std::chrono::milliseconds{100})));
      continue;
    }
    break;  // EPIPE: it stopped reading; its exit status tells the rest
  }
  close(fds[1]);
  const auto [status, killed] = wait_child(pid, kill_at);
  if (killed) {
    why = fmt::format("{} killed after {}ms", args[0],
                      std::chrono::duration_cast<std::chrono::milliseconds>(options.exec_timeout).count());
    return Outcome::failed;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Outcome::sent;
  why = WIFEXITED(status)     ? fmt::format("{} exited with status {}", args[0], WEXITSTATUS(status))
        : WIFSIGNALED(status) ? fmt::format("{} killed by signal {}", args[0], WTERMSIG(status))
                              : fmt::format("{} ended oddly (status {})", args[0], status);
  return Outcome::failed;
}

std::pair<int, bool> NotifyQueue::wait_child(pid_t pid, Clock::time_point kill_at) {
  std::unique_lock lock(mu_);
  bool killed = false;
  while (true) {
    auto it = children_.find(pid);
    if (it->second) {
      const int status = *it->second;
      children_.erase(it);
      return {status, killed};
    }
    if (self_reap_) {
      int status = 0;
      const pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        children_.erase(it);
        return {r == pid ? status : 0, killed};
      }
    }
    const auto now = Clock::now();
    if (!killed && (now >= kill_at || (stopping_ && now >= stop_deadline_))) {
      kill(-pid, SIGKILL);
      killed = true;
    }
    wake_.wait_for(lock, std::chrono::milliseconds{20});
  }
}

}  // namespace jobd
