#include "jobs_dir.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "jobfile/read.hpp"
#include "log.hpp"
#include "server.hpp"

namespace jobd {

namespace {
constexpr uint64_t kSettleMs = 100;
}

bool is_job_file(std::string_view name) {
  return name.size() > 5 && name.ends_with(".toml") && name[0] != '.';
}

void Server::start_jobs_dir() {
  std::error_code ec;
  std::string path = options_.jobs_dir.empty() ? std::string()
                                               : std::filesystem::weakly_canonical(options_.jobs_dir, ec).string();
  if (!path.empty() && !std::filesystem::is_directory(path, ec)) {
    log(Level::info, "jobd: jobs_dir {} does not exist: not watched (create it and send SIGHUP)", options_.jobs_dir);
    path.clear();
  }
  if (path != jobs_dir_.path && jobs_dir_.watching) {
    uv_fs_event_stop(&jobs_dir_.watch);
    jobs_dir_.watching = false;
  }
  if (!jobs_dir_.open) {
    uv_fs_event_init(loop_, &jobs_dir_.watch);
    uv_timer_init(loop_, &jobs_dir_.settle);
    jobs_dir_.watch.data = this;
    jobs_dir_.settle.data = this;
    jobs_dir_.open = true;
  }
  jobs_dir_.path = path;
  if (path.empty() || jobs_dir_.watching) return;
  const int rc = uv_fs_event_start(
      &jobs_dir_.watch,
      [](uv_fs_event_t* h, const char*, int, int) {
        // Whatever changed, the directory is read again once things settle.
        auto* self = static_cast<Server*>(h->data);
        uv_timer_start(
            &self->jobs_dir_.settle, [](uv_timer_t* t) { static_cast<Server*>(t->data)->scan_jobs_dir(); }, kSettleMs,
            0);
      },
      path.c_str(), 0);
  if (rc != 0) {
    log(Level::error, "jobd: cannot watch jobs_dir {}: {}", path, uv_strerror(rc));
    return;
  }
  jobs_dir_.watching = true;
  log(Level::info, "jobd: watching {} for job files", path);
}

void Server::rescan_jobs_dir() {
  if (stopping_) return;
  start_jobs_dir();
  jobs_dir_.applied.clear();  // read every file again, changed or not
  jobs_dir_.errors.clear();
  scan_jobs_dir();
}

void Server::close_jobs_dir() {
  if (!jobs_dir_.open) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&jobs_dir_.watch), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&jobs_dir_.settle), nullptr);
  jobs_dir_.open = jobs_dir_.watching = false;
}

void Server::scan_jobs_dir() {
  if (stopping_) return;
  // The files there now, and the files jobs came from: a file gone takes its jobs along.
  std::map<std::string, std::string> texts;
  std::map<std::string, std::string> unreadable;  // file -> why
  if (!jobs_dir_.path.empty()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(jobs_dir_.path, ec)) {
      const std::string name = entry.path().filename().string();
      if (!is_job_file(name) || !entry.is_regular_file(ec)) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::ostringstream text;
      if (in) text << in.rdbuf();
      if (!in || in.bad()) {
        // Not readable (permissions, I/O): a broken file, not a removed one; its jobs stay.
        unreadable.emplace(entry.path().string(), std::strerror(errno ? errno : EIO));
        continue;
      }
      texts.emplace(entry.path().string(), text.str());
    }
    if (ec) log(Level::error, "jobd: cannot read jobs_dir {}: {}", jobs_dir_.path, ec.message());
  }
  std::set<std::string> gone;
  const std::string prefix = jobs_dir_.path.empty() ? std::string("\n") : jobs_dir_.path + "/";
  sched_.for_each_job([&](const job::sched::Job& j) {
    if (j.state != job::sched::JobState::deleted && j.source.starts_with(prefix) &&
        j.source.find('/', prefix.size()) == std::string::npos && !texts.contains(j.source) &&
        !unreadable.contains(j.source))
      gone.insert(j.source);
  });
  for (const auto& [file, text] : jobs_dir_.applied)
    if (!texts.contains(file) && !unreadable.contains(file)) gone.insert(file);
  for (const auto& [file, why] : unreadable) {
    jobs_dir_.applied.erase(file);  // read again once it can be
    jobs_file_error(file, fmt::format("{}: cannot read it: {}", file, why));
  }
  for (const std::string& file : gone) {
    jobs_dir_.applied.erase(file);
    jobs_dir_.errors.erase(file);
    apply_jobs_file(ApplyFile{file, {}});
  }
  for (const auto& [file, text] : texts) {
    auto known = jobs_dir_.applied.find(file);
    if (known != jobs_dir_.applied.end() && known->second == text) continue;
    jobs_dir_.applied[file] = text;
    auto parsed = job::jobfile::read_jobs(text, file);
    if (!parsed) {
      jobs_file_error(file, parsed.error().message);
      continue;
    }
    ApplyFile apply{file, {}};
    for (auto& j : parsed->jobs) apply.jobs.emplace_back(std::move(j.where), std::move(j.spec));
    apply_jobs_file(std::move(apply));
  }
}

void Server::jobs_file_error(const std::string& file, const std::string& message) {
  jobs_dir_.errors[file] = message;
  log(Level::error, "jobd: jobs_dir: a file was not applied, its jobs stay as they were: {}", message);
}

void Server::apply_jobs_file(ApplyFile file) {
  auto plan = plan_apply({file}, true, jobs_dir_identity());
  if (!plan) return jobs_file_error(file.path, plan.error().message);
  jobs_dir_.errors.erase(file.path);
  if (plan->changes.empty()) return;
  carry_out(*plan, "jobs_dir");
}

proto::Json Server::jobs_dir_json() const {
  proto::Json errors = proto::Json::array();
  for (const auto& [file, message] : jobs_dir_.errors) errors.push_back({{"file", file}, {"error", message}});
  return {{"path", jobs_dir_.path.empty() ? proto::Json(nullptr) : proto::Json(jobs_dir_.path)},
          {"watching", jobs_dir_.watching},
          {"errors", std::move(errors)}};
}

}  // namespace jobd
