// TZif files (RFC 8536), the compiled time zones of /usr/share/zoneinfo:
// the offset changes they list, and the POSIX TZ rule in their footer that
// continues them after the last one (posix_tz.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "time/posix_tz.hpp"

namespace job::time {

struct TzifData {
  int32_t initial_offset = 0;        // before the first transition
  std::vector<int64_t> transitions;  // UTC seconds, ascending
  std::vector<int32_t> offsets;      // the offset from each transition on
  std::optional<PosixTz> rule;       // the footer, if the file has one

  // The span of constant offset around utc_seconds.
  OffsetSpan span_at(int64_t utc_seconds) const;
};

// Reads version 2+ files (64-bit times), and version 1 files as a fallback.
// nullopt for anything that is not a well-formed TZif file.
std::optional<TzifData> parse_tzif(std::string_view bytes);

}  // namespace job::time
