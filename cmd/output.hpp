// Printing for humans (aligned tables) and for scripts (one JSON document).
#pragma once

#include <string>
#include <vector>

#include "proto/codec.hpp"

namespace jobctl {

void print_json(const job::proto::Json& j);
// Rows as lines, columns padded to their widest cell; the last column is not padded.
std::vector<std::string> align(const std::vector<std::vector<std::string>>& rows);
// Columns padded to their widest cell; the last column is not padded.
void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);
// A JSON value as a table cell: "-" for null, strings unquoted.
std::string cell(const job::proto::Json& v);
// A word as a POSIX shell reads it back: as is when safe, else 'single-quoted'.
std::string shell_quote(const std::string& word);
// An RFC 3339 instant without its fraction of a second, for tables.
std::string short_time(const job::proto::Json& v);
// How long ago an instant (an RFC 3339 string) was, in whole seconds, as
// "1h2m3s"; "-" for null, or a time to come ("0s").
std::string age(const job::proto::Json& instant);
// A line cut to `columns` characters (code points, not bytes: names may be UTF-8).
std::string fit(const std::string& line, size_t columns);
// A reply as --json prints it: its fields without "id" and "ok".
void print_reply(job::proto::Json reply);
// "j3 (backup) paused": a job's id, name and state, as pause, resume and delete print it.
void print_job_state(const job::proto::Json& job);

}  // namespace jobctl
