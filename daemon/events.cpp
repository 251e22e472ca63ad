#include "events.hpp"

#include "log.hpp"
#include "server.hpp"
#include "session.hpp"
#include "time/rfc3339.hpp"

namespace jobd {

namespace sched = job::sched;

namespace {
// Whether event `e` is of a job in namespace `ns` (any, if `ns` is empty).
bool in_namespace(const proto::Json& e, const std::string& ns) {
  return ns.empty() || e.value("namespace", std::string()) == ns;
}

// A subscriber this far behind (bytes written to it, not yet read) is
// dropped: it would otherwise hold jobd's memory hostage.
constexpr size_t kMaxEventLag = 1 << 20;
}  // namespace

const proto::Json& EventLog::append(proto::Json event) {
  event["seq"] = next_seq_++;
  backlog_.push_back(std::move(event));
  while (backlog_.size() > max_) backlog_.pop_front();
  return backlog_.back();
}

std::vector<const proto::Json*> EventLog::after(uint64_t seq) const {
  std::vector<const proto::Json*> out;
  // Seqs are consecutive: the first one wanted is found by arithmetic.
  const uint64_t first = backlog_.empty() ? next_seq_ : backlog_.front()["seq"].get<uint64_t>();
  for (size_t i = seq >= first ? static_cast<size_t>(seq - first + 1) : 0; i < backlog_.size(); ++i)
    out.push_back(&backlog_[i]);
  return out;
}

namespace {

// The word users look for (cron's and Nomad's: fired, started, finished...)
// for a change the scheduler records as a state: `to` is the new state,
// `from` the one before (empty for a new run), or `to` is "submitted" or
// "updated" for a job.
std::string_view verb(std::string_view to, std::string_view from, bool is_run) {
  if (!is_run) {
    if (to == "active" && from == "paused") return "resumed";
    return to;  // submitted, updated, paused, completed, deleted
  }
  const auto state = sched::run_state_from(to);
  if (!state) return to;
  if (*state == sched::RunState::skipped) return "skipped";
  if (*state == sched::RunState::retrying) return "retrying";
  if (sched::is_final(*state)) return "finished";
  if (from.empty()) return "fired";  // a new run, pending or queued
  if (*state == sched::RunState::running) return "started";
  return to;  // queued: its upstream is done, or its backoff is over
}

}  // namespace

proto::Json Server::event_json(const sched::Event& e, job::time::Instant at) const {
  proto::Json j;
  j["time"] = job::time::format_rfc3339(at, zone_);
  j["event"] = verb(e.what, e.from, e.run != 0);
  const bool is_state = e.run != 0 || (e.what != "submitted" && e.what != "updated");
  j["state"] = is_state ? proto::Json(e.what) : proto::Json(nullptr);
  j["from"] = e.from.empty() ? proto::Json(nullptr) : proto::Json(e.from);
  j["job"] = sched::job_ref(e.job);
  j["job_name"] = e.job_name;
  const sched::Job* job = sched_.job(e.job);
  j["namespace"] = job ? job->spec.ns : std::string();
  j["run"] = e.run ? proto::Json(sched::run_ref(e.run)) : proto::Json(nullptr);
  j["task"] = nullptr;
  if (const sched::Run* run = e.run ? sched_.run(e.run) : nullptr) {
    if (!run->task.empty()) j["task"] = run->task;
    j["attempt"] = run->attempt;
    if (sched::is_final(run->state)) {
      j["exit_code"] = run->exit_code ? proto::Json(*run->exit_code) : proto::Json(nullptr);
      j["reason"] = run->reason.empty() ? proto::Json(nullptr) : proto::Json(run->reason);
    }
  }
  return j;
}

void Server::take_events() {
  const auto at = now();
  for (const sched::Event& e : sched_.take_events()) unpublished_.push_back(event_json(e, at));
}

void Server::publish_events() {
  for (proto::Json& event : std::exchange(unpublished_, {})) {
    const proto::Json& e = events_.append(std::move(event));
    for (size_t i = 0; i < subscribers_.size();) {
      const Subscriber& sub = subscribers_[i];
      auto session = sessions_.find(sub.session);
      if (session != sessions_.end() && session->second->queued_bytes > kMaxEventLag) {
        log(Level::warning, "jobd: dropping an events subscriber that fell {} bytes behind",
            session->second->queued_bytes);
        close_session(*session->second, false);
        session = sessions_.end();
      }
      if (session == sessions_.end()) {  // gone, or dropped just now
        subscribers_[i] = subscribers_.back();
        subscribers_.pop_back();
        continue;
      }
      if ((!sub.job || e["job"] == sched::job_ref(sub.job)) && in_namespace(e, sub.ns))
        send(sub.session, {{"id", sub.id}, {"event", e}});
      ++i;
    }
  }
}

void Server::op_events(Session& s, const proto::Json& id, const proto::Json& req) {
  int64_t job = 0;
  if (req.contains("job")) {
    const auto j = job_field(s, req, "job", true);
    if (!j) return send(s.id, error_body(id, j.error()));
    job = (*j)->id;
  }
  for (const char* key : {"since", "last"})
    if (req.contains(key) && !req[key].is_number_unsigned())
      return send(s.id, error_body(id, {job::Errc::bad_request, fmt::format("{}: expected a number, 0 or more", key)}));
  const bool follow = req.value("follow", false);
  // From `since`, else the newest `last` (all the backlog by default).
  std::vector<const proto::Json*> backlog = events_.after(req.value("since", uint64_t{0}));
  const std::string ns = s.who.admin() ? std::string() : s.who.ns;
  std::erase_if(backlog, [&](const proto::Json* e) {
    return (job && (*e)["job"] != sched::job_ref(job)) || !in_namespace(*e, ns);
  });
  if (req.contains("last") && !req.contains("since")) {
    const size_t last = req["last"].get<size_t>();
    if (backlog.size() > last) backlog.erase(backlog.begin(), backlog.end() - static_cast<ptrdiff_t>(last));
  }
  for (const proto::Json* e : backlog) send(s.id, {{"id", id}, {"event", *e}});
  proto::Json done = ok_body(id);
  done["seq"] = events_.last_seq();
  done["following"] = follow;
  send(s.id, done);
  if (follow && sessions_.contains(s.id)) subscribers_.push_back({s.id, id, job, ns});
}

}  // namespace jobd
