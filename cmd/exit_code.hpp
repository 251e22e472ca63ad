// jobctl's exit statuses, in one place (documented in jobctl(1), EXIT STATUS).
#pragma once

#include "error.hpp"

namespace jobctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,  // an internal error: a bug or a broken environment
  kExitInvalid = 2,  // bad usage or invalid input; nothing was changed
};

ExitCode exit_code_for(job::Errc code);

}  // namespace jobctl
