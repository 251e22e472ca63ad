#include "exit_code.hpp"

namespace jobctl {

ExitCode exit_code_for(job::Errc code) {
  switch (code) {
    case job::Errc::invalid_argument:
    case job::Errc::invalid_cron:
    case job::Errc::invalid_time:
    case job::Errc::invalid_duration:
    case job::Errc::unknown_zone:
    case job::Errc::name_taken:
    case job::Errc::bad_request:
      return kExitInvalid;
    case job::Errc::not_found:
      return kExitNotFound;
    case job::Errc::unavailable:
      return kExitUnreachable;
    case job::Errc::permission_denied:
      return kExitDenied;
    case job::Errc::timed_out:
      return kExitTimeout;
    case job::Errc::rate_limited:
      return kExitBusy;
    case job::Errc::storage:
    case job::Errc::internal:
      return kExitFailure;
  }
  return kExitFailure;
}

}  // namespace jobctl
