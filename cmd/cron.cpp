// jobctl cron next|explain: the cron engine on the command line, without a
// daemon. `next` prints when an expression fires; `explain` says it in English.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "cron/describe.hpp"
#include "cron/next.hpp"
#include "cron/parse.hpp"
#include "time/rfc3339.hpp"
#include "time/zone.hpp"

namespace jobctl {
namespace {

struct CronOptions {
  std::vector<std::string> words;  // the expression, possibly split by the shell
  std::string from, tz, seed;
  int count = 1;
};

std::string expression(const CronOptions& o) {
  std::string e;
  for (const auto& w : o.words) e += (e.empty() ? "" : " ") + w;
  return e;
}

void run_next(const CronOptions& o) {
  const std::string expr = expression(o);
  const auto schedule = must(job::cron::parse_cron(expr, o.seed));
  if (schedule.kind == job::cron::Schedule::Kind::reboot)
    throw Failure{{job::Errc::invalid_cron,
                   fmt::format("invalid cron expression \"{}\": @reboot fires when jobd starts, "
                               "so it has no next fire time",
                               expr)}};
  if (o.count < 1)
    throw Failure{{job::Errc::invalid_argument, fmt::format("--count: {} is not at least 1", o.count)}};
  const auto zone = must(o.tz.empty() ? job::time::local_zone() : job::time::find_zone(o.tz));
  const auto from = o.from.empty()
                        ? std::chrono::time_point_cast<job::time::Duration>(std::chrono::system_clock::now())
                        : must(job::time::parse_rfc3339(o.from));

  std::vector<std::string> fires;
  auto t = from;
  for (int i = 0; i < o.count; ++i) {
    const auto next = job::cron::next_fire_after(schedule, t, zone, from);
    if (!next) break;  // no fire before the year 10000
    fires.push_back(job::time::format_rfc3339(*next, zone));
    t = *next;
  }
  if (globals().json) {
    nlohmann::ordered_json out = {{"expression", expr},
                                  {"zone", zone.name()},
                                  {"from", job::time::format_rfc3339(from, zone)},
                                  {"fires", fires}};
    fmt::print("{}\n", out.dump());
  } else {
    for (const auto& f : fires) fmt::print("{}\n", f);
  }
}

void run_explain(const CronOptions& o) {
  const std::string expr = expression(o);
  const auto schedule = must(job::cron::parse_cron(expr, o.seed));
  const std::string text = job::cron::describe(schedule);
  if (globals().json)
    fmt::print("{}\n", nlohmann::ordered_json{{"expression", expr}, {"description", text}}.dump());
  else
    fmt::print("{}\n", text);
}

void add_expression(CLI::App* cmd, CronOptions& o) {
  cmd->add_option("expression", o.words,
                  "cron expression, e.g. '0 3 * * 1-5' (quote it, or the shell expands '*')")
      ->required();
  cmd->add_option("--seed", o.seed, "job name that H hashes to pick its values");
}

}  // namespace

void add_cron(CLI::App& app) {
  auto* cron = app.add_subcommand("cron", "work with cron expressions (no daemon needed)");
  cron->require_subcommand(1);
  auto opts = std::make_shared<CronOptions>();

  auto* next = cron->add_subcommand("next", "print the next fire times of an expression");
  add_expression(next, *opts);
  next->add_option("--from", opts->from, "RFC 3339 instant to count from (default: now)");
  next->add_option("--count,-n", opts->count, "how many fire times to print (default 1)");
  next->add_option("--tz", opts->tz, "IANA time zone (default: $TZ, else /etc/localtime)");
  next->callback([opts] { run_next(*opts); });

  auto* explain = cron->add_subcommand("explain", "describe an expression in plain English");
  add_expression(explain, *opts);
  explain->callback([opts] { run_explain(*opts); });
}

}  // namespace jobctl
