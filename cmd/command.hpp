// What every subcommand file shares: it defines one add_*(CLI::App&) that
// registers its CLI11 subcommand, and its callback reports a failure by
// throwing Failure (an error: one line on stderr, the exit status of its
// code) or Exit (a plain outcome, such as "the run waited for failed").
#pragma once

#include <CLI/CLI.hpp>

#include "error.hpp"
#include "exit_code.hpp"

namespace jobctl {

struct Failure {
  job::Error error;
};

struct Exit {
  ExitCode code;
};

// Options every command takes (before or after the command's name).
struct Globals {
  std::string socket;  // --socket; else $JOBCTL_SOCKET; else jobd's default
  std::string server;      // --server HOST:PORT; else $JOBCTL_SERVER; else the Unix socket
  std::string token_file;  // --token-file; else $JOBCTL_TOKEN_FILE (with --server)
  // --tls-ca (else $JOBCTL_TLS_CA): --server speaks TLS, verified with this
  // CA; --tls-cert and --tls-key (else $JOBCTL_TLS_CERT, $JOBCTL_TLS_KEY): ours.
  std::string tls_ca, tls_cert, tls_key;
  bool json = false;   // --json: print JSON instead of text
};
Globals& globals();

// Unwraps a Result or fails the command with its error.
template <class T>
T must(job::Result<T> r) {
  if (!r) throw Failure{r.error()};
  return std::move(r).value();
}

void add_cron(CLI::App& app);
void add_import_crontab(CLI::App& app);
void add_submit(CLI::App& app);
void add_list(CLI::App& app);
void add_show(CLI::App& app);
void add_runs(CLI::App& app);
void add_logs(CLI::App& app);
void add_wait(CLI::App& app);
void add_status(CLI::App& app);
void add_stats(CLI::App& app);
void add_cancel(CLI::App& app);
void add_pause(CLI::App& app);
void add_resume(CLI::App& app);
void add_trigger(CLI::App& app);
void add_delete(CLI::App& app);
void add_dag(CLI::App& app);
void add_apply(CLI::App& app);
void add_export(CLI::App& app);
void add_top(CLI::App& app);
void add_events(CLI::App& app);
void add_workers(CLI::App& app);
void add_whoami(CLI::App& app);
void add_token(CLI::App& app);
void add_audit(CLI::App& app);

}  // namespace jobctl
