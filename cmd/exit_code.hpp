// jobctl's exit statuses, in one place (documented in jobctl(1), EXIT STATUS).
#pragma once

#include "error.hpp"

namespace jobctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // the run waited for failed; or an internal or storage error
  kExitInvalid = 2,      // bad usage or invalid input; nothing was changed
  kExitNotFound = 3,     // no such job or run
  kExitUnreachable = 4,  // jobd cannot be reached
  kExitDenied = 5,       // permission denied: a wrong or missing token, or a role without the right
  kExitTimeout = 6,      // a --timeout ran out while waiting
  kExitBusy = 7,         // over a rate limit (submit_rate): nothing was changed; retry later
};

ExitCode exit_code_for(job::Errc code);

}  // namespace jobctl
