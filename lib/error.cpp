#include "error.hpp"

namespace job {

std::string_view code_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::invalid_cron:
      return "invalid_cron";
    case Errc::invalid_time:
      return "invalid_time";
    case Errc::invalid_duration:
      return "invalid_duration";
    case Errc::unknown_zone:
      return "unknown_zone";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

}  // namespace job
