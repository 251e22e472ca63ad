#include "time/tzif.hpp"

#include <algorithm>
#include <limits>

namespace job::time {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Cursor {
  std::string_view bytes;
  size_t pos = 0;
  bool ok = true;

  bool need(size_t n) {
    if (pos + n > bytes.size()) ok = false;
    return ok;
  }
  uint64_t big_endian(size_t n) {
    if (!need(n)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = v << 8 | static_cast<unsigned char>(bytes[pos + i]);
    pos += n;
    return v;
  }
  void skip(size_t n) {
    if (need(n)) pos += n;
  }
};

struct Header {
  char version;
  uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

std::optional<Header> header(Cursor& c) {
  if (!c.need(44) || c.bytes.substr(c.pos, 4) != "TZif") return std::nullopt;
  Header h{};
  h.version = c.bytes[c.pos + 4];
  c.skip(20);
  h.isutcnt = static_cast<uint32_t>(c.big_endian(4));
  h.isstdcnt = static_cast<uint32_t>(c.big_endian(4));
  h.leapcnt = static_cast<uint32_t>(c.big_endian(4));
  h.timecnt = static_cast<uint32_t>(c.big_endian(4));
  h.typecnt = static_cast<uint32_t>(c.big_endian(4));
  h.charcnt = static_cast<uint32_t>(c.big_endian(4));
  if (!c.ok || h.typecnt == 0 || h.timecnt > 100000 || h.typecnt > 256 || h.leapcnt > 10000)
    return std::nullopt;
  return h;
}

// Reads one data block with times of `width` bytes (4 in v1, 8 in v2+).
std::optional<TzifData> block(Cursor& c, const Header& h, size_t width) {
  TzifData d;
  std::vector<int64_t> times(h.timecnt);
  for (auto& t : times) {
    const uint64_t raw = c.big_endian(width);
    t = width == 4 ? static_cast<int32_t>(static_cast<uint32_t>(raw)) : static_cast<int64_t>(raw);
  }
  std::vector<uint8_t> index(h.timecnt);
  for (auto& i : index) i = static_cast<uint8_t>(c.big_endian(1));
  std::vector<int32_t> type_offset(h.typecnt);
  for (auto& o : type_offset) {
    o = static_cast<int32_t>(static_cast<uint32_t>(c.big_endian(4)));
    c.skip(2);  // isdst, abbreviation index
  }
  c.skip(h.charcnt + h.leapcnt * (width + 4) + h.isstdcnt + h.isutcnt);
  if (!c.ok) return std::nullopt;
  for (size_t i = 0; i < times.size(); ++i) {
    if (index[i] >= h.typecnt || (i > 0 && times[i] <= times[i - 1])) return std::nullopt;
    d.transitions.push_back(times[i]);
    d.offsets.push_back(type_offset[index[i]]);
  }
  // RFC 8536 3.2: type 0 is the one in force before the first transition.
  d.initial_offset = type_offset[0];
  return d;
}

}  // namespace

std::optional<TzifData> parse_tzif(std::string_view bytes) {
  Cursor c{bytes};
  const auto v1 = header(c);
  if (!v1) return std::nullopt;
  if (v1->version == '\0') return block(c, *v1, 4);
  // Skip the v1 block for the v2+ one, with 64-bit times and a footer.
  c.skip(v1->timecnt * 5 + v1->typecnt * 6 + v1->charcnt + v1->leapcnt * 8 + v1->isstdcnt + v1->isutcnt);
  const auto v2 = header(c);
  if (!v2) return std::nullopt;
  auto data = block(c, *v2, 8);
  if (!data) return std::nullopt;
  if (c.pos < bytes.size() && bytes[c.pos] == '\n') {
    const size_t end = bytes.find('\n', c.pos + 1);
    if (end != std::string_view::npos && end > c.pos + 1)
      data->rule = parse_posix_tz(bytes.substr(c.pos + 1, end - c.pos - 1));
  }
  return data;
}

OffsetSpan TzifData::span_at(int64_t t) const {
  const auto it = std::upper_bound(transitions.begin(), transitions.end(), t);
  if (it == transitions.begin()) {
    if (transitions.empty() && rule) return posix_span_at(*rule, t);
    return {kMin, transitions.empty() ? kMax : transitions.front(), initial_offset};
  }
  const auto i = static_cast<size_t>(it - transitions.begin() - 1);
  if (i + 1 < transitions.size()) return {transitions[i], transitions[i + 1], offsets[i]};
  // Past the last listed transition, the footer's rule continues the zone.
  if (rule && rule->has_dst) {
    const OffsetSpan r = posix_span_at(*rule, t);
    return {std::max(r.begin, transitions[i]), r.end, r.offset};
  }
  return {transitions[i], kMax, rule ? rule->std_offset : offsets[i]};
}

}  // namespace job::time
