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
    case Errc::name_taken:
      return "name_taken";
    case Errc::not_found:
      return "not_found";
    case Errc::bad_request:
      return "bad_request";
    case Errc::unavailable:
      return "unavailable";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::timed_out:
      return "timed_out";
    case Errc::rate_limited:
      return "rate_limited";
    case Errc::storage:
      return "storage";
    case Errc::internal:
      return "internal";
  }
  return "internal";
}

Errc code_from_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Errc::internal); ++i)
    if (code_name(static_cast<Errc>(i)) == name) return static_cast<Errc>(i);
  return Errc::internal;
}

}  // namespace job
