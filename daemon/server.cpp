#include "server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <set>

#include "cron/next.hpp"
#include "log.hpp"
#include "time/duration.hpp"
#include "time/rfc3339.hpp"

namespace jobd {

using job::Errc;
using job::Error;
namespace sched = job::sched;

namespace {

// Past this many unsent bytes a client is too slow to keep: it is dropped
// rather than allowed to grow jobd's memory or stall anyone.
constexpr size_t kMaxQueuedBytes = 16 << 20;

// How long what needs no reply (a started run's pid) may wait to be saved
// with other changes.
constexpr job::time::Duration kCommitDelay = std::chrono::milliseconds{2};

proto::Json error_body(const proto::Json& id, const Error& e) {
  return {{"id", id}, {"ok", false}, {"error", {{"code", job::code_name(e.code)}, {"message", e.message}}}};
}

proto::Json ok_body(const proto::Json& id) { return {{"id", id}, {"ok", true}}; }

// Whether something accepts connections on the socket at `path`.
bool socket_in_use(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool in_use = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) close(fd);
  return in_use;
}

template <class T>
T* handle_owner(const void* handle) {
  return static_cast<T*>(static_cast<const uv_handle_t*>(handle)->data);
}

}  // namespace

struct Server::Session {
  Server* server;
  uint64_t id;
  uv_pipe_t pipe{};
  proto::LineReader reader;
  size_t queued_bytes = 0;
  bool closing = false;
  bool eof = false;     // the client closed its side: answer what it asked, then close
  int outstanding = 0;  // submits and waits not yet answered
};

namespace {
struct WriteRequest {
  uv_write_t req{};
  std::string data;
  Server* server;
  uint64_t session;
};
}  // namespace

Server::Server(Options options, std::unique_ptr<job::store::Store> store, job::time::Zone zone)
    : options_(std::move(options)),
      store_(std::move(store)),
      zone_(zone),
      sched_(sched::Config{options_.slots, options_.kill_grace, zone}),
      loop_(uv_default_loop()),
      started_(std::chrono::steady_clock::now()) {}

Server::~Server() { uv_loop_close(loop_); }

job::time::Instant Server::now() {
  return std::chrono::time_point_cast<job::time::Duration>(std::chrono::system_clock::now());
}

LogPaths Server::log_paths(int64_t run) const {
  const std::string base = options_.state_dir + "/logs/" + sched::run_ref(run);
  return {base + ".out", base + ".err"};
}

proto::Json Server::run_json(const sched::Run& run) const {
  proto::Json j = proto::run_to_json(run, *sched_.job(run.job), zone_);
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
  for (auto& j : snapshot->jobs) {
    const std::string name = j.spec.name;
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
    const sched::Run& run = *sched_.run(id);
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

  mkdir((options_.state_dir + "/logs").c_str(), 0750);
  uv_pipe_init(loop_, &listener_, 0);
  listener_.data = this;
  if (options_.socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
    return Error{Errc::invalid_argument, fmt::format("socket path too long ({} bytes, at most {}): {}",
                                                     options_.socket_path.size(), sizeof(sockaddr_un{}.sun_path) - 1,
                                                     options_.socket_path)};
  if (socket_in_use(options_.socket_path))
    return Error{Errc::internal, fmt::format("another jobd is listening on {}", options_.socket_path)};
  unlink(options_.socket_path.c_str());  // stale: nobody answers on it
  const mode_t old_mask = umask(0177);  // the socket is 0600 until jobd knows identities
  int rc = uv_pipe_bind(&listener_, options_.socket_path.c_str());
  umask(old_mask);
  if (rc == 0)
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), SOMAXCONN, [](uv_stream_t* l, int status) {
      if (status == 0) handle_owner<Server>(l)->on_connection();
    });
  if (rc != 0)
    return Error{Errc::internal, fmt::format("cannot listen on {}: {}", options_.socket_path, uv_strerror(rc))};
  listening_ = true;

  spawner_ = std::make_unique<Spawner>(loop_, [this](SpawnResult r) { on_spawned(std::move(r)); });
  uv_check_init(loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, [](uv_check_t* c) { handle_owner<Server>(c)->after_io(); });
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  uv_signal_init(loop_, &sigchld_);
  sigchld_.data = this;
  uv_signal_start(&sigchld_, [](uv_signal_t* s, int) { handle_owner<Server>(s)->on_sigchld(); }, SIGCHLD);
  for (auto [handle, signum] : {std::pair{&sigterm_, SIGTERM}, std::pair{&sigint_, SIGINT}}) {
    uv_signal_init(loop_, handle);
    handle->data = this;
    uv_signal_start(handle, [](uv_signal_t* s, int n) { handle_owner<Server>(s)->begin_shutdown(n); }, signum);
  }
  log(Level::info, "jobd: listening on {} ({} jobs, {} slots, state in {})", options_.socket_path,
      sched_.job_count(), options_.slots, options_.state_dir);
  return std::nullopt;
}

void Server::run() {
  uv_run(loop_, UV_RUN_DEFAULT);
  commit();
  // Close every handle and let the loop deliver the close callbacks.
  std::vector<Session*> open_sessions;
  for (auto& [id, s] : sessions_) open_sessions.push_back(s);
  for (Session* s : open_sessions) close_session(*s, false);  // no waiting for clients that do not read
  for (auto& [run, poll] : adopted_) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  adopted_.clear();
  spawner_->close();
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&check_), reinterpret_cast<uv_handle_t*>(&timer_),
                         reinterpret_cast<uv_handle_t*>(&sigchld_), reinterpret_cast<uv_handle_t*>(&sigterm_),
                         reinterpret_cast<uv_handle_t*>(&sigint_)})
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  uv_run(loop_, UV_RUN_DEFAULT);
  log(Level::info, "jobd: stopped");
}

void Server::on_connection() {
  auto* s = new Session{this, next_session_++, {}, {}, 0, false, false, 0};
  uv_pipe_init(loop_, &s->pipe, 0);
  s->pipe.data = s;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&s->pipe)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&s->pipe), [](uv_handle_t* h) { delete handle_owner<Session>(h); });
    return;
  }
  sessions_[s->id] = s;
  send(s->id, {{"hello", "jobd"}, {"version", JOBD_VERSION}, {"protocol", proto::kProtocolVersion}});
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&s->pipe),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        // One buffer serves every read: lines are copied out before the next.
        static char buffer[64 * 1024];
        *buf = uv_buf_init(buffer, sizeof buffer);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        Session& session = *handle_owner<Session>(stream);
        if (n == UV_EOF) {
          // A client that hung up waits for nothing: drop its waits. Its
          // submits are answered (a half-closed socket still reads them).
          session.eof = true;
          uv_read_stop(stream);
          session.server->drop_waiters(session.id);
          if (session.outstanding == 0) session.server->close_session(session);
          return;
        }
        if (n < 0) return session.server->close_session(session);
        session.reader.feed(std::string_view(buf->base, static_cast<size_t>(n)));
        while (!session.closing) {
          auto line = session.reader.next();
          if (!line) break;
          session.server->on_line(session, *line);
        }
        if (session.reader.overflowed() && !session.closing) {
          session.server->send(session.id,
                               error_body(nullptr, {Errc::bad_request, fmt::format("frame over {} bytes: closing",
                                                                                   proto::kMaxFrame)}));
          session.server->close_session(session);
        }
      });
}

void Server::close_session(Session& s, bool flush) {
  if (s.closing) return;
  s.closing = true;
  sessions_.erase(s.id);
  if (!flush) {
    uv_close(reinterpret_cast<uv_handle_t*>(&s.pipe), [](uv_handle_t* h) { delete handle_owner<Session>(h); });
    return;
  }
  // Let queued replies go out first (a shutdown completes after them).
  auto* req = new uv_shutdown_t{};
  const int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&s.pipe), [](uv_shutdown_t* r, int) {
    uv_close(reinterpret_cast<uv_handle_t*>(r->handle), [](uv_handle_t* h) { delete handle_owner<Session>(h); });
    delete r;
  });
  if (rc != 0) {
    delete req;
    uv_close(reinterpret_cast<uv_handle_t*>(&s.pipe), [](uv_handle_t* h) { delete handle_owner<Session>(h); });
  }
}

void Server::drop_waiters(uint64_t session) {
  auto gone = std::remove_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.session == session; });
  const auto dropped = static_cast<int>(waiters_.end() - gone);
  waiters_.erase(gone, waiters_.end());
  if (auto it = sessions_.find(session); it != sessions_.end()) it->second->outstanding -= dropped;
}

void Server::settle(uint64_t session) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  Session& s = *it->second;
  if (--s.outstanding == 0 && s.eof) close_session(s);
}

void Server::expect(uint64_t session) {
  if (auto it = sessions_.find(session); it != sessions_.end()) ++it->second->outstanding;
}

void Server::send(uint64_t session, const proto::Json& body) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;  // gone: nobody to tell
  Session& s = *it->second;
  auto* w = new WriteRequest{{}, body.dump(-1, ' ', false, proto::Json::error_handler_t::replace) + "\n", this,
                             session};
  s.queued_bytes += w->data.size();
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  w->req.data = w;
  const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&s.pipe), &buf, 1, [](uv_write_t* req, int) {
    auto* done = static_cast<WriteRequest*>(req->data);
    auto owner = done->server->sessions_.find(done->session);
    if (owner != done->server->sessions_.end()) owner->second->queued_bytes -= done->data.size();
    delete done;
  });
  if (rc != 0) {
    delete w;
    return close_session(s);
  }
  if (s.queued_bytes > kMaxQueuedBytes) {
    log(Level::warning, "jobd: dropping a client that does not read its replies");
    close_session(s);
  }
}

void Server::on_line(Session& s, const std::string& line) {
  if (line.empty()) return;
  const auto request = proto::Json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object())
    return send(s.id, error_body(nullptr, {Errc::bad_request, "malformed request: expected one JSON object per line"}));
  try {
    handle(s, request);
  } catch (const proto::Json::exception& e) {
    // A field of the wrong type ("op": 5, "limit": "ten").
    const proto::Json id = request.contains("id") ? request["id"] : proto::Json(nullptr);
    send(s.id, error_body(id, {Errc::bad_request, fmt::format("malformed request: {}", e.what())}));
  }
}

void Server::handle(Session& s, const proto::Json& req) {
  const proto::Json id = req.contains("id") ? req["id"] : proto::Json(nullptr);
  const auto op = req.value("op", std::string());
  auto fail = [&](Errc code, std::string message) { send(s.id, error_body(id, {code, std::move(message)})); };
  auto string_field = [&](const char* key) -> std::optional<std::string> {
    if (!req.contains(key)) return std::nullopt;
    if (!req[key].is_string()) return std::string();
    return req[key].get<std::string>();
  };
  auto find_job = [&](const char* key) -> const sched::Job* {
    const auto ref = string_field(key);
    if (!ref) return fail(Errc::bad_request, fmt::format("{}: missing", key)), nullptr;
    const sched::Job* job = sched_.find_job(*ref);
    if (!job) fail(Errc::not_found, fmt::format("no job \"{}\"", *ref));
    return job;
  };
  auto find_run = [&](const char* key) -> const sched::Run* {
    const auto ref = string_field(key);
    if (!ref) return fail(Errc::bad_request, fmt::format("{}: missing", key)), nullptr;
    const sched::Run* run = sched_.find_run(*ref);
    if (!run) fail(Errc::not_found, fmt::format("no run \"{}\"", *ref));
    return run;
  };

  if (stopping_ && op == "submit") return fail(Errc::unavailable, "jobd is stopping");
  if (op == "submit") {
    if (!req.contains("job")) return fail(Errc::bad_request, "submit: the job is missing");
    auto spec = proto::spec_from_json(req["job"]);
    if (!spec) return send(s.id, error_body(id, spec.error()));
    auto job_id = sched_.submit(std::move(*spec), now());
    if (!job_id) return send(s.id, error_body(id, job_id.error()));
    const sched::Job& job = *sched_.job(*job_id);
    log(Level::info, "jobd: job {} ({}) submitted: {}", job.spec.name, sched::job_ref(job.id),
        proto::schedule_text(job.spec, zone_));
    proto::Json body = ok_body(id);
    body["job"] = job_json(job);
    pending_.push_back({s.id, std::move(body), *job_id});
    expect(s.id);
  } else if (op == "list") {
    proto::Json jobs = proto::Json::array();
    const bool all = req.value("all", false);
    sched_.for_each_job([&](const sched::Job& j) {
      if (all || j.state != sched::JobState::deleted) jobs.push_back(job_json(j));
    });
    proto::Json body = ok_body(id);
    body["jobs"] = std::move(jobs);
    send(s.id, body);
  } else if (op == "show") {
    const sched::Job* job = find_job("job");
    if (!job) return;
    proto::Json body = ok_body(id);
    body["job"] = job_json(*job);
    proto::Json fires = proto::Json::array();
    if (job->state == sched::JobState::active && job->next_fire) {
      auto t = *job->next_fire;
      fires.push_back(job::time::format_rfc3339(t, zone_));
      for (int i = 0; i < 4 && job->spec.trigger != sched::JobSpec::Trigger::at; ++i) {
        auto next = job::cron::next_fire_after(job->schedule, t, job->zone, job->created_at);
        if (!next) break;
        fires.push_back(job::time::format_rfc3339(*next, zone_));
        t = *next;
      }
    }
    body["next_fires"] = std::move(fires);
    proto::Json runs = proto::Json::array();
    for (const sched::Run* r : sched_.recent_runs(job, 10)) runs.push_back(run_json(*r));
    body["runs"] = std::move(runs);
    send(s.id, body);
  } else if (op == "runs") {
    const sched::Job* job = nullptr;
    if (req.contains("job") && !(job = find_job("job"))) return;
    const auto limit = req.value("limit", int64_t{20});
    if (limit < 1) return fail(Errc::invalid_argument, "limit: must be at least 1");
    proto::Json runs = proto::Json::array();
    for (const sched::Run* r : sched_.recent_runs(job, static_cast<size_t>(limit))) runs.push_back(run_json(*r));
    proto::Json body = ok_body(id);
    body["runs"] = std::move(runs);
    send(s.id, body);
  } else if (op == "run") {
    const sched::Run* run = find_run("run");
    if (!run) return;
    proto::Json body = ok_body(id);
    body["run"] = run_json(*run);
    send(s.id, body);
  } else if (op == "wait") {
    Waiter w{s.id, id, 0, 0};
    if (req.contains("run")) {
      const sched::Run* run = find_run("run");
      if (!run) return;
      w.run = run->id;
    } else {
      const sched::Job* job = find_job("job");
      if (!job) return;
      w.job = job->id;
      // Its newest run created before now, or else its next one.
      if (!job->runs.empty()) w.run = job->runs.back();
    }
    const sched::Run* run = w.run ? sched_.run(w.run) : nullptr;
    if (run && sched::is_final(run->state)) {
      proto::Json body = ok_body(id);
      body["run"] = run_json(*run);
      return send(s.id, body);
    }
    waiters_.push_back(std::move(w));
    expect(s.id);
  } else if (op == "status") {
    proto::Json body = ok_body(id);
    body["version"] = JOBD_VERSION;
    body["pid"] = getpid();
    body["uptime_seconds"] =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    body["state_dir"] = options_.state_dir;
    body["socket"] = options_.socket_path;
    body["slots"] = sched_.slots();
    body["running"] = sched_.running();
    body["queued"] = sched_.queued();
    body["jobs"] = sched_.job_count();
    body["stopping"] = stopping_;
    send(s.id, body);
  } else {
    fail(Errc::bad_request, op.empty() ? std::string("the request has no \"op\"")
                                       : fmt::format("unknown op \"{}\"", op));
  }
}

void Server::finished(int64_t id) {
  const sched::Run* run = sched_.run(id);
  if (!run) return;
  const sched::Job& job = *sched_.job(run->job);
  std::string how = std::string(sched::name(run->state));
  if (run->exit_code) how += fmt::format(", exit {}", *run->exit_code);
  if (!run->reason.empty()) how += ": " + run->reason;
  log(run->state == sched::RunState::succeeded ? Level::info : Level::warning, "jobd: run {} of job {} {}",
      sched::run_ref(id), job.spec.name, how);
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->run == id || (it->run == 0 && it->job == run->job)) {
      proto::Json body = ok_body(it->id);
      body["run"] = run_json(*run);
      pending_.push_back({it->session, std::move(body)});
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Server::commit() {
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
  if (auto e = store_->save(jobs, runs)) {
    // Nothing of this turn is durable: undo its submits and say so. Other
    // changes (finished runs) stay in memory and are saved with the next commit.
    log(Level::error, "jobd: {}", e->message);
    for (Reply& r : replies) {
      if (r.new_job) {
        sched_.forget(r.new_job);
        job_ids.erase(r.new_job);
        send(r.session, error_body(r.body["id"], {Errc::storage, "not saved: " + e->message}));
      } else {
        send(r.session, r.body);
      }
      settle(r.session);
    }
    unsaved_jobs_.insert(job_ids.begin(), job_ids.end());
    unsaved_runs_.insert(run_ids.begin(), run_ids.end());
    return false;
  }
  for (Reply& r : replies) {
    send(r.session, r.body);
    settle(r.session);
  }
  return true;
}

void Server::start_runs(const std::vector<int64_t>& ids) {
  for (int64_t id : ids) {
    const sched::Run* run = sched_.run(id);
    if (!run || run->state != sched::RunState::running) continue;  // undone with its job
    spawner_->submit(spawn_request(*sched_.job(run->job), *run, log_paths(id), zone_));
  }
}

void Server::on_spawned(SpawnResult result) {
  const auto t = now();
  const int64_t id = result.run;
  if (!result.spawned) return sched_.start_failed(id, result.spawned.error().message, t);
  const pid_t pid = result.spawned->pid;
  pids_[pid] = id;
  sched_.started(id, pid, result.spawned->start_ticks);
  const sched::Run* run = sched_.run(id);
  log(Level::info, "jobd: run {} of job {} started, pid {}", sched::run_ref(id), sched_.job(run->job)->spec.name, pid);
  // Signals decided while the pid was still unknown.
  if (stopping_ || run->timeout_sent) kill(-pid, SIGTERM);
  if (auto early = early_exits_.find(pid); early != early_exits_.end()) {
    const int status = early->second;
    early_exits_.erase(early);
    record_exit(id, pid, status, t);
  }
}

void Server::after_io() {
  sched_.tick(now());
  std::vector<int64_t> starts;
  auto carry_out = [&] {
    for (const auto& a : sched_.take_actions()) {
      switch (a.kind) {
        case sched::Action::Kind::start:
          starts.push_back(a.run);
          break;
        case sched::Action::Kind::signal:
          if (const auto* r = sched_.run(a.run); r && r->pid > 0) kill(-static_cast<pid_t>(r->pid), a.signal);
          break;
        case sched::Action::Kind::finished:
          finished(a.run);
          break;
      }
    }
  };
  carry_out();
  // Runs are saved as `running` before they start: after a crash, a run that
  // may have started is `lost`, never silently started twice.
  commit();
  if (!starts.empty()) {
    start_runs(std::exchange(starts, {}));
    carry_out();
    // The pids just learned ride with the next commit, which the runs' own
    // exits often trigger: one fsync instead of two. arm_timer() bounds the wait.
  }
  if (stopping_ && sched_.running() == 0) {
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
  if (!next) {
    uv_timer_stop(&timer_);
    return;
  }
  const auto t = now();
  const auto ms = *next <= t ? uint64_t{0}
                             : static_cast<uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(*next - t).count());
  // The work is done here, not left to the check handle: a due timer runs
  // before the poll, which would then block until some I/O arrives.
  uv_timer_start(&timer_, [](uv_timer_t* timer) { handle_owner<Server>(timer)->after_io(); }, ms, 0);
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
    else if (spawner_->in_flight() > 0)
      early_exits_[pid] = status;  // a run whose spawn result is still on its way
  }
}

void Server::record_exit(int64_t id, pid_t pid, int status, job::time::Instant t) {
  pids_.erase(pid);
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
  uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
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
  if (listening_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    unlink(options_.socket_path.c_str());
    listening_ = false;
  }
  sched_.shutdown(now());
  after_io();  // signal the running runs now
}

}  // namespace jobd
