#include "jobfile/write.hpp"

#include <fmt/format.h>

#include "jobfile/toml.hpp"
#include <sstream>

#include "jobfile/keys.hpp"
#include "sched/model.hpp"

namespace job::jobfile {
namespace {

using proto::Json;

void to_toml(const Json& j, toml::array& out);
std::unique_ptr<toml::node> node_of(const Json& j) {
  if (j.is_string()) return std::make_unique<toml::value<std::string>>(j.get<std::string>());
  if (j.is_boolean()) return std::make_unique<toml::value<bool>>(j.get<bool>());
  if (j.is_number_integer()) return std::make_unique<toml::value<int64_t>>(j.get<int64_t>());
  if (j.is_number()) return std::make_unique<toml::value<double>>(j.get<double>());
  if (j.is_array()) {
    auto a = std::make_unique<toml::array>();
    to_toml(j, *a);
    return a;
  }
  auto t = std::make_unique<toml::table>();
  t->is_inline(true);
  for (const auto& [k, v] : j.items()) t->insert(k, std::move(*node_of(v)));
  return t;
}
void to_toml(const Json& j, toml::array& out) {
  for (const auto& e : j) out.push_back(std::move(*node_of(e)));
}

std::string toml_text(const Json& j) {
  // Floats in their shortest exact form (0.15, not 0.14999999999999999).
  if (j.is_number_float()) {
    std::string text = fmt::format("{}", j.get<double>());
    if (text.find_first_of(".eni") == std::string::npos) text += ".0";
    return text;
  }
  // Only basic "..." strings, escaped: a multi-line or literal string
  // cannot hold every text (a leading newline is dropped, ''' ends one).
  std::ostringstream out;
  auto node = node_of(j);
  out << toml::toml_formatter{*node, toml::format_flags::allow_unicode_strings};
  return out.str();
}

// A key as TOML needs it: bare if it can be, else quoted ("a.b" has a dot).
std::string key_text(const std::string& key) {
  const bool bare = !key.empty() && key.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                          "0123456789_-") == std::string::npos;
  return bare ? key : toml_text(Json(key));
}

// The key = value lines of one job or task table.
void write_fields(std::ostringstream& out, const Json& spec, const Json& defaults, bool Key::*where) {
  for (const Key& k : keys()) {
    if (!(k.*where) || k.toml == "tasks" || k.toml == "name") continue;
    const Json* value = nullptr;
    if (k.toml == "command") {
      value = spec.contains("argv") ? &spec["argv"] : spec.contains("shell") ? &spec["shell"] : nullptr;
    } else if (spec.contains(k.json)) {
      value = &spec[std::string(k.json)];
    }
    if (!value || value->is_null()) continue;
    if (defaults.contains(k.json) && defaults[std::string(k.json)] == *value) continue;
    if ((k.toml == "after" || k.toml == "env") && value->empty()) continue;
    if (k.toml == "trigger" && *value == "all_success") continue;
    out << k.toml << " = " << toml_text(*value) << '\n';
  }
}

}  // namespace

Json builtin_defaults() {
  Json out = proto::spec_to_json(sched::JobSpec{});
  out.erase("name");
  out["paused"] = false;
  return out;
}

std::string write_jobs(const std::vector<Json>& specs, const Json& defaults) {
  std::ostringstream out;
  bool first = true;
  for (const Json& spec : specs) {
    const std::string name = key_text(spec.value("name", std::string()));
    out << (first ? "" : "\n") << "[job." << name << "]\n";
    first = false;
    write_fields(out, spec, defaults, &Key::in_job);
    if (!spec.contains("tasks")) continue;
    for (const Json& task : spec["tasks"]) {
      out << "\n[job." << name << ".tasks." << key_text(task.value("name", std::string())) << "]\n";
      write_fields(out, task, Json::object(), &Key::in_task);
    }
  }
  return out.str();
}

}  // namespace job::jobfile
