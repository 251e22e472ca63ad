// Jobs, runs and specs as JSON: the field names here are the stable,
// documented ones of `--json` output and of the wire (jobctl(1), JSON FIELDS).
// The same spec encoding is what the store keeps.
#pragma once

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "sched/model.hpp"
#include "time/zone.hpp"

namespace job::proto {

using Json = nlohmann::ordered_json;

// Errors name the field by its path: `timeout: "2 hours" is not a duration (try "2h")`,
// `tasks[1].trigger: "sometimes" is not one of ...`. A task's unset overrides stay
// unset (inherited from the job) and are not written back. Whether the job has
// exactly one of a command and tasks is the scheduler's to check.
Result<sched::JobSpec> spec_from_json(const Json& j);
Json spec_to_json(const sched::JobSpec& spec);

// The run-as user and the confinement fields: "user", "limits" {nofile,
// nproc, memory, cpu}, "sandbox", "network", "paths_rw". Shared by the job
// spec and a run's assignment to a worker. confinement_from_json reads `key`
// if it is one of them (false: it is not); confinement_to_json writes only
// what differs from the defaults.
bool confinement_from_json(const std::string& key, const Json& value, std::string& user,
                           sched::Confinement& confine, std::optional<Error>& problem);
void confinement_to_json(const std::string& user, const sched::Confinement& confine, Json& j);

// The schedule in one string: the cron expression, "every 90s", "at <time>" or "now".
std::string schedule_text(const sched::JobSpec& spec, const time::Zone& zone);

// Instants are shown in `zone`.
Json job_to_json(const sched::Job& job, const sched::Run* last_run, const time::Zone& zone);
Json run_to_json(const sched::Run& run, const sched::Job& job, const time::Zone& zone);

}  // namespace job::proto
