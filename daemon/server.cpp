#include "server.hpp"

#include "session.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <random>
#include <set>

#include "cgroups.hpp"
#include "log.hpp"
#include "proto/paths.hpp"

namespace jobd {

using job::Errc;
using job::Error;
namespace sched = job::sched;

namespace {

// How long what needs no reply (a started run's pid) may wait to be saved
// with other changes.
constexpr job::time::Duration kCommitDelay = std::chrono::milliseconds{2};

// Whether something accepts connections on the socket at `path`.
bool socket_in_use(const sockaddr_un& addr) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool in_use = fd >= 0 && connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) close(fd);
  return in_use;
}

}  // namespace

Server::Server(CommandLine command_line, Options options, std::unique_ptr<job::store::Store> store,
               job::time::Zone zone)
    : command_line_(std::move(command_line)),
      options_(std::move(options)),
      store_(std::move(store)),
      zone_(zone),
      sched_(sched::Config{.slots = options_.slots,
                           .kill_grace = options_.kill_grace,
                           .local_zone = zone,
                           .keep_for = options_.keep_for,
                           .seed = std::random_device{}(),
                           .node_name = options_.name,
                           .tags = options_.tags,
                           .health = {.heartbeat = options_.heartbeat,
                                      .unhealthy_after = options_.unhealthy_after,
                                      .down_after = options_.down_after}}),
      loop_(uv_default_loop()),
      notifications_(std::make_unique<NotifyQueue>(notify_options())),
      metrics_(options_.metrics_max_jobs),
      started_(std::chrono::steady_clock::now()) {}

NotifyOptions Server::notify_options() const {
  NotifyOptions o;
  o.webhook_attempts = options_.notify_attempts;
  o.webhook_backoff = std::chrono::duration_cast<std::chrono::milliseconds>(options_.notify_backoff);
  return o;
}

void Server::notify(const sched::Run& run) {
  using Event = sched::NotifySpec::Event;
  const sched::Job* job = sched_.job(run.job);
  // Top-level runs only: a graph's job run speaks for its tasks.
  if (!job || run.parent != 0 || job->spec.notify.empty()) return;
  std::optional<Event> event;
  switch (run.state) {
    case sched::RunState::succeeded:
      event = Event::success;
      break;
    case sched::RunState::failed:
    case sched::RunState::timed_out:
    case sched::RunState::lost:
      event = run.next_attempt ? Event::retry : Event::failure;
      break;
    case sched::RunState::skipped:
      event = Event::skipped;
      break;
    default:  // cancelled: someone (or a replace) asked for it; nobody is told
      break;
  }
  if (!event) return;
  const sched::Run* next = run.next_attempt ? sched_.run(run.next_attempt) : nullptr;
  const bool has_logs = !job->graph;
  const LogPaths logs = has_logs ? log_paths(run.id) : LogPaths{};
  for (const sched::NotifySpec& n : job->spec.notify)
    if (n.wants(*event))
      notifications_->submit({*event, n, event_document(*event, run, *job, next, zone_), logs.out, logs.err});
}

Server::~Server() { uv_loop_close(loop_); }

job::time::Instant Server::now() {
  return std::chrono::time_point_cast<job::time::Duration>(std::chrono::system_clock::now());
}

LogPaths Server::log_paths(int64_t run) const {
  const std::string base = options_.state_dir + "/logs/" + sched::run_ref(run);
  return {base + ".out", base + ".err"};
}

std::string Server::run_owner(const sched::Run& run) const {
  const std::string& job = sched_.job(run.job)->spec.name;
  return run.parent ? fmt::format("job {}, task {} of {}", job, run.task, sched::run_ref(run.parent))
                    : fmt::format("job {}", job);
}

proto::Json Server::run_json(const sched::Run& run) const {
  const sched::Job& job = *sched_.job(run.job);
  proto::Json j = proto::run_to_json(run, job, zone_);
  if (job.graph && run.parent == 0) {
    // A job run has no output of its own: it lists its tasks, in graph
    // order, each with its newest task run.
    std::vector<const sched::Run*> latest(job.graph->size(), nullptr);
    for (int64_t c : run.children)
      if (const sched::Run* r = sched_.run(c))
        if (auto t = job.graph->find(r->task)) latest[static_cast<size_t>(*t)] = r;
    proto::Json tasks = proto::Json::array();
    for (size_t t = 0; t < latest.size(); ++t) {
      const sched::Run* r = latest[t];
      proto::Json task = {
          {"task", job.graph->names[t]},
          {"run", r ? proto::Json(sched::run_ref(r->id)) : proto::Json(nullptr)},
          {"state", r ? sched::name(r->state) : (sched::is_final(run.state) ? "skipped" : "pending")},
          {"attempt", r ? proto::Json(r->attempt) : proto::Json(nullptr)},
          {"exit_code", r && r->exit_code ? proto::Json(*r->exit_code) : proto::Json(nullptr)},
          {"reason", r && !r->reason.empty() ? proto::Json(r->reason) : proto::Json(nullptr)}};
      tasks.push_back(std::move(task));
    }
    j["tasks"] = std::move(tasks);
    j["stdout"] = nullptr;
    j["stderr"] = nullptr;
    return j;
  }
  // Where it ran: its worker, or this node; its lease's epoch; why it waits.
  const bool placed = run.started_at.has_value() || run.state == sched::RunState::running;
  j["worker"] = !run.worker.empty() ? proto::Json(run.worker) : placed ? proto::Json(options_.name) : proto::Json(nullptr);
  j["epoch"] = run.epoch ? proto::Json(run.epoch) : proto::Json(nullptr);
  j["waiting"] = run.waiting.empty() ? proto::Json(nullptr) : proto::Json(run.waiting);
  const LogPaths logs = log_paths(run.id);
  j["stdout"] = logs.out;
  j["stderr"] = logs.err;
  return j;
}

proto::Json Server::job_json(const sched::Job& job) const {
  const sched::Run* last = job.runs.empty() ? nullptr : sched_.run(job.runs.back());
  return proto::job_to_json(job, last, zone_);
}

std::optional<Error> Server::start() {
  auto snapshot = store_->load();
  if (!snapshot) return snapshot.error();
  auto tokens = store_->load_tokens();
  if (!tokens) return tokens.error();
  tokens_ = std::make_unique<Tokens>(std::move(*tokens));
  store_->set_audit_keep(options_.audit_keep);
  for (auto& j : snapshot->jobs) {
    const std::string name = j.spec.name;
    // Saved before namespaces: jobd's own user's, as everything was then.
    if (j.spec.ns.empty()) j.spec.ns = own_ns_;
    if (auto problem = sched_.restore(std::move(j)))
      log(Level::warning, "jobd: job {} fires no more: {}", name, problem->message);
  }
  std::vector<int64_t> was_running;
  for (auto& r : snapshot->runs) {
    if (r.state == sched::RunState::running) was_running.push_back(r.id);
    sched_.restore(std::move(r));
  }
  const auto t = now();
  sched_.resume(t);

  // Runs recorded `running`: adopt the processes that still exist (the same
  // pid started at the same time), mark the others lost.
  for (int64_t id : was_running) {
    const sched::Run* found = sched_.run(id);
    // A graph's job run has no process: resume() replayed its tasks. A run
    // that resume() already ended (a replayed job run) is done with too.
    if (!found || !sched_.has_process(*found) || found->state != sched::RunState::running) continue;
    // A worker's run: its worker has until down_after to come back and claim it.
    if (!found->worker.empty()) continue;
    const sched::Run& run = *found;
    const auto pid = static_cast<pid_t>(run.pid);
    const int pidfd = run.pid && run.pid_start && process_start_ticks(pid) == run.pid_start
                          ? static_cast<int>(syscall(SYS_pidfd_open, pid, 0))
                          : -1;
    if (pidfd < 0) {
      log(Level::warning, "jobd: run {} lost: its process was gone when jobd started", sched::run_ref(id));
      sched_.lost(id, "its process was gone when jobd started", t);
      continue;
    }
    auto* poll = new uv_poll_t{};
    uv_poll_init(loop_, poll, pidfd);
    poll->data = this;
    adopted_[id] = poll;
    uv_poll_start(poll, UV_READABLE, [](uv_poll_t* p, int, int) {
      auto* self = static_cast<Server*>(p->data);
      for (auto& [adopted_run, handle] : self->adopted_)
        if (handle == p) return self->on_adopted_exit(adopted_run);
    });
    log(Level::info, "jobd: run {} still running as pid {}: watching it", sched::run_ref(id), pid);
  }
  for (const auto& a : sched_.take_actions())
    if (a.kind == sched::Action::Kind::finished) finished(a.run);
  if (!commit()) return Error{Errc::storage, "cannot save the recovered state"};

  if (auto e = start_metrics()) return e;  // before the socket: a taken port leaves nothing behind
  if (auto e = start_tcp()) return e;
  mkdir((options_.state_dir + "/logs").c_str(), 0750);
  uv_pipe_init(loop_, &listener_, 0);
  listener_.data = this;
  auto activated = systemd::activated_socket();
  if (!activated) return activated.error();
  socket_activated_ = *activated >= 0;
  std::string listening_on = options_.socket_path;
  int rc = 0;
  if (socket_activated_) {
    // The socket is systemd's choice: status reports it, reloads ignore jobd.toml's.
    rc = uv_pipe_open(&listener_, *activated);
    char path[sizeof(sockaddr_un::sun_path)] = {};
    size_t size = sizeof path;
    if (rc == 0 && uv_pipe_getsockname(&listener_, path, &size) == 0) options_.socket_path.assign(path, size);
    listening_on = options_.socket_path + " (from systemd)";
  } else {
    const auto addr = proto::unix_address(options_.socket_path);
    if (!addr)
      return Error{Errc::invalid_argument,
                   fmt::format("socket path too long ({} bytes, at most {}): {}", options_.socket_path.size(),
                               sizeof(sockaddr_un::sun_path) - 1, options_.socket_path)};
    if (socket_in_use(*addr))
      return Error{Errc::internal, fmt::format("another jobd is listening on {}", options_.socket_path)};
    unlink(options_.socket_path.c_str());  // stale: nobody answers on it
    // Anyone may connect, as anyone may have a crontab: each request is
    // judged by its caller's uid (identity.hpp).
    const mode_t old_mask = umask(0111);
    rc = uv_pipe_bind(&listener_, options_.socket_path.c_str());
    umask(old_mask);
  }
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), SOMAXCONN, [](uv_stream_t* l, int status) {
      if (status == 0) handle_owner<Server>(l)->on_connection();
    });
  if (rc != 0)
    return Error{Errc::internal, fmt::format("cannot listen on {}: {}", listening_on, uv_strerror(rc))};
  listening_ = true;

  spawner_ = std::make_unique<Spawner>(loop_, [this](SpawnResult r) { on_spawned(std::move(r)); });
  remove_stale_cgroups();
  log(Level::info, "jobd: cgroups: {} (per-run memory and nproc limits{})", name(cgroup_mode()),
      cgroup_mode() == CgroupMode::none ? " as rlimits only" : "");
  // Unreferenced: it keeps nobody's loop alive, a stopping one least of all.
  uv_timer_init(loop_, &idle_timer_);
  idle_timer_.data = this;
  uv_timer_start(&idle_timer_, [](uv_timer_t* timer) { handle_owner<Server>(timer)->drop_idle(); }, 1000, 1000);
  uv_unref(reinterpret_cast<uv_handle_t*>(&idle_timer_));
  uv_check_init(loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, [](uv_check_t* c) { handle_owner<Server>(c)->after_io(); });
  timer_fd_ = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0) return Error{Errc::internal, fmt::format("timerfd_create: {}", std::strerror(errno))};
  uv_poll_init(loop_, &timer_poll_, timer_fd_);
  timer_poll_.data = this;
  uv_poll_start(&timer_poll_, UV_READABLE, [](uv_poll_t* p, int, int) {
    Server* self = handle_owner<Server>(p);
    uint64_t expirations = 0;
    if (read(self->timer_fd_, &expirations, sizeof expirations) < 0 && errno != EAGAIN) return;
    self->after_io();
  });
  uv_signal_init(loop_, &sigchld_);
  sigchld_.data = this;
  uv_signal_start(
      &sigchld_, [](uv_signal_t* s, int) { handle_owner<Server>(s)->on_sigchld(); }, SIGCHLD);
  for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}}) {
    uv_signal_init(loop_, handle);
    handle->data = this;
    uv_signal_start(
        handle, [](uv_signal_t* s, int n) { handle_owner<Server>(s)->begin_shutdown(n); }, signum);
  }
  uv_signal_init(loop_, &sighup_);
  sighup_.data = this;
  uv_signal_start(
      &sighup_, [](uv_signal_t* s, int) { handle_owner<Server>(s)->reload(); }, SIGHUP);
  log(Level::info, "jobd: listening on {} ({} jobs, {} slots, state in {})", listening_on, sched_.job_count(),
      options_.slots, options_.state_dir);
  rescan_jobs_dir();  // before READY=1: jobd serves with its jobs in place
  notifier_.start(loop_, fmt::format("listening on {} ({} jobs, {} slots)", listening_on, sched_.job_count(),
                                     options_.slots));
  return std::nullopt;
}

void Server::run() {
  uv_run(loop_, UV_RUN_DEFAULT);
  commit();
  notifications_->stop();  // the loop reaps no more: the notifier's children are its own
  // Close every handle and let the loop deliver the close callbacks.
  std::vector<Session*> open_sessions;
  for (auto& [id, s] : sessions_) open_sessions.push_back(s);
  for (Session* s : open_sessions) close_session(*s, false);  // no waiting for clients that do not read
  for (auto& [run, poll] : adopted_) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  adopted_.clear();
  spawner_->close();
  if (metrics_http_) metrics_http_->close();
  stop_tcp();
  notifier_.close();
  close_jobs_dir();
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&check_), reinterpret_cast<uv_handle_t*>(&timer_poll_),
        reinterpret_cast<uv_handle_t*>(&sigchld_), reinterpret_cast<uv_handle_t*>(&sigterm_),
        reinterpret_cast<uv_handle_t*>(&sigint_), reinterpret_cast<uv_handle_t*>(&sighup_),
        reinterpret_cast<uv_handle_t*>(&idle_timer_)})
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  uv_run(loop_, UV_RUN_DEFAULT);
  if (timer_fd_ >= 0) close(timer_fd_);
  log(Level::info, "jobd: stopped");
}

bool Server::commit(store::Durability durability) {
  take_events();
  std::set<int64_t> job_ids = std::exchange(unsaved_jobs_, {}), run_ids = std::exchange(unsaved_runs_, {});
  for (int64_t j : sched_.take_dirty_jobs()) job_ids.insert(j);
  for (int64_t r : sched_.take_dirty_runs()) run_ids.insert(r);
  std::vector<const sched::Job*> jobs;
  std::vector<const sched::Run*> runs;
  for (int64_t j : job_ids)
    if (const auto* p = sched_.job(j)) jobs.push_back(p);
  for (int64_t r : run_ids)
    if (const auto* p = sched_.run(r)) runs.push_back(p);
  auto replies = std::exchange(pending_, {});
  std::vector<int64_t> removed_runs = std::exchange(unremoved_runs_, {});
  std::vector<int64_t> removed_jobs = std::exchange(unremoved_jobs_, {});
  for (int64_t r : sched_.take_removed_runs()) removed_runs.push_back(r);
  for (int64_t j : sched_.take_removed_jobs()) removed_jobs.push_back(j);
  const bool saving =
      !jobs.empty() || !runs.empty() || !replies.empty() || !removed_runs.empty() || !removed_jobs.empty();
  const auto save_started = std::chrono::steady_clock::now();
  auto failure = store_->save(jobs, runs, replies.empty() ? durability : store::Durability::durable,
                              removed_runs, removed_jobs);
  if (saving)
    metrics_.committed(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - save_started).count());
  if (auto& e = failure) {
    // Nothing of this turn is durable: undo its submits and say so. Other
    // changes (finished runs) stay in memory and are saved with the next commit.
    log(Level::error, "jobd: {}", e->message);
    for (Reply& r : replies) {
      if (r.new_job) {
        sched_.forget(r.new_job);
        std::erase_if(unpublished_, [&](const proto::Json& ev) { return ev["job"] == sched::job_ref(r.new_job); });
        job_ids.erase(r.new_job);
        send(r.session, error_body(r.body["id"], {Errc::storage, "not saved: " + e->message}));
      } else if (r.unsaved_is_error) {
        send(r.session, error_body(r.body["id"], {Errc::storage, "not saved yet: " + e->message +
                                                                     " (kept in memory; jobd retries saving it)"}));
      } else {
        send(r.session, r.body);
      }
      settle(r.session);
    }
    unsaved_jobs_.insert(job_ids.begin(), job_ids.end());
    unsaved_runs_.insert(run_ids.begin(), run_ids.end());
    unremoved_runs_ = std::move(removed_runs);
    unremoved_jobs_ = std::move(removed_jobs);
    return false;
  }
  // The rows are gone: now their logs may go too (a crash in between leaves
  // orphan files, never a row without its log).
  for (int64_t r : removed_runs) {
    const LogPaths logs = log_paths(r);
    unlink(logs.out.c_str());
    unlink(logs.err.c_str());
  }
  for (Reply& r : replies) {
    send(r.session, r.body);
    settle(r.session);
    if (r.new_job)
      metrics_.submitted(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - r.received).count());
  }
  publish_events();
  return true;
}

void Server::start_runs(const std::vector<int64_t>& ids) {
  for (int64_t id : ids) {
    const sched::Run* run = sched_.run(id);
    if (!run || run->state != sched::RunState::running) continue;  // undone with its job
    if (run->started_at) {
      const auto due = run->retry_at.value_or(run->scheduled_at);  // a retry is due at its retry time
      metrics_.run_started(std::chrono::duration<double>(*run->started_at - due).count());
    }
    spawner_->submit(spawn_request(*sched_.job(run->job), sched_.task_of(*run), *run, log_paths(id), zone_));
  }
}

void Server::on_spawned(SpawnResult result) {
  const auto t = now();
  const int64_t id = result.run;
  if (!result.spawned) return sched_.start_failed(id, result.spawned.error().message, t);
  const pid_t pid = result.spawned->pid;
  pids_[pid] = id;
  sched_.started(id, pid, result.spawned->start_ticks);
  ++runs_started_;
  const sched::Run* run = sched_.run(id);
  log(Level::info, "jobd: run {} of {} started, pid {}", sched::run_ref(id), run_owner(*run), pid);
  // Signals decided while the pid was still unknown.
  if (stopping_ || run->timeout_sent || run->cancel_requested) kill(-pid, SIGTERM);
  if (auto early = early_exits_.find(pid); early != early_exits_.end()) {
    const int status = early->second;
    early_exits_.erase(early);
    record_exit(id, pid, status, t);
  }
}

void Server::after_io() {
  sched_.tick(now());
  std::vector<int64_t> starts, assigns;
  auto carry_out = [&] {
    for (const auto& a : sched_.take_actions()) {
      switch (a.kind) {
        case sched::Action::Kind::start:
          starts.push_back(a.run);
          break;
        case sched::Action::Kind::signal:
          if (const auto* r = sched_.run(a.run); r && !r->worker.empty())
            signal_worker_run(*r, a.signal);
          else if (r && r->pid > 0)
            kill(-static_cast<pid_t>(r->pid), a.signal);
          break;
        case sched::Action::Kind::finished:
          finished(a.run);
          break;
        case sched::Action::Kind::assign:
          assigns.push_back(a.run);
          break;
      }
    }
  };
  carry_out();
  // Runs are saved as `running`, durably, before they start: after a crash or
  // a power loss, a run that may have started is `lost`, never silently
  // started twice. What no one was told and nothing acts on (pids, exits) is
  // saved lazily: a power loss may roll it back, and recovery then finds the
  // run `lost`. Every durable commit makes the lazy ones before it durable.
  commit(starts.empty() && assigns.empty() ? store::Durability::lazy : store::Durability::durable);
  for (int64_t run : std::exchange(assigns, {})) send_assignment(run);  // leases saved first, as starts
  if (!starts.empty()) {
    start_runs(std::exchange(starts, {}));
    carry_out();
    // The pids just learned ride with the next commit, which the runs' own
    // exits often trigger: one fsync instead of two. arm_timer() bounds the wait.
  }
  if (stopping_ && sched_.running_here() == 0) {  // workers' runs go on without us
    uv_stop(loop_);
    return;
  }
  arm_timer();
}

void Server::arm_timer() {
  auto next = sched_.next_wakeup();
  if (sched_.dirty() || !pending_.empty()) {
    const auto soon = now() + kCommitDelay;
    if (!next || *next > soon) next = soon;
  }
  // The work is done when the alarm rings, not left to the check handle: a
  // due instant must wake the loop, which would otherwise block until I/O.
  itimerspec when{};  // all zero: disarmed
  int flags = 0;
  if (next && *next <= now()) {
    when.it_value.tv_nsec = 1;  // at once (zero would disarm)
  } else if (next) {
    const auto us = next->time_since_epoch().count();
    when.it_value.tv_sec = static_cast<time_t>(us / 1'000'000);
    when.it_value.tv_nsec = static_cast<long>(us % 1'000'000 * 1000);
    flags = TFD_TIMER_ABSTIME;
  }
  timerfd_settime(timer_fd_, flags, &when, nullptr);
}

void Server::on_sigchld() {
  const auto t = now();
  while (true) {
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) break;
    const pid_t pid = info.si_pid;
    auto it = pids_.find(pid);
    const sched::Run* run = it == pids_.end() ? nullptr : sched_.run(it->second);
    // While the leader is an unreaped zombie its process group still exists:
    // take down what it left behind when it was stopped for a reason.
    if (run && (run->timeout_sent || stopping_)) kill(-pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (run)
      record_exit(it->second, pid, status, t);
    else if (notifications_->child_exited(pid, status))
      continue;  // a sendmail or exec notifier
    else if (spawner_->in_flight() > 0)
      early_exits_[pid] = status;  // a run whose spawn result is still on its way
  }
}

void Server::record_exit(int64_t id, pid_t pid, int status, job::time::Instant t) {
  pids_.erase(pid);
  remove_run_cgroup(id);
  if (WIFEXITED(status))
    sched_.exited(id, WEXITSTATUS(status), 0, t);
  else if (WIFSIGNALED(status))
    sched_.exited(id, std::nullopt, WTERMSIG(status), t);
  const LogPaths logs = log_paths(id);
  trim_log(logs.out, options_.log_max_bytes);
  trim_log(logs.err, options_.log_max_bytes);
}

void Server::on_adopted_exit(int64_t id) {
  auto it = adopted_.find(id);
  if (it == adopted_.end()) return;
  uv_poll_t* poll = it->second;
  adopted_.erase(it);
  int fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(poll), &fd);
  uv_poll_stop(poll);
  uv_close(reinterpret_cast<uv_handle_t*>(poll),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  close(fd);
  const sched::Run* run = sched_.run(id);
  if (run && run->timeout_sent)
    sched_.exited(id, std::nullopt, 0, now());  // killed for its timeout: timed_out
  else
    sched_.lost(id, "it ended while jobd was restarting; its exit status is unknown", now());
}

void Server::begin_shutdown(int signum) {
  if (stopping_) return;
  stopping_ = true;
  log(Level::info, "jobd: {} received: stopping ({} running)", signum == SIGTERM ? "SIGTERM" : "SIGINT",
      sched_.running());
  notifier_.stopping(fmt::format("stopping ({} running)", sched_.running()));
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    if (!socket_activated_) unlink(options_.socket_path.c_str());
    listening_ = false;
  }
  stop_tcp();
  sched_.shutdown(now());
  after_io();  // signal the running runs now
}

}  // namespace jobd
