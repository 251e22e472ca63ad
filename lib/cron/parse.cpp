#include "cron/parse.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "cron/next.hpp"
#include "time/duration.hpp"

namespace job::cron {
namespace {

enum Field { kSecond, kMinute, kHour, kDayOfMonth, kMonth, kDayOfWeek };

struct FieldInfo {
  std::string_view name;
  int min, max;
  int h_min, h_max;  // the range of a bare H: days stop at 28, which every month has
};

constexpr std::array<FieldInfo, 6> kFields = {{
    {"second", 0, 59, 0, 59},
    {"minute", 0, 59, 0, 59},
    {"hour", 0, 23, 0, 23},
    {"day-of-month", 1, 31, 1, 28},
    {"month", 1, 12, 1, 12},
    // 7 is accepted as Sunday and folded to 0.
    {"day-of-week", 0, 7, 0, 6},
}};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct Macro {
  std::string_view name, expansion;
};
constexpr std::array<Macro, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Thrown inside the parser only, caught at parse_cron's boundary.
struct FieldError {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw FieldError{std::move(message)}; }

// Parses one field's text into its bit set and its extensions.
class FieldParser {
 public:
  FieldParser(Field field, std::string_view text, std::string_view seed, Schedule& out)
      : field_(field), info_(kFields[field]), text_(text), seed_(seed), out_(out) {}

  uint64_t parse() {
    if (text_.empty()) fail("empty field");
    size_t start = 0;
    while (true) {
      const size_t comma = text_.find(',', start);
      const std::string_view element =
          text_.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (element.empty()) fail("empty list element");
      parse_element(element);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return bits_;
  }

 private:
  Field field_;
  const FieldInfo& info_;
  std::string_view text_;
  std::string_view seed_;
  Schedule& out_;
  uint64_t bits_ = 0;

  [[noreturn]] void out_of_range(std::string_view number) const {
    fail(fmt::format("{} is out of range {}-{}", number, info_.min, info_.max));
  }

  // The last value '*' and 'a/n' reach: 7 is Sunday again, so day-of-week stops at 6.
  int last() const { return field_ == kDayOfWeek ? 6 : info_.max; }

  // A number, or a name in the month and day-of-week fields. SUN is 7 when
  // sun_is_seven (it closes a range such as SAT-SUN), else 0.
  int value(std::string_view s, bool sun_is_seven = false) const {
    if (s.empty()) fail("missing value");
    if (std::isdigit(static_cast<unsigned char>(s[0]))) {
      int n = 0;
      for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c))) fail(fmt::format("\"{}\" is not a number", s));
        if (n > 1000) out_of_range(s);
        n = n * 10 + (c - '0');
      }
      if (n < info_.min || n > info_.max) out_of_range(s);
      return n;
    }
    const std::string name = upper(s);
    if (field_ == kMonth) {
      for (size_t i = 0; i < kMonthNames.size(); ++i)
        if (kMonthNames[i] == name) return static_cast<int>(i) + 1;
      fail(fmt::format("unknown month name \"{}\" (expected JAN-DEC)", s));
    }
    if (field_ == kDayOfWeek) {
      for (size_t i = 0; i < kDayNames.size(); ++i)
        if (kDayNames[i] == name) return i == 0 && sun_is_seven ? 7 : static_cast<int>(i);
      fail(fmt::format("unknown day name \"{}\" (expected SUN-SAT)", s));
    }
    fail(fmt::format("\"{}\" is not a number", s));
  }

  int step(std::string_view s) const {
    if (s.empty()) fail("missing step after '/'");
    int n = 0;
    for (char c : s) {
      if (!std::isdigit(static_cast<unsigned char>(c))) fail(fmt::format("step \"{}\" is not a number", s));
      if (n > 1000) fail(fmt::format("step {} is too large (at most {})", s, info_.max));
      n = n * 10 + (c - '0');
    }
    if (n == 0) fail("step 0 must be at least 1");
    if (n > info_.max) fail(fmt::format("step {} is too large (at most {})", n, info_.max));
    return n;
  }

  void add_range(int lo, int hi, int by) {
    for (int v = lo; v <= hi; v += by) bits_ |= uint64_t{1} << (field_ == kDayOfWeek ? v % 7 : v);
  }

  void parse_element(std::string_view e) {
    std::string_view base = e, step_text;
    bool has_step = false;
    if (size_t slash = e.find('/'); slash != std::string_view::npos) {
      base = e.substr(0, slash);
      step_text = e.substr(slash + 1);
      has_step = true;
    }
    const int by = has_step ? step(step_text) : 1;

    if (base == "*" || base == "?") {
      if (base == "?" && field_ != kDayOfMonth && field_ != kDayOfWeek)
        fail("'?' is only allowed in day-of-month and day-of-week");
      add_range(info_.min, last(), by);
      return;
    }
    if (base.starts_with('H') || base.starts_with('h')) return parse_h(e, base, has_step, by);
    if (parse_extension(base, has_step)) return;

    const size_t dash = base.find('-');
    if (dash == std::string_view::npos) {
      const int v = value(base);
      // "a/n" means a through the field's end, every n ("7/n" is Sunday alone).
      add_range(v, has_step ? std::max(v, last()) : v, by);
      return;
    }
    const std::string_view lo_text = base.substr(0, dash), hi_text = base.substr(dash + 1);
    if (lo_text.empty()) fail(fmt::format("\"{}\" is not a number", base));
    // SUN closing a range is 7 (SAT-SUN), unless the range starts on Sunday.
    const int lo = value(lo_text), hi = value(hi_text, lo > 0);
    if (lo > hi) {
      // The wrap-around the user probably meant, as a list: 22-2 -> 22-23,0-2.
      const std::string to_end = lo >= last() ? std::string(lo_text) : fmt::format("{}-{}", lo_text, last());
      const std::string from_start =
          hi == info_.min ? std::string(hi_text) : fmt::format("{}-{}", info_.min, hi_text);
      fail(fmt::format("range {} is descending (ranges must ascend; write a list such as {},{} instead)",
                       base, to_end, from_start));
    }
    add_range(lo, hi, by);
  }

  // H, H/n, H(a-b), H(a-b)/n.
  void parse_h(std::string_view e, std::string_view base, bool has_step, int by) {
    int lo = has_step ? info_.min : info_.h_min;
    int hi = has_step ? last() : info_.h_max;
    if (base.size() > 1) {
      if (base[1] != '(' || base.back() != ')')
        fail(fmt::format("\"{}\": H takes an optional range in parentheses, e.g. H(0-29)", e));
      const std::string_view inner = base.substr(2, base.size() - 3);
      const size_t dash = inner.find('-');
      if (dash == std::string_view::npos)
        fail(fmt::format("\"{}\": H(...) needs a range a-b, e.g. H(0-29)", e));
      lo = value(inner.substr(0, dash));
      hi = value(inner.substr(dash + 1), lo > 0);
      if (lo > hi) fail(fmt::format("range {} in \"{}\" is descending", inner, e));
    }
    const uint64_t hash = h_hash(seed_, field_);
    if (has_step) {
      const int start = lo + static_cast<int>(hash % static_cast<uint64_t>(by));
      add_range(start, hi, by);
    } else {
      const int v = lo + static_cast<int>(hash % static_cast<uint64_t>(hi - lo + 1));
      add_range(v, v, 1);
    }
  }

  // L, L-n, nW, LW (day-of-month); nL, n#k (day-of-week). Returns false when
  // the element is none of these.
  bool parse_extension(std::string_view base, bool has_step) {
    const std::string u = upper(base);
    // "15W", "5L": digits, then the letter. "FRIL": a three-letter name, then L.
    const auto digits_then = [&u](char letter) {
      return u.size() > 1 && u.back() == letter && std::all_of(u.begin(), u.end() - 1, [](char c) {
               return std::isdigit(static_cast<unsigned char>(c));
             });
    };
    const bool name_then_l = u.size() == 4 && u.back() == 'L' && std::all_of(u.begin(), u.end(), [](char c) {
                               return std::isalpha(static_cast<unsigned char>(c));
                             });
    const bool is_dom_ext = u == "L" || u == "LW" || u.starts_with("L-") || digits_then('W');
    const bool is_dow_ext = u.find('#') != std::string::npos || digits_then('L') || name_then_l;
    if (field_ == kDayOfMonth && is_dom_ext) {
      if (has_step) fail(fmt::format("\"{}\" cannot take a step", base));
      parse_dom_extension(base, u);
      return true;
    }
    if (field_ == kDayOfWeek && is_dow_ext) {
      if (has_step) fail(fmt::format("\"{}\" cannot take a step", base));
      parse_dow_extension(base, u);
      return true;
    }
    if (field_ == kDayOfWeek && u == "L")
      fail("\"L\" needs a weekday before it (e.g. 5L for the last Friday)");
    if (is_dom_ext && field_ == kDayOfWeek)
      fail(fmt::format("\"{}\": L-n, nW and LW belong in day-of-month", base));
    if (is_dow_ext && field_ == kDayOfMonth)
      fail(fmt::format("\"{}\": nL and n#k belong in day-of-week", base));
    if ((is_dom_ext || is_dow_ext) && field_ != kDayOfMonth && field_ != kDayOfWeek)
      fail(fmt::format("\"{}\": L, W and # are only allowed in day-of-month and day-of-week", base));
    return false;
  }

  void parse_dom_extension(std::string_view base, const std::string& u) {
    if (u == "L") {
      out_.days_before_last |= 1;
    } else if (u == "LW") {
      out_.last_weekday_of_month = true;
    } else if (u.starts_with("L-")) {
      const std::string_view n_text = base.substr(2);
      int n = 0;
      for (char c : n_text) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || n > 100)
          fail(fmt::format("\"{}\": expected L-n with n a number of days", base));
        n = n * 10 + (c - '0');
      }
      if (n_text.empty()) fail(fmt::format("\"{}\": expected L-n with n a number of days", base));
      if (n > 30) fail(fmt::format("{} is out of range L-0 to L-30", base));
      out_.days_before_last |= uint32_t{1} << n;
    } else {  // nW
      const int d = value(base.substr(0, base.size() - 1));
      out_.nearest_weekday |= uint32_t{1} << d;
    }
  }

  void parse_dow_extension(std::string_view base, const std::string& u) {
    if (const size_t hash = u.find('#'); hash != std::string::npos) {
      const int day = value(base.substr(0, hash)) % 7;
      const std::string_view k_text = base.substr(hash + 1);
      if (k_text.size() != 1 || !std::isdigit(static_cast<unsigned char>(k_text[0])))
        fail(fmt::format("\"{}\": expected n#k with k a week number 1-5", base));
      const int k = k_text[0] - '0';
      if (k < 1 || k > 5) fail(fmt::format("\"{}\": week {} is out of range 1-5", base, k));
      out_.nth_weekdays |= uint64_t{1} << (7 * (k - 1) + day);
      return;
    }
    const int day = value(base.substr(0, base.size() - 1)) % 7;  // nL
    out_.last_weekdays |= static_cast<uint8_t>(1u << day);
  }
};

std::vector<std::string_view> split_fields(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size()) break;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    fields.push_back(s.substr(start, i - start));
  }
  return fields;
}

Error invalid(std::string_view expression, std::string_view why) {
  return Error{Errc::invalid_cron, fmt::format("invalid cron expression \"{}\": {}", expression, why)};
}

Result<Schedule> parse_fields(std::string_view expression, const std::vector<std::string_view>& fields,
                              std::string_view seed) {
  Schedule s;
  const size_t offset = fields.size() == 6 ? 0 : 1;  // 5 fields: no seconds
  if (offset == 1) s.seconds = 1;
  for (size_t i = 0; i < fields.size(); ++i) {
    const auto field = static_cast<Field>(i + offset);
    uint64_t bits = 0;
    try {
      bits = FieldParser(field, fields[i], seed, s).parse();
    } catch (const FieldError& e) {
      return invalid(expression, fmt::format("{}: {}", kFields[field].name, e.message));
    }
    const bool star = fields[i].starts_with('*') || fields[i].starts_with('?');
    switch (field) {
      case kSecond:
        s.seconds = bits;
        break;
      case kMinute:
        s.minutes = bits;
        break;
      case kHour:
        s.hours = static_cast<uint32_t>(bits);
        s.hour_star = star;
        break;
      case kDayOfMonth:
        s.days = static_cast<uint32_t>(bits);
        s.dom_star = star;
        break;
      case kMonth:
        s.months = static_cast<uint16_t>(bits);
        break;
      case kDayOfWeek:
        s.weekdays = static_cast<uint8_t>(bits);
        s.dow_star = star;
        break;
    }
  }
  if (!can_ever_fire(s)) return invalid(expression, "never fires (no allowed month has a day that matches)");
  return s;
}

Result<Schedule> parse_macro(std::string_view expression, const std::vector<std::string_view>& fields,
                             std::string_view seed) {
  const std::string name = [&] {
    std::string n(fields[0]);
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return n;
  }();
  if (name == "@every") {
    if (fields.size() < 2) return invalid(expression, "@every takes a duration, e.g. @every 90s");
    // Everything after @every, so that "2 hours" is reported (and corrected) whole.
    const auto begin = static_cast<size_t>(fields[1].data() - expression.data());
    const auto end = static_cast<size_t>(fields.back().data() + fields.back().size() - expression.data());
    auto period = time::parse_duration(expression.substr(begin, end - begin));
    if (!period) return invalid(expression, fmt::format("@every: {}", period.error().message));
    if (*period < std::chrono::seconds{1} || period->count() % 1'000'000 != 0)
      return invalid(expression, "@every: the period must be a whole number of seconds, at least 1s");
    Schedule s;
    s.kind = Schedule::Kind::every;
    s.period = *period;
    return s;
  }
  if (fields.size() != 1) return invalid(expression, fmt::format("{} takes no fields after it", fields[0]));
  if (name == "@reboot") {
    Schedule s;
    s.kind = Schedule::Kind::reboot;
    return s;
  }
  for (const Macro& m : kMacros)
    if (m.name == name) return parse_fields(expression, split_fields(m.expansion), seed);
  return invalid(expression,
                 fmt::format("unknown macro \"{}\" (expected @yearly, @annually, @monthly, @weekly, "
                             "@daily, @midnight, @hourly, @every DURATION or @reboot)",
                             fields[0]));
}

}  // namespace

uint64_t h_hash(std::string_view seed, int field_index) {
  uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](unsigned char byte) {
    h ^= byte;
    h *= 1099511628211ULL;
  };
  for (char c : seed) mix(static_cast<unsigned char>(c));
  mix(static_cast<unsigned char>(field_index));
  // FNV-1a's low bits barely change between "job-1" and "job-2"; the
  // MurmurHash3 finalizer spreads every input bit over the whole word.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

Result<Schedule> parse_cron(std::string_view expression, std::string_view seed) {
  const std::vector<std::string_view> fields = split_fields(expression);
  if (fields.empty()) return invalid(expression, "empty expression");
  if (fields[0].starts_with('@')) return parse_macro(expression, fields, seed);
  if (fields.size() != 5 && fields.size() != 6)
    return invalid(expression,
                   fmt::format("expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
                               "(second first), found {}",
                               fields.size()));
  return parse_fields(expression, fields, seed);
}

}  // namespace job::cron
