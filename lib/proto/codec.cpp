#include "proto/codec.hpp"

#include <fmt/format.h>

#include <algorithm>
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

// One field of an object being read, named by its path for error messages:
// "timeout", "tasks[1].trigger", "after[0].rule".
struct Field {
  std::string path;
  const Json& value;

  Error error(std::string_view what) const { return bad(fmt::format("{}: {}", path, what)); }

  std::optional<Error> string(std::string& out) const {
    if (!value.is_string()) return error("expected a string");
    out = value.get<std::string>();
    return std::nullopt;
  }
  // Range checks are the scheduler's; only what does not fit an int is refused here.
  std::optional<Error> integer(int& out) const {
    if (!value.is_number_integer()) return error("expected an integer");
    const bool fits = value.is_number_unsigned()
                          ? value.get<uint64_t>() <= uint64_t{std::numeric_limits<int>::max()}
                          : value.get<int64_t>() >= std::numeric_limits<int>::min() &&
                                value.get<int64_t>() <= std::numeric_limits<int>::max();
    if (!fits) return error(fmt::format("{} is out of range", value.dump()));
    out = static_cast<int>(value.get<int64_t>());
    return std::nullopt;
  }
  std::optional<Error> int64(int64_t& out) const {
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t{std::numeric_limits<int64_t>::max()}))
      return error("expected an integer");
    out = value.get<int64_t>();
    return std::nullopt;
  }
  std::optional<Error> number(double& out) const {
    if (!value.is_number()) return error("expected a number");
    out = value.get<double>();
    return std::nullopt;
  }
  std::optional<Error> duration(time::Duration& out) const {
    std::string text;
    if (auto p = string(text)) return p;
    auto d = time::parse_duration(text);
    if (!d) return with_field(path, d.error());
    out = *d;
    return std::nullopt;
  }
  // An enum by name: `concurrency: "sometimes" is not one of allow, forbid, replace`.
  template <class E, class From>
  std::optional<Error> name(E& out, From from, E last) const {
    std::string text;
    if (auto p = string(text)) return p;
    auto e = from(text);
    if (!e) return error(fmt::format("\"{}\" is not one of {}", text, names_up_to(last)));
    out = *e;
    return std::nullopt;
  }
  std::optional<Error> strings(std::vector<std::string>& out) const {
    if (!value.is_array()) return error("expected an array of strings");
    for (const auto& a : value) {
      if (!a.is_string()) return error("expected an array of strings");
      out.push_back(a.get<std::string>());
    }
    return std::nullopt;
  }
  std::optional<Error> env(std::vector<std::pair<std::string, std::string>>& out) const {
    if (!value.is_object()) return error("expected an object of strings");
    for (const auto& [k, v] : value.items()) {
      if (!v.is_string()) return error(fmt::format("{}: expected a string", k));
      out.emplace_back(k, v.get<std::string>());
    }
    // By name: the order of an environment means nothing, and equal specs compare equal.
    std::sort(out.begin(), out.end());
    return std::nullopt;
  }
  // An optional override: set only when the field is present.
  template <class T, class Read>
  std::optional<Error> optional(std::optional<T>& out, Read read) const {
    T v{};
    if (auto p = (this->*read)(v)) return p;
    out = v;
    return std::nullopt;
  }
};

Result<sched::TaskSpec> task_from_json(const Json& j, const std::string& path) {
  if (!j.is_object()) return bad(fmt::format("{}: expected an object", path));
  sched::TaskSpec task;
  bool named = false;
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const Field f{path + "." + key, item.value()};
    std::optional<Error> problem;
    if (key == "name") {
      problem = f.string(task.name);
      named = true;
    } else if (key == "argv") {
      problem = f.strings(task.argv);
    } else if (key == "shell") {
      problem = f.string(task.shell);
    } else if (key == "after") {
      problem = f.strings(task.after);
    } else if (key == "trigger") {
      problem = f.name(task.trigger, sched::trigger_rule_from, sched::TriggerRule::all_failed);
    } else if (key == "priority") {
      problem = f.optional(task.priority, &Field::int64);
    } else if (key == "timeout") {
      problem = f.optional(task.timeout, &Field::duration);
    } else if (key == "retries") {
      problem = f.optional(task.retries, &Field::integer);
    } else if (key == "backoff") {
      problem = f.optional(task.backoff, &Field::duration);
    } else if (key == "max_backoff") {
      problem = f.optional(task.max_backoff, &Field::duration);
    } else if (key == "jitter") {
      problem = f.optional(task.jitter, &Field::number);
    } else if (key == "env") {
      problem = f.env(task.env);
    } else if (key == "cwd") {
      problem = f.string(task.cwd);
    } else {
      return bad(fmt::format("{}: unknown field \"{}\"", path, key));
    }
    if (problem) return *problem;
  }
  if (!named) return bad(fmt::format("{}: \"name\" is missing", path));
  if (task.argv.empty() == task.shell.empty())
    return bad(fmt::format("{}: give exactly one of argv and shell", path));
  return task;
}

Result<sched::AfterSpec> after_from_json(const Json& j, const std::string& path) {
  if (!j.is_object()) return bad(fmt::format("{}: expected an object", path));
  sched::AfterSpec after;
  bool has_ref = false;
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const Field f{path + "." + key, item.value()};
    std::optional<Error> problem;
    if (key == "ref") {
      problem = f.string(after.ref);
      has_ref = true;
    } else if (key == "rule") {
      problem = f.name(after.rule, sched::after_rule_from, sched::AfterSpec::Rule::failure);
    } else {
      return bad(fmt::format("{}: unknown field \"{}\"", path, key));
    }
    if (problem) return *problem;
  }
  if (!has_ref) return bad(fmt::format("{}: \"ref\" is missing", path));
  return after;
}

Result<sched::NotifySpec> notify_from_json(const Json& j, const std::string& path) {
  if (!j.is_object())
    return bad(fmt::format(
        "{}: expected an object such as {{on = [\"failure\"], mail = \"ops@example.com\"}}", path));
  sched::NotifySpec notify;
  int channels = 0;
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const Field f{path + "." + key, item.value()};
    std::optional<Error> problem;
    if (key == "on") {
      if (!f.value.is_array()) return f.error("expected an array such as [\"failure\", \"retry\"]");
      notify.on.clear();
      for (const auto& e : f.value) {
        sched::NotifySpec::Event event{};
        if ((problem =
                 Field{f.path, e}.name(event, sched::notify_event_from, sched::NotifySpec::Event::skipped)))
          break;
        if (!notify.wants(event)) notify.on.push_back(event);
      }
    } else if (key == "webhook") {
      problem = f.string(notify.webhook);
      ++channels;
    } else if (key == "mail") {
      problem = f.string(notify.mail);
      ++channels;
    } else if (key == "exec") {
      problem = f.strings(notify.exec);
      ++channels;
    } else {
      return bad(fmt::format("{}: unknown field \"{}\" (expected on, and one of webhook, mail and exec)",
                             path, key));
    }
    if (problem) return *problem;
  }
  if (channels != 1) return bad(fmt::format("{}: give exactly one of webhook, mail and exec", path));
  return notify;
}

Json notify_to_json(const std::vector<sched::NotifySpec>& notify) {
  Json out = Json::array();
  for (const auto& n : notify) {
    Json j;
    j["on"] = Json::array();
    for (auto e : n.on) j["on"].push_back(sched::name(e));
    if (!n.webhook.empty()) j["webhook"] = n.webhook;
    if (!n.mail.empty()) j["mail"] = n.mail;
    if (!n.exec.empty()) j["exec"] = n.exec;
    out.push_back(std::move(j));
  }
  return out;
}

Json task_to_json(const sched::TaskSpec& task) {
  Json j;
  j["name"] = task.name;
  if (!task.argv.empty()) j["argv"] = task.argv;
  if (!task.shell.empty()) j["shell"] = task.shell;
  j["after"] = task.after;
  j["trigger"] = sched::name(task.trigger);
  if (task.priority) j["priority"] = *task.priority;
  if (task.timeout) j["timeout"] = time::format_duration(*task.timeout);
  if (task.retries) j["retries"] = *task.retries;
  if (task.backoff) j["backoff"] = time::format_duration(*task.backoff);
  if (task.max_backoff) j["max_backoff"] = time::format_duration(*task.max_backoff);
  if (task.jitter) j["jitter"] = *task.jitter;
  if (!task.env.empty()) {
    Json env = Json::object();
    for (const auto& [k, v] : task.env) env[k] = v;
    j["env"] = env;
  }
  if (!task.cwd.empty()) j["cwd"] = task.cwd;
  return j;
}

Json tasks_to_json(const std::vector<sched::TaskSpec>& tasks) {
  Json out = Json::array();
  for (const auto& t : tasks) out.push_back(task_to_json(t));
  return out;
}

Json after_to_json(const std::vector<sched::AfterSpec>& after) {
  Json out = Json::array();
  for (const auto& a : after) out.push_back({{"ref", a.ref}, {"rule", sched::name(a.rule)}});
  return out;
}

std::optional<Error> limits_from_json(const Json& value, sched::Limits& limits) {
  if (!value.is_object())
    return bad("limits: expected an object such as { nofile = 1024, memory = \"512M\" }");
  for (const auto& [name, v] : value.items()) {
    std::optional<int64_t>* limit = sched::limit_named(limits, name);
    const Field f{"limits." + name, v};
    if (!limit) return f.error("unknown limit (expected one of: nofile, nproc, memory, cpu)");
    if (v.is_null()) {
      limit->reset();
      continue;
    }
    int64_t n = 0;
    if (name == "memory" && v.is_string()) {
      auto size = sched::parse_size(v.get<std::string>());
      if (!size) return f.error(size.error().message);
      n = *size;
    } else if (name == "cpu" && v.is_string()) {
      auto d = time::parse_duration(v.get<std::string>());
      if (!d) return f.error(d.error().message);
      // RLIMIT_CPU counts whole seconds: a fraction rounds up.
      n = std::chrono::ceil<std::chrono::seconds>(*d).count();
      if (n < 1) return f.error("a CPU time limit must be at least 1s");
    } else {
      if (!v.is_number_integer())
        return f.error(name == "memory" ? "expected a size such as \"512M\" or a number of bytes"
                       : name == "cpu"  ? "expected a duration such as \"30s\" or a number of seconds"
                                        : "expected an integer");
      if (auto p = f.int64(n)) return p;
      if (n < 0) return f.error(fmt::format("{} is negative", n));
      if (n == 0 && (name == "memory" || name == "cpu")) return f.error("must be at least 1");
    }
    *limit = n;
  }
  return std::nullopt;
}

}  // namespace

bool confinement_from_json(const std::string& key, const Json& value, std::string& user,
                           sched::Confinement& confine, std::optional<Error>& problem) {
  const Field f{key, value};
  if (key == "user") {
    problem = f.string(user);
    if (!problem && user.find_first_of("/: \t\n") != std::string::npos)
      problem = f.error(fmt::format("\"{}\" is not a user name", user));
  } else if (key == "limits") {
    problem = limits_from_json(value, confine.limits);
  } else if (key == "sandbox" || key == "network") {
    if (!value.is_boolean())
      problem = f.error("expected true or false");
    else
      (key == "sandbox" ? confine.sandbox : confine.network) = value.get<bool>();
  } else if (key == "paths_rw") {
    confine.paths_rw.clear();
    problem = f.strings(confine.paths_rw);
    for (const std::string& path : confine.paths_rw)
      if (!problem && !path.starts_with('/'))
        problem = f.error(fmt::format("\"{}\" is not an absolute path", path));
  } else {
    return false;
  }
  return true;
}

void confinement_to_json(const std::string& user, const sched::Confinement& confine, Json& j) {
  if (!user.empty()) j["user"] = user;
  if (confine.limits.any()) {
    Json limits = Json::object();
    for (std::string_view name : sched::kLimitNames) {
      const auto& limit = *sched::limit_named(confine.limits, name);
      if (!limit) continue;
      const std::string key(name);
      if (name == "memory")
        limits[key] = sched::format_size(*limit);
      else if (name == "cpu")
        limits[key] = time::format_duration(std::chrono::seconds{*limit});
      else
        limits[key] = *limit;
    }
    j["limits"] = limits;
  }
  if (confine.sandbox) j["sandbox"] = true;
  if (!confine.network) j["network"] = false;
  if (!confine.paths_rw.empty()) j["paths_rw"] = confine.paths_rw;
}

Result<sched::JobSpec> spec_from_json(const Json& j) {
  if (!j.is_object()) return bad("the job must be a JSON object");
  sched::JobSpec spec;
  int triggers = 0;
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const Json& value = item.value();
    const Field f{key, value};
    std::optional<Error> problem;
    if (key == "name") {
      problem = f.string(spec.name);
    } else if (key == "namespace") {
      problem = f.string(spec.ns);
    } else if (key == "cron") {
      problem = f.string(spec.cron);
      spec.trigger = sched::JobSpec::Trigger::cron;
      ++triggers;
    } else if (key == "at") {
      std::string text;
      if (!(problem = f.string(text))) {
        auto at = time::parse_rfc3339(text);
        if (!at) return with_field("at", at.error());
        spec.at = *at;
      }
      spec.trigger = sched::JobSpec::Trigger::at;
      ++triggers;
    } else if (key == "every") {
      problem = f.duration(spec.every);
      spec.trigger = sched::JobSpec::Trigger::every;
      ++triggers;
    } else if (key == "timeout") {
      problem = f.duration(spec.timeout);
    } else if (key == "tz") {
      problem = f.string(spec.tz);
    } else if (key == "priority") {
      problem = f.int64(spec.priority);
    } else if (key == "argv") {
      problem = f.strings(spec.argv);
    } else if (key == "shell") {
      problem = f.string(spec.shell);
    } else if (key == "env") {
      problem = f.env(spec.env);
    } else if (key == "cwd") {
      problem = f.string(spec.cwd);
    } else if (key == "retries") {
      problem = f.integer(spec.retries);
    } else if (key == "backoff") {
      problem = f.duration(spec.backoff);
    } else if (key == "max_backoff") {
      problem = f.duration(spec.max_backoff);
    } else if (key == "jitter") {
      problem = f.number(spec.jitter);
    } else if (key == "concurrency") {
      problem = f.name(spec.concurrency, sched::concurrency_from, sched::JobSpec::Concurrency::replace);
    } else if (key == "catchup") {
      problem = f.name(spec.catchup, sched::catchup_from, sched::JobSpec::Catchup::all);
    } else if (key == "starting_deadline") {
      if (!value.is_null()) problem = f.duration(spec.starting_deadline);
    } else if (key == "keep_runs") {
      problem = f.integer(spec.keep_runs);
    } else if (key == "paused") {
      if (!value.is_boolean()) return bad("paused: expected true or false");
      spec.paused = value.get<bool>();
    } else if (key == "constraints") {
      std::vector<std::pair<std::string, std::string>> tags;
      problem = f.env(tags);
      for (auto& [k, v] : tags) {
        if (!sched::valid_name(k)) return bad(fmt::format("constraints: \"{}\" is not a tag name", k));
        spec.constraints[k] = v;
      }
    } else if (key == "node") {
      if (!value.is_string() || !sched::valid_name(value.get<std::string>()))
        return bad("node: expected a node name (letters, digits, '.', '_', '-')");
      spec.node = value.get<std::string>();
    } else if (key == "tasks") {
      if (!value.is_array()) return bad("tasks: expected an array of tasks");
      for (size_t i = 0; i < value.size(); ++i) {
        auto task = task_from_json(value[i], fmt::format("tasks[{}]", i));
        if (!task) return task.error();
        spec.tasks.push_back(std::move(task).value());
      }
    } else if (key == "after") {
      if (!value.is_array()) return bad("after: expected an array of dependencies");
      for (size_t i = 0; i < value.size(); ++i) {
        auto after = after_from_json(value[i], fmt::format("after[{}]", i));
        if (!after) return after.error();
        spec.after.push_back(std::move(after).value());
      }
    } else if (key == "notify") {
      if (!value.is_array()) return bad("notify: expected an array of notifications");
      for (size_t i = 0; i < value.size(); ++i) {
        auto notify = notify_from_json(value[i], fmt::format("notify[{}]", i));
        if (!notify) return notify.error();
        spec.notify.push_back(std::move(notify).value());
      }
    } else if (!confinement_from_json(key, value, spec.user, spec.confine, problem)) {
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
  if (!spec.ns.empty()) j["namespace"] = spec.ns;
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
  if (!spec.tasks.empty()) j["tasks"] = tasks_to_json(spec.tasks);
  if (!spec.after.empty()) j["after"] = after_to_json(spec.after);
  if (spec.paused) j["paused"] = true;
  if (!spec.notify.empty()) j["notify"] = notify_to_json(spec.notify);
  if (!spec.constraints.empty()) j["constraints"] = spec.constraints;
  if (!spec.node.empty()) j["node"] = spec.node;
  confinement_to_json(spec.user, spec.confine, j);
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
  j["namespace"] = job.spec.ns;
  j["state"] = sched::name(job.state);
  j["trigger"] = sched::name(job.spec.trigger);
  j["schedule"] = schedule_text(job.spec, zone);
  j["tz"] = job.spec.trigger == sched::JobSpec::Trigger::cron ? Json(job.zone.name()) : Json(nullptr);
  j["priority"] = job.spec.priority;
  j["timeout"] = duration_or_null(job.spec.timeout);
  if (!job.spec.argv.empty())
    j["command"] = job.spec.argv;
  else if (!job.spec.shell.empty() || job.spec.tasks.empty())
    j["command"] = job.spec.shell;
  else
    j["command"] = nullptr;  // a task graph: each task has its own
  j["tasks"] = tasks_to_json(job.spec.tasks);
  j["after"] = after_to_json(job.spec.after);
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
  j["notify"] = notify_to_json(job.spec.notify);
  confinement_to_json(job.spec.user, job.spec.confine, j);
  j["source"] = job.source.empty() ? Json(nullptr) : Json(job.source);
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
  j["parent"] = run_ref_or_null(run.parent);
  j["task"] = run.task.empty() ? Json(nullptr) : Json(run.task);
  return j;
}

}  // namespace job::proto
