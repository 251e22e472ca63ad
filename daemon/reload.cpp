// SIGHUP: jobd.toml again, applied while running (jobd(8), SIGNALS).
#include <fmt/ranges.h>

#include "log.hpp"
#include "server.hpp"

namespace jobd {

void Server::reload() {
  if (stopping_) return;
  notifier_.reloading();
  auto fresh = load_options(command_line_);
  if (!fresh) {
    log(Level::error, "jobd: cannot reload the configuration, keeping the current one: {}",
        fresh.error().message);
  } else {
    Options& now = *fresh;
    std::vector<std::string> changes;
    const auto compare = [&](std::string_view key, const auto& before, const auto& after) {
      if (before != after) changes.push_back(fmt::format("{} {} -> {}", key, before, after));
    };
    compare("slots", options_.slots, now.slots);
    compare("kill_grace", job::time::format_duration(options_.kill_grace),
            job::time::format_duration(now.kill_grace));
    compare("keep_for", job::time::format_duration(options_.keep_for),
            job::time::format_duration(now.keep_for));
    compare("log_max_bytes", options_.log_max_bytes, now.log_max_bytes);
    compare("log_level", level_name(options_.log_level), level_name(now.log_level));
    compare("jobs_dir", options_.jobs_dir, now.jobs_dir);
    compare("notify_attempts", options_.notify_attempts, now.notify_attempts);
    compare("notify_backoff", job::time::format_duration(options_.notify_backoff),
            job::time::format_duration(now.notify_backoff));
    if (options_.defaults != now.defaults) changes.emplace_back("defaults");
    // The database and the listener stay where they are until a restart.
    if (now.state_dir != options_.state_dir)
      log(Level::warning, "jobd: state_dir {} takes effect when jobd restarts; still using {}", now.state_dir,
          options_.state_dir);
    if (now.socket_path != options_.socket_path && !socket_activated_)
      log(Level::warning, "jobd: socket {} takes effect when jobd restarts; still listening on {}",
          now.socket_path, options_.socket_path);
    if (now.metrics_listen != options_.metrics_listen)
      log(Level::warning, "jobd: metrics_listen {} takes effect when jobd restarts; still {}",
          now.metrics_listen.empty() ? std::string("(none)") : now.metrics_listen,
          metrics_address_.empty() ? std::string("serving no metrics")
                                   : "serving metrics on " + metrics_address_);
    compare("metrics_max_jobs", options_.metrics_max_jobs, now.metrics_max_jobs);
    compare("max_connections_per_peer", options_.max_connections_per_peer, now.max_connections_per_peer);
    compare("admin_group", options_.admin_group, now.admin_group);
    compare("max_request_bytes", options_.max_request_bytes, now.max_request_bytes);
    compare("idle_timeout", job::time::format_duration(options_.idle_timeout),
            job::time::format_duration(now.idle_timeout));
    compare("submit_rate", options_.submit_rate, now.submit_rate);
    compare("submit_burst", options_.submit_burst, now.submit_burst);
    compare("audit_keep", options_.audit_keep, now.audit_keep);
    now.state_dir = options_.state_dir;
    now.socket_path = options_.socket_path;
    now.metrics_listen = options_.metrics_listen;
    if (now.listen != options_.listen)
      log(Level::warning, "jobd: listen {} takes effect when jobd restarts; still {}",
          now.listen.empty() ? std::string("(none)") : now.listen,
          listen_address_.empty() ? std::string("not listening on tcp") : "listening on tcp " + listen_address_);
    now.listen = options_.listen;
    if (now.tls_cert != options_.tls_cert || now.tls_key != options_.tls_key ||
        now.tls_client_ca != options_.tls_client_ca || now.insecure_tcp != options_.insecure_tcp)
      log(Level::warning,
          "jobd: tls_cert, tls_key, tls_client_ca and insecure_tcp take effect when jobd restarts; "
          "still {}",
          tls_context_ ? "speaking TLS on tcp" : "in clear on tcp, if listening");
    now.tls_cert = options_.tls_cert;
    now.tls_key = options_.tls_key;
    now.tls_client_ca = options_.tls_client_ca;
    now.insecure_tcp = options_.insecure_tcp;
    if (now.name != options_.name || now.tags != options_.tags || now.heartbeat != options_.heartbeat ||
        now.unhealthy_after != options_.unhealthy_after || now.down_after != options_.down_after)
      log(Level::warning, "jobd: name, tags, heartbeat, unhealthy_after and down_after take effect when jobd "
                          "restarts; still {}",
          options_.name);
    now.name = options_.name;
    now.tags = options_.tags;
    now.heartbeat = options_.heartbeat;
    now.unhealthy_after = options_.unhealthy_after;
    now.down_after = options_.down_after;
    if (now.token.empty() && !options_.token.empty()) {
      log(Level::warning, "jobd: token_file removed while listening on tcp: keeping the token of {}",
          options_.token_file);
      now.token = options_.token;
      now.token_file = options_.token_file;
    }
    if (now.token != options_.token) changes.emplace_back("token (for new tcp connections)");
    options_ = std::move(now);
    metrics_.set_max_jobs(options_.metrics_max_jobs);
    sched_.reconfigure(
        {.slots = options_.slots, .kill_grace = options_.kill_grace, .keep_for = options_.keep_for});
    // Under the level in force until now: the line that says it changes.
    log(Level::info, "jobd: reloaded configuration{}",
        changes.empty() ? std::string(" (no changes)") : fmt::format(" ({})", fmt::join(changes, ", ")));
    min_log_level = options_.log_level;
    notifications_->set_options(notify_options());
  }
  rescan_jobs_dir();
  notifier_.ready(
      fmt::format("{} jobs, {} slots, {} running", sched_.job_count(), sched_.slots(), sched_.running()));
}

}  // namespace jobd
