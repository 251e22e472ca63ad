#include "jobfile/read.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "jobfile/toml.hpp"

#include "cron/parse.hpp"
#include "jobfile/keys.hpp"
#include "time/zone.hpp"
#include "sched/dag.hpp"
#include "sched/scheduler.hpp"

namespace job::jobfile {
namespace {

using proto::Json;

struct Failed {
  Error error;
};

// A table's entries in the order they appear in the file (toml++ sorts them by key).
struct Entry {
  std::string key;
  toml::source_region key_at;  // where the key is written, for "unknown key"
  const toml::node* node;
};
std::vector<Entry> in_file_order(const toml::table& t) {
  std::vector<Entry> out;
  for (const auto& [k, v] : t) out.push_back({std::string(k.str()), k.source(), &v});
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    const auto& x = a.node->source().begin;
    const auto& y = b.node->source().begin;
    return std::pair(x.line, x.column) < std::pair(y.line, y.column);
  });
  return out;
}

// A TOML value as JSON; dates and times as TOML writes them (an offset
// date-time is then RFC 3339), for the codec to judge.
Json to_json(const toml::node& n) {
  if (const auto* s = n.as_string()) return s->get();
  if (const auto* i = n.as_integer()) return i->get();
  if (const auto* f = n.as_floating_point()) return f->get();
  if (const auto* b = n.as_boolean()) return b->get();
  if (const auto* a = n.as_array()) {
    Json out = Json::array();
    for (const auto& e : *a) out.push_back(to_json(e));
    return out;
  }
  if (const auto* t = n.as_table()) {
    Json out = Json::object();
    for (const auto& [k, v] : *t) out[std::string(k.str())] = to_json(v);
    return out;
  }
  std::ostringstream text;
  if (const auto* dt = n.as_date_time()) text << dt->get();
  if (const auto* d = n.as_date()) text << d->get();
  if (const auto* t = n.as_time()) text << t->get();
  return text.str();
}

// A codec error ("field...: what") split into its field and the rest.
std::pair<std::string, std::string> split_field(const std::string& message) {
  const size_t end = std::min(message.find_first_of(":.["), message.size());
  return {message.substr(0, end), message.substr(end)};
}

// Sets the spec field of TOML key `key` from `value` ("command" becomes argv
// or shell); an error message if the value cannot be one.
std::optional<std::string> put(Json& spec, std::string_view key, const toml::node& value) {
  const Key* k = key_named(key);
  if (k->toml == "command") {
    if (value.is_string()) {
      spec["shell"] = to_json(value);
      if (spec["shell"] == "") return "command: empty";
    } else if (value.is_array()) {
      spec["argv"] = to_json(value);
      if (spec["argv"].empty()) return "command: empty";
    } else {
      return "command: expected a string (run by /bin/sh -c) or an array of strings";
    }
    return std::nullopt;
  }
  if (k->toml == "paused" && !value.is_boolean()) return "paused: expected true or false";
  if (k->duration && (value.is_integer() || value.is_floating_point()))
    return fmt::format("{}: {} is not a duration (try \"{}s\")", k->toml, to_json(value).dump(), to_json(value).dump());
  if (k->toml == "env" && !value.is_table())
    return "env: expected a table of strings, such as { PATH = \"/usr/bin:/bin\" }";
  spec[std::string(k->json)] = to_json(value);
  return std::nullopt;
}

// An env table's first value that is not a string, to point at, and its name.
std::pair<const toml::node*, std::string> bad_env_value(const toml::node& env) {
  if (const auto* t = env.as_table())
    for (const auto& [k, v] : *t)
      if (!v.is_string()) return {&v, std::string(k.str())};
  return {nullptr, {}};
}

// Where a key that is not allowed in a table belongs instead, if anywhere.
std::string misplaced(std::string_view key, bool Key::*where, const std::string& job) {
  const Key* k = key_named(key);
  if (!k) return {};
  if (where == &Key::in_task && k->in_job)
    return fmt::format("\"{}\" is a key of the job, not of a task (write it in [job.{}], before its tasks)", key, job);
  if (where == &Key::in_job && k->in_task)
    return fmt::format("\"{}\" is a key of tasks, not of a job (write it in [job.{}.tasks.TASK])", key, job);
  return {};
}

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  JobsFile read(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, path_);
    } catch (const toml::parse_error& e) {
      syntax_error(text, e);
    } catch (const TomlParserBug& e) {
      throw Failed{{Errc::invalid_argument, fmt::format("{}: not valid TOML ({})", path_, e.what())}};
    }
    JobsFile file{path_, {}};
    if (const auto* d = root.get("defaults")) read_defaults(*d);
    for (const auto& [key, key_at, node] : in_file_order(root)) {
      if (key == "defaults") continue;
      if (key != "job") {
        const bool close = key == "jobs" || key == "Job" || key == "default";
        fail(key_at, fmt::format("unknown table or key \"{}\" (expected [defaults] and [job.NAME] tables{})",
                                 key, close ? fmt::format("; did you mean \"{}\"?", key == "default" ? "defaults" : "job") : ""));
      }
      const auto* table = node->as_table();
      if (!table) fail(node->source(), "job: expected [job.NAME] tables");
      for (const auto& e : in_file_order(*table)) file.jobs.push_back(read_job(e.key, e.key_at, *e.node));
    }
    return file;
  }

 private:
  std::string place(const toml::source_region& at) const {
    return fmt::format("{}:{}:{}", path_, at.begin.line, at.begin.column);
  }
  // toml++'s words, but a string left open is said so, at its opening quote.
  [[noreturn]] void syntax_error(std::string_view text, const toml::parse_error& e) const {
    const std::string_view what = e.description();
    toml::source_region at = e.source();
    if (what.starts_with("Error while parsing string") &&
        (what.find("control characters") != std::string_view::npos || what.find("end-of-file") != std::string_view::npos)) {
      size_t line_start = 0;
      for (toml::source_index n = 1; n < at.begin.line && line_start != std::string_view::npos; ++n)
        line_start = text.find('\n', line_start) + 1;
      const std::string_view line = text.substr(line_start, text.find('\n', line_start) - line_start);
      const size_t equals = line.find('=');
      const size_t quote = line.find_first_of("\"'", equals == std::string_view::npos ? 0 : equals);
      if (quote != std::string_view::npos) {
        at.begin.column = static_cast<toml::source_index>(quote + 1);
        fail(at, "unterminated string (a \"...\" string ends on its line; \"\"\"...\"\"\" spans lines)");
      }
    }
    fail(at, std::string(what));
  }

  [[noreturn]] void fail(const toml::source_region& at, const std::string& message) const {
    throw Failed{{Errc::invalid_argument, fmt::format("{}: {}", place(at), message)}};
  }

  // A codec error about a spec built from `table` (and the file's defaults):
  // placed at the TOML value of its field, the field named by its TOML key.
  [[noreturn]] void fail_field(const toml::table& table, const std::string& context, std::string message) const {
    auto [field, rest] = split_field(message);
    const Key* k = key_for_field(field);
    const std::string key = k ? std::string(k->toml) : field;
    const toml::node* at = table.get(key);
    const bool inherited = !at && defaults_ && defaults_->get(key);
    if (inherited) at = defaults_->get(key);
    at = element_at(at, rest);
    fail(at ? at->source() : table.source(),
         fmt::format("{}: {}{}{}", context, key, rest, inherited ? " (from [defaults])" : ""));
  }

  // The element of an array of tables a field path such as "[1].on: ..." (after
  // the key) names, and its key, if there: where to point at.
  static const toml::node* element_at(const toml::node* at, const std::string& rest) {
    const auto* array = at ? at->as_array() : nullptr;
    if (!array || !rest.starts_with("[")) return at;
    const size_t close = rest.find(']');
    if (close == std::string::npos) return at;
    size_t index = 0;
    try {
      index = std::stoul(rest.substr(1, close - 1));
    } catch (const std::exception&) {
      return at;
    }
    if (index >= array->size()) return at;
    const toml::node* element = array->get(index);
    if (rest.compare(close + 1, 1, ".") != 0) return element;
    const std::string sub = rest.substr(close + 2, rest.find_first_of(":.[", close + 2) - close - 2);
    const auto* t = element->as_table();
    const toml::node* value = t ? t->get(sub) : nullptr;
    return value ? value : element;
  }

  void read_defaults(const toml::node& node) {
    defaults_ = node.as_table();
    if (!defaults_) fail(node.source(), "defaults: expected a table ([defaults])");
    for (const auto& [key, key_at, value] : in_file_order(*defaults_)) {
      const Key* k = key_named(key);
      if (!k || !k->in_defaults) {
        const bool job_only = k && k->in_job;
        fail(key_at, fmt::format("defaults: {}", job_only ? fmt::format("\"{}\" cannot have a default: give it in each job", key)
                                                           : unknown_key(key, &Key::in_defaults)));
      }
      if (auto problem = put(defaults_json_, key, *value)) fail(value->source(), "defaults: " + *problem);
      if (key == "env")
        if (auto [bad, var] = bad_env_value(*value); bad) fail(bad->source(), "defaults: env: " + var + ": expected a string");
      if (key == "tz")
        if (auto zone = time::find_zone(value->value_or(std::string())); !zone)
          fail(value->source(), "defaults: tz: " + zone.error().message);
    }
    if (auto checked = proto::spec_from_json(defaults_json_); !checked)
      fail_field(*defaults_, "defaults", checked.error().message);
  }

  FileJob read_job(const std::string& name, const toml::source_region& name_at, const toml::node& node) {
    const std::string context = fmt::format("job \"{}\"", name);
    if (!sched::valid_name(name))
      fail(name_at, fmt::format("{}: use letters, digits, '.', '_' and '-' in job names (at most 128, not "
                                "starting with '-' or '.')",
                                context));
    if (sched::looks_like_ref(name))
      fail(name_at, context + ": looks like a job or run id; choose another name");
    const auto* table = node.as_table();
    if (!table) fail(node.source(), fmt::format("{}: expected a table ([job.{}])", context, name));
    Json spec = Json::object();
    spec["name"] = name;
    const toml::node* command = nullptr;
    const toml::table* tasks = nullptr;
    const toml::node* schedule = nullptr;
    for (const auto& [key, key_at, value] : in_file_order(*table)) {
      const Key* k = key_named(key);
      if (!k || !k->in_job) {
        const std::string where_instead = misplaced(key, &Key::in_job, name);
        fail(key_at, fmt::format("{}: {}", context, where_instead.empty() ? unknown_key(key, &Key::in_job) : where_instead));
      }
      if (key == "env")
        if (auto [bad, var] = bad_env_value(*value); bad) fail(bad->source(), context + ": env: " + var + ": expected a string");
      if (key == "tasks") {
        tasks = value->as_table();
        if (!tasks) fail(value->source(), fmt::format("{}: tasks: expected [job.{}.tasks.TASK] tables", context, name));
        continue;
      }
      if (key == "schedule" || key == "every" || key == "at") {
        if (schedule) fail(value->source(), context + ": give at most one of schedule, at and every");
        schedule = value;
      }
      if (key == "command") command = value;
      if (auto problem = put(spec, key, *value)) fail(value->source(), context + ": " + *problem);
    }
    merge_defaults(spec, defaults_json_);
    if (auto checked = proto::spec_from_json(spec); !checked) fail_field(*table, context, checked.error().message);
    check_schedule(*table, context, name, spec);
    if (command && tasks && !tasks->empty())
      fail(command->source(), context + ": give either command or tasks, not both");
    if (!command && (!tasks || tasks->empty()))
      fail(table->source(), fmt::format("{}: no command: give command, or [job.{}.tasks.TASK] tables", context, name));
    if (spec.value("paused", false) && !schedule) {
      const toml::node* paused = table->get("paused");
      const toml::node* inherited = paused || !defaults_ ? nullptr : defaults_->get("paused");
      fail(paused ? paused->source() : inherited ? inherited->source() : table->source(),
           context + ": paused: a job without a schedule runs once, when applied; give it a schedule, at or every" +
               (inherited ? " (from [defaults])" : ""));
    }
    if (tasks) spec["tasks"] = read_tasks(name, *tasks);
    check_ranges(*table, tasks, context, spec);
    return {name, fmt::format("{}: {}", place(table->source()), context), std::move(spec)};
  }

  // What else jobd would refuse (a value out of range, a relative cwd...),
  // asked of a scheduler of our own and said here, at the value at fault.
  void check_ranges(const toml::table& table, const toml::table* tasks, const std::string& context,
                    const Json& spec) const {
    auto typed = proto::spec_from_json(spec);
    if (!typed) fail(table.source(), context + ": " + typed.error().message);
    auto problem = checker_.check(*typed, time::Instant{});
    if (!problem) return;
    std::string message = problem->message;
    // `task "load": retries: ...`: at the task's value.
    if (message.starts_with("task \"") && tasks) {
      const size_t end = message.find("\": ");
      const std::string task = message.substr(6, end - 6);
      if (const auto* t = end != std::string::npos ? tasks->get_as<toml::table>(task) : nullptr)
        fail_field(*t, fmt::format("{}: task \"{}\"", context, task), message.substr(end + 3));
    }
    fail_field(table, context, message);
  }

  // What jobd would refuse of the schedule, said here where the value is.
  void check_schedule(const toml::table& table, const std::string& context, const std::string& name,
                      const Json& spec) const {
    const auto at = [&](const char* key) {
      const toml::node* n = table.get(key);
      if (!n && defaults_) n = defaults_->get(key);
      return n ? n->source() : table.source();
    };
    if (spec.contains("cron"))
      if (auto schedule = cron::parse_cron(spec["cron"].get<std::string>(), name); !schedule)
        fail(at("schedule"), fmt::format("{}: schedule: {}", context, schedule.error().message));
    if (spec.contains("tz") && !spec.contains("cron"))
      fail(at("tz"), context + ": tz: applies to cron schedules only (a schedule = \"...\" job)");
    if (spec.contains("tz"))
      if (auto zone = time::find_zone(spec["tz"].get<std::string>()); !zone)
        fail(at("tz"), fmt::format("{}: tz: {}", context, zone.error().message));
  }

  Json read_tasks(const std::string& job_name, const toml::table& tasks) const {
    const std::string job_context = fmt::format("job \"{}\"", job_name);
    Json out = Json::array();
    std::vector<sched::TaskDecl> decls;
    std::vector<const toml::table*> tables;
    for (const auto& [name, name_at, node] : in_file_order(tasks)) {
      const std::string context = fmt::format("{}: task \"{}\"", job_context, name);
      if (!sched::valid_name(name))
        fail(name_at, fmt::format("{}: use letters, digits, '.', '_' and '-' in task names (at most 128, not "
                                  "starting with '-' or '.')",
                                  context));
      const auto* table = node->as_table();
      if (!table) fail(node->source(), fmt::format("{}: expected a table ([job.{}.tasks.{}])", context, job_name, name));
      Json task = Json::object();
      task["name"] = name;
      bool has_command = false;
      for (const auto& [key, key_at, value] : in_file_order(*table)) {
        const Key* k = key_named(key);
        if (!k || !k->in_task) {
          const std::string where_instead = misplaced(key, &Key::in_task, job_name);
          fail(key_at, fmt::format("{}: {}", context, where_instead.empty() ? unknown_key(key, &Key::in_task) : where_instead));
        }
        if (key == "env")
          if (auto [bad, var] = bad_env_value(*value); bad) fail(bad->source(), context + ": env: " + var + ": expected a string");
        has_command |= key == "command";
        if (auto problem = put(task, key, *value)) fail(value->source(), context + ": " + *problem);
      }
      if (!has_command) fail(table->source(), context + ": no command");
      auto checked = proto::spec_from_json(Json{{"tasks", Json::array({task})}});
      if (!checked) {
        std::string message = checked.error().message;  // "tasks[0].trigger: ..."
        const std::string prefix = "tasks[0]";
        if (message.starts_with(prefix + "."))
          message.erase(0, prefix.size() + 1);
        else if (message.starts_with(prefix + ": "))
          message.erase(0, prefix.size() + 2);
        fail_field(*table, context, message);
      }
      auto& decl = decls.emplace_back();
      decl.name = name;
      decl.after = checked->tasks[0].after;
      decl.trigger = checked->tasks[0].trigger;
      tables.push_back(table);
      out.push_back(std::move(task));
    }
    // Upstream tasks must exist: say where the unknown one is named.
    for (size_t i = 0; i < decls.size(); ++i) {
      const auto* after = tables[i]->get_as<toml::array>("after");
      for (size_t k = 0; after && k < after->size(); ++k) {
        const std::string& up = decls[i].after[k];
        const bool known = std::any_of(decls.begin(), decls.end(), [&](const auto& d) { return d.name == up; });
        if (!known || up == decls[i].name)
          fail((*after)[k].source(), fmt::format("{}: task \"{}\": after: {}", job_context, decls[i].name,
                                                 known ? "a task cannot run after itself"
                                                       : fmt::format("no task \"{}\"", up)));
      }
    }
    if (auto graph = sched::build_graph(decls); !graph)
      fail(tasks.source(), fmt::format("{}: {}", job_context, graph.error().message));
    return out;
  }

  std::string path_;
  const toml::table* defaults_ = nullptr;
  sched::Scheduler checker_{sched::Config{}};
  Json defaults_json_ = Json::object();
};

}  // namespace

void merge_defaults(Json& spec, const Json& defaults) {
  for (const auto& [field, value] : defaults.items()) {
    // A zone means nothing to a job without a cron schedule, and a job
    // without any schedule runs once, when created: it cannot start paused.
    if (field == "tz" && !spec.contains("cron")) continue;
    if (field == "paused" && !spec.contains("cron") && !spec.contains("at") && !spec.contains("every")) continue;
    if (field == "env" && spec.contains("env")) {
      for (const auto& [var, text] : value.items())
        if (!spec["env"].contains(var)) spec["env"][var] = text;
      continue;
    }
    if (!spec.contains(field)) spec[field] = value;
  }
}

Result<Json> defaults_from_keys(const Json& keys) {
  if (!keys.is_object()) return Error{Errc::invalid_argument, "defaults: expected a table"};
  Json out = Json::object();
  for (const auto& [key, value] : keys.items()) {
    const Key* k = key_named(key);
    if (!k || !k->in_defaults)
      return Error{Errc::invalid_argument, fmt::format("defaults: {}", unknown_key(key, &Key::in_defaults))};
    out[std::string(k->json)] = value;
  }
  if (auto checked = proto::spec_from_json(out); !checked) {
    auto [field, rest] = split_field(checked.error().message);
    const Key* k = key_for_field(field);
    return Error{Errc::invalid_argument, fmt::format("defaults: {}{}", k ? k->toml : field, rest)};
  }
  if (out.contains("tz"))
    if (auto zone = time::find_zone(out["tz"].get<std::string>()); !zone)
      return Error{Errc::invalid_argument, "defaults: tz: " + zone.error().message};
  return out;
}

Result<JobsFile> read_jobs(std::string_view text, const std::string& path) {
  try {
    return Reader(path).read(text);
  } catch (const Failed& f) {
    return f.error;
  }
}

Result<JobsFile> read_jobs_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{Errc::invalid_argument, fmt::format("cannot read {}: {}", path, std::strerror(errno))};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{Errc::invalid_argument, fmt::format("cannot read {}: {}", path, std::strerror(errno))};
  return read_jobs(text.str(), path);
}

}  // namespace job::jobfile
