// Between SQLite's columns and jobd's values: instants are stored as
// microseconds since the epoch (UTC), NULL for none. Private to lib/store.
#pragma once

#include <sqlite3.h>

#include <optional>
#include <string>

#include "time/instant.hpp"

namespace job::store {

inline int64_t micros(time::Instant t) { return t.time_since_epoch().count(); }
inline time::Instant instant(int64_t us) { return time::Instant{time::Duration{us}}; }

inline void bind_optional(sqlite3_stmt* st, int i, const std::optional<time::Instant>& t) {
  if (t)
    sqlite3_bind_int64(st, i, micros(*t));
  else
    sqlite3_bind_null(st, i);
}

inline std::optional<time::Instant> column_instant(sqlite3_stmt* st, int i) {
  if (sqlite3_column_type(st, i) == SQLITE_NULL) return std::nullopt;
  return instant(sqlite3_column_int64(st, i));
}

inline std::string column_text(sqlite3_stmt* st, int i) {
  const auto* text = sqlite3_column_text(st, i);
  return text ? std::string(reinterpret_cast<const char*>(text)) : std::string();
}

}  // namespace job::store
