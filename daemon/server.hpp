// The daemon around the scheduler core: one libuv loop, a Unix-socket
// listener speaking the line protocol (proto/protocol.hpp), the executor, and
// group commit: all the state one loop turn changed is saved in one
// transaction before any reply that depends on it is sent.
#pragma once

#include <uv.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "apply.hpp"
#include "config.hpp"
#include "identity.hpp"
#include "events.hpp"
#include "executor.hpp"
#include "jobs_dir.hpp"
#include "metrics.hpp"
#include "metrics_http.hpp"
#include "notify.hpp"
#include "proto/codec.hpp"
#include "proto/protocol.hpp"
#include "sched/scheduler.hpp"
#include "spawner.hpp"
#include "store/store.hpp"
#include "systemd.hpp"
#include "tokens.hpp"
#include "tls.hpp"

namespace jobd {

namespace proto = job::proto;
namespace store = job::store;

class Server {
 public:
  // `command_line` is read again, with its jobd.toml, on SIGHUP.
  Server(CommandLine command_line, Options options, std::unique_ptr<store::Store> store, job::time::Zone zone);
  ~Server();

  // Restores the saved state, recovers runs left `running`, starts listening.
  std::optional<job::Error> start();
  // Runs the loop until a SIGTERM or SIGINT has been handled to the end.
  void run();

 private:
  struct Session;  // session.hpp
  struct Waiter {
    uint64_t session;
    proto::Json id;
    int64_t job;  // waiting for this job's next run to finish...
    int64_t run;  // ...or for this run (0: not known yet)
  };
  struct Reply {
    uint64_t session;
    proto::Json body;
    int64_t new_job = 0;  // the job a submit created: dropped if the commit fails
    bool unsaved_is_error = false;  // a failed commit is an error (apply), not a success saved later
    // A submit's: when its request was read, for jobd_submit_latency_seconds.
    std::chrono::steady_clock::time_point received{};
  };

  static job::time::Instant now();
  void on_connection(bool tcp = false);
  Identity local_peer(Session& s) const;
  // tcp.cpp: the TCP listener and its clients' token.
  std::optional<job::Error> start_tcp();
  void stop_tcp();
  void drop_unauthenticated();
  void authenticate(Session& s, const proto::Json& id, const proto::Json& request);
  // A TLS client's records: false if its connection failed (and is closing).
  bool tls_read(Session& s, std::string_view ciphertext, std::string& plaintext);
  // cluster.cpp: workers register, beat and report; assignments and signals go to them.
  void op_register(Session& s, const proto::Json& id, const proto::Json& req);
  void op_heartbeat(Session& s, const proto::Json& id, const proto::Json& req);
  void op_report(Session& s, const proto::Json& id, const proto::Json& req);
  void op_workers(Session& s, const proto::Json& id, const proto::Json& req);
  void op_drain(Session& s, const proto::Json& id, const proto::Json& req);
  void send_assignment(int64_t run);
  // A run's output, read here or relayed from its worker.
  void op_log(Session& s, const proto::Json& id, const proto::Json& req);
  void op_log_data(Session& s, const proto::Json& id, const proto::Json& req);
  void fail_log_reads(uint64_t worker_session);
  void signal_worker_run(const job::sched::Run& run, int signal);
  // The protocol's ops (requests.cpp), found by name in ops().
  using Op = void (Server::*)(Session&, const proto::Json& id, const proto::Json& request);
  struct OpEntry {
    std::string_view name;
    Op method;
    Role need;     // the least role that may call it
    bool audited;  // it changes something: recorded in the audit table
  };
  static const std::vector<OpEntry>& ops();
  void on_line(Session& s, const std::string& line);
  void op_submit(Session& s, const proto::Json& id, const proto::Json& req);
  void op_list(Session& s, const proto::Json& id, const proto::Json& req);
  void op_show(Session& s, const proto::Json& id, const proto::Json& req);
  void op_runs(Session& s, const proto::Json& id, const proto::Json& req);
  void op_run(Session& s, const proto::Json& id, const proto::Json& req);
  void op_wait(Session& s, const proto::Json& id, const proto::Json& req);
  void op_status(Session& s, const proto::Json& id, const proto::Json& req);
  void op_cancel(Session& s, const proto::Json& id, const proto::Json& req);
  void op_pause(Session& s, const proto::Json& id, const proto::Json& req);
  void op_resume(Session& s, const proto::Json& id, const proto::Json& req);
  void op_trigger(Session& s, const proto::Json& id, const proto::Json& req);
  void op_delete(Session& s, const proto::Json& id, const proto::Json& req);
  void op_apply(Session& s, const proto::Json& id, const proto::Json& req);
  void op_export(Session& s, const proto::Json& id, const proto::Json& req);
  void op_stats(Session& s, const proto::Json& id, const proto::Json& req);  // stats.cpp
  // The metrics endpoint's page (stats.cpp): the registry with the gauges of now.
  std::string render_metrics() const;
  std::optional<job::Error> start_metrics();
  void op_events(Session& s, const proto::Json& id, const proto::Json& req);
  // The event stream (events.cpp): the scheduler's events of a turn are
  // taken with its changes and published once the commit has saved them.
  proto::Json event_json(const job::sched::Event& e, job::time::Instant at) const;
  void take_events();
  void publish_events();
  // apply.cpp: what applying the files would change, checked against the
  // scheduler; then carrying it out (`who` names the cause in the log).
  // Returns the jobs created.
  job::Result<Plan> plan_apply(const std::vector<ApplyFile>& files, bool prune, const Identity& who) const;
  Identity jobs_dir_identity() const;  // the jobs_dir's files are jobd's own user's
  std::vector<int64_t> carry_out(Plan& plan, std::string_view who);
  // A submitted spec with jobd.toml's [defaults] (options_.defaults) for the fields it lacks.
  proto::Json with_defaults(proto::Json spec) const;
  void merge_defaults_into(proto::Json& defaults) const;  // jobd.toml's over `defaults`
  // A control op's reply waits for its commit, as a submit's does.
  void reply_after_commit(Session& s, proto::Json body);
  // The job or run a request names, if the caller may see it ("not found" if not).
  job::Result<const job::sched::Job*> job_field(const Session& s, const proto::Json& req, const char* key,
                                                bool deleted = false) const;
  job::Result<const job::sched::Run*> run_field(const Session& s, const proto::Json& req, const char* key) const;
  // security.cpp: who may see and do what, the audit table, tokens.
  bool visible(const Session& s, const job::sched::Job& job) const;
  bool visible(const Session& s, const job::sched::Run& run) const;
  std::string denied(const Session& s, std::string_view op, Role need) const;
  // Makes a submitted spec the caller's: its namespace and the user it runs
  // as, which only an admin may choose.
  std::optional<job::Error> own(const Identity& who, job::sched::JobSpec& spec) const;
  std::string default_user(const Identity& who, const std::string& ns) const;
  // Takes `n` submits from the caller's allowance (submit_rate), or says why not.
  std::optional<job::Error> take_submits(const Identity& who, int n);
  void open_audit(const Session& s, const proto::Json& id, const std::string& op, const proto::Json& req);
  void audit_reply(uint64_t session, const proto::Json& body);  // the result, as sent
  void close_audit();
  void op_whoami(Session& s, const proto::Json& id, const proto::Json& req);
  void op_token_create(Session& s, const proto::Json& id, const proto::Json& req);
  void op_token_list(Session& s, const proto::Json& id, const proto::Json& req);
  void op_token_revoke(Session& s, const proto::Json& id, const proto::Json& req);
  void op_audit(Session& s, const proto::Json& id, const proto::Json& req);
  void drop_idle();  // idle_timeout
  void send(uint64_t session, const proto::Json& body);
  void send_bytes(Session& s, std::string data);  // as they are: a line, or TLS records
  void close_session(Session& s, bool flush = true);
  void drop_waiters(uint64_t session);
  void expect(uint64_t session);  // the session awaits one more deferred reply
  void settle(uint64_t session);  // ...which has now been sent
  void after_io();                // the end of a loop turn: tick, commit, reply, spawn
  // Saves the turn's changes, then sends the replies waiting for them. A
  // commit that carries replies is always durable.
  bool commit(store::Durability durability = store::Durability::durable);
  void start_runs(const std::vector<int64_t>& runs);
  void on_spawned(SpawnResult result);
  void on_sigchld();
  void record_exit(int64_t run, pid_t pid, int status, job::time::Instant t);
  void on_adopted_exit(int64_t run);
  void finished(int64_t run);
  void arm_timer();
  void begin_shutdown(int signum);
  // SIGHUP (reload.cpp): reads the command line's jobd.toml again and applies
  // what may change while running, then calls rescan_jobs_dir(), whether the
  // file was good or not (a bad one is logged and the settings stay).
  void reload();
  // The watched jobs_dir (jobs_dir.cpp). rescan_jobs_dir() watches
  // options_.jobs_dir (again) and applies every file there, changed or not;
  // scan_jobs_dir() applies the files changed, added or removed since.
  void rescan_jobs_dir();
  void start_jobs_dir();
  void scan_jobs_dir();
  void close_jobs_dir();
  void apply_jobs_file(ApplyFile file);
  void jobs_file_error(const std::string& file, const std::string& message);
  proto::Json jobs_dir_json() const;  // for status: the path, and the files not applied and why
  LogPaths log_paths(int64_t run) const;
  std::string run_owner(const job::sched::Run& run) const;  // "job X", or "job X, task T of rN" in logs
  proto::Json run_json(const job::sched::Run& run) const;
  proto::Json job_json(const job::sched::Job& job) const;
  // A run that ended: its job's notifications that want the event, queued.
  void notify(const job::sched::Run& run);
  NotifyOptions notify_options() const;

  CommandLine command_line_;
  Options options_;
  std::unique_ptr<store::Store> store_;
  job::time::Zone zone_;
  job::sched::Scheduler sched_;
  uv_loop_t* loop_;
  uv_pipe_t listener_{};
  uv_tcp_t tcp_listener_{};
  uv_timer_t auth_timer_{};     // drops TCP clients that sent no token in time
  bool tcp_listening_ = false;
  std::string listen_address_;  // the TCP address as bound (port 0 picks one); empty: none
  tls::Context tls_context_;    // with tls_cert: every TCP connection is TLS
  // What an operator should fix, for `jobctl status` (the log says it once).
  std::vector<std::string> warnings_;
  std::unordered_map<std::string, uint64_t> worker_sessions_;  // worker -> its connection
  std::unordered_map<std::string, int> connections_by_peer_;   // Session::peer_key -> connections open
  std::set<std::string> over_limit_peers_;                     // refused since last under the limit: logged once
  int64_t stale_reports_ = 0;                                  // workers' reports refused
  std::string own_ns_ = own_user_name();  // jobs_dir's jobs and those saved before namespaces
  std::unique_ptr<Tokens> tokens_;
  struct Allowance {  // a token bucket per identity, for submit_rate
    double submits;
    std::chrono::steady_clock::time_point at;
  };
  std::unordered_map<std::string, Allowance> allowances_;
  struct OpenAudit {  // the audited request being handled
    uint64_t session;
    proto::Json id;
    store::AuditEntry entry;
    bool answered = false;
  };
  std::optional<OpenAudit> audit_;
  uv_timer_t idle_timer_{};
  struct LogRead {
    uint64_t client;
    proto::Json client_id;
    int64_t run;
    int64_t offset;
    uint64_t worker_session;
  };
  std::unordered_map<int64_t, LogRead> log_reads_;  // relayed to workers, by ref
  int64_t next_log_ref_ = 1;
  uv_check_t check_{};
  // The loop's one alarm, for the scheduler's next instant: a timerfd on the
  // realtime clock, armed to the microsecond (a uv timer rounds to whole
  // milliseconds and fires up to one late) and following wall-clock changes.
  int timer_fd_ = -1;
  uv_poll_t timer_poll_{};
  uv_signal_t sigchld_{}, sigterm_{}, sigint_{}, sighup_{};
  systemd::Notifier notifier_;
  uint64_t next_session_ = 1;
  std::unordered_map<uint64_t, Session*> sessions_;
  std::unordered_map<pid_t, int64_t> pids_;  // running child -> run
  std::unique_ptr<Spawner> spawner_;
  std::unique_ptr<NotifyQueue> notifications_;
  // Children reaped before the spawner told us whose they were: pid -> status.
  std::unordered_map<pid_t, int> early_exits_;
  std::unordered_map<int64_t, uv_poll_t*> adopted_;       // run -> pidfd watch, after a restart
  std::vector<Reply> pending_;                            // sent once the turn's commit succeeds
  std::set<int64_t> unsaved_jobs_, unsaved_runs_;         // a failed commit's changes, retried
  std::vector<int64_t> unremoved_runs_, unremoved_jobs_;  // a failed commit's removals, retried
  std::vector<Waiter> waiters_;
  metrics::Registry metrics_;
  std::unique_ptr<MetricsHttp> metrics_http_;
  std::string metrics_address_;                            // as bound (port 0 picks one); empty: no endpoint
  std::chrono::steady_clock::time_point request_read_at_;  // of the requests being handled
  JobsDir jobs_dir_;
  struct Subscriber {
    uint64_t session;
    proto::Json id;
    int64_t job;  // 0: every job
    std::string ns;  // only this namespace's jobs; empty: all (an admin's)
  };
  EventLog events_{10000};
  std::vector<Subscriber> subscribers_;
  std::vector<proto::Json> unpublished_;  // taken, not yet saved
  std::chrono::steady_clock::time_point started_;
  // Since jobd started, for status (jobctl top's rates): processes started,
  // and runs that reached a final state.
  int64_t runs_started_ = 0, runs_finished_ = 0;
  bool stopping_ = false;
  bool listening_ = false;
  bool socket_activated_ = false;  // systemd's socket: not ours to unlink
};

}  // namespace jobd
