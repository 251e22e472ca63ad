// A crontab turned into jobs.toml text, for `jobctl import-crontab`. Pure: the
// caller reads the crontab and prints the result.
//
// What a cron user expects carries over: each job line becomes a [job.NAME]
// table in the crontab's order, named after its program and unique in the
// file; NAME=value lines become the `env` of the job lines after them (once
// in [defaults] when every job has the same); CRON_TZ and TZ become `tz`;
// @daily and the other macros stay as lib/cron reads them. What has no
// equivalent yet (MAILTO, @reboot, stdin after '%', a system crontab's user)
// is reported as a warning. A line that cannot be parsed (too few fields, a
// schedule lib/cron rejects) is an error and is kept as a TOML comment.
//
// Guarantees: `toml` is always valid TOML, whatever bytes the crontab holds;
// every schedule in it parses with job::cron::parse_cron; every job name
// satisfies job::sched::valid_name; the same crontab gives the same text.
// Warnings and errors read "SOURCE:LINE: message".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace job::jobfile {

struct CrontabImport {
  std::string toml;
  std::vector<std::string> warnings;
  std::vector<std::string> errors;  // lines that could not be parsed at all
};

// system_format: /etc/crontab and /etc/cron.d lines, with a user column
// between the schedule and the command.
CrontabImport import_crontab(std::string_view text, std::string_view source_name, bool system_format);

}  // namespace job::jobfile
