// Errors are values. Every failure that crosses a module boundary is a
// job::Error: a stable code (the one list of them is Errc below) and a message
// a user can act on. No exception escapes lib/.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace job {

// The one list of error codes. Their names (code_name) are stable: they
// appear in --json output and, later, on the wire. cmd/ maps them to exit
// statuses in exactly one function.
enum class Errc {
  invalid_argument,  // a malformed or out-of-range input not covered below
  invalid_cron,      // a cron expression that does not parse or never fires
  invalid_time,      // a timestamp that is not RFC 3339
  invalid_duration,  // a duration such as "2 hours"
  unknown_zone,      // a time zone name the tz database does not know
  name_taken,        // a job of that name exists already
  not_found,         // no such job or run
  bad_request,       // a malformed frame, an unknown op, a missing field
  unavailable,       // jobd cannot be reached
  permission_denied, // a wrong or missing token, or a role without the right
  timed_out,         // a client-side --timeout ran out
  rate_limited,      // over a limit on how often (submit_rate): retry later
  storage,           // the database failed (disk full, I/O error); nothing was acknowledged
  internal,          // a bug or an environment failure; never a user's fault
};

std::string_view code_name(Errc code);
// The code of a name code_name() gave; Errc::internal for names it never gives.
Errc code_from_name(std::string_view name);

struct Error {
  Errc code;
  std::string message;
};

// Result<T> holds a T or an Error. Callers test it before dereferencing;
// dereferencing the wrong alternative is a bug (asserted).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

}  // namespace job
