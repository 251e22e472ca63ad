#include "proto/codec.hpp"

#include <fmt/format.h>

#include <limits>

#include "time/duration.hpp"
#include "time/rfc3339.hpp"

namespace job::proto {
namespace {

Error bad(std::string message) { return Error{Errc::invalid_argument, std::move(message)}; }

Error with_field(std::string_view field, const Error& e) {
  return Error{e.code, fmt::format("{}: {}", field, e.message)};
}

Json instant(const std::optional<time::Instant>& t, const time::Zone& zone) {
  return t ? Json(time::format_rfc3339(*t, zone)) : Json(nullptr);
}

Json run_ref_or_null(int64_t id) { return id ? Json(sched::run_ref(id)) : Json(nullptr); }

Json duration_or_null(time::Duration d) {
  return d == time::Duration::zero() ? Json(nullptr) : Json(time::format_duration(d));
}

// "allow, forbid, replace": the names of an enum's values up to `last`, for error messages.
template <class E>
std::string names_up_to(E last) {
  std::string out;
  for (int i = 0; i <= static_cast<int>(last); ++i)
    out += (i ? ", " : "") + std::string(sched::name(static_cast<E>(i)));
  return out;
}

}  // namespace

Result<sched::JobSpec> spec_from_json(const Json& j) {
  if (!j.is_object()) return bad("the job must be a JSON object");
  sched::JobSpec spec;
  int triggers = 0;
  for (const auto& item : j.items()) {
    // Named, not structured bindings: clang 14 cannot capture those in lambdas.
    const std::string& key = item.key();
    const Json& value = item.value();
    std::string text;
    auto want_string = [&](std::string& out) -> std::optional<Error> {
      if (!value.is_string()) return bad(fmt::format("{}: expected a string", key));
      out = value.get<std::string>();
      return std::nullopt;
    };
    // Range checks are the scheduler's; only what does not fit an int is refused here.
    auto want_int = [&](int& out) -> std::optional<Error> {
      if (!value.is_number_integer()) return bad(fmt::format("{}: expected an integer", key));
      const bool fits = value.is_number_unsigned()
                            ? value.get<uint64_t>() <= uint64_t{std::numeric_limits<int>::max()}
                            : value.get<int64_t>() >= std::numeric_limits<int>::min() &&
                                  value.get<int64_t>() <= std::numeric_limits<int>::max();
      if (!fits) return bad(fmt::format("{}: {} is out of range", key, value.dump()));
      out = static_cast<int>(value.get<int64_t>());
      return std::nullopt;
    };
    auto want_duration = [&](time::Duration& out) -> std::optional<Error> {
      if (auto p = want_string(text)) return p;
      auto d = time::parse_duration(text);
      if (!d) return with_field(key, d.error());
      out = *d;
      return std::nullopt;
    };
    // An enum by name: `concurrency: "sometimes" is not one of allow, forbid, replace`.
    auto want_name = [&](auto& out, auto from, auto last) -> std::optional<Error> {
      if (auto p = want_string(text)) return p;
      auto e = from(text);
      if (!e) return bad(fmt::format("{}: \"{}\" is not one of {}", key, text, names_up_to(last)));
      out = *e;
      return std::nullopt;
    };
    std::optional<Error> problem;
    if (key == "name") {
      problem = want_string(spec.name);
    } else if (key == "cron") {
      problem = want_string(spec.cron);
      spec.trigger = sched::JobSpec::Trigger::cron;
      ++triggers;
    } else if (key == "at") {
      if (!(problem = want_string(text))) {
        auto at = time::parse_rfc3339(text);
        if (!at) return with_field("at", at.error());
        spec.at = *at;
      }
      spec.trigger = sched::JobSpec::Trigger::at;
      ++triggers;
    } else if (key == "every") {
      problem = want_duration(spec.every);
      spec.trigger = sched::JobSpec::Trigger::every;
      ++triggers;
    } else if (key == "timeout") {
      problem = want_duration(spec.timeout);
    } else if (key == "tz") {
      problem = want_string(spec.tz);
    } else if (key == "priority") {
      if (!value.is_number_integer() ||
          (value.is_number_unsigned() &&
           value.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}))
        return bad("priority: expected an integer");
      spec.priority = value.get<int64_t>();
    } else if (key == "argv") {
      if (!value.is_array()) return bad("argv: expected an array of strings");
      for (const auto& a : value) {
        if (!a.is_string()) return bad("argv: expected an array of strings");
        spec.argv.push_back(a.get<std::string>());
      }
    } else if (key == "shell") {
      problem = want_string(spec.shell);
    } else if (key == "env") {
      if (!value.is_object()) return bad("env: expected an object of strings");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) return bad(fmt::format("env: {}: expected a string", k));
        spec.env.emplace_back(k, v.get<std::string>());
      }
    } else if (key == "cwd") {
      problem = want_string(spec.cwd);
    } else if (key == "retries") {
      problem = want_int(spec.retries);
    } else if (key == "backoff") {
      problem = want_duration(spec.backoff);
    } else if (key == "max_backoff") {
      problem = want_duration(spec.max_backoff);
    } else if (key == "jitter") {
      if (!value.is_number()) return bad("jitter: expected a number");
      spec.jitter = value.get<double>();
    } else if (key == "concurrency") {
      problem = want_name(spec.concurrency, sched::concurrency_from, sched::JobSpec::Concurrency::replace);
    } else if (key == "catchup") {
      problem = want_name(spec.catchup, sched::catchup_from, sched::JobSpec::Catchup::all);
    } else if (key == "starting_deadline") {
      if (!value.is_null()) problem = want_duration(spec.starting_deadline);
    } else if (key == "keep_runs") {
      problem = want_int(spec.keep_runs);
    } else {
      return bad(fmt::format("unknown field \"{}\"", key));
    }
    if (problem) return *problem;
  }
  if (triggers > 1) return bad("give at most one of cron, at and every");
  return spec;
}

Json spec_to_json(const sched::JobSpec& spec) {
  Json j;
  j["name"] = spec.name;
  switch (spec.trigger) {
    case sched::JobSpec::Trigger::now:
      break;
    case sched::JobSpec::Trigger::cron:
      j["cron"] = spec.cron;
      break;
    case sched::JobSpec::Trigger::at:
      j["at"] = time::format_rfc3339(spec.at, {});
      break;
    case sched::JobSpec::Trigger::every:
      j["every"] = time::format_duration(spec.every);
      break;
  }
  if (!spec.tz.empty()) j["tz"] = spec.tz;
  j["priority"] = spec.priority;
  if (spec.timeout != time::Duration::zero()) j["timeout"] = time::format_duration(spec.timeout);
  if (!spec.argv.empty()) j["argv"] = spec.argv;
  if (!spec.shell.empty()) j["shell"] = spec.shell;
  if (!spec.env.empty()) {
    Json env = Json::object();
    for (const auto& [k, v] : spec.env) env[k] = v;
    j["env"] = env;
  }
  if (!spec.cwd.empty()) j["cwd"] = spec.cwd;
  j["retries"] = spec.retries;
  j["backoff"] = time::format_duration(spec.backoff);
  j["max_backoff"] = time::format_duration(spec.max_backoff);
  j["jitter"] = spec.jitter;
  j["concurrency"] = sched::name(spec.concurrency);
  j["catchup"] = sched::name(spec.catchup);
  if (spec.starting_deadline != time::Duration::zero())
    j["starting_deadline"] = time::format_duration(spec.starting_deadline);
  j["keep_runs"] = spec.keep_runs;
  return j;
}

std::string schedule_text(const sched::JobSpec& spec, const time::Zone& zone) {
  switch (spec.trigger) {
    case sched::JobSpec::Trigger::now:
      return "now";
    case sched::JobSpec::Trigger::cron:
      return spec.cron;
    case sched::JobSpec::Trigger::at:
      return "at " + time::format_rfc3339(spec.at, zone);
    case sched::JobSpec::Trigger::every:
      return "every " + time::format_duration(spec.every);
  }
  return "";
}

Json job_to_json(const sched::Job& job, const sched::Run* last_run, const time::Zone& zone) {
  Json j;
  j["id"] = sched::job_ref(job.id);
  j["name"] = job.spec.name;
  j["state"] = sched::name(job.state);
  j["trigger"] = sched::name(job.spec.trigger);
  j["schedule"] = schedule_text(job.spec, zone);
  j["tz"] = job.spec.trigger == sched::JobSpec::Trigger::cron ? Json(job.zone.name()) : Json(nullptr);
  j["priority"] = job.spec.priority;
  j["timeout"] = duration_or_null(job.spec.timeout);
  if (!job.spec.argv.empty())
    j["command"] = job.spec.argv;
  else
    j["command"] = job.spec.shell;
  Json env = Json::object();
  for (const auto& [k, v] : job.spec.env) env[k] = v;
  j["env"] = env;
  j["cwd"] = job.spec.cwd.empty() ? Json(nullptr) : Json(job.spec.cwd);
  j["retries"] = job.spec.retries;
  j["backoff"] = time::format_duration(job.spec.backoff);
  j["max_backoff"] = time::format_duration(job.spec.max_backoff);
  j["jitter"] = job.spec.jitter;
  j["concurrency"] = sched::name(job.spec.concurrency);
  j["catchup"] = sched::name(job.spec.catchup);
  j["starting_deadline"] = duration_or_null(job.spec.starting_deadline);
  j["keep_runs"] = job.spec.keep_runs;
  j["created_at"] = time::format_rfc3339(job.created_at, zone);
  j["next_fire"] = instant(job.next_fire, zone);
  j["runs"] = job.runs.size();
  if (last_run)
    j["last_run"] = {{"id", sched::run_ref(last_run->id)},
                     {"state", sched::name(last_run->state)},
                     {"exit_code", last_run->exit_code ? Json(*last_run->exit_code) : Json(nullptr)}};
  else
    j["last_run"] = nullptr;
  return j;
}

Json run_to_json(const sched::Run& run, const sched::Job& job, const time::Zone& zone) {
  Json j;
  j["id"] = sched::run_ref(run.id);
  j["job"] = sched::job_ref(job.id);
  j["job_name"] = job.spec.name;
  j["attempt"] = run.attempt;
  j["state"] = sched::name(run.state);
  j["exit_code"] = run.exit_code ? Json(*run.exit_code) : Json(nullptr);
  j["signal"] = run.signal ? Json(run.signal) : Json(nullptr);
  j["reason"] = run.reason.empty() ? Json(nullptr) : Json(run.reason);
  j["scheduled_at"] = time::format_rfc3339(run.scheduled_at, zone);
  j["created_at"] = time::format_rfc3339(run.created_at, zone);
  j["started_at"] = instant(run.started_at, zone);
  j["finished_at"] = instant(run.finished_at, zone);
  j["pid"] = run.pid ? Json(run.pid) : Json(nullptr);
  j["retry_at"] = instant(run.retry_at, zone);
  j["retry_of"] = run_ref_or_null(run.retry_of);
  j["next_attempt"] = run_ref_or_null(run.next_attempt);
  j["missed_count"] = run.missed_count;
  j["missed_since"] = instant(run.missed_since, zone);
  return j;
}

}  // namespace job::proto
