#include "proto/protocol.hpp"

namespace job::proto {

void LineReader::feed(std::string_view bytes) {
  if (overflowed_) return;
  buffer_.append(bytes);
}

std::optional<std::string> LineReader::next() {
  if (overflowed_) return std::nullopt;
  const size_t newline = buffer_.find('\n', scanned_);
  if (newline == std::string::npos) {
    scanned_ = buffer_.size();
    if (buffer_.size() > max_) {
      overflowed_ = true;
      buffer_.clear();
    }
    return std::nullopt;
  }
  if (newline > max_) {
    overflowed_ = true;
    buffer_.clear();
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  scanned_ = 0;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace job::proto
