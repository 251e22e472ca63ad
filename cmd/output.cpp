#include "output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "time/duration.hpp"
#include "time/rfc3339.hpp"

namespace jobctl {

void print_json(const job::proto::Json& j) {
  fmt::print("{}\n", j.dump(-1, ' ', false, job::proto::Json::error_handler_t::replace));
}

std::vector<std::string> align(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::vector<std::string> lines;
  for (const auto& cells : rows) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    lines.push_back(std::move(out));
  }
  return lines;
}

void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::vector<std::string>> all{headers};
  all.insert(all.end(), rows.begin(), rows.end());
  for (const auto& line : align(all)) fmt::print("{}\n", line);
}

std::string cell(const job::proto::Json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string shell_quote(const std::string& word) {
  const bool safe = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("@%+=:,./-_").find(c) != std::string_view::npos;
  });
  if (safe) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string short_time(const job::proto::Json& v) {
  if (!v.is_string()) return "-";
  std::string s = v.get<std::string>();
  const size_t dot = s.find('.', 19);
  if (dot != std::string::npos) {
    size_t end = dot + 1;
    while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) ++end;
    s.erase(dot, end - dot);
  }
  return s;
}

std::string age(const job::proto::Json& instant) {
  if (!instant.is_string()) return "-";
  const auto t = job::time::parse_rfc3339(instant.get<std::string>());
  if (!t) return "-";
  const auto now = std::chrono::system_clock::now();
  const auto d = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch() - t->time_since_epoch());
  return job::time::format_duration(std::max(d, decltype(d)::zero()));
}

std::string fit(const std::string& line, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) == 0x80) continue;  // inside a code point
    if (seen++ == columns) return line.substr(0, i);
  }
  return line;
}

void print_reply(job::proto::Json reply) {
  reply.erase("id");
  reply.erase("ok");
  print_json(reply);
}

void print_job_state(const job::proto::Json& job) {
  fmt::print("{} ({}) {}\n", cell(job["id"]), cell(job["name"]), cell(job["state"]));
}

}  // namespace jobctl
