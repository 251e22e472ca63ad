#include "jobfile/keys.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace job::jobfile {
namespace {

//  toml, json field, in a job, in a task, in [defaults], a duration
constexpr std::array<Key, 30> kKeys = {{
    {"schedule", "cron", true, false, false},
    {"at", "at", true, false, false},
    {"every", "every", true, false, false, true},
    {"tz", "tz", true, false, true},
    {"command", "command", true, true, false},
    {"after", "after", false, true, false},
    {"trigger", "trigger", false, true, false},
    {"env", "env", true, true, true},
    {"cwd", "cwd", true, true, true},
    {"priority", "priority", true, true, true},
    {"timeout", "timeout", true, true, true, true},
    {"retries", "retries", true, true, true},
    {"backoff", "backoff", true, true, true, true},
    {"max_backoff", "max_backoff", true, true, true, true},
    {"jitter", "jitter", true, true, true},
    {"concurrency", "concurrency", true, false, true},
    {"catchup", "catchup", true, false, true},
    {"starting_deadline", "starting_deadline", true, false, true, true},
    {"keep_runs", "keep_runs", true, false, true},
    {"paused", "paused", true, false, true},
    {"notify", "notify", true, false, true},
    {"constraints", "constraints", true, false, true},
    {"node", "node", true, false, true},
    {"user", "user", true, false, true},
    {"limits", "limits", true, false, true},
    {"sandbox", "sandbox", true, false, true},
    {"network", "network", true, false, true},
    {"paths_rw", "paths_rw", true, false, true},
    {"tasks", "tasks", true, false, false},
    {"name", "name", false, false, false},  // implied by the table's name
}};

}  // namespace

std::span<const Key> keys() { return kKeys; }

const Key* key_named(std::string_view toml) {
  for (const Key& k : kKeys)
    if (k.toml == toml) return &k;
  return nullptr;
}

const Key* key_for_field(std::string_view json) {
  if (json == "argv" || json == "shell") json = "command";
  for (const Key& k : kKeys)
    if (k.json == json) return &k;
  return nullptr;
}

std::optional<std::string_view> closest_word(std::string_view word, std::span<const std::string_view> candidates) {
  // Optimal string alignment distance, row by row.
  const auto distance = [&](std::string_view a, std::string_view b) {
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (size_t i = 1; i <= a.size(); ++i)
      for (size_t j = 1; j <= b.size(); ++j) {
        d[i][j] =
            std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    return d[a.size()][b.size()];
  };
  std::optional<std::string_view> best;
  size_t best_distance = 3;
  for (std::string_view c : candidates)
    if (const size_t n = distance(word, c); n < best_distance) {
      best = c;
      best_distance = n;
    }
  return best;
}

std::string unknown_key(std::string_view word, bool Key::*where) {
  // Not a typo of "node": the name is the table's.
  if (word == "name") return "unknown key \"name\" (a job or task is named by its table: [job.NAME])";
  std::vector<std::string_view> allowed;
  for (const Key& k : kKeys)
    if (k.*where) allowed.push_back(k.toml);
  const auto best = closest_word(word, allowed);
  if (!best) return fmt::format("unknown key \"{}\"", word);
  return fmt::format("unknown key \"{}\" (did you mean \"{}\"?)", word, *best);
}

}  // namespace job::jobfile
