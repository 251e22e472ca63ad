#include "jobfile/crontab.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cctype>
#include <optional>
#include <set>
#include <utility>

#include "cron/parse.hpp"
#include "sched/model.hpp"
#include "time/zone.hpp"

namespace job::jobfile {
namespace {

constexpr std::string_view kBlanks = " \t\r\f\v";

// The macros cron has besides @reboot; lib/cron reads each of them as cron does.
constexpr std::array<std::string_view, 7> kMacros = {"@yearly", "@annually", "@monthly", "@weekly",
                                                     "@daily",  "@midnight", "@hourly"};

// A generated name leaves room for a "-N" suffix within valid_name's 128.
constexpr size_t kMaxNameBase = 120;

std::string_view trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(kBlanks);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kBlanks) - begin + 1);
}

bool is_blank(char c) { return kBlanks.find(c) != std::string_view::npos; }

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// TOML forbids control characters other than tab in comments and in
// unescaped strings; here tab counts too, so that strings show it as \t.
bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or 0.
size_t utf8_length(std::string_view s, size_t i) {
  const auto c0 = static_cast<unsigned char>(s[i]);
  if (c0 < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    n = 2;
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    n = 3;
    if (c0 == 0xE0) lo = 0xA0;
    if (c0 == 0xED) hi = 0x9F;
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    n = 4;
    if (c0 == 0xF0) lo = 0x90;
    if (c0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Text a TOML comment can hold: a malformed byte becomes U+FFFD, a control
// character a space.
std::string comment_text(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length(s, i);
    if (n == 0) {
      out += "\uFFFD";
      ++i;
    } else if (n == 1 && is_control(static_cast<unsigned char>(s[i])) && s[i] != '\t') {
      out += ' ';
      ++i;
    } else {
      out += s.substr(i, n);
      i += n;
    }
  }
  return out;
}

std::string escaped_basic_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (is_control(static_cast<unsigned char>(c)))
          out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  return out + "\"";
}

// A TOML string for s (valid UTF-8), the most readable that holds it: "s"
// when nothing needs escaping, else 's' when no quote or control character
// forbids it, else "s" with escapes.
std::string toml_string(std::string_view s) {
  bool controls = false, backslash_or_quote = false;
  for (const char c : s) {
    controls |= is_control(static_cast<unsigned char>(c));
    backslash_or_quote |= c == '\\' || c == '"';
  }
  if (!controls && !backslash_or_quote) return fmt::format("\"{}\"", s);
  if (!controls && s.find('\'') == std::string_view::npos) return fmt::format("'{}'", s);
  return escaped_basic_string(s);
}

// A bare key when TOML allows one (not with '.', which would nest), else quoted.
std::string toml_key(std::string_view k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(),
                                              [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
  return bare ? std::string(k) : escaped_basic_string(k);
}

// --- Job names -------------------------------------------------------------

bool is_operator(std::string_view w) {
  return w == ";" || w == "&&" || w == "||" || w == "|" || w == "&" || w == "(" || w == ")";
}

// The words of a shell command, roughly as sh splits them: quotes removed,
// backslash escapes applied, ; & | ( ) apart. Enough to find the program.
std::vector<std::string> shell_words(std::string_view s) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  auto end_word = [&] {
    if (in_word) words.push_back(std::move(word));
    word.clear();
    in_word = false;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (is_blank(c) || c == '\n') {
      end_word();
    } else if (c == ';' || c == '&' || c == '|' || c == '(' || c == ')') {
      end_word();
      if ((c == '&' || c == '|') && i + 1 < s.size() && s[i + 1] == c) {
        words.push_back(std::string(2, c));
        ++i;
      } else {
        words.push_back(std::string(1, c));
      }
    } else if (c == '\'') {
      in_word = true;
      const size_t close = s.find('\'', i + 1);
      word += s.substr(i + 1, close == std::string_view::npos ? std::string_view::npos : close - i - 1);
      i = close == std::string_view::npos ? s.size() : close;
    } else if (c == '"') {
      in_word = true;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        word += s[i];
      }
    } else if (c == '\\' && i + 1 < s.size()) {
      in_word = true;
      word += s[++i];
    } else {
      in_word = true;
      word += c;
    }
  }
  end_word();
  return words;
}

// NAME=value, as sh reads an assignment before a command.
bool is_assignment(std::string_view w) {
  const size_t eq = w.find('=');
  if (eq == 0 || eq == std::string_view::npos || is_digit(w[0])) return false;
  return std::all_of(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(eq),
                     [](char c) { return is_alpha(c) || is_digit(c); });
}

std::string_view basename(std::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The program a command runs, past what only wraps it: VAR=x assignments,
// `cd DIR &&`, `test ... &&` guards, env, nice, ionice, flock FILE, nohup.
std::string program_of(const std::vector<std::string>& words) {
  size_t i = 0;
  auto at = [&](size_t k) -> std::string_view { return k < words.size() ? words[k] : std::string_view{}; };
  // Skips options; those in with_argument take the next word unless written --opt=value.
  auto skip_options = [&](std::initializer_list<std::string_view> with_argument) {
    while (at(i).starts_with('-') && at(i) != "--") {
      const std::string_view option = at(i++);
      for (const auto o : with_argument)
        if (option == o) ++i;
    }
    if (at(i) == "--") ++i;
  };
  while (i < words.size()) {
    const std::string_view w = words[i];
    if (is_assignment(w) || w == "(" || w == "{" || is_operator(w)) {
      ++i;
    } else if (w == "cd") {
      i += 2;  // cd DIR, then its && or ; goes as an operator
    } else if (w == "test" || w == "[" || w == "[[") {
      while (i < words.size() && words[i] != "&&" && words[i] != "||") ++i;
    } else if (const std::string_view program = basename(w); program == "env") {
      ++i;
      skip_options({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"});
    } else if (program == "nice") {
      ++i;
      skip_options({"-n", "--adjustment"});
    } else if (program == "ionice") {
      ++i;
      skip_options({"-c", "--class", "-n", "--classdata", "-p", "--pid", "-P", "--pgid", "-u", "--uid"});
    } else if (program == "flock") {
      ++i;
      skip_options({"-w", "--wait", "--timeout", "-E", "--conflict-exit-code"});
      ++i;  // the lock file or descriptor; flock's own options stop there
      if (at(i) == "-c" || at(i) == "--command") return program_of(shell_words(at(i + 1)));
    } else if (program == "nohup" || program == "exec" || program == "time") {
      ++i;
    } else {
      return std::string(program);
    }
  }
  return {};
}

// A name valid_name accepts, from a program's name: other characters become
// '-', no leading '.' or '-'; "job" when nothing is left; "-job" after one
// that reads as an id (a program called "r1" would make a job "r1").
std::string name_from_program(std::string_view program) {
  std::string name;
  bool replaced = false;  // the last '-' stands for other characters
  for (const char c : program) {
    if (replaced && c == '-') continue;
    replaced = !(is_alpha(c) || is_digit(c) || c == '.' || c == '-');
    if (!replaced)
      name += c;
    else if (!name.empty() && name.back() != '-')
      name += '-';
  }
  const size_t begin = name.find_first_not_of(".-");
  name = begin == std::string::npos ? std::string{} : name.substr(begin, kMaxNameBase);
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.empty()) return "job";
  return sched::looks_like_ref(name) ? name + "-job" : name;
}

// --- The import ------------------------------------------------------------

struct EnvVar {
  std::string name, value;
  friend bool operator==(const EnvVar&, const EnvVar&) = default;
};
using Env = std::vector<EnvVar>;  // in the order the variables were first set

struct Job {
  std::string name, schedule, tz, command;
  Env env;
};

// What one crontab line gives: comment lines, then possibly a job.
struct Block {
  std::vector<std::string> comments;
  std::optional<Job> job;
};

struct Assignment {
  std::string_view name, value;
};

// NAME=value, NAME = "value" or NAME='value', as cron reads an environment
// line: blanks around '=' and around the value are dropped, then one pair
// of matching quotes.
std::optional<Assignment> parse_assignment(std::string_view line) {
  size_t i = 0;
  if (line.empty() || !is_alpha(line[0])) return std::nullopt;
  while (i < line.size() && (is_alpha(line[i]) || is_digit(line[i]))) ++i;
  const std::string_view name = line.substr(0, i);
  while (i < line.size() && is_blank(line[i])) ++i;
  if (i == line.size() || line[i] != '=') return std::nullopt;
  std::string_view value = trim(line.substr(i + 1));
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
    value = value.substr(1, value.size() - 2);
  return Assignment{name, value};
}

// An IANA zone name's form: the characters of tzdata's names, no empty or
// ".." component (whether the zone exists is asked of lib/time after).
// glibc's ":Zone" form is accepted.
std::optional<std::string_view> loose_zone(std::string_view text) {
  if (text.starts_with(':')) text.remove_prefix(1);
  if (text.empty() || text.size() > 255 || text.front() == '/' || text.back() == '/' ||
      text.find("//") != std::string_view::npos || text.find("..") != std::string_view::npos)
    return std::nullopt;
  const bool ok = std::all_of(text.begin(), text.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '/' || c == '-' || c == '+' || c == '.';
  });
  if (!ok) return std::nullopt;
  return text;
}

std::vector<std::string_view> split_blanks(std::string_view s) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (true) {
    i = s.find_first_not_of(kBlanks, i);
    if (i == std::string_view::npos) break;
    const size_t end = std::min(s.find_first_of(kBlanks, i), s.size());
    fields.push_back(s.substr(i, end - i));
    i = end;
  }
  return fields;
}

class Importer {
 public:
  Importer(std::string_view source, bool system_format) : source_(source), system_(system_format) {}

  void line(size_t number, std::string_view raw) {
    line_ = number;
    const std::string_view text = trim(raw);
    if (text.empty()) {
      pending_comments_.clear();
    } else if (text.front() == '#') {
      pending_comments_.push_back(comment_text(text));
    } else if (!valid_utf8(text)) {
      skip_line(text, "not valid UTF-8 text, which TOML cannot hold");
    } else if (const auto assignment = parse_assignment(text)) {
      pending_comments_.clear();
      set_env(assignment->name, assignment->value);
    } else {
      job_line(text);
    }
  }

  CrontabImport finish() && {
    out_.toml = fmt::format("# Imported from {} by `jobctl import-crontab`.\n", comment_text(source_));
    const Env* shared = shared_env();
    if (shared) out_.toml += "\n[defaults]\nenv = " + inline_table(*shared) + "\n";
    for (const Block& b : blocks_) {
      out_.toml += "\n";
      for (const auto& c : b.comments) out_.toml += c + "\n";
      if (b.job) render(*b.job, shared != nullptr);
    }
    return std::move(out_);
  }

 private:
  std::string_view source_;
  bool system_;
  size_t line_ = 0;
  std::vector<std::string> pending_comments_;  // the comment lines just above this line
  Env env_;
  std::string cron_tz_, tz_;  // CRON_TZ wins over TZ for the schedule
  std::set<std::string, std::less<>> names_, users_;
  std::vector<Block> blocks_;
  CrontabImport out_;

  void warn(std::string_view message) {
    out_.warnings.push_back(fmt::format("{}:{}: {}", source_, line_, message));
  }

  // A line that could not be parsed: an error, and the line kept as a comment.
  void skip_line(std::string_view text, std::string_view why) {
    out_.errors.push_back(fmt::format("{}:{}: {}", source_, line_, why));
    keep_as_comment(text, fmt::format("line {} not imported: {}", line_, why));
  }

  void keep_as_comment(std::string_view text, std::string_view why) {
    Block b{std::exchange(pending_comments_, {}), std::nullopt};
    b.comments.push_back(comment_text(fmt::format("# {}", why)));
    b.comments.push_back(comment_text(fmt::format("# {}", text)));
    blocks_.push_back(std::move(b));
  }

  void set_env(std::string_view name, std::string_view value) {
    if (name == "MAILTO" || name == "MAILFROM") {
      warn(fmt::format("{} has no equivalent yet (notifications arrive later); ignored", name));
    } else if (name == "SHELL") {
      if (value != "/bin/sh")
        warn(
            fmt::format("SHELL={}: jobd runs string commands with /bin/sh; commands are kept as written, "
                        "so check those that need another shell",
                        value));
    } else if (name == "CRON_TZ" || name == "TZ") {
      std::string& zone = name == "CRON_TZ" ? cron_tz_ : tz_;
      if (value.empty()) {
        zone.clear();
      } else if (const auto z = loose_zone(value); z && !job::time::find_zone(*z)) {
        // Said here, at its line, rather than by `jobctl apply` at a job's tz.
        out_.errors.push_back(fmt::format("{}:{}: {}: unknown time zone \"{}\" (see /usr/share/zoneinfo); ignored",
                                          source_, line_, name, *z));
        return;
      } else if (z) {
        zone = *z;
      } else {
        out_.errors.push_back(fmt::format(
            "{}:{}: {}: \"{}\" is not a time zone name (expected an IANA name such as \"Europe/Paris\" "
            "or \"UTC\"); ignored",
            source_, line_, name, value));
        return;
      }
      // TZ is also in the environment of cron's jobs; CRON_TZ is cron's own.
      if (name == "TZ") set_var(name, value);
    } else {
      set_var(name, value);
    }
  }

  void set_var(std::string_view name, std::string_view value) {
    for (auto& v : env_) {
      if (v.name == name) {
        v.value = value;
        return;
      }
    }
    env_.push_back({std::string(name), std::string(value)});
  }

  void job_line(std::string_view text) {
    const std::vector<std::string_view> words = split_blanks(text);
    const bool macro = words[0].starts_with('@');
    std::string schedule;
    if (macro) {
      std::string m(words[0]);
      for (char& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (m == "@reboot") {
        warn(
            "@reboot has no equivalent: cron runs it at boot, jobd's @reboot each time jobd starts; "
            "the line is kept as a comment");
        keep_as_comment(text,
                        fmt::format("line {} not imported: @reboot has no equivalent (cron runs it at boot, "
                                    "jobd's @reboot each time jobd starts)",
                                    line_));
        return;
      }
      if (std::find(kMacros.begin(), kMacros.end(), m) == kMacros.end())
        return skip_line(text, fmt::format("unknown macro \"{}\" (cron has @reboot, @yearly, @annually, "
                                           "@monthly, @weekly, @daily, @midnight and @hourly)",
                                           words[0]));
      schedule = m;
    }
    const size_t time_fields = macro ? 1 : 5;
    const size_t command_at = time_fields + (system_ ? 1 : 0);
    const std::string_view rest = system_ ? "a user and a command" : "a command";
    if (words.size() <= command_at && macro)
      return skip_line(text, fmt::format("too few fields: {} needs {} after it", schedule, rest));
    if (words.size() <= command_at)
      return skip_line(text, fmt::format("too few fields: expected minute, hour, day-of-month, month, "
                                         "day-of-week, then {}",
                                         rest));
    for (size_t i = 0; !macro && i < time_fields; ++i) schedule += (i ? " " : "") + std::string(words[i]);
    const std::string_view user = system_ ? words[time_fields] : std::string_view{};
    const auto command_text = text.substr(static_cast<size_t>(words[command_at].data() - text.data()));

    auto [command, stdin_cut] = cut_at_percent(command_text);
    if (command.empty()) return skip_line(text, "the command is empty before its first '%'");
    const std::string name = unique_name(name_from_program(program_of(shell_words(command))));
    if (auto parsed = cron::parse_cron(schedule, name); !parsed)
      return skip_line(text, parsed.error().message);
    if (stdin_cut)
      warn(
          "'%' in the command: cron sends the text after it to the command's stdin, and jobd gives commands "
          "no stdin; the command is kept up to the '%'");
    if (!user.empty() && users_.insert(std::string(user)).second)
      warn(
          fmt::format("user \"{}\": jobs run as jobd's user until run-as arrives (a later issue); the "
                      "user is kept as a comment",
                      user));

    assert(sched::valid_name(name) && !sched::looks_like_ref(name));
    names_.insert(name);
    Block b{std::exchange(pending_comments_, {}),
            Job{name, schedule, cron_tz_.empty() ? tz_ : cron_tz_, std::move(command), env_}};
    if (!user.empty()) b.comments.push_back(comment_text(fmt::format("# user: {}", user)));
    blocks_.push_back(std::move(b));
  }

  // Cron's '%': the first unescaped one ends the command (the rest is its
  // stdin); "\%" is a plain '%'; a backslash before anything else stays.
  static std::pair<std::string, bool> cut_at_percent(std::string_view s) {
    std::string command;
    bool cut = false;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) {
        if (s[i + 1] != '%') command += '\\';
        command += s[++i];
      } else if (s[i] == '%') {
        cut = true;
        break;
      } else {
        command += s[i];
      }
    }
    return {std::string(trim(command)), cut};
  }

  std::string unique_name(const std::string& base) const {
    if (!names_.contains(base)) return base;
    for (int n = 2;; ++n)
      if (auto name = fmt::format("{}-{}", base, n); !names_.contains(name)) return name;
  }

  // The env every job has, when they all have the same non-empty one.
  const Env* shared_env() const {
    const Env* shared = nullptr;
    for (const Block& b : blocks_) {
      if (!b.job) continue;
      if (b.job->env.empty() || (shared && *shared != b.job->env)) return nullptr;
      shared = &b.job->env;
    }
    return shared;
  }

  static std::string inline_table(const Env& env) {
    std::string t = "{ ";
    for (size_t i = 0; i < env.size(); ++i)
      t += fmt::format("{}{} = {}", i ? ", " : "", toml_key(env[i].name), toml_string(env[i].value));
    return t + " }";
  }

  void render(const Job& job, bool env_in_defaults) {
    std::string& t = out_.toml;
    t += fmt::format("[job.{}]\n", toml_key(job.name));
    t += fmt::format("schedule = {}\n", toml_string(job.schedule));
    if (!job.tz.empty()) t += fmt::format("tz = {}\n", toml_string(job.tz));
    t += fmt::format("command = {}\n", toml_string(job.command));
    if (!job.env.empty() && !env_in_defaults) t += fmt::format("env = {}\n", inline_table(job.env));
  }
};

}  // namespace

CrontabImport import_crontab(std::string_view text, std::string_view source_name, bool system_format) {
  Importer importer(source_name, system_format);
  size_t number = 1;
  for (size_t start = 0; start < text.size(); ++number) {
    const size_t end = std::min(text.find('\n', start), text.size());
    importer.line(number, text.substr(start, end - start));
    start = end + 1;
  }
  return std::move(importer).finish();
}

}  // namespace job::jobfile
