// jobctl: the command-line client of jobd. main() only wires the subcommands
// (one file each) and turns failures into messages and exit statuses.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "command.hpp"
#include "exit_code.hpp"

namespace jobctl {
Globals& globals() {
  static Globals g;
  return g;
}
}  // namespace jobctl

int main(int argc, char** argv) {
  CLI::App app{"jobctl: control jobd, the Unix job scheduler", "jobctl"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command's name
  app.add_option("--socket", jobctl::globals().socket,
                 "jobd's socket (default: $JOBCTL_SOCKET, else jobd's)");
  app.add_option("--server", jobctl::globals().server,
                 "a jobd over TCP, HOST:PORT (default: $JOBCTL_SERVER; else the Unix socket)");
  app.add_option("--token-file", jobctl::globals().token_file,
                 "the file holding jobd's token, for --server (default: $JOBCTL_TOKEN_FILE)");
  app.add_option("--tls-ca", jobctl::globals().tls_ca,
                 "talk TLS to --server, verifying it with this CA (PEM; default: $JOBCTL_TLS_CA)");
  app.add_option("--tls-cert", jobctl::globals().tls_cert,
                 "our certificate, for a jobd that asks for one (default: $JOBCTL_TLS_CERT)");
  app.add_option("--tls-key", jobctl::globals().tls_key, "the key of --tls-cert (default: $JOBCTL_TLS_KEY)");
  app.add_flag("--json", jobctl::globals().json, "print JSON instead of text");
  app.set_version_flag("--version", "jobctl " JOBD_VERSION);
  jobctl::add_submit(app);
  jobctl::add_apply(app);
  jobctl::add_export(app);
  jobctl::add_list(app);
  jobctl::add_show(app);
  jobctl::add_runs(app);
  jobctl::add_dag(app);
  jobctl::add_logs(app);
  jobctl::add_wait(app);
  jobctl::add_trigger(app);
  jobctl::add_cancel(app);
  jobctl::add_pause(app);
  jobctl::add_resume(app);
  jobctl::add_delete(app);
  jobctl::add_status(app);
  jobctl::add_top(app);
  jobctl::add_stats(app);
  jobctl::add_events(app);
  jobctl::add_workers(app);
  jobctl::add_whoami(app);
  jobctl::add_token(app);
  jobctl::add_audit(app);
  jobctl::add_cron(app);
  jobctl::add_import_crontab(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11 reports "jobctl frobnicate" as a missing subcommand; name the word instead.
    const auto rest = app.remaining(true);
    const std::string what = dynamic_cast<const CLI::RequiredError*>(&e) && !rest.empty()
                                 ? fmt::format("unknown command \"{}\"", rest.front())
                                 : e.what();
    fmt::print(stderr, "jobctl: {} (see jobctl --help)\n", what);
    return jobctl::kExitInvalid;
  } catch (const jobctl::Failure& f) {
    fmt::print(stderr, "jobctl: {}\n", f.error.message);
    return jobctl::exit_code_for(f.error.code);
  } catch (const jobctl::Exit& e) {
    return e.code;
  }
  return jobctl::kExitOk;
}
