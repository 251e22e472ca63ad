// What jobd tells about itself in figures: the metrics endpoint's page
// (jobd(8), METRICS) and the `stats` op (jobctl stats).
#include <algorithm>
#include <cmath>
#include <map>

#include "log.hpp"
#include "session.hpp"

namespace jobd {

namespace sched = job::sched;

namespace {

// The p-th percentile (0 < p <= 100) of `values` by nearest rank; null if empty.
proto::Json percentile(std::vector<double>& values, double p) {
  if (values.empty()) return nullptr;
  auto rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank), values.end());
  return values[rank];
}

proto::Json ratio(uint64_t part, uint64_t whole) {
  return whole ? proto::Json(static_cast<double>(part) / static_cast<double>(whole)) : proto::Json(nullptr);
}

proto::Json percentiles(std::vector<double>& values) {
  return {{"p50", percentile(values, 50)}, {"p95", percentile(values, 95)}, {"p99", percentile(values, 99)}};
}

}  // namespace

std::optional<job::Error> Server::start_metrics() {
  if (options_.metrics_listen.empty()) return std::nullopt;
  metrics_http_ = std::make_unique<MetricsHttp>(loop_, [this] { return render_metrics(); });
  auto bound = metrics_http_->listen(options_.metrics_listen);
  if (!bound) return job::Error{bound.error().code, "metrics_listen: " + bound.error().message};
  metrics_address_ = *bound;
  log(Level::info, "jobd: serving metrics on http://{}/metrics", metrics_address_);
  return std::nullopt;
}

std::string Server::render_metrics() const {
  metrics::Gauges g;
  g.slots_busy = sched_.running();
  g.slots_total = sched_.slots();
  g.connections = sessions_.size();
  if (sched_.queued() > 0) {
    std::map<int64_t, size_t> by_priority;
    sched_.for_each_run([&](const sched::Run& r) {
      if (r.state == sched::RunState::queued && sched_.has_process(r)) {
        const sched::TaskSpec* task = sched_.task_of(r);
        const int64_t priority = task && task->priority ? *task->priority : sched_.job(r.job)->spec.priority;
        ++by_priority[priority];
      }
    });
    g.queue_by_priority.assign(by_priority.begin(), by_priority.end());
  }
  sched_.for_each_job([&](const sched::Job& j) { ++g.jobs_by_state[static_cast<size_t>(j.state)]; });
  g.resident_bytes = metrics::resident_memory_bytes();
  g.stale_reports = stale_reports_;
  const auto t = now();
  sched_.workers().for_each([&](const sched::Worker& w) {
    if (w.local) return;
    ++(sched_.workers().state(w, t) == sched::WorkerState::ready ? g.workers_ready : g.workers_other);
  });
  // A subscriber whose client left is pruned at the next event; not counted.
  g.event_subscribers = static_cast<size_t>(std::count_if(
      subscribers_.begin(), subscribers_.end(), [&](const Subscriber& sub) { return sessions_.contains(sub.session); }));
  const auto n = notifications_->counts();
  g.notifications_sent = n.sent;
  g.notifications_failed = n.failed;
  g.notifications_pending = n.pending;
  return metrics_.render(g);
}

void Server::op_stats(Session& s, const proto::Json& id, const proto::Json&) {
  struct PerJob {
    uint64_t runs = 0, succeeded = 0;
  };
  uint64_t runs = 0, succeeded = 0, retried = 0;
  std::vector<double> durations, lags;
  std::unordered_map<int64_t, PerJob> per_job;
  sched_.for_each_run([&](const sched::Run& r) {
    if (!sched::is_final(r.state) || !sched_.has_process(r) || !visible(s, r)) return;
    ++runs;
    const bool ok = r.state == sched::RunState::succeeded;
    succeeded += ok;
    retried += r.attempt > 1;
    PerJob& j = per_job[r.job];
    ++j.runs;
    j.succeeded += ok;
    if (r.started_at) {
      lags.push_back(
          std::chrono::duration<double>(*r.started_at - r.retry_at.value_or(r.scheduled_at)).count());
      if (r.finished_at)
        durations.push_back(std::chrono::duration<double>(*r.finished_at - *r.started_at).count());
    }
  });
  std::vector<std::pair<int64_t, PerJob>> busiest(per_job.begin(), per_job.end());
  const size_t top = std::min<size_t>(5, busiest.size());
  std::partial_sort(busiest.begin(), busiest.begin() + static_cast<std::ptrdiff_t>(top), busiest.end(),
                    [](const auto& a, const auto& b) {
                      return a.second.runs != b.second.runs ? a.second.runs > b.second.runs
                                                            : a.first < b.first;
                    });
  proto::Json busy = proto::Json::array();
  for (size_t i = 0; i < top; ++i) {
    const auto& [job_id, j] = busiest[i];
    const sched::Job* job = sched_.job(job_id);
    busy.push_back({{"job", job ? job->spec.name : sched::job_ref(job_id)},
                    {"id", sched::job_ref(job_id)},
                    {"runs", j.runs},
                    {"succeeded", j.succeeded},
                    {"success_rate", ratio(j.succeeded, j.runs)}});
  }
  proto::Json body = ok_body(id);
  body["runs"] = runs;
  body["succeeded"] = succeeded;
  body["success_rate"] = ratio(succeeded, runs);
  body["retried"] = retried;
  body["retry_rate"] = ratio(retried, runs);
  body["duration_seconds"] = percentiles(durations);
  body["schedule_lag_seconds"] = percentiles(lags);
  body["busiest"] = std::move(busy);
  proto::Json by_state = proto::Json::object();
  uint64_t finished = 0;
  for (auto state : metrics::kFinalStates) {
    by_state[std::string(sched::name(state))] = metrics_.runs(state);
    finished += metrics_.runs(state);
  }
  body["since_start"] = {
      {"uptime_seconds",
       std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count()},
      {"submits", metrics_.submits()},
      {"runs", finished},
      {"runs_by_state", std::move(by_state)},
      {"retries", metrics_.retries()}};
  send(s.id, body);
}

}  // namespace jobd
