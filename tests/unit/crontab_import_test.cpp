// import_crontab: what a cron user expects to carry over, read back with
// toml++ as `jobctl apply` would read it, and what is reported instead.
#include <doctest/doctest.h>

#include "jobfile/toml.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cron/parse.hpp"
#include "jobfile/crontab.hpp"
#include "sched/model.hpp"

using job::jobfile::import_crontab;

namespace {

struct Imported {
  job::jobfile::CrontabImport result;
  toml::table doc;
};

// The file's jobs.toml invariants, whatever the crontab: the keys jobs.toml
// knows, schedules lib/cron parses, names valid_name accepts, string values.
void check_invariants(const toml::table& doc) {
  for (const auto& [key, node] : doc) {
    CHECK_MESSAGE((key == "job" || key == "defaults"), key.str());
    CHECK(node.is_table());
  }
  if (const auto* defaults = doc["defaults"].as_table()) {
    for (const auto& [key, node] : *defaults) CHECK_MESSAGE(key == "env", key.str());
  }
  const auto* jobs = doc["job"].as_table();
  if (!jobs) return;
  for (const auto& [name, node] : *jobs) {
    CHECK_MESSAGE(job::sched::valid_name(name.str()), name.str());
    const auto* job = node.as_table();
    REQUIRE(job);
    for (const auto& [key, value] : *job) {
      CHECK_MESSAGE((key == "schedule" || key == "tz" || key == "command" || key == "env"), key.str());
      if (key == "env") {
        REQUIRE(value.is_table());
        for (const auto& [var, v] : *value.as_table()) CHECK_MESSAGE(v.is_string(), var.str());
      } else {
        CHECK_MESSAGE(value.is_string(), key.str());
      }
    }
    const auto schedule = (*job)["schedule"].value<std::string>();
    REQUIRE_MESSAGE(schedule, name.str());
    const auto parsed = job::cron::parse_cron(*schedule, name.str());
    CHECK_MESSAGE(parsed.ok(), *schedule);
    CHECK((*job)["command"].is_string());
  }
}

Imported import(std::string_view crontab, bool system_format = false) {
  Imported i{import_crontab(crontab, "crontab", system_format), {}};
  try {
    i.doc = toml::parse(i.result.toml);
  } catch (const toml::parse_error& e) {
    FAIL_CHECK("invalid TOML: " << e.description() << " at line " << e.source().begin.line << "\n"
                                << i.result.toml);
  }
  check_invariants(i.doc);
  return i;
}

std::string value(const Imported& i, std::string_view job, std::string_view key) {
  return i.doc["job"][job][key].value_or(std::string("<none>"));
}

// A variable of a job's environment: its own, else the file's [defaults].
std::string env_of(const Imported& i, std::string_view job, std::string_view var) {
  if (const auto own = i.doc["job"][job]["env"][var].value<std::string>()) return *own;
  return i.doc["defaults"]["env"][var].value_or(std::string("<none>"));
}

bool has(const Imported& i, std::string_view job, std::string_view key) {
  return static_cast<bool>(i.doc["job"][job][key]);
}

// The jobs, in the order of the file.
std::vector<std::string> job_names(const Imported& i) {
  std::vector<std::pair<uint32_t, std::string>> at;
  if (const auto* jobs = i.doc["job"].as_table())
    for (const auto& [name, node] : *jobs) at.emplace_back(node.source().begin.line, std::string(name.str()));
  std::sort(at.begin(), at.end());
  std::vector<std::string> names;
  for (auto& [line, name] : at) names.push_back(std::move(name));
  return names;
}

// The name a lone job running this command gets.
std::string name_for(std::string_view command) {
  const auto i = import("0 3 * * * " + std::string(command) + "\n");
  const auto names = job_names(i);
  REQUIRE_MESSAGE(names.size() == 1, command);
  return names[0];
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("a job line becomes [job.NAME] with its schedule and command, under a header naming the source") {
  const auto i = import("30 2 * * * tar czf /backup/home.tgz /home\n");
  CHECK(i.result.warnings.empty());
  CHECK(i.result.errors.empty());
  CHECK(job_names(i) == Lines{"tar"});
  CHECK(value(i, "tar", "schedule") == "30 2 * * *");
  CHECK(value(i, "tar", "command") == "tar czf /backup/home.tgz /home");
  CHECK_FALSE(has(i, "tar", "tz"));
  CHECK_FALSE(has(i, "tar", "env"));
  CHECK(i.result.toml.starts_with("# Imported from crontab by `jobctl import-crontab`.\n"));
  CHECK(i.result.toml ==
        "# Imported from crontab by `jobctl import-crontab`.\n"
        "\n"
        "[job.tar]\n"
        "schedule = \"30 2 * * *\"\n"
        "command = \"tar czf /backup/home.tgz /home\"\n");
}

TEST_CASE("fields are split at any blanks; names and lists are kept as lib/cron reads them") {
  const auto i =
      import("*/15\t9-17  *  *  mon-fri   /usr/bin/check   --quiet  \n0 0 1,15 jan,jul sun report\n");
  CHECK(i.result.errors.empty());
  CHECK(value(i, "check", "schedule") == "*/15 9-17 * * mon-fri");
  CHECK(value(i, "check", "command") == "/usr/bin/check   --quiet");
  CHECK(value(i, "report", "schedule") == "0 0 1,15 jan,jul sun");
}

TEST_CASE("an empty crontab gives the header alone") {
  const auto i = import("");
  CHECK(i.result.toml == "# Imported from crontab by `jobctl import-crontab`.\n");
  CHECK(job_names(i).empty());
}

TEST_CASE("cron's macros stay as they are, which lib/cron reads") {
  const auto i =
      import("@yearly a\n@annually b\n@monthly c\n@weekly d\n@daily e\n@midnight f\n@hourly g\n@DAILY h\n");
  CHECK(i.result.errors.empty());
  CHECK(i.result.warnings.empty());
  CHECK(value(i, "a", "schedule") == "@yearly");
  CHECK(value(i, "b", "schedule") == "@annually");
  CHECK(value(i, "c", "schedule") == "@monthly");
  CHECK(value(i, "d", "schedule") == "@weekly");
  CHECK(value(i, "e", "schedule") == "@daily");
  CHECK(value(i, "f", "schedule") == "@midnight");
  CHECK(value(i, "g", "schedule") == "@hourly");
  CHECK(value(i, "h", "schedule") == "@daily");
  CHECK(value(i, "e", "command") == "e");
}

TEST_CASE("@reboot has no equivalent: a warning, and the line kept as a comment") {
  const auto i = import("@reboot /usr/local/bin/warm-cache --all\n@daily backup\n");
  CHECK(i.result.errors.empty());
  CHECK(i.result.warnings ==
        Lines{"crontab:1: @reboot has no equivalent: cron runs it at boot, jobd's @reboot each time jobd "
              "starts; the line is kept as a comment"});
  CHECK(job_names(i) == Lines{"backup"});
  CHECK(i.result.toml.find("\n# line 1 not imported: @reboot has no equivalent (cron runs it at boot, jobd's "
                           "@reboot each time jobd starts)\n# @reboot /usr/local/bin/warm-cache --all\n") !=
        std::string::npos);
}

TEST_CASE("an unknown macro is an error; @every is not cron's") {
  const auto i = import("@fortnightly x\n@every 5m y\n@daily ok\n");
  CHECK(i.result.errors ==
        Lines{"crontab:1: unknown macro \"@fortnightly\" (cron has @reboot, @yearly, @annually, @monthly, "
              "@weekly, @daily, @midnight and @hourly)",
              "crontab:2: unknown macro \"@every\" (cron has @reboot, @yearly, @annually, @monthly, "
              "@weekly, @daily, @midnight and @hourly)"});
  CHECK(job_names(i) == Lines{"ok"});
  CHECK(i.result.toml.find("# @fortnightly x\n") != std::string::npos);
}

TEST_CASE("an invalid schedule is an error naming the line and lib/cron's message; the rest is imported") {
  const auto i = import(
      "# nightly\n"
      "0 1 * * * first\n"
      "\n"
      "61 * * * * /usr/bin/bad --flag\n"
      "0 0 30 2 * never\n"
      "0 2 * * * second\n");
  CHECK(i.result.errors ==
        Lines{"crontab:4: invalid cron expression \"61 * * * *\": minute: 61 is out of range 0-59",
              "crontab:5: invalid cron expression \"0 0 30 2 *\": never fires (no allowed month has a day "
              "that matches)"});
  CHECK(job_names(i) == Lines{"first", "second"});
  CHECK(i.result.toml.find("# line 4 not imported: invalid cron expression \"61 * * * *\": minute: 61 is "
                           "out of range 0-59\n# 61 * * * * /usr/bin/bad --flag\n") != std::string::npos);
  // Comments stay in the crontab's order: line 4's comment comes between the two jobs.
  const auto bad = i.result.toml.find("# 61 * * * *");
  CHECK(i.result.toml.find("[job.first]") < bad);
  CHECK(bad < i.result.toml.find("[job.second]"));
}

TEST_CASE("a line with too few fields is an error") {
  SUBCASE("user format") {
    const auto i = import("0 3 * *\n0 3 * * *\n@daily\n");
    CHECK(i.result.errors ==
          Lines{"crontab:1: too few fields: expected minute, hour, day-of-month, month, day-of-week, then a "
                "command",
                "crontab:2: too few fields: expected minute, hour, day-of-month, month, day-of-week, then a "
                "command",
                "crontab:3: too few fields: @daily needs a command after it"});
    CHECK(job_names(i).empty());
  }
  SUBCASE("system format needs the user too") {
    const auto i = import("0 3 * * * root\n@hourly root\n0 3 * * * root run\n", true);
    CHECK(i.result.errors ==
          Lines{"crontab:1: too few fields: expected minute, hour, day-of-month, month, day-of-week, then a "
                "user and a command",
                "crontab:2: too few fields: @hourly needs a user and a command after it"});
    CHECK(job_names(i) == Lines{"run"});
  }
}

TEST_CASE("comments and blank lines are skipped; the comments directly above a job are carried") {
  const auto i = import(
      "# Edit this file to introduce tasks\n"
      "\n"
      "   # Back up home, nightly\n"
      "# (takes an hour)\n"
      "30 2 * * * backup\n"
      "# about the env\n"
      "PATH=/bin\n"
      "0 5 * * * other\n");
  CHECK(i.result.toml.find("Edit this file") == std::string::npos);
  CHECK(i.result.toml.find("\n# Back up home, nightly\n# (takes an hour)\n[job.backup]\n") !=
        std::string::npos);
  CHECK(i.result.toml.find("about the env") == std::string::npos);
  CHECK(job_names(i) == Lines{"backup", "other"});
}

TEST_CASE("environment lines apply to the job lines after them, as in cron") {
  const auto i = import(
      "0 1 * * * before\n"
      "PATH=/usr/local/bin:/usr/bin:/bin\n"
      "HOME=/srv\n"
      "0 2 * * * middle\n"
      "PATH=/opt/bin\n"
      "LANG=C\n"
      "0 3 * * * after\n");
  CHECK(i.result.warnings.empty());
  CHECK_FALSE(i.doc["defaults"]);
  CHECK_FALSE(has(i, "before", "env"));
  CHECK(env_of(i, "middle", "PATH") == "/usr/local/bin:/usr/bin:/bin");
  CHECK(env_of(i, "middle", "HOME") == "/srv");
  CHECK_FALSE(i.doc["job"]["middle"]["env"]["LANG"]);
  CHECK(env_of(i, "after", "PATH") == "/opt/bin");
  CHECK(env_of(i, "after", "HOME") == "/srv");
  CHECK(env_of(i, "after", "LANG") == "C");
  CHECK(i.doc["job"]["after"]["env"].as_table()->size() == 3);
  // Variables keep the order they were first set in.
  CHECK(i.result.toml.find("env = { PATH = \"/opt/bin\", HOME = \"/srv\", LANG = \"C\" }") !=
        std::string::npos);
}

TEST_CASE("an environment every job shares is written once, in [defaults]") {
  const auto i = import("PATH=/usr/bin:/bin\nHOME=/root\n0 1 * * * a\n0 2 * * * b\n");
  CHECK(i.doc["defaults"]["env"]["PATH"].value_or(std::string()) == "/usr/bin:/bin");
  CHECK(i.doc["defaults"]["env"]["HOME"].value_or(std::string()) == "/root");
  CHECK_FALSE(has(i, "a", "env"));
  CHECK_FALSE(has(i, "b", "env"));
  // One job without it, and each job has its own.
  const auto j = import("PATH=/usr/bin:/bin\n0 1 * * * a\nPATH=\n0 2 * * * b\n");
  CHECK_FALSE(j.doc["defaults"]);
  CHECK(env_of(j, "a", "PATH") == "/usr/bin:/bin");
  CHECK(env_of(j, "b", "PATH") == "");
}

TEST_CASE("NAME = \"value\" and NAME='value' lose their quotes and the blanks around '='") {
  const auto i = import(
      "GREETING = \"hello world\"\n"
      "QUOTE='say \"hi\"'\n"
      "RAW=  spaced value  \n"
      "HALF=\"unclosed\n"
      "0 1 * * * a\n");
  CHECK(i.result.errors.empty());
  CHECK(env_of(i, "a", "GREETING") == "hello world");
  CHECK(env_of(i, "a", "QUOTE") == "say \"hi\"");
  CHECK(env_of(i, "a", "RAW") == "spaced value");
  CHECK(env_of(i, "a", "HALF") == "\"unclosed");
}

TEST_CASE("MAILTO and MAILFROM have no equivalent yet: warnings, ignored") {
  const auto i = import("MAILTO=ops@example.com\nMAILFROM=cron@example.com\nMAILTO=\"\"\n0 1 * * * a\n");
  CHECK(i.result.warnings ==
        Lines{"crontab:1: MAILTO has no equivalent yet (notifications arrive later); ignored",
              "crontab:2: MAILFROM has no equivalent yet (notifications arrive later); ignored",
              "crontab:3: MAILTO has no equivalent yet (notifications arrive later); ignored"});
  CHECK(i.result.errors.empty());
  CHECK_FALSE(has(i, "a", "env"));
  CHECK_FALSE(i.doc["defaults"]);
}

TEST_CASE("SHELL: /bin/sh is what jobd runs; another shell is a warning; neither is passed on") {
  const auto i = import("SHELL=/bin/sh\n0 1 * * * a\nSHELL=/bin/bash\n0 2 * * * b\n");
  CHECK(i.result.warnings ==
        Lines{"crontab:3: SHELL=/bin/bash: jobd runs string commands with /bin/sh; commands are kept as "
              "written, so check those that need another shell"});
  CHECK_FALSE(has(i, "a", "env"));
  CHECK_FALSE(has(i, "b", "env"));
  CHECK(value(i, "b", "command") == "b");
}

TEST_CASE("CRON_TZ and TZ become the tz of the jobs after them") {
  const auto i = import(
      "0 1 * * * local\n"
      "CRON_TZ=Europe/Paris\n"
      "0 2 * * * paris\n"
      "TZ=America/New_York\n"
      "0 3 * * * still-paris\n"
      "CRON_TZ=\n"
      "0 4 * * * new-york\n"
      "TZ=:Etc/GMT+5\n"
      "0 5 * * * gmt\n");
  CHECK(i.result.errors.empty());
  CHECK(i.result.warnings.empty());
  CHECK_FALSE(has(i, "local", "tz"));
  CHECK(value(i, "paris", "tz") == "Europe/Paris");
  CHECK(value(i, "still-paris", "tz") == "Europe/Paris");  // CRON_TZ wins over TZ
  CHECK(value(i, "new-york", "tz") == "America/New_York");
  CHECK(value(i, "gmt", "tz") == "Etc/GMT+5");
  // TZ is also in the environment of cron's jobs; CRON_TZ is not.
  CHECK_FALSE(has(i, "paris", "env"));
  CHECK(env_of(i, "still-paris", "TZ") == "America/New_York");
  CHECK(env_of(i, "gmt", "TZ") == ":Etc/GMT+5");
}

TEST_CASE("a CRON_TZ naming no zone is an error at its line, not later at `jobctl apply`") {
  const auto i = import(
      "CRON_TZ=Europe/Paris\n"
      "CRON_TZ=Europe/Pariss\n"
      "0 1 * * * a\n");
  CHECK(i.result.errors ==
        Lines{"crontab:2: CRON_TZ: unknown time zone \"Europe/Pariss\" (see /usr/share/zoneinfo); ignored"});
  CHECK(value(i, "a", "tz") == "Europe/Paris");
}

TEST_CASE("a CRON_TZ that is not a zone name is an error and is ignored") {
  const auto i = import(
      "CRON_TZ=UTC\n"
      "CRON_TZ=Europe Paris\n"
      "CRON_TZ=../../etc/passwd\n"
      "TZ=EST5EDT,M3.2.0,M11.1.0\n"
      "0 1 * * * a\n");
  CHECK(
      i.result.errors ==
      Lines{"crontab:2: CRON_TZ: \"Europe Paris\" is not a time zone name (expected an IANA name such as "
            "\"Europe/Paris\" or \"UTC\"); ignored",
            "crontab:3: CRON_TZ: \"../../etc/passwd\" is not a time zone name (expected an IANA name such as "
            "\"Europe/Paris\" or \"UTC\"); ignored",
            "crontab:4: TZ: \"EST5EDT,M3.2.0,M11.1.0\" is not a time zone name (expected an IANA name such "
            "as \"Europe/Paris\" or \"UTC\"); ignored"});
  CHECK(value(i, "a", "tz") == "UTC");
  CHECK_FALSE(has(i, "a", "env"));
}

TEST_CASE("'%' ends the command (cron's stdin, which jobd has not): a warning; \\% is a plain %") {
  const auto i = import(
      "0 1 * * * date +\\%Y-\\%m-\\%d > /tmp/today\n"
      "0 2 * * * mail -s report root %Dear root,%all is well%\n"
      "0 3 * * * printf 'a\\\\b' \\\\%rest\n"
      "0 4 * * * %only stdin\n");
  CHECK(value(i, "date", "command") == "date +%Y-%m-%d > /tmp/today");
  CHECK(value(i, "mail", "command") == "mail -s report root");
  // A backslash escapes the next character only when that is '%'; "\\%" is "\\" then a cut.
  CHECK(value(i, "printf", "command") == "printf 'a\\\\b' \\\\");
  CHECK(i.result.warnings ==
        Lines{"crontab:2: '%' in the command: cron sends the text after it to the command's stdin, and jobd "
              "gives commands no stdin; the command is kept up to the '%'",
              "crontab:3: '%' in the command: cron sends the text after it to the command's stdin, and jobd "
              "gives commands no stdin; the command is kept up to the '%'"});
  CHECK(i.result.errors == Lines{"crontab:4: the command is empty before its first '%'"});
}

TEST_CASE("any command text survives the trip through TOML") {
  const std::vector<std::string> commands = {
      "echo \"double\" quotes",
      "echo 'single' quotes",
      "echo \"both\" 'kinds'",
      "grep -E '^a\\.b$' /var/log/x",
      "echo \"it's\" \\ back\\slash",
      "printf 'tab\there'",
      std::string("bell\a and escape\x1b[0m and del\x7f"),
      "echo caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "echo ''' \"\"\" triple",
  };
  std::string crontab;
  for (const auto& c : commands) crontab += "0 3 * * * " + c + "\n";
  const auto i = import(crontab);
  CHECK(i.result.errors.empty());
  const auto names = job_names(i);
  REQUIRE(names.size() == commands.size());
  for (size_t k = 0; k < commands.size(); ++k) CHECK(value(i, names[k], "command") == commands[k]);
  // Plain text stays a plain string; a backslash or quote picks a literal string when it can.
  CHECK(i.result.toml.find("command = \"echo 'single' quotes\"\n") != std::string::npos);
  CHECK(i.result.toml.find("command = 'grep -E '") == std::string::npos);
  CHECK(i.result.toml.find("command = 'echo \"double\" quotes'\n") != std::string::npos);
  CHECK(i.result.toml.find("command = \"echo \\\"both\\\" 'kinds'\"\n") != std::string::npos);
  CHECK(i.result.toml.find("command = \"printf 'tab\\there'\"\n") != std::string::npos);
}

TEST_CASE("environment values and names with odd text are escaped too") {
  const auto i = import("MSG=\"a \\\"quoted\\\" \\\\ value\"\nEMPTY=\nQ='it''s'\n0 1 * * * a\n0 2 * * * b\n");
  CHECK(i.doc["defaults"]["env"]["MSG"].value_or(std::string()) == "a \\\"quoted\\\" \\\\ value");
  CHECK(i.doc["defaults"]["env"]["EMPTY"].value_or(std::string("<none>")) == "");
  CHECK(i.doc["defaults"]["env"]["Q"].value_or(std::string()) == "it''s");
}

TEST_CASE("a line that is not UTF-8 is an error, and the TOML stays valid") {
  const auto i = import(
      "# caf\xe9 comment\n"
      "0 1 * * * echo caf\xe9\n"
      "LANG=caf\xe9\n"
      "0 2 * * * echo \xed\xa0\x80 surrogate\n"
      "0 3 * * * ok\n",
      false);
  CHECK(i.result.errors == Lines{"crontab:2: not valid UTF-8 text, which TOML cannot hold",
                                 "crontab:3: not valid UTF-8 text, which TOML cannot hold",
                                 "crontab:4: not valid UTF-8 text, which TOML cannot hold"});
  CHECK(job_names(i) == Lines{"ok"});
  CHECK_FALSE(has(i, "ok", "env"));
  CHECK(i.result.toml.find("# 0 1 * * * echo caf\xef\xbf\xbd\n") != std::string::npos);
}

TEST_CASE("job names come from the program, past what only wraps it") {
  CHECK(name_for("/usr/local/bin/backup.sh --full") == "backup.sh");
  CHECK(name_for("FOO=1 BAR='x y' /opt/app/run") == "run");
  CHECK(name_for("cd /var/www && php artisan schedule:run") == "php");
  CHECK(name_for("cd /srv; ./rotate") == "rotate");
  CHECK(name_for("/usr/bin/env -i PATH=/bin python3 /srv/job.py") == "python3");
  CHECK(name_for("env -u HOME node x.js") == "node");
  CHECK(name_for("nice -n 10 ionice -c3 flock -n /tmp/l /usr/bin/rsync -a / /mnt") == "rsync");
  CHECK(name_for("nice -19 ionice -c 2 -n 7 pg_dump db") == "pg_dump");
  CHECK(name_for("flock -w 30 /run/lock/x -c 'cd /tmp && /usr/bin/vacuumdb --all'") == "vacuumdb");
  CHECK(name_for("flock /run/lock/x /usr/sbin/logrotate /etc/logrotate.conf") == "logrotate");
  CHECK(name_for("test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )") ==
        "run-parts");
  CHECK(name_for("[ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean") == "sessionclean");
  CHECK(name_for("nohup /opt/bin/sync-all >/dev/null 2>&1") == "sync-all");
  CHECK(name_for("'/opt/my app/run me' now") == "run-me");
  CHECK(name_for("$HOME/bin/report.py") == "report.py");
  CHECK(name_for("${SCRIPT}") == "SCRIPT");
  CHECK(name_for("./.hidden-tool") == "hidden-tool");
  CHECK(name_for("/opt/--weird--") == "weird");
  CHECK(name_for("caf\xc3\xa9-t\xc3\xa2"
                 "che") == "caf-t-che");
  CHECK(name_for("...") == "job");
  CHECK(name_for("cd /tmp &&") == "job");
  CHECK(name_for("FOO=bar") == "job");
  CHECK(name_for(std::string(300, 'x')) == std::string(120, 'x'));
  // A name that reads as an id is no job's name (found by tests/fuzz/crontab_fuzz).
  CHECK(name_for("/usr/local/bin/r1 --now") == "r1-job");
  CHECK(name_for("j42") == "j42-job");
  CHECK(name_for("r1x") == "r1x");
}

TEST_CASE("job names are unique in the file: -2, -3, ... in the crontab's order") {
  const auto i = import(
      "0 1 * * * backup home\n"
      "0 2 * * * backup-2 already\n"
      "0 3 * * * backup etc\n"
      "0 4 * * * /usr/bin/backup var\n"
      "0 5 * * * ...\n"
      "0 6 * * * ...\n");
  CHECK(job_names(i) == Lines{"backup", "backup-2", "backup-3", "backup-4", "job", "job-2"});
  CHECK(value(i, "backup-3", "command") == "backup etc");
  CHECK(value(i, "backup-4", "command") == "/usr/bin/backup var");
  // A name with '.' is a quoted key, so that it does not nest.
  const auto j = import("0 1 * * * /srv/backup.sh\n");
  CHECK(j.result.toml.find("[job.\"backup.sh\"]\n") != std::string::npos);
  CHECK(value(j, "backup.sh", "command") == "/srv/backup.sh");
}

TEST_CASE("the same crontab always gives the same text") {
  const std::string crontab =
      "PATH=/bin\nCRON_TZ=UTC\n0 1 * * * a x\n0 2 * * * a y\nMAILTO=me\n@daily b %in\n@reboot c\n";
  const auto first = import_crontab(crontab, "crontab", false);
  const auto second = import_crontab(crontab, "crontab", false);
  CHECK(first.toml == second.toml);
  CHECK(first.warnings == second.warnings);
  CHECK(first.errors == second.errors);
}

TEST_CASE("system crontabs: a user column; the user is a comment, with one warning per user") {
  const auto i = import(
      "SHELL=/bin/sh\n"
      "PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n"
      "17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n"
      "25 6\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n"
      "@weekly www-data /usr/bin/php /var/www/cron.php\n"
      "@reboot root /usr/local/bin/on-boot\n",
      true);
  CHECK(i.result.errors.empty());
  CHECK(i.result.warnings ==
        Lines{"crontab:3: user \"root\": jobs run as jobd's user until run-as arrives (a later issue); the "
              "user is kept as a comment",
              "crontab:5: user \"www-data\": jobs run as jobd's user until run-as arrives (a later issue); "
              "the user is kept as a comment",
              "crontab:6: @reboot has no equivalent: cron runs it at boot, jobd's @reboot each time jobd "
              "starts; the line is kept as a comment"});
  CHECK(job_names(i) == Lines{"run-parts", "run-parts-2", "php"});
  CHECK(value(i, "run-parts", "schedule") == "17 * * * *");
  CHECK(value(i, "run-parts", "command") == "cd / && run-parts --report /etc/cron.hourly");
  CHECK(value(i, "php", "schedule") == "@weekly");
  CHECK(value(i, "php", "command") == "/usr/bin/php /var/www/cron.php");
  CHECK(i.doc["defaults"]["env"]["PATH"].value_or(std::string()) ==
        "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin");
  CHECK(i.result.toml.find("\n# user: root\n[job.run-parts]\n") != std::string::npos);
  CHECK(i.result.toml.find("\n# user: www-data\n[job.php]\n") != std::string::npos);
  // Read as a user crontab, "root" would be the program.
  const auto u = import("17 * * * * root cd / && run-parts\n");
  CHECK(job_names(u) == Lines{"root"});
}

TEST_CASE("CRLF line endings and a last line without a newline") {
  const auto i = import("PATH=/bin\r\n# first\r\n0 1 * * * a\r\n0 2 * * * b");
  CHECK(i.result.errors.empty());
  CHECK(env_of(i, "a", "PATH") == "/bin");
  CHECK(value(i, "a", "command") == "a");
  CHECK(value(i, "b", "command") == "b");
  CHECK(i.result.toml.find("# first\n[job.a]") != std::string::npos);
}

TEST_CASE("a source name with odd bytes still gives a valid header") {
  const auto r = import_crontab("0 1 * * * a\n", "evil\nname\xff.txt", false);
  const auto doc = toml::parse(r.toml);
  CHECK(doc["job"]["a"]["command"].value_or(std::string()) == "a");
  CHECK(r.toml.starts_with("# Imported from evil name\xef\xbf\xbd.txt by"));
}

TEST_CASE("whatever the bytes, the output is valid TOML with parseable schedules and valid names") {
  const std::vector<std::string> pieces = {
      "0", "*",    "*/5", "61",   "1-5",  "mon",     "@daily", "@reboot",  "@every",   " ",  "\t",
      " ", " ",    "=",   "PATH", "TZ",   "CRON_TZ", "MAILTO", "SHELL",    "\"",       "'",  "\\",
      "%", "\\%",  "#",   "cd",   "&&",   "env",     "flock",  "-c",       "/",        ".",  "-",
      "x", "root", "\r",  "\x01", "\x7f", "\xff",    "\xc3",   "\xc3\xa9", "\xe2\x82", "\0", "${A}",
      "[", "]",    "{",   "}",    ";",    "|",       "L",      "W",        "H",        "?",  "#2"};
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  size_t jobs = 0;
  for (int round = 0; round < 400; ++round) {
    std::string crontab;
    const uint64_t lines = 1 + next() % 12;
    for (uint64_t l = 0; l < lines; ++l) {
      // Half the lines start as a job line would, so that most reach the schedule checks.
      if (next() % 2) crontab += "0 3 * * * ";
      const uint64_t words = next() % 14;
      for (uint64_t w = 0; w < words; ++w) crontab += pieces[next() % pieces.size()];
      crontab += "\n";
    }
    const bool system = next() % 2;
    const auto r = import_crontab(crontab, "fuzz", system);
    toml::table doc;
    try {
      doc = toml::parse(r.toml);
    } catch (const toml::parse_error& e) {
      FAIL("invalid TOML: " << e.description() << "\n" << r.toml);
    }
    check_invariants(doc);
    if (const auto* t = doc["job"].as_table()) jobs += t->size();
  }
  CHECK(jobs > 400);  // most rounds reach the schedule checks and name derivation
}
