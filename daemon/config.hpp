// jobd's settings. Each comes from the command line if a flag gave it, else
// from jobd.toml (jobd(8), CONFIGURATION), else from its default.
// load_options() computes them all: at start-up, for --check-config, and
// again on SIGHUP. It reads the file and nothing else: no lock, no socket,
// no database.
#pragma once

#include <chrono>
#include <map>
#include <vector>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "error.hpp"
#include "log.hpp"
#include "proto/codec.hpp"
#include "proto/protocol.hpp"
#include "time/duration.hpp"

namespace jobd {

struct Options {
  std::string state_dir;  // absolute
  std::string socket_path;
  int slots = 1;
  job::time::Duration kill_grace = std::chrono::seconds{10};
  job::time::Duration keep_for = std::chrono::days{30};  // finished runs older than this are removed
  int64_t log_max_bytes = 10 << 20;                      // per stream; the tail is kept
  std::string jobs_dir;                                  // absolute; watched if it exists
  Level log_level = Level::info;
  std::string metrics_listen;     // "HOST:PORT" of the metrics endpoint; empty: none
  size_t metrics_max_jobs = 500;  // jobs with series of their own; the rest share job="_other"
  std::string listen;      // "HOST:PORT" of the TCP listener; empty: none
  std::string token_file;  // absolute; the cluster token TCP clients must send
  std::string token;       // its content (never logged)
  // TLS (tls.hpp), files in PEM, absolute; empty: none. A listener with
  // tls_cert and tls_key speaks only TLS; with tls_client_ca too, a client
  // must show a certificate that CA signed. A worker verifies its coordinator
  // with tls_ca and shows tls_cert and tls_key when it is asked for one.
  std::string tls_cert, tls_key, tls_client_ca, tls_ca;
  // Listening in clear on an address other than loopback is refused unless
  // this says so (and then jobd warns, in its log and in `jobctl status`).
  bool insecure_tcp = false;
  // Connections open at once from one peer (a local uid, or a TCP client's
  // address): past it, new ones are refused. 0: no limit.
  int max_connections_per_peer = 1024;
  // Security (issue 9): members of this group are admins besides root and
  // jobd's own user (empty: nobody else); a request's largest size; how long
  // a connection may say nothing (zero: forever); submits a second one
  // identity may make (zero: no limit) with bursts of submit_burst; audit
  // entries kept.
  std::string admin_group;
  size_t max_request_bytes = job::proto::kMaxFrame;
  job::time::Duration idle_timeout = std::chrono::minutes{10};
  double submit_rate = 0;
  double submit_burst = 0;  // 0: as many as submit_rate, at least 1
  int64_t audit_keep = 100000;
  // Cluster mode: this node's name (default: the host name) and tags, and
  // how workers' heartbeats are judged.
  std::string name;
  std::map<std::string, std::string> tags;
  std::string coordinator;  // "HOST:PORT" to join as a worker (--join); empty: not a worker
  job::time::Duration heartbeat = std::chrono::seconds{1};
  job::time::Duration unhealthy_after = std::chrono::seconds{5};
  job::time::Duration down_after = std::chrono::seconds{15};
  // A webhook notification's attempts, and the wait before its second one,
  // doubled before each after it.
  int notify_attempts = 5;
  job::time::Duration notify_backoff = std::chrono::seconds{1};
  // jobd.toml's [defaults] (the keys of a jobs.toml [defaults]), checked and
  // turned into spec fields (jobfile::defaults_from_keys): what every new or
  // updated job lacks, it takes from here.
  job::proto::Json defaults = job::proto::Json::object();
};

// What the command line said: a flag given wins over jobd.toml.
struct CommandLine {
  std::string config_path;  // empty: no jobd.toml
  std::optional<std::string> state_dir, socket_path, jobs_dir, metrics_listen, listen, token_file, name, join;
  std::vector<std::string> tags;  // --tag K=V, each
  std::optional<int> slots;
};

// The options of this command line and its jobd.toml. An error
// (Errc::invalid_argument) reads "FILE:LINE:COLUMN: KEY: what is wrong".
job::Result<Options> load_options(const CommandLine& command_line);

// Where jobs.toml files are watched by default: /etc/jobd/jobs.d as root,
// else $XDG_CONFIG_HOME/jobd/jobs.d, i.e. ~/.config/jobd/jobs.d.
std::string default_jobs_dir();

// "debug", "info", "warning" or "error".
std::string_view level_name(Level level);

}  // namespace jobd
