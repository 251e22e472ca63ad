#include "worker_node.hpp"

#include <netdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <random>

#include "cgroups.hpp"
#include "log.hpp"
#include "proto/base64.hpp"
#include "sched/model.hpp"
#include "uv_write.hpp"

namespace jobd {

namespace sched = job::sched;

namespace {

constexpr std::chrono::milliseconds kMaxReconnectDelay{2000};
// The keeper is this very program (jobd --keeper): the running one, even if
// an upgrade has replaced the file since.
constexpr const char* kSelf = "/proc/self/exe";

template <class T>
T* owner(const void* handle) {
  return static_cast<T*>(static_cast<const uv_handle_t*>(handle)->data);
}

}  // namespace

WorkerNode::WorkerNode(Options options, std::string coordinator)
    : options_(std::move(options)),
      coordinator_(std::move(coordinator)),
      instance_(fmt::format("{:016x}", std::random_device{}() * (uint64_t{1} << 32) + std::random_device{}())),
      loop_(uv_default_loop()) {}

WorkerNode::~WorkerNode() = default;

int WorkerNode::run() {
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir + "/logs", ec);
  auto store = WorkerStore::open(options_.state_dir + "/worker.db");
  if (!store) {
    log(Level::error, "jobd: {}", store.error().message);
    return 1;
  }
  store_ = std::move(*store);
  if (!options_.tls_ca.empty()) {
    auto ctx = tls::client_context(options_.tls_ca, options_.tls_cert, options_.tls_key);
    if (!ctx) {
      log(Level::error, "jobd: {}", ctx.error().message);
      return 1;
    }
    tls_context_ = std::move(*ctx);
  }
  if (!recall()) return 1;
  // Every run held by the keeper: if this worker dies (kill -9), its runs die
  // with it rather than go on while their retries run elsewhere.
  keeper_ = std::make_unique<Keeper>(loop_, [this](const std::string& why) { on_keeper_lost(why); });
  if (auto e = keeper_->start(kSelf)) {
    log(Level::error, "jobd: {}", e->message);
    return 1;
  }
  spawner_ = std::make_unique<Spawner>(loop_, [this](SpawnResult r) { on_spawned(std::move(r)); });
  uv_check_init(loop_, &commit_);
  commit_.data = this;
  uv_check_start(&commit_, [](uv_check_t* c) {
    auto* self = owner<WorkerNode>(c);
    // Not fatal: the runs go on, in memory; only a crash would lose what
    // the disk did not take. Said once per kind of error.
    if (auto e = self->store_->commit(); e && e->message != self->store_error_) {
      log(Level::error, "jobd: worker {}: {}", self->options_.name, e->message);
      self->store_error_ = e->message;
    }
    // Output goes with the run's record, as jobd's goes with its runs.
    for (int64_t run : self->store_->take_pruned()) {
      const LogPaths logs = self->log_paths(run);
      for (const std::string& path : {logs.out, logs.err}) std::remove(path.c_str());
    }
  });
  for (uv_timer_t* t : {&tick_timer_, &reconnect_timer_, &kill_timer_, &keeper_timer_}) {
    uv_timer_init(loop_, t);
    t->data = this;
  }
  for (uv_signal_t* s : {&sigchld_, &sigterm_, &sigint_}) {
    uv_signal_init(loop_, s);
    s->data = this;
  }
  uv_signal_start(&sigchld_, [](uv_signal_t* s, int) { owner<WorkerNode>(s)->on_sigchld(); }, SIGCHLD);
  uv_signal_start(&sigterm_, [](uv_signal_t* s, int) { owner<WorkerNode>(s)->begin_shutdown(); }, SIGTERM);
  uv_signal_start(&sigint_, [](uv_signal_t* s, int) { owner<WorkerNode>(s)->begin_shutdown(); }, SIGINT);
  // Ticks at a tenth of the heartbeat: fencing is checked more often than beats are sent.
  uv_timer_start(&tick_timer_, [](uv_timer_t* t) { owner<WorkerNode>(t)->tick(); }, 100, 100);
  log(Level::info, "jobd: worker {} ({} slots) joining {}{}", options_.name, options_.slots, coordinator_,
      tls_context_ ? " over TLS" : "");
  connect();
  uv_run(loop_, UV_RUN_DEFAULT);
  // Stopped: close what is left and let the loop deliver the closes.
  if (tcp_) uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  tcp_ = nullptr;
  spawner_->close();
  // The keeper reads the end of file, kills what is left (nothing, unless
  // the grace ran out) and exits.
  keeper_->close();
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&tick_timer_), reinterpret_cast<uv_handle_t*>(&reconnect_timer_),
                         reinterpret_cast<uv_handle_t*>(&kill_timer_), reinterpret_cast<uv_handle_t*>(&keeper_timer_),
                         reinterpret_cast<uv_handle_t*>(&commit_),
                         reinterpret_cast<uv_handle_t*>(&sigchld_),
                         reinterpret_cast<uv_handle_t*>(&sigterm_), reinterpret_cast<uv_handle_t*>(&sigint_)})
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  uv_run(loop_, UV_RUN_DEFAULT);
  if (auto e = store_->commit()) log(Level::error, "jobd: worker {}: {}", options_.name, e->message);
  int status = 0;
  if (keeper_->pid() > 0) waitpid(keeper_->pid(), &status, 0);
  log(Level::info, "jobd: worker {} stopped", options_.name);
  return 0;
}

// --- the connection ---------------------------------------------------------

void WorkerNode::connect() {
  if (stopping_ && runs_.empty()) return;
  const size_t colon = coordinator_.rfind(':');
  std::string host = coordinator_.substr(0, colon);
  const std::string port = colon == std::string::npos ? std::string() : coordinator_.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  // Blocking, but a worker serves nobody while it is not connected.
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found) {
    log(Level::warning, "jobd: cannot resolve coordinator {}: {}", coordinator_, gai_strerror(rc));
    return schedule_reconnect();
  }
  tcp_ = new uv_tcp_t{};
  uv_tcp_init(loop_, tcp_);
  tcp_->data = this;
  auto* req = new uv_connect_t{};
  req->data = this;
  const int rc = uv_tcp_connect(req, tcp_, found->ai_addr, [](uv_connect_t* r, int status) {
    auto* self = static_cast<WorkerNode*>(r->data);
    const bool current = self->tcp_ && reinterpret_cast<uv_stream_t*>(self->tcp_) == r->handle;
    delete r;
    if (current) self->on_connected(status);
  });
  freeaddrinfo(found);
  if (rc != 0) {
    delete req;
    disconnect(fmt::format("connect: {}", uv_strerror(rc)));
  }
}

void WorkerNode::on_connected(int status) {
  if (status != 0) return disconnect(fmt::format("cannot connect to {}: {}", coordinator_, uv_strerror(status)));
  uv_tcp_nodelay(tcp_, 1);
  reader_ = proto::LineReader(proto::kMaxFrame);
  if (tls_context_) {
    tls_ = std::make_unique<tls::Tls>(tls_context_.get(), tls::Tls::Side::client,
                                      coordinator_.substr(0, coordinator_.rfind(':')));
    write(tls_->start());
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(tcp_),
      [](uv_handle_t*, size_t, uv_buf_t* buf) {
        static char buffer[64 * 1024];
        *buf = uv_buf_init(buffer, sizeof buffer);
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* self = owner<WorkerNode>(stream);
        if (n < 0) return self->disconnect(n == UV_EOF ? "the coordinator closed the connection" : uv_strerror(static_cast<int>(n)));
        self->on_read(std::string_view(buf->base, static_cast<size_t>(n)));
      });
  send({{"op", "auth"}, {"token", options_.token}}, [this](const proto::Json& reply) {
    if (!reply.value("ok", false))
      return disconnect("the coordinator refused the token: " + reply["error"].value("message", std::string()));
    const auto sent = Clock::now();
    send({{"op", "register"},
          {"name", options_.name},
          {"slots", options_.slots},
          {"tags", options_.tags},
          {"version", JOBD_VERSION},
          {"instance", instance_},
          {"leases", leases()},
          {"seen_epoch", seen_epoch_}},
         [this, sent](const proto::Json& r) {
           if (!r.value("ok", false))
             return disconnect("registration refused: " + r["error"].value("message", std::string()));
           last_acked_sent_ = sent;
           on_registered(r);
         });
  });
}

void WorkerNode::on_read(std::string_view data) {
  const uv_tcp_t* connection = tcp_;
  std::string plaintext;
  if (tls_) {
    auto fed = tls_->feed(data);
    if (!fed.to_send.empty()) write(std::move(fed.to_send));
    if (!fed.error.empty()) return disconnect(fmt::format("TLS with {}: {}", coordinator_, fed.error));
    plaintext = std::move(fed.plaintext);
    data = plaintext;
  }
  reader_.feed(data);
  while (tcp_ && tcp_ == connection) {
    auto line = reader_.next();
    if (!line) break;
    on_line(*line);
  }
}

void WorkerNode::on_line(const std::string& line) {
  const auto msg = proto::Json::parse(line, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) return disconnect("the coordinator sent a line that is not JSON");
  if (msg.contains("hello")) return;
  if (msg.contains("assign")) return on_assign(msg["assign"]);
  if (msg.contains("signal")) return on_signal(msg["signal"]);
  if (msg.contains("read_log")) return on_read_log(msg["read_log"]);
  if (!msg.contains("id") || !msg["id"].is_number_integer()) {
    if (!msg.value("ok", true)) disconnect("the coordinator said: " + msg["error"].value("message", std::string()));
    return;
  }
  auto it = waiting_.find(msg["id"].get<int64_t>());
  if (it == waiting_.end()) return;
  auto handler = std::move(it->second);
  waiting_.erase(it);
  if (handler) handler(msg);
}

void WorkerNode::send(proto::Json request, std::function<void(const proto::Json&)> on_reply) {
  if (!tcp_) return;
  const int64_t id = next_id_++;
  request["id"] = id;
  waiting_[id] = std::move(on_reply);
  std::string line = request.dump(-1, ' ', false, proto::Json::error_handler_t::replace) + "\n";
  write(tls_ ? tls_->write(line) : std::move(line));  // TLS holds it back until the handshake is done
}

void WorkerNode::write(std::string bytes) {
  if (!tcp_ || bytes.empty()) return;
  if (const int rc = write_owned(reinterpret_cast<uv_stream_t*>(tcp_), std::move(bytes)); rc != 0)
    disconnect(fmt::format("write: {}", uv_strerror(rc)));
}

void WorkerNode::disconnect(const std::string& why) {
  if (!tcp_) return;
  log(Level::warning, "jobd: worker {}: {}; reconnecting", options_.name, why);
  uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  tcp_ = nullptr;
  tls_.reset();
  connected_ = false;
  heartbeat_in_flight_ = false;
  waiting_.clear();
  schedule_reconnect();
}

void WorkerNode::schedule_reconnect() {
  if (stopping_ && runs_.empty()) return maybe_stop();
  uv_timer_start(&reconnect_timer_, [](uv_timer_t* t) { owner<WorkerNode>(t)->connect(); },
                 static_cast<uint64_t>(reconnect_delay_.count()), 0);
  reconnect_delay_ = std::min(kMaxReconnectDelay, reconnect_delay_ * 2);
}

// --- what the coordinator says ----------------------------------------------

void WorkerNode::on_registered(const proto::Json& reply) {
  connected_ = true;
  reconnect_delay_ = std::chrono::milliseconds{100};
  heartbeat_ = std::chrono::milliseconds{reply.value("heartbeat_ms", int64_t{1000})};
  down_after_ = std::chrono::milliseconds{reply.value("down_after_ms", int64_t{15000})};
  log(Level::info, "jobd: worker {} registered with {} ({} runs held)", options_.name, coordinator_, runs_.size());
  revoke(reply.value("revoke", proto::Json::array()));
  // Ends that happened while it was away.
  std::vector<int64_t> ended;
  for (const auto& [run, held] : runs_)
    if (held.ended() && !held.reported && !held.killed) ended.push_back(run);
  for (int64_t run : ended) report(run);
}

void WorkerNode::on_assign(const proto::Json& a) {
  const auto run = sched::parse_ref(a.value("run", std::string()), 'r');
  if (!run) return;
  const uint64_t epoch = a.value("epoch", uint64_t{0});
  seen_epoch_ = std::max(seen_epoch_, epoch);
  if (runs_.contains(*run) || stopping_) return;  // sent again after a reconnect
  runs_[*run].epoch = epoch;
  store_->assigned(*run, epoch, a.value("job_name", std::string()), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                          std::chrono::system_clock::now().time_since_epoch())
                                                          .count());
  SpawnRequest r;
  r.run = *run;
  r.argv = a.value("argv", std::vector<std::string>{});
  r.env = a.value("env", std::vector<std::string>{});
  r.cwd = a.value("cwd", std::string());
  r.logs = log_paths(*run);
  for (const auto& [key, value] : a.items()) {
    std::optional<job::Error> problem;  // checked by the coordinator already
    proto::confinement_from_json(key, value, r.user, r.confine, problem);
  }
  log(Level::info, "jobd: worker {}: run {} of job {} (epoch {})", options_.name, sched::run_ref(*run),
      a.value("job_name", std::string()), epoch);
  // Held before it can start: if we die before we tell the keeper its
  // group, the keeper finds it by this.
  keeper_->hold(*run, "JOBD_RUN_ID=" + sched::run_ref(*run));
  spawner_->submit(std::move(r));
}

void WorkerNode::on_read_log(const proto::Json& r) {
  // Output stays here; the coordinator relays it to `jobctl logs`.
  const auto run = sched::parse_ref(r.value("run", std::string()), 'r');
  if (!run) return send({{"op", "log_data"}, {"ref", r.value("ref", int64_t{0})}, {"data", ""}, {"size", 0}});
  const LogPaths logs = log_paths(*run);
  const std::string& path = r.value("stream", std::string()) == "stderr" ? logs.err : logs.out;
  const int64_t limit = std::clamp<int64_t>(r.value("limit", kMaxLogChunk), 1, kMaxLogChunk);
  auto [data, size] = read_log_chunk(path, std::max<int64_t>(0, r.value("offset", int64_t{0})), limit);
  send({{"op", "log_data"}, {"ref", r.value("ref", int64_t{0})}, {"data", proto::base64_encode(data)}, {"size", size}});
}

void WorkerNode::on_signal(const proto::Json& s) {
  const auto run = sched::parse_ref(s.value("run", std::string()), 'r');
  auto it = run ? runs_.find(*run) : runs_.end();
  if (it == runs_.end() || it->second.epoch != s.value("epoch", uint64_t{0})) return;
  kill_run(*run, s.value("signal", SIGTERM));
}

void WorkerNode::revoke(const proto::Json& leases) {
  for (const auto& l : leases) {
    const auto run = sched::parse_ref(l.value("run", std::string()), 'r');
    auto it = run ? runs_.find(*run) : runs_.end();
    if (it == runs_.end() || it->second.epoch != l.value("epoch", uint64_t{0})) continue;
    log(Level::warning, "jobd: worker {}: the lease of run {} is gone: killing it", options_.name,
        sched::run_ref(*run));
    it->second.killed = true;
    kill_run(*run, SIGKILL);
    if (it->second.ended()) forget(*run);  // nothing to wait for

  }
}

// --- the runs ---------------------------------------------------------------

void WorkerNode::on_spawned(SpawnResult result) {
  auto it = runs_.find(result.run);
  if (!result.spawned) {
    keeper_->ended(result.run);
    if (it == runs_.end()) return;
    log(Level::warning, "jobd: worker {}: run {} could not start: {}", options_.name, sched::run_ref(result.run),
        result.spawned.error().message);
    it->second.start_error = result.spawned.error().message;
    store_->failed_to_start(result.run, it->second.start_error);
    if (it->second.killed) return forget(result.run);
    return report(result.run);
  }
  const pid_t pid = result.spawned->pid;
  keeper_->started(result.run, pid);
  if (it == runs_.end()) return;  // not reachable: runs are erased once reaped, never before
  Held& held = it->second;
  held.pid = pid;
  pids_[pid] = result.run;
  if (held.killed || stopping_) kill_run(result.run, held.killed ? SIGKILL : SIGTERM);
  if (auto early = early_exits_.find(pid); early != early_exits_.end()) {
    const int status = early->second;
    early_exits_.erase(early);
    on_exited(pid, status);
  }
}

void WorkerNode::on_exited(pid_t pid, int status) {
  auto it = pids_.find(pid);
  if (it == pids_.end()) return;
  const int64_t run = it->second;
  pids_.erase(it);
  keeper_->ended(run);
  remove_run_cgroup(run);
  auto held = runs_.find(run);
  if (held == runs_.end()) return;
  held->second.status = status;
  store_->ended(run, status);
  if (held->second.killed)
    forget(run);
  else
    report(run);
}

void WorkerNode::on_sigchld() {
  int status = 0;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    if (pid == keeper_->pid()) continue;  // its end of file has told us already
    if (!pids_.contains(pid)) {
      if (spawner_->in_flight() > 0) early_exits_[pid] = status;
      continue;
    }
    on_exited(pid, status);
  }
  maybe_stop();
}

void WorkerNode::on_keeper_lost(const std::string& why) {
  // The runs go on: they are our children. Until another keeper holds them
  // they would not die with us: start one after a moment (one that dies at
  // once must not spin us) and tell it what we hold.
  log(Level::error, "jobd: worker {}: the keeper (pid {}) is gone: {}; starting another", options_.name,
      keeper_->pid(), why);
  uv_timer_start(&keeper_timer_, [](uv_timer_t* t) { owner<WorkerNode>(t)->restart_keeper(); }, 100, 0);
}

void WorkerNode::restart_keeper() {
  if (auto e = keeper_->start(kSelf)) {
    log(Level::error, "jobd: worker {}: {}; trying again in a second", options_.name, e->message);
    uv_timer_start(&keeper_timer_, [](uv_timer_t* t) { owner<WorkerNode>(t)->restart_keeper(); }, 1000, 0);
    return;
  }
  for (const auto& [run, held] : runs_) {
    if (held.ended()) continue;
    keeper_->hold(run, "JOBD_RUN_ID=" + sched::run_ref(run));
    if (held.pid > 0) keeper_->started(run, held.pid);
  }
  log(Level::info, "jobd: worker {}: keeper pid {} holds its {} runs", options_.name, keeper_->pid(), pids_.size());
}

void WorkerNode::report(int64_t run) {
  auto it = runs_.find(run);
  if (it == runs_.end() || !it->second.ended()) return;
  if (!connected_) {
    // Sent when it registers again; stopping, it never will in this life:
    // the store keeps it for the next (a report then may come too late,
    // the lease having expired and the run been retried: it is refused).
    if (stopping_) runs_.erase(it);
    return;
  }
  const Held& held = it->second;
  proto::Json r = {{"op", "report"}, {"run", sched::run_ref(run)}, {"epoch", held.epoch}};
  if (held.status) {
    r["exit_code"] = WIFEXITED(*held.status) ? proto::Json(WEXITSTATUS(*held.status)) : proto::Json(nullptr);
    r["signal"] = WIFSIGNALED(*held.status) ? WTERMSIG(*held.status) : 0;
  } else if (!held.start_error.empty()) {
    r["start_error"] = held.start_error;
  } else {
    r["lost"] = held.lost;
  }
  send(std::move(r), [this, run](const proto::Json& reply) {
    if (!reply.value("ok", false)) {
      log(Level::warning, "jobd: worker {}: report of run {} refused: {}", options_.name, sched::run_ref(run),
          reply["error"].value("message", std::string()));
      forget(run);  // refused for good: a stale lease
    } else {
      store_->reported(run);
      runs_.erase(run);
    }
    maybe_stop();
  });
}

LogPaths WorkerNode::log_paths(int64_t run) const {
  const std::string base = fmt::format("{}/logs/{}", options_.state_dir, sched::run_ref(run));
  return {base + ".out", base + ".err"};
}

void WorkerNode::forget(int64_t run) {
  store_->forget(run);
  runs_.erase(run);
}

bool WorkerNode::recall() {
  auto held = store_->unfinished();
  if (!held) {
    log(Level::error, "jobd: {}", held.error().message);
    return false;
  }
  for (const WorkerRun& r : *held) {
    Held& h = runs_[r.run];
    h.epoch = r.epoch;
    h.status = r.status;
    h.start_error = r.error;
    // Running when we last died: the keeper killed it; its end is unknown.
    if (!h.ended()) h.lost = "its worker restarted while it ran";
    seen_epoch_ = std::max(seen_epoch_, r.epoch);
  }
  if (!runs_.empty())
    log(Level::info, "jobd: worker {}: {} runs of its previous life to report", options_.name, runs_.size());
  return true;
}

void WorkerNode::tick() {
  const auto now = Clock::now();
  // Fencing: the coordinator expires our leases down_after after the last
  // heartbeat it got, which it got after we sent it. Kill the runs two
  // heartbeats before that, so that no retry elsewhere overlaps them.
  const bool holding = std::any_of(runs_.begin(), runs_.end(), [](const auto& r) {
    return !r.second.killed && !r.second.ended();
  });
  if (holding && last_acked_sent_ != Clock::time_point{} && now - last_acked_sent_ > down_after_ - 2 * heartbeat_) {
    log(Level::warning, "jobd: worker {}: no heartbeat acknowledged for {}ms: killing its runs, whose leases expire",
        options_.name, std::chrono::duration_cast<std::chrono::milliseconds>(now - last_acked_sent_).count());
    for (auto& [run, held] : runs_)
      if (!held.ended()) {
        held.killed = true;
        kill_run(run, SIGKILL);
      }
  }
  if (!connected_ || heartbeat_in_flight_ || now - last_acked_sent_ < heartbeat_) return;
  heartbeat_in_flight_ = true;
  double load[1] = {0};
  getloadavg(load, 1);
  send({{"op", "heartbeat"}, {"leases", leases()}, {"seen_epoch", seen_epoch_}, {"load", load[0]}},
       [this, now](const proto::Json& r) {
    heartbeat_in_flight_ = false;
    if (!r.value("ok", false))  // the coordinator restarted and forgot us: register again
      return disconnect("heartbeat refused: " + r["error"].value("message", std::string()));
    last_acked_sent_ = now;
    revoke(r.value("revoke", proto::Json::array()));
  });
}

void WorkerNode::kill_run(int64_t run, int signal) {
  auto it = runs_.find(run);
  if (it != runs_.end() && it->second.pid > 0 && !it->second.ended()) kill(-it->second.pid, signal);
}

proto::Json WorkerNode::leases() const {
  proto::Json out = proto::Json::array();
  for (const auto& [run, held] : runs_)
    if (!held.killed && !held.reported) out.push_back({{"run", sched::run_ref(run)}, {"epoch", held.epoch}});
  return out;
}

void WorkerNode::begin_shutdown() {
  if (stopping_) return;
  stopping_ = true;
  log(Level::info, "jobd: worker {} stopping ({} runs)", options_.name, runs_.size());
  for (const auto& [run, held] : runs_) kill_run(run, SIGTERM);
  uv_timer_start(
      &kill_timer_,
      [](uv_timer_t* t) {
        auto* self = owner<WorkerNode>(t);
        for (const auto& [run, held] : self->runs_) self->kill_run(run, SIGKILL);
        // Reports that cannot be delivered now are the coordinator's to
        // settle: the leases expire and the runs are retried.
        uv_timer_start(&self->kill_timer_, [](uv_timer_t* t2) { uv_stop(owner<WorkerNode>(t2)->loop_); }, 2000, 0);
      },
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(options_.kill_grace).count()), 0);
  maybe_stop();
}

void WorkerNode::maybe_stop() {
  if (stopping_ && runs_.empty()) uv_stop(loop_);
}

}  // namespace jobd
