#include "keeper_wire.hpp"

#include <cstring>

namespace jobd::keeper_wire {

namespace {

// A frame larger than this is garbage, not a run: 64 MiB (the protocol's own bound).
constexpr uint32_t kMaxFrame = uint32_t{64} << 20;

class Frame {
 public:
  explicit Frame(Kind kind) {
    bytes_.resize(sizeof(uint32_t));
    bytes_.push_back(static_cast<char>(kind));
  }
  template <class T>
  Frame& put(T value) {
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof value);
    return *this;
  }
  Frame& put(const std::string& s) {
    bytes_.append(s.c_str(), s.size() + 1);  // with its NUL
    return *this;
  }
  std::string done() {
    const auto size = static_cast<uint32_t>(bytes_.size() - sizeof(uint32_t));
    std::memcpy(bytes_.data(), &size, sizeof size);
    return std::move(bytes_);
  }

 private:
  std::string bytes_;
};

class Cursor {
 public:
  Cursor(const char* p, size_t n) : p_(p), end_(p + n) {}
  template <class T>
  bool get(T& value) {
    if (static_cast<size_t>(end_ - p_) < sizeof value) return false;
    std::memcpy(&value, p_, sizeof value);
    p_ += sizeof value;
    return true;
  }
  bool get(std::string& s) {
    const void* nul = std::memchr(p_, '\0', static_cast<size_t>(end_ - p_));
    if (!nul) return false;
    s.assign(p_, static_cast<const char*>(nul));
    p_ = static_cast<const char*>(nul) + 1;
    return true;
  }
  bool at_end() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

bool parse(Kind kind, Cursor c, Message& m) {
  m.kind = kind;
  switch (kind) {
    case Kind::hold:
      if (!c.get(m.run) || !c.get(m.marker) || m.marker.empty()) return false;
      break;
    case Kind::started:
      if (!c.get(m.run) || !c.get(m.pid) || m.pid <= 0) return false;
      break;
    case Kind::ended:
      if (!c.get(m.run)) return false;
      break;
    default:
      return false;
  }
  return c.at_end();
}

}  // namespace

std::string hold(int64_t run, const std::string& marker) { return Frame(Kind::hold).put(run).put(marker).done(); }
std::string started(int64_t run, pid_t pid) { return Frame(Kind::started).put(run).put(pid).done(); }
std::string ended(int64_t run) { return Frame(Kind::ended).put(run).done(); }

std::optional<Message> Reader::next() {
  if (bad_) return std::nullopt;
  uint32_t size = 0;
  if (buffer_.size() - start_ < sizeof size) return std::nullopt;
  std::memcpy(&size, buffer_.data() + start_, sizeof size);
  if (size == 0 || size > kMaxFrame) {
    bad_ = true;
    return std::nullopt;
  }
  if (buffer_.size() - start_ - sizeof size < size) return std::nullopt;
  const char* frame = buffer_.data() + start_ + sizeof size;
  Message m;
  if (!parse(static_cast<Kind>(frame[0]), Cursor(frame + 1, size - 1), m)) {
    bad_ = true;
    return std::nullopt;
  }
  start_ += sizeof size + size;
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > (size_t{1} << 20)) {  // drop what was taken, in bulk
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return m;
}

}  // namespace jobd::keeper_wire
