// jobd --join HOST:PORT: a worker. It registers with the coordinator over
// TCP (the cluster token first), sends a heartbeat with the leases it holds
// every `heartbeat_ms`, runs what it is assigned (posix_spawn, output to
// files under its state directory, as jobd runs its own; its keeper kills
// them if the worker dies), and reports how each run ended. It decides
// nothing about scheduling: the coordinator does. With tls_ca, the
// connection is TLS (tls.hpp): the coordinator's certificate is verified
// against that CA and its HOST, and tls_cert and tls_key are shown if asked.
//
// Fencing: a lease is (run, epoch). A run whose lease the coordinator
// revokes is killed. A worker that cannot get a heartbeat through for
// nearly down_after kills its runs itself (their leases are about to expire
// and the runs to be retried elsewhere): an attempt never runs twice at once.
#pragma once

#include <uv.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "proto/codec.hpp"
#include "proto/protocol.hpp"
#include "keeper.hpp"
#include "spawner.hpp"
#include "tls.hpp"
#include "worker_store.hpp"

namespace jobd {

namespace proto = job::proto;

class WorkerNode {
 public:
  WorkerNode(Options options, std::string coordinator);
  ~WorkerNode();
  WorkerNode(const WorkerNode&) = delete;
  WorkerNode& operator=(const WorkerNode&) = delete;

  // Runs until SIGTERM or SIGINT: its runs get SIGTERM, then SIGKILL after
  // kill_grace; their ends are reported if the coordinator can be reached.
  int run();

 private:
  using Clock = std::chrono::steady_clock;
  struct Held {
    uint64_t epoch = 0;
    pid_t pid = 0;              // 0: spawn under way
    std::optional<int> status;  // waitpid status, once it ended
    // Instead of a status: why it could not start, or why we lost it (it
    // ran when this worker last died).
    std::string start_error, lost;
    bool reported = false;  // the coordinator took the report
    bool killed = false;    // revoked or fenced: end it, report nothing
    bool ended() const { return status || !start_error.empty() || !lost.empty(); }
  };

  // The connection.
  void connect();
  void on_connected(int status);
  void on_line(const std::string& line);
  void send(proto::Json request, std::function<void(const proto::Json&)> on_reply = {});
  void on_read(std::string_view data);  // from the coordinator: TLS records with tls_
  void write(std::string bytes);        // to it, as they are
  void disconnect(const std::string& why);
  void schedule_reconnect();
  // What the coordinator says.
  void on_registered(const proto::Json& reply);
  void on_assign(const proto::Json& a);
  void on_signal(const proto::Json& s);
  void on_read_log(const proto::Json& r);
  void revoke(const proto::Json& leases);
  // The runs.
  bool recall();  // the runs of our previous life, from the store
  void forget(int64_t run);
  LogPaths log_paths(int64_t run) const;  // its output, under our state directory
  void on_spawned(SpawnResult result);
  void on_exited(pid_t pid, int status);
  void on_keeper_lost(const std::string& why);
  void restart_keeper();
  void on_sigchld();
  void report(int64_t run);
  void tick();  // heartbeat, and fencing
  void kill_run(int64_t run, int signal);
  proto::Json leases() const;
  void begin_shutdown();
  void maybe_stop();

  Options options_;
  std::string coordinator_;  // HOST:PORT
  // This process, to the coordinator: another with our name is refused
  // while we are connected and healthy.
  std::string instance_;
  uv_loop_t* loop_;
  std::unique_ptr<Spawner> spawner_;
  std::unique_ptr<Keeper> keeper_;
  std::unique_ptr<WorkerStore> store_;
  std::string store_error_;  // the last commit's error, logged once
  uv_tcp_t* tcp_ = nullptr;  // the current connection, if any
  tls::Context tls_context_;       // with tls_ca
  std::unique_ptr<tls::Tls> tls_;  // the current connection's, with tls_ca
  bool connected_ = false;   // authenticated and registered
  proto::LineReader reader_{proto::kMaxFrame};
  int64_t next_id_ = 1;
  std::map<int64_t, std::function<void(const proto::Json&)>> waiting_;  // request id -> reply handler
  std::map<int64_t, Held> runs_;                                        // by run id
  std::map<pid_t, int64_t> pids_;
  std::map<pid_t, int> early_exits_;  // reaped before the spawner said whose
  uint64_t seen_epoch_ = 0;
  std::chrono::milliseconds heartbeat_{1000}, down_after_{15000};
  Clock::time_point last_acked_sent_{};  // when the newest acknowledged heartbeat was sent
  bool heartbeat_in_flight_ = false;
  std::chrono::milliseconds reconnect_delay_{100};
  uv_timer_t tick_timer_{}, reconnect_timer_{}, kill_timer_{}, keeper_timer_{};
  uv_check_t commit_{};  // the store's batch, once per loop turn
  uv_signal_t sigchld_{}, sigterm_{}, sigint_{};
  bool stopping_ = false;
};

}  // namespace jobd
