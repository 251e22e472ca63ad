// jobctl apply FILE... [--dry-run] [--prune]: make jobd's jobs what the files
// declare (jobs.toml(5)). The files are read and checked here, so that an
// error names its file, line and column; jobd then checks the whole set
// against its jobs and changes all of it or nothing.
//
// jobctl export [JOB...]: jobs back as a jobs.toml file that apply accepts.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <functional>

#include "client.hpp"
#include "command.hpp"
#include "jobfile/read.hpp"
#include "jobfile/write.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace jobctl {
namespace {

using job::proto::Json;

struct ApplyOptions {
  std::vector<std::string> files;
  bool dry_run = false;
  bool prune = false;
};

// A file's path as jobd records it as the source of its jobs: absolute and
// without symlinks, so that every way of naming one file names one source.
std::string source_path(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? std::filesystem::absolute(path).lexically_normal().string() : p.string();
}

// Reading many files may take a while: after half a second, a terminal
// shows how far it got (at most ten times a second).
Json read_files(const std::vector<std::string>& paths, Progress& progress) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  auto shown = started;
  Json files = Json::array();
  for (const auto& path : paths) {
    if (const auto now = Clock::now(); progress.enabled() && now - started > std::chrono::milliseconds(500) &&
                                       now - shown > std::chrono::milliseconds(100)) {
      progress.show(fmt::format("reading job files: {}/{} {}", files.size() + 1, paths.size(), path));
      shown = now;
    }
    auto file = must(job::jobfile::read_jobs_file(path));
    Json jobs = Json::array();
    for (auto& j : file.jobs) jobs.push_back({{"where", j.where}, {"spec", std::move(j.spec)}});
    files.push_back({{"path", source_path(path)}, {"jobs", std::move(jobs)}});
  }
  return files;
}

// "+ create backup (/etc/jobd/jobs.d/nightly.toml)", one line per change.
void print_plan(const Json& reply, bool dry_run) {
  size_t created = 0, updated = 0, deleted = 0;
  for (const auto& c : reply["changes"]) {
    const auto action = c["action"].get<std::string>();
    const auto name = c["job"].get<std::string>();
    if (action == "create") {
      ++created;
      fmt::print("+ create {} ({})\n", name, c["source"].get<std::string>());
    } else if (action == "update") {
      ++updated;
      fmt::print("~ update {}: {}\n", name, fmt::join(c["fields"].get<std::vector<std::string>>(), ", "));
    } else {
      ++deleted;
      fmt::print("- delete {} (no longer in {})\n", name, c["source"].get<std::string>());
    }
  }
  const size_t unchanged = reply.value("unchanged", size_t{0});
  if (created + updated + deleted == 0)
    fmt::print("no changes ({} job{} unchanged)\n", unchanged, unchanged == 1 ? "" : "s");
  else
    fmt::print("{}{} created, {} updated, {} deleted, {} unchanged\n", dry_run ? "dry run, nothing changed: " : "",
               created, updated, deleted, unchanged);
}

}  // namespace

void add_apply(CLI::App& app) {
  auto o = std::make_shared<ApplyOptions>();
  auto* cmd = app.add_subcommand("apply", "create, update (and with --prune delete) jobs to match job files");
  cmd->add_option("files", o->files, "jobs.toml files (see jobs.toml(5))")->required();
  cmd->add_flag("--dry-run,-n", o->dry_run, "print what would change, change nothing");
  cmd->add_flag("--prune", o->prune, "delete jobs that came from these files but are no longer in them");
  cmd->callback([o] {
    Progress progress;
    Json files = read_files(o->files, progress);
    const size_t count = files.size();
    size_t jobs = 0;
    for (const auto& f : files) jobs += f["jobs"].size();
    const auto started = std::chrono::steady_clock::now();
    const auto applying = [&] {  // from the first second on
      const auto waited =
          std::chrono::floor<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      progress.show(fmt::format("applying {} job{} from {} file{} ({}s)", jobs, jobs == 1 ? "" : "s", count,
                                count == 1 ? "" : "s", waited.count()));
    };
    progress.clear();
    Client client = connect();
    const auto reply = must(client.call(
        {{"op", "apply"}, {"files", std::move(files)}, {"prune", o->prune}, {"dry_run", o->dry_run}},
        std::nullopt, progress.enabled() ? std::function<void()>(applying) : std::function<void()>()));
    progress.clear();
    if (globals().json) return print_reply(reply);
    print_plan(reply, o->dry_run);
  });
}

void add_export(CLI::App& app) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("export", "print jobs as a jobs.toml file that apply accepts");
  cmd->add_option("jobs", *refs, "job ids or names (default: every active or paused job)");
  cmd->callback([refs] {
    Client client = connect();
    Json request = {{"op", "export"}};
    if (!refs->empty()) request["jobs"] = *refs;
    const auto reply = must(client.call(std::move(request)));
    if (globals().json) return print_reply(reply);
    fmt::print("{}", job::jobfile::write_jobs(reply["jobs"].get<std::vector<Json>>(), reply["defaults"]));
  });
}

}  // namespace jobctl
