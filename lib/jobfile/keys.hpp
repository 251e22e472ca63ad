// The keys of jobs.toml (jobs.toml(5)), in one place: the TOML key, the field
// of the JSON spec it fills (proto/codec), and the tables it may appear in.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace job::jobfile {

struct Key {
  std::string_view toml;
  std::string_view json;  // "command" is special: the spec's "argv" or "shell"
  bool in_job, in_task, in_defaults;
  bool duration = false;  // a string such as "90s"
};

// In the order `jobctl export` writes them.
std::span<const Key> keys();

// The key of a TOML name, or of a spec's JSON field; null if none.
const Key* key_named(std::string_view toml);
const Key* key_for_field(std::string_view json);

// The candidate nearest `word`, if one is within two edits (an insertion, a
// deletion, a substitution, or a swap of neighbours), for "did you mean".
std::optional<std::string_view> closest_word(std::string_view word, std::span<const std::string_view> candidates);

// `unknown key "comand" (did you mean "command"?)`: the closest of the keys
// allowed there, if one is within two edits.
std::string unknown_key(std::string_view word, bool Key::*where);

}  // namespace job::jobfile
