// The ops of the protocol (jobctl(1), PROTOCOL): one method each, and the
// answers to waiters when runs finish.
#include <unistd.h>

#include "cgroups.hpp"
#include "cron/next.hpp"
#include "jobfile/read.hpp"
#include "log.hpp"
#include "session.hpp"
#include "time/rfc3339.hpp"

namespace jobd {

using job::Errc;
using job::Error;
namespace sched = job::sched;

// Each op, the role it needs (identity.hpp) and whether it is audited: the
// ops that change something.
const std::vector<Server::OpEntry>& Server::ops() {
  using R = Role;
  static const std::vector<OpEntry> table = {
      {"submit", &Server::op_submit, R::operator_, true},
      {"list", &Server::op_list, R::viewer, false},
      {"show", &Server::op_show, R::viewer, false},
      {"runs", &Server::op_runs, R::viewer, false},
      {"run", &Server::op_run, R::viewer, false},
      {"wait", &Server::op_wait, R::viewer, false},
      {"status", &Server::op_status, R::viewer, false},
      {"cancel", &Server::op_cancel, R::operator_, true},
      {"pause", &Server::op_pause, R::operator_, true},
      {"resume", &Server::op_resume, R::operator_, true},
      {"trigger", &Server::op_trigger, R::operator_, true},
      {"delete", &Server::op_delete, R::operator_, true},
      {"apply", &Server::op_apply, R::operator_, true},
      {"export", &Server::op_export, R::viewer, false},
      {"stats", &Server::op_stats, R::viewer, false},
      {"events", &Server::op_events, R::viewer, false},
      {"whoami", &Server::op_whoami, R::viewer, false},
      {"workers", &Server::op_workers, R::viewer, false},
      {"drain", &Server::op_drain, R::admin, true},
      {"log", &Server::op_log, R::viewer, false},
      {"token_create", &Server::op_token_create, R::admin, true},
      {"token_list", &Server::op_token_list, R::admin, false},
      {"token_revoke", &Server::op_token_revoke, R::admin, true},
      {"audit", &Server::op_audit, R::admin, false},
      // The workers' side of the cluster protocol: the cluster token only.
      {"register", &Server::op_register, R::worker, false},
      {"heartbeat", &Server::op_heartbeat, R::worker, false},
      {"report", &Server::op_report, R::worker, false},
      {"log_data", &Server::op_log_data, R::worker, false},
  };
  return table;
}

void Server::on_line(Session& s, const std::string& line) {
  if (line.empty()) return;
  const auto request = proto::Json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    send(s.id, error_body(nullptr, {Errc::bad_request, "malformed request: expected one JSON object per line"}));
    if (!s.authenticated) close_session(s);  // a stranger gets one answer, not a conversation
    return;
  }
  const proto::Json id = request.contains("id") ? request["id"] : proto::Json(nullptr);
  try {
    if (!s.authenticated) return authenticate(s, id, request);
    const auto op = request.value("op", std::string());
    for (const OpEntry& e : ops()) {
      if (e.name != op) continue;
      const bool audited = e.audited && !request.value("dry_run", false);
      if (audited) open_audit(s, id, op, request);
      if (!allows(s.who.role, e.need))
        send(s.id, error_body(id, {Errc::permission_denied, denied(s, op, e.need)}));
      else
        (this->*e.method)(s, id, request);
      if (audited) close_audit();
      return;
    }
    send(s.id, error_body(id, {Errc::bad_request, op.empty() ? std::string("the request has no \"op\"")
                                                             : fmt::format("unknown op \"{}\"", op)}));
  } catch (const proto::Json::exception& e) {
    // A field of the wrong type ("op": 5, "limit": "ten"): the audit, if
    // one is open, records this answer.
    send(s.id, error_body(id, {Errc::bad_request, fmt::format("malformed request: {}", e.what())}));
    close_audit();
  }
}

proto::Json Server::with_defaults(proto::Json spec) const {
  if (spec.is_object()) job::jobfile::merge_defaults(spec, options_.defaults);
  return spec;
}

void Server::merge_defaults_into(proto::Json& defaults) const {
  for (const auto& [field, value] : options_.defaults.items()) defaults[field] = value;
}

job::Result<const sched::Job*> Server::job_field(const Session& s, const proto::Json& req, const char* key,
                                                 bool deleted) const {
  if (!req.contains(key)) return Error{Errc::bad_request, fmt::format("{}: missing", key)};
  const auto ref = req[key].get<std::string>();
  // A job outside the caller's sight is not there, as far as it can tell.
  const sched::Job* job = sched_.find_job(s.who.ns, ref, deleted);
  if (!job || !visible(s, *job)) return Error{Errc::not_found, fmt::format("no job \"{}\"", ref)};
  return job;
}

job::Result<const sched::Run*> Server::run_field(const Session& s, const proto::Json& req, const char* key) const {
  if (!req.contains(key)) return Error{Errc::bad_request, fmt::format("{}: missing", key)};
  const auto ref = req[key].get<std::string>();
  const sched::Run* run = sched_.find_run(ref);
  if (!run || !visible(s, *run)) return Error{Errc::not_found, fmt::format("no run \"{}\"", ref)};
  return run;
}

void Server::op_submit(Session& s, const proto::Json& id, const proto::Json& req) {
  if (stopping_) return send(s.id, error_body(id, {Errc::unavailable, "jobd is stopping"}));
  if (!req.contains("job"))
    return send(s.id, error_body(id, {Errc::bad_request, "submit: the job is missing"}));
  auto spec = proto::spec_from_json(with_defaults(req["job"]));
  if (!spec) return send(s.id, error_body(id, spec.error()));
  if (auto e = own(s.who, *spec)) return send(s.id, error_body(id, *e));
  if (auto e = take_submits(s.who, 1)) return send(s.id, error_body(id, *e));
  auto job_id = sched_.submit(std::move(*spec), now());
  if (!job_id) return send(s.id, error_body(id, job_id.error()));
  const sched::Job& job = *sched_.job(*job_id);
  log(Level::info, "jobd: job {} ({}) submitted by {}: {}", job.spec.name, sched::job_ref(job.id), s.who.name,
      proto::schedule_text(job.spec, zone_));
  proto::Json body = ok_body(id);
  body["job"] = job_json(job);
  // Answered once the turn's commit has made the job durable.
  pending_.push_back({s.id, std::move(body), *job_id, false, request_read_at_});
  expect(s.id);
}

void Server::op_list(Session& s, const proto::Json& id, const proto::Json& req) {
  proto::Json jobs = proto::Json::array();
  const bool all = req.value("all", false);
  sched_.for_each_job([&](const sched::Job& j) {
    if ((all || j.state != sched::JobState::deleted) && visible(s, j)) jobs.push_back(job_json(j));
  });
  proto::Json body = ok_body(id);
  body["jobs"] = std::move(jobs);
  body["namespace"] = s.who.ns;  // the caller's: jobs from others are shown as NS/NAME
  send(s.id, body);
}

void Server::op_show(Session& s, const proto::Json& id, const proto::Json& req) {
  const auto job = job_field(s, req, "job");
  if (!job) return send(s.id, error_body(id, job.error()));
  const sched::Job& j = **job;
  proto::Json body = ok_body(id);
  body["job"] = job_json(j);
  proto::Json fires = proto::Json::array();
  if (j.state == sched::JobState::active && j.next_fire) {
    auto t = *j.next_fire;
    fires.push_back(job::time::format_rfc3339(t, zone_));
    for (int i = 0; i < 4 && j.spec.trigger != sched::JobSpec::Trigger::at; ++i) {
      auto next = job::cron::next_fire_after(j.schedule, t, j.zone, j.created_at);
      if (!next) break;
      fires.push_back(job::time::format_rfc3339(*next, zone_));
      t = *next;
    }
  }
  body["next_fires"] = std::move(fires);
  proto::Json runs = proto::Json::array();
  for (const sched::Run* r : sched_.recent_runs(&j, 10)) runs.push_back(run_json(*r));
  body["runs"] = std::move(runs);
  send(s.id, body);
}

void Server::op_runs(Session& s, const proto::Json& id, const proto::Json& req) {
  const sched::Job* job = nullptr;
  if (req.contains("job")) {
    // A deleted job's runs stay visible (by its id) until retention.
    const auto found = job_field(s, req, "job", true);
    if (!found) return send(s.id, error_body(id, found.error()));
    job = *found;
  }
  const auto mine = [&](const sched::Run& r) { return visible(s, r); };
  const auto limit = req.value("limit", int64_t{20});
  if (limit < 1) return send(s.id, error_body(id, {Errc::invalid_argument, "limit: must be at least 1"}));
  proto::Json runs = proto::Json::array();
  if (req.contains("state")) {  // the runs in these states, task runs too (for `jobctl top`)
    std::vector<sched::RunState> states;
    for (const auto& name : req["state"].get<std::vector<std::string>>()) {
      const auto state = sched::run_state_from(name);
      if (!state)
        return send(
            s.id, error_body(id, {Errc::invalid_argument, fmt::format("state: no run state \"{}\"", name)}));
      states.push_back(*state);
    }
    for (const sched::Run* r : sched_.runs_in_states(states, job, static_cast<size_t>(limit), mine))
      runs.push_back(run_json(*r));
  } else {
    for (const sched::Run* r : sched_.recent_runs(job, static_cast<size_t>(limit), mine))
      runs.push_back(run_json(*r));
  }
  proto::Json body = ok_body(id);
  body["runs"] = std::move(runs);
  send(s.id, body);
}

void Server::op_run(Session& s, const proto::Json& id, const proto::Json& req) {
  const auto run = run_field(s, req, "run");
  if (!run) return send(s.id, error_body(id, run.error()));
  proto::Json body = ok_body(id);
  body["run"] = run_json(**run);
  send(s.id, body);
}

void Server::op_wait(Session& s, const proto::Json& id, const proto::Json& req) {
  Waiter w{s.id, id, 0, 0};
  if (req.contains("run")) {
    const auto run = run_field(s, req, "run");
    if (!run) return send(s.id, error_body(id, run.error()));
    w.run = (*run)->id;
  } else {
    const auto job = job_field(s, req, "job");
    if (!job) return send(s.id, error_body(id, job.error()));
    w.job = (*job)->id;
    // Its newest run created before now, or else its next one.
    if (!(*job)->runs.empty()) w.run = (*job)->runs.back();
  }
  const sched::Run* run = w.run ? sched_.run(w.run) : nullptr;
  while (run && run->next_attempt && sched_.run(run->next_attempt)) {
    run = sched_.run(run->next_attempt);
    w.run = run->id;
  }
  if (run && sched::is_final(run->state)) {
    proto::Json body = ok_body(id);
    body["run"] = run_json(*run);
    return send(s.id, body);
  }
  waiters_.push_back(std::move(w));
  expect(s.id);
}

void Server::op_status(Session& s, const proto::Json& id, const proto::Json&) {
  proto::Json body = ok_body(id);
  body["version"] = JOBD_VERSION;
  body["pid"] = getpid();
  body["uptime_seconds"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
  body["state_dir"] = options_.state_dir;
  body["socket"] = options_.socket_path;
  body["jobs_dir"] = jobs_dir_json();
  body["slots"] = sched_.slots();
  body["running"] = sched_.running();
  body["queued"] = sched_.queued();
  body["jobs"] = sched_.job_count();
  body["metrics"] = metrics_address_.empty() ? proto::Json(nullptr) : proto::Json(metrics_address_);
  body["listen"] = listen_address_.empty() ? proto::Json(nullptr) : proto::Json(listen_address_);
  body["tls"] = static_cast<bool>(tls_context_);
  body["warnings"] = warnings_;  // what an operator should fix (insecure_tcp)
  body["stale_reports"] = stale_reports_;
  body["waiters"] = waiters_.size();  // clients in `wait`
  body["runs_started"] = runs_started_;
  body["runs_finished"] = runs_finished_;
  body["stopping"] = stopping_;
  body["cgroups"] = name(cgroup_mode());
  // notifications.failed is notify_failures_total: deliveries given up on.
  const auto n = notifications_->counts();
  body["notifications"] = {{"sent", n.sent}, {"failed", n.failed}, {"pending", n.pending}};
  send(s.id, body);
}

void Server::reply_after_commit(Session& s, proto::Json body) {
  pending_.push_back({s.id, std::move(body)});
  expect(s.id);
}

void Server::op_cancel(Session& s, const proto::Json& id, const proto::Json& req) {
  sched::Cancelled c;
  std::string message;
  if (req.contains("run")) {
    const auto run = run_field(s, req, "run");
    if (!run) return send(s.id, error_body(id, run.error()));
    const int64_t rid = (*run)->id;
    c = sched_.cancel_run(rid, now());
    if (c.already)
      message = fmt::format("run {} already finished ({})", sched::run_ref(rid), sched::name(*c.already));
  } else {
    const auto job = job_field(s, req, "job");
    if (!job) return send(s.id, error_body(id, job.error()));
    const sched::Job& j = **job;
    c = sched_.cancel_job(j.id, now());
    if (c.runs.empty())
      message = fmt::format("job {} ({}) has no active run", sched::job_ref(j.id), j.spec.name);
  }
  proto::Json cancelled = proto::Json::array();
  for (int64_t r : c.runs) cancelled.push_back(sched::run_ref(r));
  if (message.empty()) {
    message = "cancelled";
    for (int64_t r : c.runs) message += " " + sched::run_ref(r);
  }
  log(Level::info, "jobd: {}", message);
  proto::Json body = ok_body(id);
  body["cancelled"] = std::move(cancelled);
  body["message"] = message;
  reply_after_commit(s, std::move(body));
}

void Server::op_pause(Session& s, const proto::Json& id, const proto::Json& req) {
  const auto job = job_field(s, req, "job");
  if (!job) return send(s.id, error_body(id, job.error()));
  if (auto e = sched_.pause((*job)->id)) return send(s.id, error_body(id, *e));
  log(Level::info, "jobd: job {} ({}) paused", (*job)->spec.name, sched::job_ref((*job)->id));
  proto::Json body = ok_body(id);
  body["job"] = job_json(**job);
  reply_after_commit(s, std::move(body));
}

void Server::op_resume(Session& s, const proto::Json& id, const proto::Json& req) {
  const auto job = job_field(s, req, "job");
  if (!job) return send(s.id, error_body(id, job.error()));
  if (auto e = sched_.resume_job((*job)->id, now())) return send(s.id, error_body(id, *e));
  log(Level::info, "jobd: job {} ({}) resumed", (*job)->spec.name, sched::job_ref((*job)->id));
  proto::Json body = ok_body(id);
  body["job"] = job_json(**job);
  reply_after_commit(s, std::move(body));
}

void Server::op_trigger(Session& s, const proto::Json& id, const proto::Json& req) {
  if (stopping_) return send(s.id, error_body(id, {Errc::unavailable, "jobd is stopping"}));
  const auto job = job_field(s, req, "job");
  if (!job) return send(s.id, error_body(id, job.error()));
  const auto run = sched_.trigger((*job)->id, now());
  if (!run) return send(s.id, error_body(id, run.error()));
  log(Level::info, "jobd: job {} ({}) triggered: run {}", (*job)->spec.name, sched::job_ref((*job)->id),
      sched::run_ref(*run));
  proto::Json body = ok_body(id);
  body["run"] = run_json(*sched_.run(*run));
  reply_after_commit(s, std::move(body));
}

void Server::op_delete(Session& s, const proto::Json& id, const proto::Json& req) {
  const auto job = job_field(s, req, "job");
  if (!job) return send(s.id, error_body(id, job.error()));
  const int64_t jid = (*job)->id;
  const auto c = sched_.remove_job(jid, now());
  log(Level::info, "jobd: job {} ({}) deleted", (*job)->spec.name, sched::job_ref(jid));
  proto::Json cancelled = proto::Json::array();
  for (int64_t r : c.runs) cancelled.push_back(sched::run_ref(r));
  proto::Json body = ok_body(id);
  body["job"] = job_json(*sched_.job(jid));
  body["cancelled"] = std::move(cancelled);
  reply_after_commit(s, std::move(body));
}

void Server::finished(int64_t id) {
  const sched::Run* run = sched_.run(id);
  if (!run) return;
  ++runs_finished_;
  std::string how = std::string(sched::name(run->state));
  if (run->exit_code) how += fmt::format(", exit {}", *run->exit_code);
  if (!run->reason.empty()) how += ": " + run->reason;
  log(run->state == sched::RunState::succeeded ? Level::info : Level::warning, "jobd: run {} of {} {}",
      sched::run_ref(id), run_owner(*run), how);
  if (sched_.has_process(*run)) {
    const size_t series = metrics_.series(run->job, sched_.job(run->job)->spec.name);
    std::optional<double> seconds;
    if (run->started_at && run->finished_at)
      seconds = std::chrono::duration<double>(*run->finished_at - *run->started_at).count();
    metrics_.run_finished(series, run->state, seconds);
    if (run->next_attempt) metrics_.retried(series);
  }
  notify(*run);
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    // A waiter on a job that had no run yet waits for its next top-level run.
    const bool mine = it->run == id || (it->run == 0 && it->job == run->job && run->parent == 0);
    if (mine && run->next_attempt) {
      it->run = run->next_attempt;  // waiting is for the last attempt
      ++it;
    } else if (mine) {
      proto::Json body = ok_body(it->id);
      body["run"] = run_json(*run);
      pending_.push_back({it->session, std::move(body)});
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace jobd
