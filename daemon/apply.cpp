// `apply` (jobctl apply, and the watched jobs_dir): the jobs declared in
// files, made so all at once or not at all. A plan is worked out first,
// checking every spec against the scheduler without changing it; only a
// plan without errors is carried out, inside one loop turn, so that one
// transaction commits all of it.
#include "apply.hpp"

#include <map>
#include <set>

#include "jobfile/keys.hpp"
#include "jobfile/read.hpp"
#include "jobfile/write.hpp"
#include "log.hpp"
#include "server.hpp"
#include "session.hpp"

namespace jobd {

using job::Errc;
using job::Error;
namespace sched = job::sched;

namespace {

// The TOML keys whose values differ between two specs, in jobs.toml order.
std::vector<std::string> changed_fields(const sched::JobSpec& was, const sched::JobSpec& now) {
  const proto::Json a = proto::spec_to_json(was);
  const proto::Json b = proto::spec_to_json(now);
  std::set<std::string_view> differ;
  for (const auto* side : {&a, &b})
    for (const auto& [field, value] : side->items()) {
      const proto::Json* other = side == &a ? &b : &a;
      if (!other->contains(field) || (*other)[field] != value)
        if (const auto* k = job::jobfile::key_for_field(field)) differ.insert(k->toml);
    }
  std::vector<std::string> out;
  for (const auto& k : job::jobfile::keys())
    if (differ.contains(k.toml)) out.emplace_back(k.toml);
  return out;
}

}  // namespace

proto::Json Plan::to_json() const {
  proto::Json out = proto::Json::array();
  for (const Change& c : changes) {
    proto::Json j = {{"action", c.kind == Change::create   ? "create"
                                : c.kind == Change::update ? "update"
                                                           : "delete"},
                     {"job", c.name},
                     {"source", c.source}};
    if (c.id) j["id"] = sched::job_ref(c.id);
    if (c.kind == Change::update) j["fields"] = c.fields;
    out.push_back(std::move(j));
  }
  return {{"changes", std::move(out)}, {"unchanged", unchanged}};
}

job::Result<Plan> Server::plan_apply(const std::vector<ApplyFile>& files, bool prune, const Identity& who) const {
  const auto at = now();
  Plan plan;
  std::map<std::string, std::string> declared;  // job name -> where it is declared
  std::set<std::string> sources;
  for (const ApplyFile& file : files) {
    sources.insert(file.path);
    for (const auto& [where, json] : file.jobs) {
      auto spec = proto::spec_from_json(with_defaults(json));
      if (!spec) return Error{Errc::invalid_argument, fmt::format("{}: {}", where, spec.error().message)};
      if (spec->name.empty()) return Error{Errc::invalid_argument, where + ": the job has no name"};
      if (auto e = own(who, *spec)) return Error{e->code, fmt::format("{}: {}", where, e->message)};
      if (auto [it, fresh] = declared.emplace(spec->name, where); !fresh)
        return Error{Errc::invalid_argument,
                     fmt::format("{}: job \"{}\" is also declared at {}", where, spec->name, it->second)};
      const sched::Job* job = sched_.find_job(spec->ns, spec->name);
      if (auto e = sched_.check(*spec, at, job ? job->id : 0))
        return Error{e->code == Errc::name_taken ? Errc::invalid_argument : e->code,
                     fmt::format("{}: {}", where, e->message)};
      Change c;
      c.name = spec->name;
      c.source = file.path;
      if (!job) {
        c.kind = Change::create;
      } else {
        c.id = job->id;
        c.kind = Change::update;
        c.fields = changed_fields(job->spec, *spec);
        if (job->source != file.path) c.fields.emplace_back("source");
        if (c.fields.empty()) {
          ++plan.unchanged;
          continue;
        }
      }
      c.spec = std::move(*spec);
      plan.changes.push_back(std::move(c));
    }
  }
  if (prune)
    sched_.for_each_job([&](const sched::Job& j) {
      if (j.state != sched::JobState::deleted && j.spec.ns == who.ns && sources.contains(j.source) &&
          !declared.contains(j.spec.name))
        plan.changes.push_back({Change::remove, j.spec.name, j.source, {}, {}, j.id});
    });
  return plan;
}

std::vector<int64_t> Server::carry_out(Plan& plan, std::string_view who) {
  const auto at = now();
  std::vector<int64_t> created;
  for (Change& c : plan.changes) {
    switch (c.kind) {
      case Change::create: {
        auto id = sched_.submit(std::move(c.spec), at, c.source);
        if (!id) {  // checked in the plan: cannot happen, but never half-apply silently
          log(Level::error, "jobd: {}: job {}: {}", who, c.name, id.error().message);
          continue;
        }
        c.id = *id;
        created.push_back(*id);
        log(Level::info, "jobd: {}: job {} ({}) created from {}", who, c.name, sched::job_ref(*id), c.source);
        break;
      }
      case Change::update:
        if (auto e = sched_.update(c.id, std::move(c.spec), at))
          log(Level::error, "jobd: {}: job {}: {}", who, c.name, e->message);
        sched_.set_source(c.id, c.source);
        log(Level::info, "jobd: {}: job {} ({}) updated from {}: {}", who, c.name, sched::job_ref(c.id), c.source,
            fmt::join(c.fields, ", "));
        break;
      case Change::remove:
        sched_.remove_job(c.id, at);
        log(Level::info, "jobd: {}: job {} ({}) deleted: no longer in {}", who, c.name, sched::job_ref(c.id),
            c.source);
        break;
    }
  }
  return created;
}

job::Result<std::vector<ApplyFile>> apply_files_from(const proto::Json& req) {
  if (!req.contains("files") || !req["files"].is_array())
    return Error{Errc::bad_request, "apply: \"files\" must be an array"};
  std::vector<ApplyFile> files;
  for (const auto& f : req["files"]) {
    ApplyFile file;
    file.path = f.at("path").get<std::string>();
    if (file.path.empty() || file.path[0] != '/')
      return Error{Errc::bad_request, fmt::format("apply: \"{}\" is not an absolute path", file.path)};
    for (const auto& j : f.at("jobs")) file.jobs.emplace_back(j.at("where").get<std::string>(), j.at("spec"));
    files.push_back(std::move(file));
  }
  return files;
}

void Server::op_apply(Session& s, const proto::Json& id, const proto::Json& req) {
  if (stopping_) return send(s.id, error_body(id, {Errc::unavailable, "jobd is stopping"}));
  auto files = apply_files_from(req);
  if (!files) return send(s.id, error_body(id, files.error()));
  auto plan = plan_apply(*files, req.value("prune", false), s.who);
  if (!plan) return send(s.id, error_body(id, plan.error()));
  const bool dry_run = req.value("dry_run", false);
  if (!dry_run)
    if (auto e = take_submits(s.who, static_cast<int>(plan->changes.size()))) return send(s.id, error_body(id, *e));
  if (!dry_run) carry_out(*plan, "apply");
  proto::Json body = ok_body(id);
  body.update(plan->to_json());
  body["dry_run"] = dry_run;
  if (dry_run || plan->changes.empty()) return send(s.id, body);
  pending_.push_back({s.id, std::move(body), 0, true});
  expect(s.id);
}

void Server::op_export(Session& s, const proto::Json& id, const proto::Json& req) {
  std::vector<const sched::Job*> jobs;
  if (req.contains("jobs")) {
    for (const auto& ref : req["jobs"]) {
      const auto job = job_field(s, {{"job", ref}}, "job");
      if (!job) return send(s.id, error_body(id, job.error()));
      jobs.push_back(*job);
    }
  } else {
    // One-time jobs that have run are history, not declarations: named, they export too.
    sched_.for_each_job([&](const sched::Job& j) {
      if ((j.state == sched::JobState::active || j.state == sched::JobState::paused) && visible(s, j))
        jobs.push_back(&j);
    });
  }
  proto::Json specs = proto::Json::array();
  for (const sched::Job* j : jobs) {
    proto::Json spec = proto::spec_to_json(j->spec);
    spec.erase("namespace");  // a jobs.toml is applied into its applier's    // What it is now: a job paused by `jobctl pause` exports paused.
    spec["paused"] = j->state == sched::JobState::paused;
    specs.push_back(std::move(spec));
  }
  proto::Json defaults = job::jobfile::builtin_defaults();
  merge_defaults_into(defaults);
  proto::Json body = ok_body(id);
  body["jobs"] = std::move(specs);
  body["defaults"] = std::move(defaults);
  send(s.id, body);
}

}  // namespace jobd
