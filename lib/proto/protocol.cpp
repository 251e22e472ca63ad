#include "proto/protocol.hpp"

namespace job::proto {

void LineReader::feed(std::string_view bytes) {
  if (overflowed_) return;
  buffer_.append(bytes);
}

std::optional<std::string> LineReader::next() {
  if (overflowed_) return std::nullopt;
  const size_t newline = buffer_.find('\n', start_ + scanned_);
  if (newline == std::string::npos) {
    // Keep only the partial line: erasing once per read keeps a burst of
    // many lines linear (erasing each line's bytes made it quadratic).
    buffer_.erase(0, start_);
    start_ = 0;
    scanned_ = buffer_.size();
    if (buffer_.size() > max_) {
      overflowed_ = true;
      buffer_.clear();
    }
    return std::nullopt;
  }
  if (newline - start_ > max_) {
    overflowed_ = true;
    buffer_.clear();
    start_ = scanned_ = 0;
    return std::nullopt;
  }
  std::string line = buffer_.substr(start_, newline - start_);
  start_ = newline + 1;
  scanned_ = 0;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace job::proto
