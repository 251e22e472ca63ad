// Time zones from the system tz database (IANA names, /usr/share/zoneinfo),
// read from their TZif files (tzif.hpp) and continued by their footer rule
// past the last listed transition.
// A Zone is a cheap, copyable handle to immutable data that lives for the
// whole process; lookups are thread-safe, and so is every const member.
#pragma once

#include <string_view>

#include "error.hpp"
#include "time/instant.hpp"
#include "time/posix_tz.hpp"

namespace job::time {

class Zone {
 public:
  struct Data;

  Zone() = default;  // UTC

  std::string_view name() const;
  bool is_utc() const { return data_ == nullptr; }

  // The span of constant UTC offset that contains the given instant (whole
  // seconds since the epoch). The cron search walks the timeline span by span.
  OffsetSpan span_at(int64_t utc_seconds) const;
  int32_t offset_at(Instant t) const { return span_at(unix_seconds_floor(t)).offset; }

  friend bool operator==(const Zone& a, const Zone& b) { return a.data_ == b.data_; }

 private:
  friend Result<Zone> find_zone(std::string_view name);
  explicit Zone(const Data* data) : data_(data) {}
  const Data* data_ = nullptr;  // nullptr: UTC
};

// An IANA zone name ("America/New_York", "UTC"). Unknown names are an
// Errc::unknown_zone error naming the zone.
Result<Zone> find_zone(std::string_view name);

// The zone of this process: $TZ if set (a zone name, optionally after ':';
// empty means UTC, as in libc), else /etc/localtime, else UTC.
Result<Zone> local_zone();

}  // namespace job::time
