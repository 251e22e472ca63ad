// A schedule in one line of plain English, for `jobctl cron explain` and
// `jobctl show`: "At 03:00, Monday through Friday". Describes the parsed
// schedule (H already resolved), so what it says is what fires.
#pragma once

#include <string>

#include "cron/schedule.hpp"

namespace job::cron {

std::string describe(const Schedule& s);

}  // namespace job::cron
