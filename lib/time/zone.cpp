#include "time/zone.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include "time/tzif.hpp"

namespace job::time {

struct Zone::Data {
  std::string name;
  TzifData tz;
};

namespace {

constexpr std::string_view kZoneDir = "/usr/share/zoneinfo";

// IANA names are paths of letters, digits and "_+-" below the zone directory.
bool plausible_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '/' || name.back() == '/') return false;
  if (name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' && c != '+')
      return false;
  return true;
}

std::optional<TzifData> load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return parse_tzif(bytes.str());
}

bool always_utc(const TzifData& tz) {
  return tz.transitions.empty() && tz.initial_offset == 0 &&
         (!tz.rule || (!tz.rule->has_dst && tz.rule->std_offset == 0));
}

Error unknown(std::string_view name) {
  return Error{Errc::unknown_zone, fmt::format("unknown time zone \"{}\" (expected an IANA name such as "
                                               "\"Europe/Paris\" or \"UTC\"; see {})",
                                               name, kZoneDir)};
}

}  // namespace

std::string_view Zone::name() const { return data_ ? std::string_view(data_->name) : "UTC"; }

OffsetSpan Zone::span_at(int64_t utc_seconds) const {
  if (!data_) return {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), 0};
  return data_->tz.span_at(utc_seconds);
}

Result<Zone> find_zone(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Zone::Data>, std::less<>> zones;
  std::lock_guard lock(mu);
  if (auto it = zones.find(name); it != zones.end()) return Zone(it->second.get());
  if (!plausible_name(name)) return unknown(name);
  auto tz = load(fmt::format("{}/{}", kZoneDir, name));
  if (!tz) return unknown(name);
  if (always_utc(*tz)) return Zone();
  auto data = std::make_unique<Zone::Data>(Zone::Data{std::string(name), std::move(*tz)});
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
  // /etc/localtime is a link into the zone directory; its target names the zone.
  char target[4096];
  const ssize_t n = readlink("/etc/localtime", target, sizeof target - 1);
  if (n > 0) {
    const std::string_view path(target, static_cast<size_t>(n));
    const size_t at = path.find("zoneinfo/");
    if (at != std::string_view::npos)
      if (auto zone = find_zone(path.substr(at + 9))) return zone;
  }
  std::ifstream timezone("/etc/timezone");  // Debian names it here too
  std::string name;
  if (std::getline(timezone, name))
    if (auto zone = find_zone(name)) return zone;
  return Zone();  // nothing to go by: UTC, as libc does
}

}  // namespace job::time
