// Job files: TOML with one [job.NAME] table per job and one
// [job.NAME.tasks.TASK] table per task. Each table becomes the JSON spec that
// `submit` sends, checked here by the codec jobd uses, so that an error can
// name the file, line and column of the value at fault.
#include "job_file.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "command.hpp"
#include "sched/dag.hpp"
#include "sched/model.hpp"

namespace jobctl {
namespace {

using job::proto::Json;

// TOML keys and the spec fields they fill; "command" and "tasks" apart.
const std::map<std::string_view, std::string_view> kJobKeys = {
    {"schedule", "cron"},
    {"every", "every"},
    {"at", "at"},
    {"tz", "tz"},
    {"priority", "priority"},
    {"timeout", "timeout"},
    {"retries", "retries"},
    {"backoff", "backoff"},
    {"max_backoff", "max_backoff"},
    {"jitter", "jitter"},
    {"concurrency", "concurrency"},
    {"catchup", "catchup"},
    {"starting_deadline", "starting_deadline"},
    {"keep_runs", "keep_runs"},
    {"env", "env"},
    {"cwd", "cwd"},
};
const std::map<std::string_view, std::string_view> kTaskKeys = {
    {"after", "after"},     {"trigger", "trigger"}, {"priority", "priority"},       {"timeout", "timeout"},
    {"retries", "retries"}, {"backoff", "backoff"}, {"max_backoff", "max_backoff"}, {"jitter", "jitter"},
    {"env", "env"},         {"cwd", "cwd"},
};

bool before(const toml::node& a, const toml::node& b) {
  const auto& x = a.source().begin;
  const auto& y = b.source().begin;
  return std::pair(x.line, x.column) < std::pair(y.line, y.column);
}

// A table's entries in the order they appear in the file (toml++ sorts them by key).
struct Entry {
  std::string key;
  toml::source_region key_at;  // where the key is written, for "unknown key"
  const toml::node* node;
};
std::vector<Entry> in_file_order(const toml::table& t) {
  std::vector<Entry> out;
  for (const auto& [k, v] : t) out.push_back({std::string(k.str()), k.source(), &v});
  std::stable_sort(out.begin(), out.end(),
                   [](const Entry& a, const Entry& b) { return before(*a.node, *b.node); });
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

class FileReader {
 public:
  explicit FileReader(std::string path) : path_(std::move(path)) {}

  std::vector<FileJob> read() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) fail_plain(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) fail_plain(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
    toml::table root;
    try {
      root = toml::parse(text.str(), path_);
    } catch (const toml::parse_error& e) {
      fail(e.source(), std::string(e.description()));
    }
    std::vector<FileJob> jobs;
    for (const auto& [key, key_at, node] : in_file_order(root)) {
      if (key != "job") fail(key_at, fmt::format("unknown key \"{}\" (jobs are [job.NAME] tables)", key));
      const auto* table = node->as_table();
      if (!table) fail(node->source(), "job: expected [job.NAME] tables");
      for (const auto& e : in_file_order(*table)) jobs.push_back(read_job(e.key, *e.node));
    }
    if (jobs.empty()) fail_plain(fmt::format("{}: no jobs (define [job.NAME] tables)", path_));
    return jobs;
  }

 private:
  [[noreturn]] static void fail_plain(std::string message) {
    throw Failure{{job::Errc::invalid_argument, std::move(message)}};
  }
  std::string place(const toml::source_region& at) const {
    return fmt::format("{}:{}:{}", path_, at.begin.line, at.begin.column);
  }
  [[noreturn]] void fail(const toml::source_region& at, const std::string& message) const {
    fail_plain(fmt::format("{}: {}", place(at), message));
  }

  // A codec error "field...: what" about `json`, made from `table`: placed at
  // the TOML value of that field (else at the table), the field renamed back
  // to its TOML key.
  [[noreturn]] void fail_field(const toml::table& table,
                               const std::map<std::string_view, std::string_view>& keys,
                               const std::string& context, std::string message) const {
    const size_t end = std::min(message.find_first_of(":.["), message.size());
    const std::string field = message.substr(0, end);
    std::string key = field == "argv" || field == "shell" ? "command" : field;
    for (const auto& [toml_key, json_key] : keys)
      if (json_key == field) key = toml_key;
    const toml::node* at = table.get(key);
    if (at) message = key + message.substr(end);
    fail(at ? at->source() : table.source(), context + ": " + message);
  }

  // "command": a string for /bin/sh -c, or an array of strings.
  void read_command(const toml::node& command, const std::string& context, Json& spec) const {
    if (command.is_string()) {
      spec["shell"] = to_json(command);
      if (spec["shell"] == "") fail(command.source(), context + ": command: empty");
    } else if (command.is_array()) {
      spec["argv"] = to_json(command);
      if (spec["argv"].empty()) fail(command.source(), context + ": command: empty");
    } else {
      fail(command.source(), context + ": command: expected a string or an array of strings");
    }
  }

  FileJob read_job(const std::string& name, const toml::node& node) {
    const std::string context = fmt::format("job \"{}\"", name);
    const auto* table = node.as_table();
    if (!table) fail(node.source(), context + ": expected a table ([job." + name + "])");
    Json spec = Json::object();
    spec["name"] = name;
    const toml::node* command = nullptr;
    const toml::table* tasks = nullptr;
    const toml::node* schedule = nullptr;
    for (const auto& [key, key_at, value] : in_file_order(*table)) {
      if (key == "command") {
        command = value;
        read_command(*value, context, spec);
      } else if (key == "tasks") {
        tasks = value->as_table();
        if (!tasks) fail(value->source(), context + ": tasks: expected [job." + name + ".tasks.TASK] tables");
      } else if (auto k = kJobKeys.find(key); k != kJobKeys.end()) {
        if (key == "schedule" || key == "every" || key == "at") {
          if (schedule) fail(value->source(), context + ": give at most one of schedule, at and every");
          schedule = value;
        }
        spec[std::string(k->second)] = to_json(*value);
      } else {
        fail(key_at, fmt::format("{}: unknown key \"{}\"", context, key));
      }
    }
    if (auto checked = job::proto::spec_from_json(spec); !checked)
      fail_field(*table, kJobKeys, context, checked.error().message);
    if (command && tasks && !tasks->empty())
      fail(command->source(), context + ": give either command or tasks, not both");
    if (!command && (!tasks || tasks->empty()))
      fail(table->source(),
           fmt::format("{}: no command: give command, or [job.{}.tasks.TASK] tables", context, name));
    if (tasks) spec["tasks"] = read_tasks(name, *tasks);
    return {fmt::format("{}: {}", place(table->source()), context), std::move(spec)};
  }

  Json read_tasks(const std::string& job_name, const toml::table& tasks) const {
    const std::string job_context = fmt::format("job \"{}\"", job_name);
    Json out = Json::array();
    std::vector<job::sched::TaskDecl> decls;
    std::vector<const toml::table*> tables;
    for (const auto& [name, name_at, node] : in_file_order(tasks)) {
      const std::string context = fmt::format("{}: task \"{}\"", job_context, name);
      const auto* table = node->as_table();
      if (!table)
        fail(node->source(), context + ": expected a table ([job." + job_name + ".tasks." + name + "])");
      Json task = Json::object();
      task["name"] = name;
      const toml::node* command = nullptr;
      for (const auto& [key, key_at, value] : in_file_order(*table)) {
        if (key == "command") {
          command = value;
          read_command(*value, context, task);
        } else if (auto k = kTaskKeys.find(key); k != kTaskKeys.end()) {
          task[std::string(k->second)] = to_json(*value);
        } else {
          fail(key_at, fmt::format("{}: unknown key \"{}\"", context, key));
        }
      }
      if (!command) fail(table->source(), context + ": no command");
      auto checked = job::proto::spec_from_json(Json{{"tasks", Json::array({task})}});
      if (!checked) {
        std::string message = checked.error().message;  // "tasks[0].trigger: ..."
        const std::string prefix = "tasks[0]";
        if (message.starts_with(prefix + "."))
          message.erase(0, prefix.size() + 1);
        else if (message.starts_with(prefix + ": "))
          message.erase(0, prefix.size() + 2);
        fail_field(*table, kTaskKeys, context, message);
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
        const bool known =
            std::any_of(decls.begin(), decls.end(), [&](const auto& d) { return d.name == up; });
        if (!known || up == decls[i].name)
          fail((*after)[k].source(),
               fmt::format("{}: task \"{}\": after: {}", job_context, decls[i].name,
                           known ? "a task cannot run after itself" : fmt::format("no task \"{}\"", up)));
      }
    }
    if (auto graph = job::sched::build_graph(decls); !graph)
      fail(tasks.source(), fmt::format("{}: {}", job_context, graph.error().message));
    return out;
  }

  std::string path_;
};

}  // namespace

std::vector<FileJob> read_job_file(const std::string& path) { return FileReader(path).read(); }

}  // namespace jobctl
