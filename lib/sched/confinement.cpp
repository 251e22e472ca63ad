#include "sched/confinement.hpp"

#include <fmt/format.h>

#include <cctype>
#include <limits>

namespace job::sched {

std::optional<int64_t>* limit_named(Limits& limits, std::string_view name) {
  if (name == "nofile") return &limits.nofile;
  if (name == "nproc") return &limits.nproc;
  if (name == "memory") return &limits.memory;
  if (name == "cpu") return &limits.cpu;
  return nullptr;
}

const std::optional<int64_t>* limit_named(const Limits& limits, std::string_view name) {
  return limit_named(const_cast<Limits&>(limits), name);
}

Result<int64_t> parse_size(std::string_view text) {
  const auto bad = [&] {
    return Error{Errc::invalid_argument,
                 fmt::format("\"{}\" is not a size (try \"512M\" or \"2G\": bytes, K, M, G or T)", text)};
  };
  size_t i = 0;
  int64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > (std::numeric_limits<int64_t>::max() - 9) / 10) return bad();
    n = n * 10 + (text[i++] - '0');
  }
  if (i == 0) return bad();
  std::string_view unit = text.substr(i);
  if (unit.ends_with("iB"))
    unit.remove_suffix(2);
  else if (unit.ends_with("B") || unit.ends_with("b"))
    unit.remove_suffix(1);
  int shift = 0;
  if (unit.size() > 1) return bad();
  if (unit.size() == 1) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      default:
        return bad();
    }
  }
  if (n > (std::numeric_limits<int64_t>::max() >> shift)) return bad();
  n <<= shift;
  if (n <= 0)
    return Error{Errc::invalid_argument, fmt::format("\"{}\": a size must be at least one byte", text)};
  return n;
}

std::string format_size(int64_t bytes) {
  static constexpr std::pair<int, char> kUnits[] = {{40, 'T'}, {30, 'G'}, {20, 'M'}, {10, 'K'}};
  for (const auto& [shift, unit] : kUnits)
    if (bytes > 0 && bytes % (int64_t{1} << shift) == 0) return fmt::format("{}{}", bytes >> shift, unit);
  return std::to_string(bytes);
}

}  // namespace job::sched
