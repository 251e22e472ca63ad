#include "time/zone.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace job::time {

struct Zone::Data {
  std::string name;
  const date::time_zone* tz;
  // The zone's rule after its last listed transition, if it has DST then.
  std::optional<PosixTz> future;
};

namespace {

constexpr std::string_view kZoneDir = "/usr/share/zoneinfo";
// date/tz marks the last listed span as lasting forever; anything ending
// after year 9999 is that open end.
constexpr int64_t kOpenEnd = kYear10000;

// The footer of a TZif file: the POSIX TZ string between its last two newlines.
std::optional<PosixTz> read_footer_rule(const std::string& zone_name) {
  std::ifstream in(fmt::format("{}/{}", kZoneDir, zone_name), std::ios::binary);
  if (!in) return std::nullopt;
  in.seekg(0, std::ios::end);
  const auto size = static_cast<int64_t>(in.tellg());
  const int64_t tail = std::min<int64_t>(size, 256);
  std::string buf(static_cast<size_t>(tail), '\0');
  in.seekg(size - tail);
  in.read(buf.data(), tail);
  if (buf.size() < 2 || buf.back() != '\n') return std::nullopt;
  const size_t open = buf.rfind('\n', buf.size() - 2);
  if (open == std::string::npos) return std::nullopt;
  auto rule = parse_posix_tz(std::string_view(buf).substr(open + 1, buf.size() - open - 2));
  if (!rule || !rule->has_dst) return std::nullopt;
  return rule;
}

bool is_utc(const date::time_zone* tz) {
  const auto info = tz->get_info(date::sys_seconds{});
  return info.offset.count() == 0 && info.begin.time_since_epoch().count() < -kOpenEnd &&
         info.end.time_since_epoch().count() > kOpenEnd;
}

}  // namespace

std::string_view Zone::name() const { return data_ ? std::string_view(data_->name) : "UTC"; }

OffsetSpan Zone::span_at(int64_t utc_seconds) const {
  if (!data_) return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0};
  const auto info = data_->tz->get_info(date::sys_seconds{std::chrono::seconds{utc_seconds}});
  OffsetSpan span{info.begin.time_since_epoch().count(), info.end.time_since_epoch().count(),
                  static_cast<int32_t>(info.offset.count())};
  if (data_->future && span.end >= kOpenEnd) {
    const OffsetSpan r = posix_span_at(*data_->future, utc_seconds);
    span = {std::max(r.begin, span.begin), r.end, r.offset};
  }
  return span;
}

Result<Zone> find_zone(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Zone::Data>, std::less<>> zones;
  std::lock_guard lock(mu);
  if (auto it = zones.find(name); it != zones.end()) return Zone(it->second.get());

  const date::time_zone* tz = nullptr;
  try {
    tz = date::locate_zone(name);
  } catch (const std::exception&) {
    return Error{Errc::unknown_zone, fmt::format("unknown time zone \"{}\" (expected an IANA name such as "
                                                 "\"Europe/Paris\" or \"UTC\"; see {})",
                                                 name, kZoneDir)};
  }
  if (is_utc(tz)) return Zone();
  auto data = std::make_unique<Zone::Data>(
      Zone::Data{std::string(name), tz, read_footer_rule(std::string(tz->name()))});
  const Zone::Data* raw = data.get();
  zones.emplace(std::string(name), std::move(data));
  return Zone(raw);
}

Result<Zone> local_zone() {
  if (const char* tz = std::getenv("TZ")) {
    std::string_view name = tz;
    if (name.empty()) return Zone();  // as libc reads TZ="": UTC
    if (name.front() == ':') name.remove_prefix(1);
    if (name.starts_with(kZoneDir) && name.size() > kZoneDir.size() + 1)
      name.remove_prefix(kZoneDir.size() + 1);
    auto zone = find_zone(name);
    if (!zone) return Error{Errc::unknown_zone, fmt::format("$TZ: {}", zone.error().message)};
    return zone;
  }
  try {
    return find_zone(date::current_zone()->name());
  } catch (const std::exception&) {
    return Zone();  // no /etc/localtime: UTC, as libc does
  }
}

}  // namespace job::time
