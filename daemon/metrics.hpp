// jobd's metrics registry and its Prometheus text rendering (format 0.0.4),
// served by metrics_http.hpp and summed up by `jobctl stats`.
//
// The counters and histograms are updated on the loop as runs start and
// finish and submits are acknowledged; gauges (slots, queue, connections,
// memory) are read from the Server at scrape time and handed to render().
// Label cardinality is bounded: the first `max_jobs` distinct job names get
// series of their own, later ones share job="_other". Updating costs no
// allocation and no string lookup once a job's series is known: series()
// caches it by job id. Not thread-safe: the loop owns it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sched/states.hpp"

namespace jobd::metrics {

// A histogram over fixed upper bounds (ascending; +Inf is implied).
struct Histogram {
  explicit Histogram(std::span<const double> upper_bounds)
      : bounds(upper_bounds), counts(upper_bounds.size() + 1) {}
  void observe(double value);

  std::span<const double> bounds;
  std::vector<uint64_t> counts;  // per bucket, not cumulative; the last is +Inf
  double sum = 0;
  uint64_t count = 0;
};

// A label value as the text format quotes it: \ " and newline escaped.
std::string escape_label_value(std::string_view value);
// A sample value as the text format writes it: "+Inf", "NaN", 0.25, 3.
std::string format_value(double value);

using Label = std::pair<std::string_view, std::string_view>;

// Writes families of samples in the Prometheus text format.
class TextWriter {
 public:
  // `type`: "counter", "gauge" or "histogram".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // _bucket (cumulative, with le), _sum and _count.
  void histogram(std::string_view name, std::initializer_list<Label> labels, const Histogram& h);
  std::string take() { return std::move(out_); }

 private:
  void labels(std::initializer_list<Label> labels, std::string_view extra_name = {},
              std::string_view extra_value = {});
  std::string out_;
};

// The final states a run is counted under in jobd_runs_total.
inline constexpr std::array<job::sched::RunState, 6> kFinalStates = {
    job::sched::RunState::succeeded, job::sched::RunState::failed,  job::sched::RunState::timed_out,
    job::sched::RunState::cancelled, job::sched::RunState::skipped, job::sched::RunState::lost};

// What the Server knows at scrape time.
struct Gauges {
  int slots_busy = 0;
  int slots_total = 0;
  size_t connections = 0;
  std::vector<std::pair<int64_t, size_t>> queue_by_priority;  // queued runs by priority
  std::array<size_t, 4> jobs_by_state{};                      // by JobState
  int64_t resident_bytes = 0;
  size_t event_subscribers = 0;
  int64_t stale_reports = 0;  // workers' reports refused for a stale lease
  size_t workers_ready = 0, workers_other = 0;
  // From the notifier thread's counts: sent and failed only grow.
  uint64_t notifications_sent = 0, notifications_failed = 0, notifications_pending = 0;
};

class Registry {
 public:
  explicit Registry(size_t max_jobs);

  // A new cap counts for job names not seen yet; series already made stay.
  void set_max_jobs(size_t max_jobs) { max_jobs_ = max_jobs; }
  // The series index of job `job_id`, named `name`.
  size_t series(int64_t job_id, std::string_view name);

  // A run of the series' job ended in `state` (one of kFinalStates), after
  // running `seconds` if it started.
  void run_finished(size_t series, job::sched::RunState state, std::optional<double> seconds);
  void retried(size_t series) { ++series_[series].retries; }
  void run_started(double lag_seconds) { schedule_lag_.observe(lag_seconds); }
  void submitted(double latency_seconds) {
    ++submits_;
    submit_latency_.observe(latency_seconds);
  }
  void committed(double seconds) { commit_duration_.observe(seconds); }

  std::string render(const Gauges& gauges) const;

  // Since start, for `jobctl stats`.
  uint64_t submits() const { return submits_; }
  uint64_t retries() const;
  uint64_t runs(job::sched::RunState state) const;

 private:
  struct Series {
    explicit Series(std::string name);
    std::string job;
    std::array<uint64_t, kFinalStates.size()> runs{};
    Histogram duration;
    uint64_t retries = 0;
  };

  size_t max_jobs_;
  std::vector<Series> series_;
  std::unordered_map<int64_t, size_t> by_job_id_;
  std::unordered_map<std::string, size_t> by_name_;  // consulted once per job id
  std::optional<size_t> other_;
  Histogram schedule_lag_, submit_latency_, commit_duration_;
  uint64_t submits_ = 0;
};

// This process's resident memory, from /proc/self/statm (0 if unreadable).
int64_t resident_memory_bytes();

}  // namespace jobd::metrics
