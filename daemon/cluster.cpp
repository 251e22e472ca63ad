// The coordinator's side of workers (docs/ARCHITECTURE.md, "Workers and
// leases"): a worker registers on an authenticated connection, beats every
// second with the leases it holds, and reports how its runs ended; the
// coordinator pushes assignments and signals on the same connection, as
// lines without an id. Every decision (placement, epochs, expiry, stale
// reports) is the scheduler's; this file only carries messages.
#include <algorithm>
#include <fstream>
#include <set>

#include "log.hpp"
#include "proto/base64.hpp"
#include "session.hpp"
#include "time/rfc3339.hpp"

namespace jobd {

using job::Errc;
using job::Error;
namespace sched = job::sched;

namespace {

// [{"run":"r12","epoch":5}, ...] -> leases; an error names the entry.
job::Result<std::vector<sched::Lease>> leases_field(const proto::Json& req) {
  std::vector<sched::Lease> out;
  if (!req.contains("leases")) return out;
  const auto& list = req["leases"];
  if (!list.is_array()) return Error{Errc::bad_request, "leases: expected an array"};
  for (const auto& l : list) {
    const auto run = l.is_object() && l.contains("run") && l["run"].is_string()
                         ? sched::parse_ref(l["run"].get<std::string>(), 'r')
                         : std::nullopt;
    if (!run || !l.contains("epoch") || !l["epoch"].is_number_unsigned())
      return Error{Errc::bad_request, fmt::format("leases: {} is not {{\"run\":\"rN\",\"epoch\":N}}", l.dump())};
    out.push_back({*run, l["epoch"].get<uint64_t>()});
  }
  return out;
}

proto::Json leases_json(const std::vector<sched::Lease>& leases) {
  proto::Json out = proto::Json::array();
  for (const sched::Lease& l : leases) out.push_back({{"run", sched::run_ref(l.run)}, {"epoch", l.epoch}});
  return out;
}

int64_t ms(job::time::Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

}  // namespace

void Server::op_register(Session& s, const proto::Json& id, const proto::Json& req) {
  const std::string name = req.value("name", std::string());
  if (!sched::valid_name(name) || name == options_.name)
    return send(s.id, error_body(id, {Errc::invalid_argument,
                                      name == options_.name && !name.empty()
                                          ? fmt::format("name \"{}\" is the coordinator's own", name)
                                          : fmt::format("name \"{}\": not a node name", name)}));
  sched::WorkerSpec spec;
  spec.name = name;
  spec.slots = req.value("slots", 1);
  if (spec.slots < 0 || spec.slots > 100000)
    return send(s.id, error_body(id, {Errc::invalid_argument, "slots: expected 0 to 100000"}));
  if (req.contains("tags"))
    for (const auto& [k, v] : req["tags"].items()) spec.tags[k] = v.get<std::string>();
  spec.address = req.value("address", s.peer);
  spec.version = req.value("version", std::string());
  auto held = leases_field(req);
  if (!held) return send(s.id, error_body(id, held.error()));
  const uint64_t seen = req.value("seen_epoch", uint64_t{0});
  const std::string instance = req.value("instance", std::string());
  // A worker that reconnects replaces its old connection. Another process
  // claiming the name of a healthy worker, on a connection still open, is
  // refused: two workers under one name would take turns replacing each
  // other, each killing the other's runs as revoked.
  if (auto old = worker_sessions_.find(name); old != worker_sessions_.end() && old->second != s.id)
    if (auto it = sessions_.find(old->second); it != sessions_.end()) {
      const sched::Worker* w = sched_.workers().find(name);
      const auto state = w ? sched_.workers().state(*w, now()) : sched::WorkerState::down;
      if (it->second->worker_instance != instance && state != sched::WorkerState::unhealthy &&
          state != sched::WorkerState::down)
        return send(s.id, error_body(id, {Errc::invalid_argument,
                                          fmt::format("name \"{}\" is taken by another worker, connected from {}: "
                                                      "give this one another --name",
                                                      name, it->second->peer)}));
      it->second->worker.clear();
      close_session(*it->second);
    }
  s.worker = name;
  s.worker_instance = instance;
  worker_sessions_[name] = s.id;
  const auto revoke = sched_.join_worker(spec, *held, seen, now());
  log(Level::info, "jobd: worker {} registered from {} ({} slots, {} leases held)", name, s.peer.empty() ? "the socket" : s.peer,
      spec.slots, held->size());
  proto::Json body = ok_body(id);
  body["revoke"] = leases_json(revoke);
  body["heartbeat_ms"] = ms(options_.heartbeat);
  body["down_after_ms"] = ms(options_.down_after);
  send(s.id, body);
  // Assignments it never got (sent before it reconnected, or lost with the
  // old connection): again, after the reply.
  std::set<int64_t> has;
  for (const sched::Lease& l : *held) has.insert(l.run);
  if (const sched::Worker* w = sched_.workers().find(name))
    for (int64_t r : w->runs)
      if (!has.contains(r)) send_assignment(r);
}

void Server::op_heartbeat(Session& s, const proto::Json& id, const proto::Json& req) {
  if (s.worker.empty())
    return send(s.id, error_body(id, {Errc::bad_request, "heartbeat before register on this connection"}));
  auto held = leases_field(req);
  if (!held) return send(s.id, error_body(id, held.error()));
  auto revoke = sched_.worker_heartbeat(s.worker, *held, req.value("seen_epoch", uint64_t{0}), now());
  if (!revoke) return send(s.id, error_body(id, revoke.error()));
  if (req.contains("load") && req["load"].is_number()) sched_.set_worker_load(s.worker, req["load"].get<double>());
  for (const sched::Lease& l : *revoke)
    log(Level::warning, "jobd: worker {} holds {} epoch {}, which is not its lease: told to kill it", s.worker,
        sched::run_ref(l.run), l.epoch);
  proto::Json body = ok_body(id);
  body["revoke"] = leases_json(*revoke);
  send(s.id, body);
}

void Server::op_report(Session& s, const proto::Json& id, const proto::Json& req) {
  if (s.worker.empty())
    return send(s.id, error_body(id, {Errc::bad_request, "report before register on this connection"}));
  auto held = leases_field({{"leases", proto::Json::array({{{"run", req.value("run", std::string())},
                                                            {"epoch", req.value("epoch", proto::Json(nullptr))}}})}});
  if (!held) return send(s.id, error_body(id, held.error()));
  const sched::Lease lease = held->front();
  std::optional<int> exit_code;
  if (req.contains("exit_code") && req["exit_code"].is_number_integer()) exit_code = req["exit_code"].get<int>();
  const auto text = [&](const char* key) {
    return req.contains(key) && req[key].is_string() ? req[key].get<std::string>() : std::string();
  };
  // One of: "start_error" (it could not start), "lost" (the worker lost it
  // unseen: it restarted), else how the process ended.
  const std::string start_error = text("start_error"), lost = text("lost");
  const auto refused = !start_error.empty() ? sched_.worker_start_failed(s.worker, lease, start_error, now())
                       : !lost.empty()      ? sched_.worker_lost(s.worker, lease, lost, now())
                                            : sched_.worker_exited(s.worker, lease, exit_code, req.value("signal", 0), now());
  if (const auto& e = refused) {
    ++stale_reports_;
    log(Level::warning, "jobd: worker {}: report refused: {}", s.worker, e->message);
    return send(s.id, error_body(id, *e));
  }
  pending_.push_back({s.id, ok_body(id)});  // answered once the run's end is saved
  expect(s.id);
}

void Server::op_workers(Session& s, const proto::Json& id, const proto::Json&) {
  proto::Json list = proto::Json::array();
  const auto t = now();
  sched_.workers().for_each([&](const sched::Worker& w) {
    if (w.local && w.spec.slots == 0) return;  // a coordinator that runs nothing itself
    list.push_back({{"name", w.spec.name},
                    {"local", w.local},
                    {"state", sched::name(sched_.workers().state(w, t))},
                    {"slots", w.spec.slots},
                    {"used", w.used},
                    {"load", w.local ? proto::Json(nullptr) : proto::Json(w.load)},
                    {"last_heartbeat", w.local ? proto::Json(nullptr)
                                               : proto::Json(job::time::format_rfc3339(w.last_heartbeat, zone_))},
                    {"tags", w.spec.tags},
                    {"address", w.spec.address},
                    {"version", w.spec.version},
                    {"connected", w.local || worker_sessions_.contains(w.spec.name)}});
  });
  proto::Json body = ok_body(id);
  body["workers"] = std::move(list);
  send(s.id, body);
}

void Server::op_drain(Session& s, const proto::Json& id, const proto::Json& req) {
  const std::string worker = req.value("worker", std::string());
  const bool drained = req.value("drained", true);
  if (auto e = sched_.drain_worker(worker, drained)) return send(s.id, error_body(id, *e));
  log(Level::info, "jobd: worker {} {}", worker, drained ? "draining: no new runs" : "takes runs again");
  send(s.id, ok_body(id));
}

void Server::send_assignment(int64_t id) {
  const sched::Run* run = sched_.run(id);
  if (!run || run->state != sched::RunState::running || run->worker.empty()) return;
  auto session = worker_sessions_.find(run->worker);
  if (session == worker_sessions_.end()) {
    // Not connected: it gets it when it registers again, or the lease
    // expires with its silence.
    log(Level::debug, "jobd: run {} waits for worker {} to reconnect", sched::run_ref(id), run->worker);
    return;
  }
  const sched::Job& job = *sched_.job(run->job);
  const SpawnRequest spawn = spawn_request(job, sched_.task_of(*run), *run, {}, zone_);
  const job::time::Duration timeout = sched_.task_of(*run) && sched_.task_of(*run)->timeout
                                          ? *sched_.task_of(*run)->timeout
                                          : job.spec.timeout;
  proto::Json assign = {{"run", sched::run_ref(id)},
                        {"epoch", run->epoch},
                        {"job", sched::job_ref(job.id)},
                        {"job_name", job.spec.name},
                        {"attempt", run->attempt},
                        {"argv", spawn.argv},
                        {"env", spawn.env},
                        {"cwd", spawn.cwd},
                        {"timeout_ms", ms(timeout)},
                        {"kill_grace_ms", ms(options_.kill_grace)}};
  // Resolved and applied by the worker: its users, its cgroups.
  proto::confinement_to_json(spawn.user, spawn.confine, assign);
  send(session->second, {{"assign", std::move(assign)}});
  log(Level::info, "jobd: run {} of job {} assigned to worker {} (epoch {})", sched::run_ref(id), job.spec.name,
      run->worker, run->epoch);
}

void Server::signal_worker_run(const sched::Run& run, int signal) {
  auto session = worker_sessions_.find(run.worker);
  if (session == worker_sessions_.end()) return;  // its lease decides
  send(session->second,
       {{"signal", {{"run", sched::run_ref(run.id)}, {"epoch", run.epoch}, {"signal", signal}}}});
}

// --- logs: `jobctl logs` of any run, wherever its output is -------------------

namespace {


}  // namespace

void Server::op_log(Session& s, const proto::Json& id, const proto::Json& req) {
  auto run = run_field(s, req, "run");
  if (!run) return send(s.id, error_body(id, run.error()));
  const sched::Run& r = **run;
  if (!sched_.has_process(r))
    return send(s.id, error_body(id, {Errc::invalid_argument,
                                      fmt::format("{} is a run of a task graph: its task runs have the output",
                                                  sched::run_ref(r.id))}));
  const std::string stream = req.value("stream", std::string("stdout"));
  if (stream != "stdout" && stream != "stderr")
    return send(s.id, error_body(id, {Errc::bad_request, "stream: expected \"stdout\" or \"stderr\""}));
  const int64_t offset = std::max<int64_t>(0, req.value("offset", int64_t{0}));
  const int64_t limit = std::clamp<int64_t>(req.value("limit", kMaxLogChunk), 1, kMaxLogChunk);
  if (r.worker.empty()) {
    const LogPaths paths = log_paths(r.id);
    auto [data, size] = read_log_chunk(stream == "stdout" ? paths.out : paths.err, offset, limit);
    proto::Json body = ok_body(id);
    body["offset"] = offset + static_cast<int64_t>(data.size());
    body["size"] = size;
    body["data"] = proto::base64_encode(data);
    body["state"] = sched::name(r.state);
    return send(s.id, body);
  }
  auto worker = worker_sessions_.find(r.worker);
  if (worker == worker_sessions_.end())
    return send(s.id, error_body(id, {Errc::unavailable, fmt::format("{}'s output is on worker {}, which is not "
                                                                     "connected",
                                                                     sched::run_ref(r.id), r.worker)}));
  const int64_t ref = next_log_ref_++;
  log_reads_[ref] = {s.id, id, r.id, offset, worker->second};
  expect(s.id);
  send(worker->second, {{"read_log",
                         {{"ref", ref}, {"run", sched::run_ref(r.id)}, {"stream", stream}, {"offset", offset},
                          {"limit", limit}}}});
}

void Server::op_log_data(Session& s, const proto::Json& id, const proto::Json& req) {
  auto it = log_reads_.find(req.value("ref", int64_t{0}));
  if (s.worker.empty() || it == log_reads_.end() || it->second.worker_session != s.id)
    return send(s.id, error_body(id, {Errc::not_found, "no such log read"}));
  const LogRead read = it->second;
  log_reads_.erase(it);
  send(s.id, ok_body(id));
  const auto data = proto::base64_decode(req.value("data", std::string()));
  const sched::Run* r = sched_.run(read.run);
  proto::Json body = ok_body(read.client_id);
  if (!data) {
    body = error_body(read.client_id, {Errc::internal, "the worker sent output that is not base64"});
  } else {
    body["offset"] = read.offset + static_cast<int64_t>(data->size());
    body["size"] = req.value("size", int64_t{0});
    body["data"] = req["data"];
    body["state"] = r ? sched::name(r->state) : "lost";
  }
  send(read.client, body);
  settle(read.client);
}

void Server::fail_log_reads(uint64_t worker_session) {
  for (auto it = log_reads_.begin(); it != log_reads_.end();) {
    if (it->second.worker_session != worker_session) {
      ++it;
      continue;
    }
    send(it->second.client, error_body(it->second.client_id,
                                       {Errc::unavailable, "the worker holding the output disconnected"}));
    settle(it->second.client);
    it = log_reads_.erase(it);
  }
}

}  // namespace jobd
