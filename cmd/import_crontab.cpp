// jobctl import-crontab: prints a crontab as jobs.toml for `jobctl apply`,
// without a daemon. Warnings go to stderr; exit 2 if a line could not be parsed.
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "command.hpp"
#include "jobfile/crontab.hpp"

namespace jobctl {
namespace {

struct ImportOptions {
  std::string file = "-";
  bool system = false;
};

std::string read_all(std::FILE* in, const std::string& name) {
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, in)) > 0) text.append(buffer, n);
  if (std::ferror(in))
    throw Failure{
        {job::Errc::invalid_argument, fmt::format("cannot read {}: {}", name, std::strerror(errno))}};
  return text;
}

std::string read_crontab(const std::string& file) {
  if (file == "-") return read_all(stdin, "standard input");
  std::FILE* in = std::fopen(file.c_str(), "rb");
  if (!in)
    throw Failure{
        {job::Errc::invalid_argument, fmt::format("cannot read {}: {}", file, std::strerror(errno))}};
  try {
    std::string text = read_all(in, file);
    std::fclose(in);
    return text;
  } catch (...) {
    std::fclose(in);
    throw;
  }
}

void run_import(const ImportOptions& o) {
  const std::string text = read_crontab(o.file);
  const auto result = job::jobfile::import_crontab(text, o.file == "-" ? "stdin" : o.file, o.system);
  fmt::print("{}", result.toml);
  std::fflush(stdout);
  for (const auto& w : result.warnings) fmt::print(stderr, "jobctl: {}\n", w);
  for (const auto& e : result.errors) fmt::print(stderr, "jobctl: {}\n", e);
  if (!result.errors.empty()) throw Exit{kExitInvalid};
}

}  // namespace

void add_import_crontab(CLI::App& app) {
  auto* cmd = app.add_subcommand("import-crontab", "print a crontab as jobs.toml (no daemon needed)");
  auto opts = std::make_shared<ImportOptions>();
  cmd->add_option("file", opts->file, "crontab to read; - or none: standard input");
  cmd->add_flag("--system", opts->system,
                "system crontab format (/etc/crontab, /etc/cron.d): a user column before the command");
  cmd->callback([opts] { run_import(*opts); });
}

}  // namespace jobctl
