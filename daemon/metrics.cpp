#include "metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace jobd::metrics {

namespace sched = job::sched;

namespace {

// Runs last from milliseconds (a `true`) to hours (a nightly backup).
constexpr std::array<double, 16> kRunBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,  5,
                                                10,   30,   60,  300,  900, 1800, 3600, 21600};
// Due -> started: sub-millisecond on an idle node, seconds when slots are full.
constexpr std::array<double, 16> kLagBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
// A submit's reply waits for an fsync: around a millisecond on a good disk.
constexpr std::array<double, 14> kIoBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                               0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

constexpr std::string_view kOther = "_other";

size_t state_index(sched::RunState s) {
  const auto it = std::find(kFinalStates.begin(), kFinalStates.end(), s);
  return static_cast<size_t>(it - kFinalStates.begin());
}

}  // namespace

void Histogram::observe(double value) {
  const auto* it = std::lower_bound(bounds.data(), bounds.data() + bounds.size(), value);
  ++counts[static_cast<size_t>(it - bounds.data())];
  sum += value;
  ++count;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{}", value);
}

void TextWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void TextWriter::labels(std::initializer_list<Label> list, std::string_view extra_name,
                        std::string_view extra_value) {
  if (list.size() == 0 && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  const auto one = [&](std::string_view name, std::string_view value) {
    if (!first) out_ += ',';
    first = false;
    out_ += name;
    out_ += "=\"";
    out_ += escape_label_value(value);
    out_ += '"';
  };
  for (const auto& [name, value] : list) one(name, value);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out_ += '}';
}

void TextWriter::sample(std::string_view name, std::initializer_list<Label> list, double value) {
  out_ += name;
  labels(list);
  out_ += ' ';
  out_ += format_value(value);
  out_ += '\n';
}

void TextWriter::histogram(std::string_view name, std::initializer_list<Label> list, const Histogram& h) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    out_ += name;
    out_ += "_bucket";
    labels(list, "le", i < h.bounds.size() ? format_value(h.bounds[i]) : "+Inf");
    fmt::format_to(std::back_inserter(out_), " {}\n", cumulative);
  }
  fmt::format_to(std::back_inserter(out_), "{}_sum", name);
  labels(list);
  fmt::format_to(std::back_inserter(out_), " {}\n{}_count", format_value(h.sum), name);
  labels(list);
  fmt::format_to(std::back_inserter(out_), " {}\n", h.count);
}

Registry::Series::Series(std::string name) : job(std::move(name)), duration(kRunBuckets) {}

Registry::Registry(size_t max_jobs)
    : max_jobs_(max_jobs),
      schedule_lag_(kLagBuckets),
      submit_latency_(kIoBuckets),
      commit_duration_(kIoBuckets) {}

size_t Registry::series(int64_t job_id, std::string_view name) {
  if (auto it = by_job_id_.find(job_id); it != by_job_id_.end()) return it->second;
  size_t index;
  if (auto named = by_name_.find(std::string(name)); named != by_name_.end()) {
    index = named->second;
  } else if (by_name_.size() < max_jobs_ && name != kOther) {
    index = series_.size();
    series_.emplace_back(std::string(name));
    by_name_.emplace(name, index);
  } else {
    if (!other_) {
      other_ = series_.size();
      series_.emplace_back(std::string(kOther));
    }
    index = *other_;
  }
  by_job_id_.emplace(job_id, index);
  return index;
}

void Registry::run_finished(size_t series, sched::RunState state, std::optional<double> seconds) {
  Series& s = series_[series];
  const size_t i = state_index(state);
  if (i < s.runs.size()) ++s.runs[i];
  if (seconds) s.duration.observe(*seconds);
}

uint64_t Registry::retries() const {
  uint64_t n = 0;
  for (const Series& s : series_) n += s.retries;
  return n;
}

uint64_t Registry::runs(sched::RunState state) const {
  const size_t i = state_index(state);
  uint64_t n = 0;
  for (const Series& s : series_)
    if (i < s.runs.size()) n += s.runs[i];
  return n;
}

std::string Registry::render(const Gauges& g) const {
  TextWriter w;
  w.family("jobd_runs_total", "counter",
           "Runs (attempts and tasks) that reached a final state, by job and state.");
  for (const Series& s : series_)
    for (size_t i = 0; i < kFinalStates.size(); ++i)
      w.sample("jobd_runs_total", {{"job", s.job}, {"state", sched::name(kFinalStates[i])}},
               static_cast<double>(s.runs[i]));
  w.family("jobd_run_duration_seconds", "histogram", "Time from a run's start to its end, by job.");
  for (const Series& s : series_) w.histogram("jobd_run_duration_seconds", {{"job", s.job}}, s.duration);
  w.family("jobd_retries_total", "counter", "Failed attempts that were retried, by job.");
  for (const Series& s : series_)
    w.sample("jobd_retries_total", {{"job", s.job}}, static_cast<double>(s.retries));
  w.family("jobd_schedule_lag_seconds", "histogram",
           "Time from a run's due instant (its scheduled time, or its retry time) to its start.");
  w.histogram("jobd_schedule_lag_seconds", {}, schedule_lag_);
  w.family("jobd_submits_total", "counter", "Submits acknowledged (committed).");
  w.sample("jobd_submits_total", {}, static_cast<double>(submits_));
  w.family("jobd_submit_latency_seconds", "histogram",
           "Time from reading a submit request to sending its reply, after its commit.");
  w.histogram("jobd_submit_latency_seconds", {}, submit_latency_);
  w.family("jobd_commit_duration_seconds", "histogram", "Time to save one loop turn's changes to SQLite.");
  w.histogram("jobd_commit_duration_seconds", {}, commit_duration_);
  w.family("jobd_queue_depth", "gauge", "Runs queued for a slot, by priority.");
  bool zero_seen = false;
  for (const auto& [priority, n] : g.queue_by_priority) {
    zero_seen = zero_seen || priority == 0;
    w.sample("jobd_queue_depth", {{"priority", std::to_string(priority)}}, static_cast<double>(n));
  }
  if (!zero_seen) w.sample("jobd_queue_depth", {{"priority", "0"}}, 0);
  w.family("jobd_slots_busy", "gauge", "Slots taken by running runs.");
  w.sample("jobd_slots_busy", {}, g.slots_busy);
  w.family("jobd_slots_total", "gauge", "Runs allowed at once (slots).");
  w.sample("jobd_slots_total", {}, g.slots_total);
  w.family("jobd_connections", "gauge", "Open client sessions on jobd's socket.");
  w.sample("jobd_connections", {}, static_cast<double>(g.connections));
  w.family("jobd_jobs", "gauge", "Jobs held, by state.");
  for (auto state : {sched::JobState::active, sched::JobState::paused, sched::JobState::completed,
                     sched::JobState::deleted})
    w.sample("jobd_jobs", {{"state", sched::name(state)}},
             static_cast<double>(g.jobs_by_state[static_cast<size_t>(state)]));
  w.family("jobd_stale_reports_total", "counter", "Workers' reports refused because their lease was not current.");
  w.sample("jobd_stale_reports_total", {}, static_cast<double>(g.stale_reports));
  w.family("jobd_workers", "gauge", "Workers registered, by whether they take runs now.");
  w.sample("jobd_workers", {{"state", "ready"}}, static_cast<double>(g.workers_ready));
  w.sample("jobd_workers", {{"state", "other"}}, static_cast<double>(g.workers_other));
  w.family("jobd_event_subscribers", "gauge", "Clients following the event stream (jobctl events --follow).");
  w.sample("jobd_event_subscribers", {}, static_cast<double>(g.event_subscribers));
  w.family("jobd_notifications_total", "counter",
           "Notifications by outcome: delivered, or given up on after their last attempt.");
  w.sample("jobd_notifications_total", {{"outcome", "sent"}}, static_cast<double>(g.notifications_sent));
  w.sample("jobd_notifications_total", {{"outcome", "failed"}}, static_cast<double>(g.notifications_failed));
  w.family("jobd_notifications_pending", "gauge", "Notifications waiting for delivery or for their next attempt.");
  w.sample("jobd_notifications_pending", {}, static_cast<double>(g.notifications_pending));
  w.family("jobd_process_resident_memory_bytes", "gauge", "jobd's resident memory.");
  w.sample("jobd_process_resident_memory_bytes", {}, static_cast<double>(g.resident_bytes));
  return w.take();
}

int64_t resident_memory_bytes() {
  const int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[128] = {};
  const ssize_t n = read(fd, buffer, sizeof buffer - 1);
  close(fd);
  long long size = 0, resident = 0;
  if (n <= 0 || std::sscanf(buffer, "%lld %lld", &size, &resident) != 2) return 0;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

}  // namespace jobd::metrics
