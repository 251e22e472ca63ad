#include "exit_code.hpp"

namespace jobctl {

ExitCode exit_code_for(job::Errc code) {
  switch (code) {
    case job::Errc::invalid_argument:
    case job::Errc::invalid_cron:
    case job::Errc::invalid_time:
    case job::Errc::invalid_duration:
    case job::Errc::unknown_zone:
      return kExitInvalid;
    case job::Errc::internal:
      return kExitFailure;
  }
  return kExitFailure;
}

}  // namespace jobctl
