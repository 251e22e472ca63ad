#include "sched/workers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace job::sched {

std::string_view name(WorkerState s) {
  switch (s) {
    case WorkerState::ready:
      return "ready";
    case WorkerState::draining:
      return "draining";
    case WorkerState::unhealthy:
      return "unhealthy";
    case WorkerState::down:
      return "down";
  }
  return "down";
}

Worker& Workers::slot(const std::string& key) {
  auto [it, fresh] = index_.try_emplace(key, workers_.size());
  if (fresh) workers_.emplace_back().position = it->second;
  return workers_[it->second];
}

void Workers::set_local(WorkerSpec spec) {
  Worker& w = slot(kLocal);
  w.spec = std::move(spec);
  w.local = true;
  w.registered = true;
}

Worker& Workers::join(WorkerSpec spec, time::Instant now) {
  Worker& w = slot(spec.name);
  w.spec = std::move(spec);
  w.registered = true;
  w.last_heartbeat = now;
  return w;
}

Worker& Workers::expect(const std::string& worker, time::Instant now) {
  const bool fresh = !index_.contains(worker);
  Worker& w = slot(worker);
  if (fresh) {
    w.spec.name = worker;
    w.spec.slots = 0;  // unknown until it registers: nothing new goes to it
    w.last_heartbeat = now;
  }
  return w;
}

bool Workers::heartbeat(const std::string& worker, time::Instant now) {
  Worker* w = find(worker);
  if (!w || !w->registered) return false;
  w->last_heartbeat = std::max(w->last_heartbeat, now);
  return true;
}

bool Workers::drain(const std::string& worker, bool drained) {
  Worker* w = find(worker);
  if (!w) return false;
  w->drained = drained;
  return true;
}

WorkerState Workers::state(const Worker& w, time::Instant now) const {
  if (!w.local) {
    if (now - w.last_heartbeat >= health_.down_after) return WorkerState::down;
    if (!w.registered || now - w.last_heartbeat >= health_.unhealthy_after) return WorkerState::unhealthy;
  }
  return w.drained ? WorkerState::draining : WorkerState::ready;
}

Worker* Workers::find(const std::string& worker) {
  auto it = index_.find(worker);
  if (it != index_.end()) return &workers_[it->second];
  // The local node is found by its name too.
  auto local = index_.find(kLocal);
  return local != index_.end() && workers_[local->second].spec.name == worker ? &workers_[local->second] : nullptr;
}

const Worker* Workers::find(const std::string& worker) const {
  return const_cast<Workers*>(this)->find(worker);
}

double Workers::recent(const Worker& w, time::Instant now) {
  if (w.recent == 0 || now <= w.recent_at) return w.recent;
  const double half_lives = std::chrono::duration<double>(now - w.recent_at) / kRecentHalfLife;
  return w.recent * std::exp2(-half_lives);
}

bool Workers::any_free(time::Instant now) const {
  for (const Worker& w : workers_)
    if (w.used < w.spec.slots && state(w, now) == WorkerState::ready) return true;
  return false;
}

namespace {

bool carries(const Worker& w, const std::map<std::string, std::string>& constraints) {
  for (const auto& [key, value] : constraints) {
    auto it = w.spec.tags.find(key);
    if (it == w.spec.tags.end() || it->second != value) return false;
  }
  return true;
}

// a before b: more free slots, then fewer recent assignments, then the name.
bool better(const Worker& a, const Worker& b, time::Instant now) {
  const int free_a = a.spec.slots - a.used, free_b = b.spec.slots - b.used;
  if (free_a != free_b) return free_a > free_b;
  const double recent_a = Workers::recent(a, now), recent_b = Workers::recent(b, now);
  if (recent_a != recent_b) return recent_a < recent_b;
  return a.spec.name < b.spec.name;
}

}  // namespace

bool Workers::eligible(const Worker& w, const std::map<std::string, std::string>& constraints,
                       time::Instant now) const {
  return w.used < w.spec.slots && carries(w, constraints) && state(w, now) == WorkerState::ready;
}

Placement Workers::place(const std::map<std::string, std::string>& constraints, const std::string& node,
                         time::Instant now) {
  if (node.empty() && constraints.empty() && workers_.size() > kSampleAbove) {
    std::uniform_int_distribution<size_t> pick(0, workers_.size() - 1);
    for (int draw = 0; draw < 8; ++draw) {
      Worker* a = &workers_[pick(rng_)];
      Worker* b = &workers_[pick(rng_)];
      const bool ok_a = eligible(*a, constraints, now), ok_b = eligible(*b, constraints, now);
      if (ok_a && ok_b) return {better(*a, *b, now) ? a : b, {}};
      if (ok_a || ok_b) return {ok_a ? a : b, {}};
    }
  }
  Worker* best = nullptr;
  bool named_seen = false, matching_seen = false;
  for (Worker& w : workers_) {
    if (!node.empty() && w.spec.name != node) continue;
    named_seen = true;
    if (!carries(w, constraints)) continue;
    matching_seen = true;
    if (eligible(w, constraints, now) && (!best || better(w, *best, now))) best = &w;
  }
  if (best) return {best, {}};
  std::vector<std::string> wanted;
  for (const auto& [key, value] : constraints) wanted.push_back(key + "=" + value);
  const std::string tags = wanted.empty() ? std::string() : fmt::format(" with {}", fmt::join(wanted, ", "));
  if (!node.empty() && !named_seen) return {nullptr, fmt::format("no worker named {}", node)};
  if (!matching_seen) return {nullptr, fmt::format("no worker{}{}", node.empty() ? "" : " " + node, tags)};
  return {nullptr, fmt::format("every worker{}{} is busy, draining or unhealthy",
                               node.empty() ? "" : " named " + node, tags)};
}

}  // namespace job::sched
